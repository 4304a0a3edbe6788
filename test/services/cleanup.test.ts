/** The cleanup job (runCleanup) and its job lock, on every database, clock injected. */
import { describe, expect, it } from 'vitest';
import { DIALECTS, useTestDb } from '../setup.js';
import { expectUnchanged, lastAudit, makeUser, snapshot } from '../helpers.js';
import { runCleanup, type CleanupResult } from '../../src/services/cleanup.js';
import { withJobLock } from '../../src/db/job-lock.js';
import { setPolicy } from '../../src/services/policy.js';
import { verifyAuditLog } from '../../src/services/audit.js';
import { makeContext } from '../../src/services/context.js';
import type { Database } from '../../src/db/connect.js';

const NOW = new Date('2026-11-24T12:00:00.000Z');
const DAY = 86_400_000;
/** An ISO time `days` before NOW (negative: after). */
const ago = (days: number) => new Date(NOW.getTime() - days * DAY).toISOString();
/** An ISO time `ms` milliseconds before NOW (negative: after). */
const msAgo = (ms: number) => new Date(NOW.getTime() - ms).toISOString();
const HOUR = 3_600_000;
const MINUTE = 60_000;
const clock = () => NOW;

describe.each(DIALECTS)('cleanup on %s', (dialect) => {
  const t = useTestDb(dialect);
  const ctx = () => t.ctx({ now: clock });
  let n = 0;

  async function user(): Promise<number> {
    return (await makeUser(ctx())).id;
  }

  async function session(userId: number, f: { expires: string; revoked?: string | null }): Promise<number> {
    n++;
    const row = await t.db.kysely.insertInto('sessions').values({
      token_hash: `h${n}-${Math.random()}`, user_id: userId, created_at: ago(400), expires_at: f.expires, revoked_at: f.revoked ?? null,
      impersonator_id: null, ip: null, user_agent: null, last_seen_at: null,
    }).returning('id').executeTakeFirstOrThrow();
    return Number(row.id);
  }

  async function token(userId: number, f: { expires: string; consumed?: string | null }): Promise<number> {
    n++;
    const row = await t.db.kysely.insertInto('tokens').values({
      user_id: userId, purpose: 'password_reset', token_hash: `t${n}-${Math.random()}`, created_at: ago(400), expires_at: f.expires, consumed_at: f.consumed ?? null, created_by: 'test',
    }).returning('id').executeTakeFirstOrThrow();
    return Number(row.id);
  }

  async function history(userId: number | null, at: string): Promise<number> {
    const row = await t.db.kysely.insertInto('login_history').values({
      user_id: userId, identifier: 'someone', at, ip: null, user_agent: null, method: 'password', success: 1, reason: null,
    }).returning('id').executeTakeFirstOrThrow();
    return Number(row.id);
  }

  const ids = async (table: 'sessions' | 'tokens' | 'login_history') =>
    (await t.db.kysely.selectFrom(table).select('id').orderBy('id').execute()).map((r) => Number(r.id));

  const cleanupEntries = async () =>
    t.db.kysely.selectFrom('audit_log').selectAll().where('action', '=', 'cleanup.run').orderBy('seq').execute();

  it('deletes only sessions that ended (revoked or expired) longer ago than retention.revoked_sessions (30 days)', async () => {
    const u = await user();
    const live = await session(u, { expires: ago(-5) });
    const revokedOld = await session(u, { expires: ago(-5), revoked: ago(31) });
    const revokedRecent = await session(u, { expires: ago(-5), revoked: ago(29) });
    const expiredOld = await session(u, { expires: ago(31) });
    const expiredRecent = await session(u, { expires: ago(29) });
    // ended when it was revoked, long before it expired
    const revokedThenExpired = await session(u, { expires: ago(2), revoked: ago(40) });

    const r = await runCleanup(ctx(), { kinds: ['sessions'] });
    expect(r).toMatchObject({ sessions: 3, tokens: 0, login_history: 0, invitations: 0, dry_run: false, skipped: false, locked_by: null, took_over: null });
    expect(r.kinds.find((k) => k.kind === 'sessions')).toEqual({ kind: 'sessions', state: 'done', count: 3, cutoff: ago(30), older_than: '30d', batches: 1 });
    expect(r.kinds.filter((k) => k.kind !== 'sessions').map((k) => k.state)).toEqual(['not_requested', 'not_requested', 'not_requested']);
    expect(await ids('sessions')).toEqual([live, revokedRecent, expiredRecent]);
    for (const gone of [revokedOld, expiredOld, revokedThenExpired]) expect(await ids('sessions')).not.toContain(gone);

    const entries = await cleanupEntries();
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ outcome: 'ok', actor: 'test@host', target_type: 'cleanup' });
    expect(JSON.parse(entries[0]!.changes)).toEqual({ sessions_deleted: { after: 3 }, sessions_before: { after: ago(30) } });
  });

  it('deletes tokens consumed or expired more than a day ago, keeps live and recent ones', async () => {
    const u = await user();
    const live = await token(u, { expires: ago(-1) });
    const consumedOld = await token(u, { expires: ago(-1), consumed: ago(2) });
    const consumedRecent = await token(u, { expires: ago(-1), consumed: msAgo(12 * HOUR) });
    const expiredOld = await token(u, { expires: msAgo(25 * HOUR) });
    const expiredRecent = await token(u, { expires: msAgo(23 * HOUR) });
    const s = await session(u, { expires: ago(100) });

    const r = await runCleanup(ctx(), { kinds: ['tokens'] });
    expect(r).toMatchObject({ sessions: 0, tokens: 2, login_history: 0 });
    expect(r.kinds.find((k) => k.kind === 'tokens')).toMatchObject({ state: 'done', cutoff: ago(1), older_than: '1d' });
    expect(await ids('tokens')).toEqual([live, consumedRecent, expiredRecent]);
    for (const gone of [consumedOld, expiredOld]) expect(await ids('tokens')).not.toContain(gone);
    expect(await ids('sessions')).toEqual([s]); // not asked for
  });

  it('deletes sign-in history older than retention.login_history (90 days)', async () => {
    const u = await user();
    await history(u, ago(91));
    await history(null, ago(400));
    const recent = await history(u, ago(89));
    const r = await runCleanup(ctx(), { kinds: ['login_history'] });
    expect(r).toMatchObject({ login_history: 2 });
    expect(r.kinds.find((k) => k.kind === 'login_history')).toMatchObject({ cutoff: ago(90), older_than: '90d' });
    expect(await ids('login_history')).toEqual([recent]);
  });

  it('keeps a kind forever when its retention is 0: that part does nothing and says so', async () => {
    const u = await user();
    await setPolicy(ctx(), [{ key: 'retention.login_history', value: '0', from: 'text' }, { key: 'retention.revoked_sessions', value: '0', from: 'text' }]);
    await history(u, ago(3000));
    await session(u, { expires: ago(3000), revoked: ago(3000) });
    await token(u, { expires: ago(3) });
    const before = await ids('login_history');

    const dry = await runCleanup({ ...ctx(), dryRun: true });
    expect(dry).toMatchObject({ sessions: 0, tokens: 1, login_history: 0, invitations: 0, dry_run: true });
    const r = await runCleanup(ctx());
    expect(r).toMatchObject({ sessions: 0, tokens: 1, login_history: 0 });
    expect(r.kinds.map((k) => [k.kind, k.state, k.cutoff])).toEqual([['sessions', 'kept_forever', null], ['tokens', 'done', ago(1)], ['login_history', 'kept_forever', null], ['invitations', 'done', NOW.toISOString()]]);
    expect(await ids('login_history')).toEqual(before);
    expect(await ids('sessions')).toHaveLength(1);
    const entry = await lastAudit(t.db);
    expect(JSON.parse(entry.changes)).toEqual({
      sessions_kept: { after: 'forever' }, tokens_deleted: { after: 1 }, tokens_before: { after: ago(1) }, login_history_kept: { after: 'forever' },
    });
  });

  it('works in batches, each committed on its own, over more rows than one batch', async () => {
    const u = await user();
    const keep: number[] = [];
    for (let i = 0; i < 25; i++) {
      await session(u, { expires: ago(40 + i) });
      if (i % 3 === 0) keep.push(await session(u, { expires: ago(-1) })); // live ones in between
    }
    for (let i = 0; i < 9; i++) await history(u, ago(100 + i));
    const seen: [string, number][] = [];
    const r = await runCleanup(ctx(), { batchSize: 4, onBatch: (kind, deleted) => void seen.push([kind, deleted]) });
    expect(r).toMatchObject({ sessions: 25, tokens: 0, login_history: 9 });
    expect(r.kinds.map((k) => k.batches)).toEqual([7, 0, 3, 0]);
    // onBatch runs after each commit with the running count
    expect(seen).toEqual([
      ['sessions', 4], ['sessions', 8], ['sessions', 12], ['sessions', 16], ['sessions', 20], ['sessions', 24], ['sessions', 25],
      ['login_history', 4], ['login_history', 8], ['login_history', 9],
    ]);
    expect(await ids('sessions')).toEqual(keep);
    expect(await ids('login_history')).toEqual([]);
    expect(r.longest_batch_ms).toBeGreaterThan(0);
    expect(await cleanupEntries()).toHaveLength(1);
    expect(await verifyAuditLog(ctx())).toMatchObject({ ok: true });
  });

  it('with a batch size that divides the rows exactly, stops after one empty look', async () => {
    const u = await user();
    for (let i = 0; i < 6; i++) await session(u, { expires: ago(40) });
    const r = await runCleanup(ctx(), { batchSize: 3, kinds: ['sessions'] });
    expect(r.sessions).toBe(6);
    expect(r.kinds[0]!.batches).toBe(2);
  });

  it('a dry run counts, takes no lock and changes nothing, not even the audit log', async () => {
    const u = await user();
    await session(u, { expires: ago(40) });
    await session(u, { expires: ago(-1) });
    await token(u, { expires: ago(5), consumed: ago(5) });
    await history(u, ago(120));
    await history(u, ago(1));
    const before = await snapshot(t.db);
    const r = await runCleanup({ ...ctx(), dryRun: true }, { batchSize: 1 });
    expect(r).toMatchObject({ sessions: 1, tokens: 1, login_history: 1, invitations: 0, dry_run: true, skipped: false });
    expect(r.kinds.map((k) => k.batches)).toEqual([0, 0, 0, 0]);
    expect(await snapshot(t.db)).toBe(before);
  });

  it('a run with nothing to delete writes no audit entry', async () => {
    await user();
    const before = await snapshot(t.db);
    expect(await runCleanup(ctx())).toMatchObject({ sessions: 0, tokens: 0, login_history: 0, skipped: false });
    expect(await snapshot(t.db)).toBe(before);
  });

  it('two cleanups at once do the work once: the second exits at once, saying who holds the lock since when', async () => {
    const u = await user();
    for (let i = 0; i < 10; i++) await session(u, { expires: ago(40) });
    for (let i = 0; i < 4; i++) await token(u, { expires: ago(3) });
    const other: Database = await t.reconnect();
    let second: CleanupResult | undefined;
    const first = await runCleanup(ctx(), {
      batchSize: 3,
      owner: 'pid 1',
      onBatch: async () => {
        // The second run starts while the first is between two batches.
        second ??= await runCleanup(makeContext(other, { now: clock, actor: { kind: 'operator', label: 'cron@other' } }), { batchSize: 3, owner: 'pid 2' });
      },
    });
    expect(second).toMatchObject({ sessions: 0, tokens: 0, login_history: 0, skipped: true, locked_by: { owner: 'test@host, pid 1', since: NOW.toISOString() } });
    expect(first).toMatchObject({ sessions: 10, tokens: 4, skipped: false });
    expect(await ids('sessions')).toEqual([]);
    const entries = await cleanupEntries();
    expect(entries).toHaveLength(1);
    expect(entries[0]!.actor).toBe('test@host');
    // released: the next run takes the lock
    expect(await t.db.kysely.withTables<{ job_locks: { name: string } }>().selectFrom('job_locks').selectAll().execute()).toEqual([]);
    expect(await runCleanup(ctx())).toMatchObject({ skipped: false });
  });

  it('while another process holds the lock, a run does nothing and says so', async () => {
    const u = await user();
    await session(u, { expires: ago(40) });
    const other = await t.reconnect();
    const held = await withJobLock(other, 'cleanup', { owner: 'backup-host, pid 77', now: () => new Date(NOW.getTime() - 60_000) }, async () => {
      const r = await runCleanup(ctx());
      return r;
    });
    expect(held.ran).toBe(true);
    const r = held.ran ? held.value : undefined;
    expect(r).toMatchObject({ sessions: 0, skipped: true, locked_by: { owner: 'backup-host, pid 77', since: msAgo(MINUTE), expires_at: msAgo(-14 * MINUTE) } });
    expect(await ids('sessions')).toHaveLength(1);
    expect(await cleanupEntries()).toEqual([]);
  });

  it('takes over a stale lock (a run killed without releasing it) and says whose it was', async () => {
    const u = await user();
    await session(u, { expires: ago(40) });
    const locks = t.db.kysely.withTables<{ job_locks: { name: string; holder: string; owner: string; acquired_at: string; expires_at: string } }>();
    // killed an hour ago; its 15-minute lease ran out 45 minutes ago
    await locks.insertInto('job_locks').values({ name: 'cleanup', holder: 'run_dead', owner: 'old@host, pid 9', acquired_at: msAgo(HOUR), expires_at: msAgo(45 * MINUTE) }).execute();
    const r = await runCleanup(ctx(), { owner: 'pid 10' });
    expect(r).toMatchObject({ sessions: 1, skipped: false, took_over: { owner: 'old@host, pid 9', since: msAgo(HOUR) } });
    expect(await locks.selectFrom('job_locks').selectAll().execute()).toEqual([]);
  });

  it(dialect === 'sqlite'
    ? 'a lock row whose lease has not run out blocks the run (SQLite: the row is the lock)'
    : 'a lock row whose lease has not run out is taken over when no connection holds the advisory lock (PostgreSQL: its holder is gone)', async () => {
    const u = await user();
    await session(u, { expires: ago(40) });
    const locks = t.db.kysely.withTables<{ job_locks: { name: string; holder: string; owner: string; acquired_at: string; expires_at: string } }>();
    await locks.insertInto('job_locks').values({ name: 'cleanup', holder: 'run_live', owner: 'busy@host, pid 5', acquired_at: msAgo(MINUTE), expires_at: msAgo(-14 * MINUTE) }).execute();
    const r = await runCleanup(ctx());
    if (dialect === 'sqlite') {
      expect(r).toMatchObject({ sessions: 0, skipped: true, locked_by: { owner: 'busy@host, pid 5', since: msAgo(MINUTE) } });
      expect(await ids('sessions')).toHaveLength(1);
      expect(await locks.selectFrom('job_locks').select('holder').execute()).toEqual([{ holder: 'run_live' }]);
    } else {
      expect(r).toMatchObject({ sessions: 1, skipped: false, took_over: { owner: 'busy@host, pid 5' } });
    }
  });

  it('renews its lease between batches, and stops (exit 1) when another run took the lock over meanwhile', async () => {
    const u = await user();
    for (let i = 0; i < 9; i++) await session(u, { expires: ago(40) });
    let now = NOW.getTime();
    const locks = t.db.kysely.withTables<{ job_locks: { name: string; holder: string; owner: string; acquired_at: string; expires_at: string } }>();
    const expiries: string[] = [];
    let calls = 0;
    const run = runCleanup(t.ctx({ now: () => new Date(now) }), {
      batchSize: 3, kinds: ['sessions'], leaseSeconds: 60,
      onBatch: async () => {
        calls++;
        expiries.push((await locks.selectFrom('job_locks').select('expires_at').executeTakeFirstOrThrow()).expires_at);
        now += 30_000; // half the lease per batch: renewed after each
        if (calls === 2) await locks.updateTable('job_locks').set({ holder: 'run_thief' }).execute();
      },
    });
    await expect(run).rejects.toMatchObject({ exitCode: 1, code: 'lock_lost' });
    expect(expiries).toEqual([new Date(NOW.getTime() + 60_000).toISOString(), new Date(NOW.getTime() + 90_000).toISOString()]);
    // the batches done before stay done, and are on record
    expect(await ids('sessions')).toHaveLength(3);
    const entries = await cleanupEntries();
    expect(entries).toHaveLength(1);
    expect(JSON.parse(entries[0]!.changes)).toMatchObject({ sessions_deleted: { after: 6 }, failed: { after: expect.stringMatching(/taken over/) } });
    // the thief's lock is not released by the run that lost it
    expect(await locks.selectFrom('job_locks').select('holder').execute()).toEqual([{ holder: 'run_thief' }]);
  });

  it('refuses a user who is not an admin (exit 4), auditing the refusal and changing nothing', async () => {
    const plain = await makeUser(ctx(), { email: 'plain@example.com' });
    await session(plain.id, { expires: ago(40) });
    await expectUnchanged(t.db, () => runCleanup(t.ctx({ now: clock, actor: { kind: 'user', ref: 'plain@example.com' } })), 4, 'refused');
    expect(await lastAudit(t.db)).toMatchObject({ action: 'cleanup.run', outcome: 'refused', actor: 'plain@example.com' });
    const admin = await makeUser(ctx(), { email: 'adm@example.com', role: 'admin' });
    expect(admin.role).toBe('admin');
    expect(await runCleanup(t.ctx({ now: clock, actor: { kind: 'user', ref: 'adm@example.com' } }))).toMatchObject({ sessions: 1 });
  });

  it('refuses an unknown kind or a batch size out of range (exit 2) before touching anything', async () => {
    await expectUnchanged(t.db, () => runCleanup(ctx(), { kinds: ['bogus'] }), 2, 'none');
    await expectUnchanged(t.db, () => runCleanup(ctx(), { batchSize: 0 }), 2, 'none');
    await expectUnchanged(t.db, () => runCleanup(ctx(), { batchSize: 10_001 }), 2, 'none');
  });
});
