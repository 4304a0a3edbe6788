/**
 * The cleanup job, for cron: deletes what has outlived its use —
 *   sessions   that ended (revoked, or expired: purgeSessionsTx's rule) longer ago than
 *              retention.revoked_sessions (0 = keep forever: nothing is deleted);
 *   tokens     single-use tokens (reset, verification links) that were consumed or expired
 *              more than a day ago (TOKEN_GRACE_SECONDS): no policy keeps them, a dead
 *              link is worth nothing; the day keeps yesterday's "link already used" cases
 *              explainable and never races a redemption in progress;
 *   login_history  entries older than retention.login_history (0 = keep forever);
 *   invitations    pending invitations past their expiry are marked expired (kept, for
 *              the record; they are not deleted).
 *
 * In batches (keyset on id), each its own short write transaction, so no lock is held for
 * long and a killed run leaves only whole batches done (the next run finishes the job).
 * Under the job lock (src/db/job-lock.ts): a second run started meanwhile does nothing and
 * says who holds the lock since when. One `cleanup.run` audit entry per run that deleted
 * something, written at the end with every count and cutoff: one run is one event, and a
 * cron job every few minutes should not add three entries to the chain each time (a run
 * that deleted nothing adds none).
 */
import type { Expression, ExpressionBuilder, Kysely, SqlBool } from 'kysely';
import type { DB } from '../db/types.js';
import { withWriteTx } from '../db/dialect.js';
import { DEFAULT_LEASE_MS, withJobLock, type LockHolder } from '../db/job-lock.js';
import { UsageError } from '../errors.js';
import { formatDuration } from '../policy/values.js';
import type { AuditTarget, Changes } from './audit.js';
import type { ServiceContext } from './context.js';
import { assertCan } from './permissions.js';
import { policyOf } from './policy.js';
import { authorizeRead, baseDb, currentUnit, mutate, reader } from './unit-of-work.js';
import { printable } from './validate.js';

export const CLEANUP_KINDS = ['sessions', 'tokens', 'login_history', 'invitations'] as const;
export type CleanupKind = (typeof CLEANUP_KINDS)[number];

/** Rows per batch (one short transaction each): a few milliseconds of write lock. */
export const DEFAULT_CLEANUP_BATCH = 2000;
export const MAX_CLEANUP_BATCH = 10_000;
/** Consumed or expired tokens are kept this long, then deleted. */
export const TOKEN_GRACE_SECONDS = 86_400;
/** The job lock's name (job_locks.name). */
export const CLEANUP_LOCK = 'cleanup';

export interface CleanupInput {
  /** What to clean; default (undefined or empty): every kind. */
  kinds?: readonly string[] | undefined;
  /** Rows per batch, 1 to MAX_CLEANUP_BATCH (default DEFAULT_CLEANUP_BATCH). */
  batchSize?: number | undefined;
  /** Who runs, in words, added to the actor's label in the lock row ("pid 4242"). */
  owner?: string | undefined;
  /** How long the lock holds without a renewal (default 15 minutes); renewed between batches. */
  leaseSeconds?: number | undefined;
  /** Called after each committed batch, outside any transaction (progress; tests). */
  onBatch?: ((kind: CleanupKind, deleted: number) => Promise<void> | void) | undefined;
}

export interface CleanupKindView {
  kind: CleanupKind;
  /** done: cleaned (or counted, on a dry run); kept_forever: the policy keeps them (retention 0); not_requested. */
  state: 'done' | 'kept_forever' | 'not_requested';
  /** Rows deleted, or that a dry run would delete. */
  count: number;
  /** What ended (sessions), was used or expired (tokens) or happened (history) before this time goes; null unless done. */
  cutoff: string | null;
  /** The age applied (30d); null unless done. */
  older_than: string | null;
  /** Write transactions used (0 on a dry run). */
  batches: number;
}

export interface CleanupResult {
  sessions: number;
  tokens: number;
  login_history: number;
  /** Invitations marked expired. */
  invitations: number;
  dry_run: boolean;
  /** Another run held the job lock: this run did nothing (every count 0). */
  skipped: boolean;
  /** Who holds the lock, when skipped (null if its holder had not yet written who it is). */
  locked_by: LockHolder | null;
  /** The lock of a run that died (or hung past its lease) that this run took over. */
  took_over: LockHolder | null;
  kinds: CleanupKindView[];
  /** The longest single batch transaction, in milliseconds. */
  longest_batch_ms: number;
}

type CleanTable = CleanupKind;
type Condition = (eb: ExpressionBuilder<DB, CleanTable>) => Expression<SqlBool>;

interface Planned {
  view: CleanupKindView;
  where: Condition | null;
}

