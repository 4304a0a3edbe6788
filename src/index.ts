/**
 * acctctl as a library: the same services and rules the CLI uses, for a platform that
 * wants them without the command line. Views and audited mutations only: no raw row, no
 * hash, no secret leaves through here, and every call checks the actor's permission.
 *
 *   import { connect, migrate, makeContext, createUser } from 'acctctl';
 *   const db = await connect('postgres://…');
 *   const ctx = makeContext(db, { actor: { kind: 'operator', label: 'signup-service' } });
 *
 * test/e2e/library.test.ts imports this package from a scratch project and checks that
 * nothing exported returns a secret field; a new export must be added there.
 */
export { connect, defaultDbPath, type Database, type DialectName, type ConnectOptions } from './db/connect.js';
export { migrate, schemaStatus, assertSchemaCurrent, latestVersion, type SchemaStatus } from './db/migrate.js';
export { makeContext, type ServiceContext, type ActorSpec } from './services/context.js';
export * from './errors.js';
export { ROLES, USER_STATUSES, SESSION_KINDS, USER_SORTS, type Role, type UserStatus, type SessionKind, type UserSort } from './domain/enums.js';
export type { MutationOutcome } from './services/unit-of-work.js';
export {
  createUser, listUsers, iterateUsers, showUser, editUser, setUserRole, setUserStatus, deleteUser, previewDeleteUser,
  type UserView, type UserDetail, type CreateUserInput, type EditUserInput, type UserFilter, type CreatedUser, type StatusVerb,
} from './services/users.js';
export {
  revokeSessions, listSessions, iterateSessions, showSession, revokeSession, purgeSessions, type RevokedSessions, type SessionView,
} from './services/sessions.js';
export { listLoginHistory, iterateLoginHistory, listUserActivity, iterateUserActivity } from './services/history.js';
export { impersonate } from './services/impersonation.js';
export { authenticate, validateSession, type AuthenticateInput, type AuthResult, type SessionCheck, type FailureReason } from './services/auth.js';
export { explainSignIn, type SignInVerdict, type Check } from './services/auth-check.js';
export { setPassword, changeOwnPassword, createResetToken, redeemResetToken, type PasswordSet, type ResetLink, type SetPasswordInput } from './services/credentials.js';
export { enrollTotp, confirmTotp, resetTwoFactor, twoFactorStatus, type Enrolment, type Confirmed, type TwoFactorStatus } from './services/two-factor.js';
export { showPolicy, getSetting, setPolicy, exportPolicy, importPolicy, checkPolicy, type SettingView, type SettingInput, type Finding } from './services/policy.js';
export {
  listAudit, iterateAudit, verifyAuditLog, auditAnchor, parseAnchor,
  type AuditEntryView, type AuditFilter, type VerifyResult, type Changes, type Anchor, type AnchorView,
} from './services/audit.js';
export { initialize, type InitResult, type FirstAdminInput } from './services/setup.js';
export { DEFAULT_PASSWORD_POLICY, type PasswordPolicy } from './security/passwords.js';
/** The key for secrets at rest: `makeContext(db, { secretBox: () => openSecretBox({ envKey, dbTarget }) })`. */
export { SecretBox, SecretKeyError, openSecretBox, type KeySource, type ResolveKeyOptions } from './security/secrets.js';
export { runCleanup, CLEANUP_KINDS, type CleanupInput, type CleanupResult, type CleanupKind, type CleanupKindView } from './services/cleanup.js';
/** Bulk: CSV import, one change to many accounts, saved plans (the confirmation is the `confirm` hook). */
export { importUsers, type ImportInput, type ImportOptions } from './services/user-import.js';
export { bulkUpdateUsers, BULK_VERBS, type BulkVerb, type BulkFilter, type UserBulkInput } from './services/user-bulk.js';
export { applyPlan } from './services/bulk-plans.js';
export { PartialError, type BulkHooks, type BulkOptions, type BulkPlan, type BulkSummary, type RefusedRow } from './bulk/engine.js';
/** Mail: createResetToken(ctx, user, { sendEmail: true }) queues the link; sendQueued sends it after the commit. */
export { listMail, sendQueued, runMailSend, type MailView, type SendResult, type MailRunResult } from './services/mail.js';
/** Invitations: the registration page calls acceptInvitation(ctx, token, { name, password }). */
export {
  createInvitation, resendInvitation, revokeInvitation, listInvitations, iterateInvitations, showInvitation, acceptInvitation,
  type InvitationView, type IssuedInvitation, type AcceptedInvitation, type InviteInput, type AcceptInput,
} from './services/invitations.js';
/** Registration, for the platform's sign-up page: refusals are RegistrationError with a machine-readable reason. */
export { register, verifyEmail, markEmailVerified, sendVerification, RegistrationError, REGISTRATION_REASONS, type Registered, type RegisterInput, type RegistrationReason } from './services/registration.js';
export { inviteBulk, type InviteBulkInput } from './services/invite-bulk.js';
