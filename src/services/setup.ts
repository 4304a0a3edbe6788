/** First run: migrate the schema and create the first super admin. */
import { migrate, currentVersion, plannedMigration } from '../db/migrate.js';
import { PermissionError, UsageError } from '../errors.js';
import { assertCan, resolveActor } from './permissions.js';
import { reader } from './unit-of-work.js';
import { validateUserInputOrThrow } from './validate.js';
import { checkPassword, DEFAULT_PASSWORD_POLICY } from '../security/passwords.js';
import type { ServiceContext } from './context.js';
import type { MutationOutcome } from './unit-of-work.js';
import { createUser, prepareNewUser, type CreatedUser } from './users.js';

export interface FirstAdminInput {
  email: string;
  username?: string | undefined;
  displayName?: string | undefined;
  password?: string | undefined;
  generatePassword?: boolean | undefined;
}

export interface InitResult {
  schema_version: number;
  applied_versions: number[];
  admin: MutationOutcome<CreatedUser> | null;
}

/**
 * Migrates, then creates the first super admin when asked. `beforeAdminCommit` sees the
 * whole result inside the admin's transaction (to show a generated password before it
 * commits).
 */
/** The first super admin's input, checked without a database (a dry run on a new one). */
export function checkFirstAdmin(admin: FirstAdminInput): void {
  if (admin.password === undefined && !admin.generatePassword) {
    throw new UsageError('the first super admin needs a password: give one (--admin-password-stdin) or generate it (--generate-password)', { field: 'password' });
  }
  validateUserInputOrThrow({ email: admin.email, username: admin.username, displayName: admin.displayName, role: 'admin', superAdmin: true }, 'create');
  if (admin.password !== undefined) checkPassword(admin.password, DEFAULT_PASSWORD_POLICY);
}

export async function initialize(
  ctx: ServiceContext,
  admin?: FirstAdminInput,
  opts: { beforeAdminCommit?: (result: InitResult) => Promise<void> } = {},
): Promise<InitResult> {
  // The first super admin is the only way in: it must be able to sign in.
  if (admin) checkFirstAdmin(admin);
  await assertMayInitialize(ctx);
  // A dry run runs every check the real run would, and changes nothing.
  if (ctx.dryRun) {
    const status = await plannedMigration(ctx.db);
    let created: MutationOutcome<CreatedUser> | null = null;
    if (admin) {
      const input = { ...admin, role: 'admin', superAdmin: true, firstSuperAdmin: true, emailVerified: true };
      // On a migrated database the whole creation runs and is rolled back; on a new one
      // (no tables yet) its input is still checked.
      if (status.current > 0) created = await createUser(ctx, input);
      else await prepareNewUser(ctx, input);
    }
    return { schema_version: status.current, applied_versions: status.pending, admin: created };
  }
  const applied = await migrate(ctx.db, ctx.now);
  const version = await currentVersion(ctx.db);
  const hook = opts.beforeAdminCommit;
  const adminCtx: ServiceContext = hook
    ? { ...ctx, beforeCommit: (outcome) => hook({ schema_version: version, applied_versions: applied, admin: outcome as MutationOutcome<CreatedUser> }) }
    : ctx;
  const created = admin ? await createUser(adminCtx, { ...admin, role: 'admin', superAdmin: true, firstSuperAdmin: true, emailVerified: true }) : null;
  return { schema_version: version, applied_versions: applied, admin: created };
}

/**
 * Migrating is the local operator's job, or a super admin's once there are users: a
 * library caller acting as a plain user may not change the schema.
 */
async function assertMayInitialize(ctx: ServiceContext): Promise<void> {
  if (ctx.actor.kind === 'operator') return;
  if ((await currentVersion(ctx.db)) === 0) throw new PermissionError('only the local operator may initialise a new database');
  assertCan(await resolveActor(reader(ctx), ctx.actor), 'db.migrate');
}
