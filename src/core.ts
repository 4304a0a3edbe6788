/**
 * The core bundle's entry (dist/bundle/core.cjs): every name the CLI uses from services,
 * db, security, policy and bulk, re-exported BY NAME. A name exported twice is a type
 * error here, and the CLI imports core code only through this file (scripts/bundle.mjs
 * refuses anything else), so no import can silently become undefined.
 */
export { connect, defaultDbPath, parseDbUrl, redactUrl, urlSecrets, type Database, type ConnectOptions } from './db/connect.js';
export { openSecretBox, generateKey, encodeKey, SecretBox, rotationPlan, writeKeyFileAtomically, type KeySource } from './security/secrets.js';
export { describeDbError, scrubSecrets } from './db/errors.js';
export { migrate, schemaStatus, plannedMigration, assertSchemaCurrent, currentVersion, latestVersion, newDatabaseStatus } from './db/migrate.js';
export { DEFAULT_PASSWORD_POLICY } from './security/passwords.js';
export { makeContext, type ServiceContext, type ActorSpec } from './services/context.js';
export { validReason } from './services/validate.js';
export { type MutationOutcome } from './services/unit-of-work.js';
export {
  listAudit, iterateAudit, verifyAuditLog, assertVerified, parseAnchor, auditAnchor,
  type AuditEntryView, type Changes, type VerifyResult, type AnchorView,
} from './services/audit.js';
export {
  createUser, listUsers, iterateUsers, showUser, editUser, setUserRole, setUserStatus, deleteUser, previewDeleteUser,
  type CreatedUser, type UserView, type UserDetail,
} from './services/users.js';
export { initialize, checkFirstAdmin, type InitResult } from './services/setup.js';
export {
  showPolicy, getSetting, setPolicy, previewPolicy, exportPolicy, importPolicy, documentInputs, checkPolicy, confirmationReasons,
  type SettingView, type SettingInput, type SettingChange, type Finding, type PolicyDocument,
} from './services/policy.js';
export { rotateSecrets, hasSealedSecrets, type RotationResult } from './services/secrets.js';
export { settingByKey, SECTIONS } from './policy/registry.js';
export { explainSignIn, type SignInVerdict } from './services/auth-check.js';
export { setPassword, createResetToken, type PasswordSet, type ResetLink } from './services/credentials.js';
export { enrollTotp, confirmTotp, resetTwoFactor, twoFactorStatus, type TwoFactorStatus } from './services/two-factor.js';
export {
  revokeSessions, revokeSession, listSessions, iterateSessions, showSession, purgeSessions, previewPurgeSessions, parseDurationInput,
  type SessionView, type RevokedSessions, type PurgedSessions,
} from './services/sessions.js';
export { listLoginHistory, iterateLoginHistory, listUserActivity, iterateUserActivity, type LoginHistoryView } from './services/history.js';
export { impersonate, type Impersonation } from './services/impersonation.js';
export { exportUsers, EXPORT_COLUMNS, type ExportedUser } from './services/users.js';
export { runCleanup, CLEANUP_KINDS, type CleanupResult, type CleanupInput, type CleanupKindView } from './services/cleanup.js';
export { importUsers, type ImportInput } from './services/user-import.js';
export { PartialError, type BulkHooks, type BulkOptions, type BulkPlan, type BulkSummary, type RefusedRow } from './bulk/engine.js';
export { parseColumnMap } from './bulk/csv.js';
export { USER_IMPORT_COLUMNS } from './bulk/rows.js';
export { bulkUpdateUsers, BULK_VERBS, BULK_VALUE_COLUMN, BULK_ID_COLUMNS, type BulkVerb, type BulkFilter, type UserBulkInput } from './services/user-bulk.js';
export { applyPlan } from './services/bulk-plans.js';
export { listMail, showMail, runMailSend, sendTestMail, purgeMail, sendQueued, smtpConfigured, MailError, type MailView, type MailDetail, type MailRunResult, type SendResult } from './services/mail.js';
export {
  createInvitation, resendInvitation, revokeInvitation, listInvitations, iterateInvitations, showInvitation, acceptInvitation,
  type InvitationView, type IssuedInvitation, type AcceptedInvitation,
} from './services/invitations.js';
export { register, verifyEmail, markEmailVerified, sendVerification, RegistrationError, type Registered, type RegisterInput } from './services/registration.js';
export { inviteBulk, INVITE_BULK_COLUMNS } from './services/invite-bulk.js';
