/** `acctctl apply PLAN.json`: a saved plan back to the job that made it, then applied. */
import { applySavedPlan, type BulkHooks, type BulkJob, type BulkOptions, type BulkPlan, type BulkSummary } from '../bulk/engine.js';
import { UsageError } from '../errors.js';
import type { ServiceContext } from './context.js';
import { printable } from './validate.js';
import { userImportJob } from './user-import.js';
import { userBulkJob } from './user-bulk.js';
import { inviteBulkJob } from './invite-bulk.js';

async function jobFor(ctx: ServiceContext, action: string, options: Record<string, unknown>): Promise<BulkJob<unknown>> {
  if (action === 'user.import') {
    return (await userImportJob(ctx, {
      updateExisting: options.update_existing === true, skipExisting: options.skip_existing === true, resetPasswords: options.reset_passwords === true,
    })) as BulkJob<unknown>;
  }
  if (action === 'invite.bulk') return (await inviteBulkJob(ctx, { ttlSeconds: typeof options.ttl_seconds === 'number' ? options.ttl_seconds : undefined })) as BulkJob<unknown>;
  if (action.startsWith('user.bulk.')) return userBulkJob(ctx, action.slice('user.bulk.'.length)) as BulkJob<unknown>;
  throw new UsageError(`plan: "${printable(action)}" is not a kind of plan this acctctl can apply`, { field: 'plan' });
}

/** Applies a plan saved with --plan-out, refusing it whole if any target changed since. */
export async function applyPlan(ctx: ServiceContext, path: string, opts: BulkOptions, hooks: BulkHooks = {}): Promise<{ plan: BulkPlan; summary: BulkSummary }> {
  if (opts.planOut !== undefined) throw new UsageError('--plan-out: the plan is already saved', { field: 'plan-out' });
  return applySavedPlan(ctx, path, (action, options) => jobFor(ctx, action, options), opts, hooks);
}