const TARGET: AuditTarget = { type: 'cleanup', id: '*', label: 'ended sessions, used tokens, old sign-in history, expired invitations' };

/** A session ended when it was revoked or expired, whichever came first (as purgeSessionsTx). */
function sessionsEndedBefore(cutoff: string) {
  return (eb: ExpressionBuilder<DB, 'sessions'>) => eb.or([eb('revoked_at', '<', cutoff), eb('expires_at', '<', cutoff)]);
}

function tokensDeadBefore(cutoff: string) {
  return (eb: ExpressionBuilder<DB, 'tokens'>) => eb.or([eb('consumed_at', '<', cutoff), eb('expires_at', '<', cutoff)]);
}

function invitationsExpiredBy(now: string) {
  return (eb: ExpressionBuilder<DB, 'invitations'>) => eb.and([eb('status', '=', 'pending'), eb('expires_at', '<=', now)]);
}

function historyBefore(cutoff: string) {
  return (eb: ExpressionBuilder<DB, 'login_history'>) => eb('at', '<', cutoff);
}

function checkInput(input: CleanupInput): { kinds: CleanupKind[]; batchSize: number; leaseMs: number } {
  const asked = input.kinds ?? [];
  for (const k of asked) {
    if (!(CLEANUP_KINDS as readonly string[]).includes(k)) {
      throw new UsageError(`kinds: unknown kind "${printable(String(k)).slice(0, 40)}" (expected one of: ${CLEANUP_KINDS.join(', ')})`, { field: 'kinds' });
    }
  }
  const kinds = asked.length === 0 ? [...CLEANUP_KINDS] : CLEANUP_KINDS.filter((k) => asked.includes(k));
  const batchSize = input.batchSize ?? DEFAULT_CLEANUP_BATCH;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1 || batchSize > MAX_CLEANUP_BATCH) {
    throw new UsageError(`batch-size: must be a whole number from 1 to ${MAX_CLEANUP_BATCH}`, { field: 'batch-size' });
  }
  const lease = input.leaseSeconds;
  if (lease !== undefined && (!Number.isSafeInteger(lease) || lease < 1)) throw new UsageError('lease: must be 1 second or more', { field: 'lease' });
  return { kinds, batchSize, leaseMs: lease === undefined ? DEFAULT_LEASE_MS : lease * 1000 };
}

async function plan(ctx: ServiceContext, kinds: readonly CleanupKind[]): Promise<Planned[]> {
  const policy = await policyOf(ctx);
  const now = ctx.now().getTime();
  const ages: Record<CleanupKind, number> = {
    sessions: policy.get('retention.revoked_sessions'),
    tokens: TOKEN_GRACE_SECONDS,
    login_history: policy.get('retention.login_history'),
    invitations: -1, // not an age: what expired by now
  };
  return CLEANUP_KINDS.map((kind): Planned => {
    const view: CleanupKindView = { kind, state: 'not_requested', count: 0, cutoff: null, older_than: null, batches: 0 };
    if (!kinds.includes(kind)) return { view, where: null };
    const age = ages[kind];
    if (kind === 'invitations') {
      const at = new Date(now).toISOString();
      return { view: { ...view, state: 'done', cutoff: at, older_than: null }, where: invitationsExpiredBy(at) as Condition };
    }
    // 0 = keep forever (the retention settings' documented meaning).
    if (age === 0) return { view: { ...view, state: 'kept_forever' }, where: null };
    const cutoff = new Date(now - age * 1000).toISOString();
    const where = (kind === 'sessions' ? sessionsEndedBefore(cutoff) : kind === 'tokens' ? tokensDeadBefore(cutoff) : historyBefore(cutoff)) as Condition;
    return { view: { ...view, state: 'done', cutoff, older_than: formatDuration(age) }, where };
  });
}

async function countMatching(db: Kysely<DB>, table: CleanTable, where: Condition): Promise<number> {
  const row = await db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).where(where).executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * Deletes the matching rows of one table, batchSize at a time in id order: each batch
 * finds its window (the next batchSize matching ids after the last one) and deletes the
 * matching rows in it, in one short write transaction.
 */
