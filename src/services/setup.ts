/** First run: migrate the schema and create the first super admin. */
import { migrate, currentVersion } from '../db/migrate.js';
import type { MutationOutcome } from './audit.js';
import type { ServiceContext } from './context.js';
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

export async function initialize(ctx: ServiceContext, admin?: FirstAdminInput): Promise<InitResult> {
  // A dry run reports what it would migrate without migrating.
  if (ctx.dryRun) {
    const { schemaStatus } = await import('../db/migrate.js');
    const status = await schemaStatus(ctx.db);
    return { schema_version: status.current, applied_versions: status.pending, admin: null };
  }
  const applied = await migrate(ctx.db, ctx.now);
  const created = admin ? await createUser(ctx, { ...admin, role: 'admin', superAdmin: true, firstSuperAdmin: true }) : null;
  return { schema_version: await currentVersion(ctx.db), applied_versions: applied, admin: created };
}
