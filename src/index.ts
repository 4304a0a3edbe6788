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
export { revokeSessions, type RevokedSessions } from './services/sessions.js';
export {
  listAudit, iterateAudit, verifyAuditLog, auditAnchor, parseAnchor,
  type AuditEntryView, type AuditFilter, type VerifyResult, type Changes, type Anchor, type AnchorView,
} from './services/audit.js';
export { initialize, type InitResult, type FirstAdminInput } from './services/setup.js';
export { DEFAULT_PASSWORD_POLICY, type PasswordPolicy } from './security/passwords.js';
