/**
 * acctctl as a library: the same services and rules the CLI uses, for a platform that
 * wants them without the command line.
 *
 *   import { connect, migrate, makeContext, createUser } from 'acctctl';
 *   const db = await connect('postgres://…');
 *   const ctx = makeContext(db, { actor: { kind: 'operator', label: 'signup-service' } });
 */
export { connect, parseDbUrl, defaultDbPath, type Database, type DialectName } from './db/connect.js';
export { migrate, schemaStatus, assertSchemaCurrent, latestVersion } from './db/migrate.js';
export type { DB, UserRow, AuditRow } from './db/types.js';
export { makeContext, type ServiceContext, type ActorSpec } from './services/context.js';
export * from './errors.js';
export {
  createUser, listUsers, iterateUsers, showUser, editUser, setUserRole, setUserStatus, deleteUser, previewDeleteUser, findUser,
  userView, revokeUserSessions, USER_SORTS, type UserView, type UserDetail, type CreateUserInput, type EditUserInput, type UserFilter,
} from './services/users.js';
export { listAudit, verifyAudit, verifyAuditLog, type AuditEntryView, type VerifyResult, type MutationOutcome, type Changes } from './services/audit.js';
export { initialize } from './services/setup.js';
export { hashPassword, verifyPassword, generatePassword, DEFAULT_PASSWORD_POLICY, type PasswordPolicy } from './security/passwords.js';
