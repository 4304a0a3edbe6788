/**
 * A job lock: at most one run of a maintenance job (cleanup) at a time, across processes
 * and hosts, never held for ever by a run that was killed.
 *
 * - PostgreSQL: a session-level advisory lock (pg_try_advisory_lock) on a connection
 *   pinned for the run. The server frees it the moment that connection ends, so a killed
 *   run never blocks the next one. The key includes current_schema(), so two installations
 *   in one database do not block each other.
 * - SQLite: a row of job_locks with a lease, taken by compare-and-set: a new row
 *   (INSERT … ON CONFLICT DO NOTHING), or a row whose lease has expired (UPDATE … WHERE
 *   holder and expires_at are still what was read). The holder renews the lease as it
 *   works; a killed run's lease runs out and the next run takes the lock over.
 *
 * On both engines the row says who holds the lock and since when (on PostgreSQL it is
 * information only: the advisory lock decides). Each statement commits on its own: no
 * transaction stays open while the job runs.
 */
import { randomBytes } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Database } from './connect.js';
import type { DB, IsoTime } from './types.js';
import { AcctError } from '../errors.js';

/** schema.sql version 4. Typed here (withTables) so the lock stays self-contained. */
export interface JobLocksTable {
  name: string;
  /** A random id of the run that holds the lock (compare-and-set and release match it). */
  holder: string;
  /** Who holds it, in words (the actor, the process id). */
  owner: string;
  acquired_at: IsoTime;
  expires_at: IsoTime;
}

type LockDb = Kysely<DB & { job_locks: JobLocksTable }>;

/** Who holds a lock, as a message shows it. */
export interface LockHolder {
  owner: string;
  /** When that run took the lock. */
  since: IsoTime;
  /** When its lease runs out unless renewed (on PostgreSQL: information only). */
  expires_at: IsoTime;
}

export interface JobLockOptions {
  /** Who asks, in words: stored for the message another run shows. */
  owner: string;
  /** The clock the lease is measured with. */
  now: () => Date;
  /** How long the lock stays held without a renewal (default 15 minutes). */
  leaseMs?: number;
}

export const DEFAULT_LEASE_MS = 15 * 60 * 1000;

export type JobLockResult<T> =
  | { ran: true; value: T; /** The run whose lease had expired (killed, or hung), when its lock was taken over. */ tookOver: LockHolder | null }
  | { ran: false; /** null when the holder has not written its row yet (PostgreSQL, a moment after it took the lock). */ heldBy: LockHolder | null };

/** Exit 1: the lease ran out while the run was still working and another run took the lock over. */
export class LockLostError extends AcctError {
  override readonly code = 'lock_lost';
}

/** The lock as its holder sees it: renew() as the work goes on. */
export class JobLease {
  #expiresAt: number;

  constructor(
    private readonly db: LockDb,
    readonly name: string,
    readonly holder: string,
    private readonly opts: Required<JobLockOptions>,
    expiresAt: number,
  ) {
    this.#expiresAt = expiresAt;
  }

  /**
   * Extends the lease once a third of it has gone (a cheap call between batches). Throws
   * LockLostError if another run took the lock over meanwhile: the caller must stop.
   */
  async renew(): Promise<void> {
    const now = this.opts.now().getTime();
    if (this.#expiresAt - now > (this.opts.leaseMs * 2) / 3) return;
    const expires = now + this.opts.leaseMs;
    const res = await this.db
      .updateTable('job_locks')
      .set({ expires_at: new Date(expires).toISOString() })
      .where('name', '=', this.name)
      .where('holder', '=', this.holder)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) !== 1) {
      throw new LockLostError(`the ${this.name} lock was taken over by another run (this run's lease ran out); stopped`);
    }
    this.#expiresAt = expires;
  }
}

function holderOf(row: Pick<JobLocksTable, 'owner' | 'acquired_at' | 'expires_at'>): LockHolder {
  return { owner: row.owner, since: row.acquired_at, expires_at: row.expires_at };
}

async function readLock(db: LockDb, name: string): Promise<JobLocksTable | undefined> {
  return db.selectFrom('job_locks').selectAll().where('name', '=', name).executeTakeFirst();
}

/** Who holds the lock now, by its row (null when nobody does, or the holder has not written it yet). */
export async function jobLockHolder(database: Database, name: string): Promise<LockHolder | null> {
  const row = await readLock(database.kysely.withTables<{ job_locks: JobLocksTable }>(), name);
  return row ? holderOf(row) : null;
}

/**
 * Runs fn while holding the named lock, or returns at once, without running it, when
 * another run holds it. The lock is released when fn ends, whether it returns or throws.
 */
