/** `acctctl cleanup`: flags, JSON shape, messages and exit codes, in-process on SQLite with the clock pinned. */
import { beforeEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { CLOCK, runAt, useCommandDb } from './harness.js';
import { connect } from '../../src/db/connect.js';
import type { DB } from '../../src/db/types.js';
import type { Kysely } from 'kysely';

const cli = useCommandDb({ migrated: true });
const { run, init } = cli;
const NOW = CLOCK().getTime();
const DAY = 86_400_000;
const ago = (ms: number) => new Date(NOW - ms).toISOString();

/** Direct access to the command's database, closed before the next verb runs (one connection at a time). */
async function withDb<T>(fn: (db: Kysely<DB>) => Promise<T>): Promise<T> {
  const db = await connect(cli.url);
  try {
    return await fn(db.kysely);
  } finally {
    await db.close();
  }
}

const count = (table: 'sessions' | 'tokens' | 'login_history' | 'audit_log') =>
  withDb(async (db) => Number((await db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n));

let n = 0;

/** Of each kind: 2 past retention, 1 within it. */
async function seed(): Promise<void> {
  await withDb(async (db) => {
    const root = await db.selectFrom('users').select('id').where('email', '=', 'root@example.com').executeTakeFirstOrThrow();
    const user_id = Number(root.id);
    for (const expires of [ago(40 * DAY), ago(31 * DAY), ago(29 * DAY)]) {
      n++;
      await db.insertInto('sessions').values({ token_hash: `s${n}`, user_id, created_at: ago(400 * DAY), expires_at: expires, revoked_at: null, impersonator_id: null, ip: null, user_agent: null, last_seen_at: null }).execute();
    }
    for (const consumed of [ago(3 * DAY), ago(2 * DAY), ago(DAY / 2)]) {
      n++;
      await db.insertInto('tokens').values({ user_id, purpose: 'email_verification', token_hash: `t${n}`, created_at: ago(4 * DAY), expires_at: ago(-DAY), consumed_at: consumed, created_by: 'test' }).execute();
    }
    for (const at of [ago(200 * DAY), ago(91 * DAY), ago(89 * DAY)]) {
      await db.insertInto('login_history').values({ user_id, identifier: 'root@example.com', at, ip: null, user_agent: null, method: 'password', success: 1, reason: null }).execute();
    }
  });
}

const counts = async () => ({ sessions: await count('sessions'), tokens: await count('tokens'), login_history: await count('login_history') });

beforeEach(async () => {
  await init();
  await seed();
});

describe('cleanup', () => {
  it('with no flag cleans every kind: JSON {sessions, tokens, login_history, dry_run} on stdout, one line on stderr, exit 0', async () => {
    const audit = await count('audit_log');
    const r = await run(['cleanup', '-o', 'json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ sessions: 2, tokens: 2, login_history: 2, invitations: 0, dry_run: false });
    expect(r.stderr).toBe('Cleanup: deleted 2 sessions, 2 tokens, 2 sign-in history entries.\n');
    expect(r.asked).toEqual([]);
    expect(await counts()).toEqual({ sessions: 1, tokens: 1, login_history: 1 });
    expect(await count('audit_log')).toBe(audit + 1);
    const entry = JSON.parse((await run(['audit', 'list', '--limit', '1', '-o', 'json'])).stdout).items[0];
    expect(entry).toMatchObject({ action: 'cleanup.run', outcome: 'ok' });

    // again: nothing left to do, still exit 0, no new entry
    const again = await run(['cleanup']);
    expect(again).toMatchObject({ code: 0, stdout: '', stderr: 'Cleanup: deleted 0 sessions, 0 tokens, 0 sign-in history entries.\n' });
    expect(await count('audit_log')).toBe(audit + 1);
  });

  it('--sessions, --tokens and --login-history clean only those kinds; --all cleans everything', async () => {
    const s = await run(['cleanup', '--sessions', '--json']);
    expect(s.code).toBe(0);
    expect(JSON.parse(s.stdout)).toEqual({ sessions: 2, tokens: 0, login_history: 0, invitations: 0, dry_run: false });
    expect(s.stderr).toBe('Cleanup: deleted 2 sessions.\n');
    expect(await counts()).toEqual({ sessions: 1, tokens: 3, login_history: 3 });

    const tl = await run(['cleanup', '--tokens', '--login-history', '-o', 'json']);
    expect(JSON.parse(tl.stdout)).toEqual({ sessions: 0, tokens: 2, login_history: 2, invitations: 0, dry_run: false });
    expect(await counts()).toEqual({ sessions: 1, tokens: 1, login_history: 1 });

    await seed();
    const all = await run(['cleanup', '--all', '--tokens', '--batch-size', '1', '-o', 'json']);
    expect(JSON.parse(all.stdout)).toEqual({ sessions: 2, tokens: 2, login_history: 2, invitations: 0, dry_run: false });
  });

  it('--dry-run counts and changes nothing (global option, before or after the verb)', async () => {
    const audit = await count('audit_log');
    for (const args of [['cleanup', '--dry-run', '-o', 'json'], ['--dry-run', 'cleanup', '-o', 'json']]) {
      const r = await run(args);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({ sessions: 2, tokens: 2, login_history: 2, invitations: 0, dry_run: true });
      expect(r.stderr).toBe('Dry run: cleanup would delete 2 sessions, 2 tokens, 2 sign-in history entries. Nothing changed.\n');
    }
    expect(await counts()).toEqual({ sessions: 3, tokens: 3, login_history: 3 });
    expect(await count('audit_log')).toBe(audit);
  });

  it('says so when the policy keeps a kind forever (retention 0), and leaves it alone', async () => {
    expect((await run(['policy', 'set', 'retention.login_history', '0'])).code).toBe(0);
    const r = await run(['cleanup']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('Cleanup: deleted 2 sessions, 2 tokens; sign-in history kept forever (retention.login_history is 0).\n');
    expect(await counts()).toEqual({ sessions: 1, tokens: 1, login_history: 3 });
    const only = await run(['cleanup', '--login-history', '-o', 'json']);
    expect(JSON.parse(only.stdout)).toEqual({ sessions: 0, tokens: 0, login_history: 0, invitations: 0, dry_run: false });
    expect(only.stderr).toBe('Cleanup: deleted nothing; sign-in history kept forever (retention.login_history is 0).\n');
  });

  it('exits 0 at once, doing nothing, while another run holds the lock, and says which run since when', async () => {
    const since = ago(2 * 60_000);
    await withDb((db) => db.withTables<{ job_locks: { name: string; holder: string; owner: string; acquired_at: string; expires_at: string } }>()
      .insertInto('job_locks').values({ name: 'cleanup', holder: 'run_x', owner: 'cron@web1, pid 4242', acquired_at: since, expires_at: ago(-13 * 60_000) }).execute());
    const r = await run(['cleanup', '-o', 'json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ sessions: 0, tokens: 0, login_history: 0, invitations: 0, dry_run: false, skipped: true, locked_by: 'cron@web1, pid 4242', locked_since: since });
    expect(r.stderr).toBe(`Cleanup skipped: another run holds the lock (cron@web1, pid 4242, since ${since}); nothing done.\n`);
    expect(await counts()).toEqual({ sessions: 3, tokens: 3, login_history: 3 });
    expect((await run(['cleanup', '-q'])).stderr).toBe('');
  });

  it('takes over a stale lock (its lease ran out: the run was killed), warning even with -q', async () => {
    const since = ago(60 * 60_000);
    await withDb((db) => db.withTables<{ job_locks: { name: string; holder: string; owner: string; acquired_at: string; expires_at: string } }>()
      .insertInto('job_locks').values({ name: 'cleanup', holder: 'run_x', owner: 'cron@web1, pid 4242', acquired_at: since, expires_at: ago(45 * 60_000) }).execute());
    const r = await run(['cleanup', '-q', '-o', 'json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ sessions: 2, tokens: 2, login_history: 2, invitations: 0, dry_run: false });
    expect(r.stderr).toBe(`Took over the cleanup lock left by cron@web1, pid 4242 (held since ${since}): that run stopped without releasing it.\n`);
  });

  it('-q prints nothing on success (for cron)', async () => {
    expect(await run(['cleanup', '-q'])).toMatchObject({ code: 0, stdout: '', stderr: '' });
  });

  it('exit codes: 2 for a bad batch size or an unknown flag, 4 for a user who is not an admin, 1 for a database that is not there', async () => {
    const audit = await count('audit_log');
    for (const args of [['cleanup', '--batch-size', '0'], ['cleanup', '--batch-size', 'lots'], ['cleanup', '--invitations']]) {
      const r = await run(args);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^acctctl: /);
    }
    expect((await run(['user', 'create', '--email', 'plain@example.com', '--password-stdin'], { stdin: 'correct horse battery staple' })).code).toBe(0);
    const denied = await run(['--actor', 'plain@example.com', 'cleanup', '-o', 'json']);
    expect(denied.code).toBe(4);
    expect(JSON.parse(denied.stderr)).toMatchObject({ error: { code: 'permission_denied', exit_code: 4 } });
    expect(await counts()).toEqual({ sessions: 3, tokens: 3, login_history: 3 });
    expect(await count('audit_log')).toBe(audit + 2); // the user created, the refusal

    const missing = await runAt(join(cli.url, '..', 'missing.db'), ['cleanup']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/does not exist/);
  });

  it('--help shows what it deletes, the lock, examples and a crontab line', async () => {
    const r = await run(['cleanup', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Examples:\n(  \$ acctctl .*\n)+/);
    expect(r.stdout).toMatch(/^ {2}17 3 \* \* \* {2}acctctl .* cleanup -q$/m);
    for (const flag of ['--sessions', '--tokens', '--login-history', '--all', '--batch-size']) expect(r.stdout).toContain(flag);
    const top = await runAt(null, ['--help']);
    expect(top.stdout).toMatch(/cleanup\s+Remove expired sessions, tokens and old login\s+history \(for cron\)/);
  });
});