async function deleteInBatches(
  ctx: ServiceContext, p: Planned, batchSize: number, between: () => Promise<void>, stats: { longestMs: number },
): Promise<void> {
  const db = baseDb(ctx.db);
  const table = p.view.kind;
  const where = p.where!;
  let after = 0;
  for (;;) {
    const started = performance.now();
    const batch = await withWriteTx(db, async (trx) => {
      const window = trx.selectFrom(table).select('id').where('id', '>', after).where(where).orderBy('id').limit(batchSize).as('w');
      const found = await trx
        .selectFrom(window)
        .select((eb) => [eb.fn.max('w.id').as('last'), eb.fn.countAll<number>().as('n')])
        .executeTakeFirstOrThrow();
      const n = Number(found.n);
      if (n === 0) return { n, last: after, deleted: 0 };
      const last = Number(found.last);
      if (table === 'invitations') {
        const res = await trx.updateTable('invitations').set({ status: 'expired' }).where('id', '>', after).where('id', '<=', last).where(where as never).executeTakeFirst();
        return { n, last, deleted: Number(res.numUpdatedRows) };
      }
      const res = await trx.deleteFrom(table).where('id', '>', after).where('id', '<=', last).where(where).executeTakeFirst();
      return { n, last, deleted: Number(res.numDeletedRows) };
    });
    stats.longestMs = Math.max(stats.longestMs, performance.now() - started);
    if (batch.n === 0) return;
    p.view.batches++;
    p.view.count += batch.deleted;
    after = batch.last;
    await between();
    if (batch.n < batchSize) return;
  }
}

function auditChanges(planned: Planned[], failure?: string): Changes {
  const changes: Changes = {};
  for (const { view } of planned) {
    if (view.state === 'kept_forever') changes[`${view.kind}_kept`] = { after: 'forever' };
    if (view.state !== 'done') continue;
    if (view.kind === 'invitations') {
      if (view.count > 0) changes.invitations_expired = { after: view.count };
      continue;
    }
    changes[`${view.kind}_deleted`] = { after: view.count };
    changes[`${view.kind}_before`] = { after: view.cutoff };
  }
  if (failure !== undefined) changes.failed = { after: failure };
  return changes;
}

function resultOf(planned: Planned[], extra: Pick<CleanupResult, 'dry_run' | 'skipped' | 'locked_by' | 'took_over' | 'longest_batch_ms'>): CleanupResult {
  const count = (k: CleanupKind) => planned.find((p) => p.view.kind === k)!.view.count;
  return { sessions: count('sessions'), tokens: count('tokens'), login_history: count('login_history'), invitations: count('invitations'), ...extra, kinds: planned.map((p) => p.view) };
}

/**
 * Runs the cleanup (ctx.dryRun: only counts, takes no lock, changes nothing). When another
 * run holds the job lock, returns at once with skipped (and locked_by), having done nothing.
 */
export async function runCleanup(ctx: ServiceContext, input: CleanupInput = {}): Promise<CleanupResult> {
  const { kinds, batchSize, leaseMs } = checkInput(input);
  if (currentUnit(ctx.db)) throw new Error('runCleanup: the cleanup commits batch by batch; it cannot run inside another unit of work');
  const actor = await authorizeRead(ctx, 'cleanup.run', (a) => {
    assertCan(a, 'session.manage');
    assertCan(a, 'user.manage');
  });
  const planned = await plan(ctx, kinds);
  if (ctx.dryRun) {
    for (const p of planned) if (p.where) p.view.count = await countMatching(reader(ctx), p.view.kind, p.where);
    return resultOf(planned, { dry_run: true, skipped: false, locked_by: null, took_over: null, longest_batch_ms: 0 });
  }
  const stats = { longestMs: 0 };
  const owner = input.owner === undefined ? actor.label : `${actor.label}, ${input.owner}`;
  const locked = await withJobLock(baseDb(ctx.db), CLEANUP_LOCK, { owner, now: ctx.now, leaseMs }, async (lease) => {
    try {
      for (const p of planned) {
        if (!p.where) continue;
        await deleteInBatches(ctx, p, batchSize, async () => {
          await input.onBatch?.(p.view.kind, p.view.count);
          await lease.renew();
        }, stats);
      }
    } catch (err) {
      // What was deleted before the failure is committed: say so in the log, then fail.
      if (planned.some((p) => p.view.count > 0)) {
        const why = err instanceof Error ? err.message.split('\n')[0]!.slice(0, 200) : String(err);
        await mutate(ctx, 'cleanup.run', (uow) => uow.record('cleanup.run', TARGET, auditChanges(planned, why))).catch(() => {});
      }
      throw err;
    }
    if (planned.some((p) => p.view.count > 0)) {
      await mutate(ctx, 'cleanup.run', async (uow) => {
        uow.about(TARGET);
        assertCan(uow.actor, 'session.manage');
        await uow.record('cleanup.run', TARGET, auditChanges(planned));
      });
    }
  });
  if (!locked.ran) return resultOf(planned, { dry_run: false, skipped: true, locked_by: locked.heldBy, took_over: null, longest_batch_ms: 0 });
  return resultOf(planned, { dry_run: false, skipped: false, locked_by: null, took_over: locked.tookOver, longest_batch_ms: Math.round(stats.longestMs * 10) / 10 });
}
