/** First run: migrate the schema and create the first super admin. */
import { migrate, currentVersion, schemaStatus } from '../db/migrate.js';
import { UsageError } from '../errors.js';
import type { ServiceContext } from './context.js';
import type { MutationOutcome } from './unit-of-work.js';
import { createUser, type CreatedUser } from './users.js';

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
export async function initialize(
  ctx: ServiceContext,
  admin?: FirstAdminInput,
  opts: { beforeAdminCommit?: (result: InitResult) => Promise<void> } = {},
): Promise<InitResult> {
  // The first super admin is the only way in: it must be able to sign in.
  if (admin && admin.password === undefined && !admin.generatePassword) {
    throw new UsageError('the first super admin needs a password: give one (--admin-password-stdin) or generate it (--generate-password)', { field: 'password' });
  }
  // A dry run reports what it would migrate without migrating.
  if (ctx.dryRun) {
    const status = await schemaStatus(ctx.db);
    return { schema_version: status.current, applied_versions: status.pending, admin: null };
  }
  const applied = await migrate(ctx.db, ctx.now);
  const version = await currentVersion(ctx.db);
  const hook = opts.beforeAdminCommit;
  const adminCtx: ServiceContext = hook
    ? { ...ctx, beforeCommit: (outcome) => hook({ schema_version: version, applied_versions: applied, admin: outcome as MutationOutcome<CreatedUser> }) }
    : ctx;
  const created = admin ? await createUser(adminCtx, { ...admin, role: 'admin', superAdmin: true, firstSuperAdmin: true }) : null;
  return { schema_version: version, applied_versions: applied, admin: created };
}