export async function withJobLock<T>(database: Database, name: string, options: JobLockOptions, fn: (lease: JobLease) => Promise<T>): Promise<JobLockResult<T>> {
  const opts: Required<JobLockOptions> = { leaseMs: DEFAULT_LEASE_MS, ...options };
  if (!(opts.leaseMs > 0)) throw new Error('withJobLock: leaseMs must be positive');
  const holder = `run_${randomBytes(9).toString('base64url')}`;
  if (database.dialect === 'postgres') {
    // One connection for the whole run: the advisory lock lives as long as it does.
    return database.kysely.connection().execute((conn) => withAdvisoryLock(conn.withTables<{ job_locks: JobLocksTable }>(), name, holder, opts, fn));
  }
  return withLeaseRow(database.kysely.withTables<{ job_locks: JobLocksTable }>(), name, holder, opts, fn);
}

function newRow(name: string, holder: string, opts: Required<JobLockOptions>): JobLocksTable {
  const now = opts.now().getTime();
  return { name, holder, owner: opts.owner, acquired_at: new Date(now).toISOString(), expires_at: new Date(now + opts.leaseMs).toISOString() };
}

async function runHolding<T>(db: LockDb, row: JobLocksTable, opts: Required<JobLockOptions>, tookOver: LockHolder | null, fn: (lease: JobLease) => Promise<T>): Promise<JobLockResult<T>> {
  const lease = new JobLease(db, row.name, row.holder, opts, Date.parse(row.expires_at));
  let value: T;
  try {
    value = await fn(lease);
  } catch (err) {
    // The error that stopped the run matters more than one releasing the lock.
    await release(db, row).catch(() => {});
    throw err;
  }
  await release(db, row);
  return { ran: true, value, tookOver };
}

async function release(db: LockDb, row: JobLocksTable): Promise<void> {
  await db.deleteFrom('job_locks').where('name', '=', row.name).where('holder', '=', row.holder).execute();
}

/** SQLite: the row is the lock (compare-and-set on its lease). */
async function withLeaseRow<T>(db: LockDb, name: string, holder: string, opts: Required<JobLockOptions>, fn: (lease: JobLease) => Promise<T>): Promise<JobLockResult<T>> {
  // A few rounds at most: each lost race means another run now holds a fresh lease.
  for (let round = 0; round < 3; round++) {
    const row = newRow(name, holder, opts);
    const inserted = await db.insertInto('job_locks').values(row).onConflict((oc) => oc.column('name').doNothing()).executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows) === 1) return runHolding(db, row, opts, null, fn);
    const current = await readLock(db, name);
    if (!current) continue; // released between the two statements: try again
    if (current.expires_at > row.acquired_at) return { ran: false, heldBy: holderOf(current) };
    // Stale: take it over only if it is still the row that was read.
    const taken = await db
      .updateTable('job_locks')
      .set({ holder: row.holder, owner: row.owner, acquired_at: row.acquired_at, expires_at: row.expires_at })
      .where('name', '=', name)
      .where('holder', '=', current.holder)
      .where('expires_at', '=', current.expires_at)
      .executeTakeFirst();
    if (Number(taken.numUpdatedRows) === 1) return runHolding(db, row, opts, holderOf(current), fn);
  }
  const current = await readLock(db, name);
  return { ran: false, heldBy: current ? holderOf(current) : null };
}

/** PostgreSQL: the advisory lock decides; the row only tells others who holds it. */
async function withAdvisoryLock<T>(conn: LockDb, name: string, holder: string, opts: Required<JobLockOptions>, fn: (lease: JobLease) => Promise<T>): Promise<JobLockResult<T>> {
  const key = sql`hashtextextended('acctctl.job:' || current_schema() || ':' || ${name}, 0)`;
  const got = await sql<{ ok: boolean }>`SELECT pg_try_advisory_lock(${key}) AS ok`.execute(conn);
  if (!got.rows[0]?.ok) {
    const current = await readLock(conn, name);
    return { ran: false, heldBy: current ? holderOf(current) : null };
  }
  try {
    // Holding the advisory lock, this is the only run: a row left behind is a dead run's.
    const previous = await readLock(conn, name);
    const row = newRow(name, holder, opts);
    await conn
      .insertInto('job_locks')
      .values(row)
      .onConflict((oc) => oc.column('name').doUpdateSet({ holder: row.holder, owner: row.owner, acquired_at: row.acquired_at, expires_at: row.expires_at }))
      .execute();
    return await runHolding(conn, row, opts, previous ? holderOf(previous) : null, fn);
  } finally {
    await sql`SELECT pg_advisory_unlock(${key})`.execute(conn).catch(() => {});
  }
}
