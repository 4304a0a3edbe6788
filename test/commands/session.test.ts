/** Session verbs, user history / activity / impersonate / revoke-sessions: in-process, SQLite, clock pinned. */
import { beforeEach, describe, expect, it } from 'vitest';
import { CLOCK, useCommandDb } from './harness.js';
import { connect } from '../../src/db/connect.js';
import { makeContext, type ServiceContext } from '../../src/services/context.js';
import { authenticate, validateSession } from '../../src/services/auth.js';
import { hashToken } from '../../src/security/tokens.js';

const cli = useCommandDb({ migrated: true });
const { run, init } = cli;
const PASSWORD = 'correct horse battery staple';

/** A service call on the command's database (one connection at a time: it is closed before the next verb runs). */
async function withDb<T>(fn: (ctx: ServiceContext) => Promise<T>, now: Date = CLOCK()): Promise<T> {
  const db = await connect(cli.url);
  try {
    return await fn(makeContext(db, { now: () => now, passwordPolicy: { bcryptCost: 4 } }));
  } finally {
    await db.close();
  }
}

async function signIn(identifier: string, now: Date = CLOCK(), password = PASSWORD) {
  const r = await withDb((ctx) => authenticate(ctx, { identifier, password, ip: '203.0.113.9', user_agent: 'Firefox/140' }), now);
  if (!r.ok) return r;
  return r;
}

async function session(identifier: string, now: Date = CLOCK()) {
  const r = await signIn(identifier, now);
  if (!r.ok) throw new Error(`sign-in failed: ${r.reason}`);
  return r;
}

const json = (stdout: string) => JSON.parse(stdout) as { items: Record<string, unknown>[]; next_cursor: string | null };

beforeEach(async () => {
  await init();
  for (const email of ['ann@example.com', 'sue@example.com']) {
    expect((await run(['user', 'create', '--email', email, '--password-stdin', '--email-verified'], { stdin: PASSWORD })).code).toBe(0);
  }
});

describe('session list', () => {
  it('prints {"items": [...], "next_cursor": …}, filters, pages, and never shows a token', async () => {
    const a1 = await session('ann@example.com');
    const a2 = await session('ann@example.com');
    const s1 = await session('sue@example.com');
    const r = await run(['session', 'list', '-o', 'json']);
    expect(r.code).toBe(0);
    const page = json(r.stdout);
    expect(Object.keys(page)).toEqual(['items', 'next_cursor']);
    expect(page.next_cursor).toBeNull();
    expect(page.items.map((s) => s.session_id)).toEqual([s1.session_id, a2.session_id, a1.session_id]);
    expect(Object.keys(page.items[0]!)).toEqual([
      'session_id', 'user_public_id', 'user_email', 'kind', 'scope', 'state', 'created_at', 'last_seen_at', 'expires_at', 'revoked_at', 'ip', 'user_agent',
      'impersonator', 'impersonator_public_id',
    ]);

    const first = json((await run(['session', 'list', '--limit', '2', '-o', 'json'])).stdout);
    expect(first.items).toHaveLength(2);
    expect(first.next_cursor).toEqual(expect.any(String));
    const second = json((await run(['session', 'list', '--limit', '2', '--cursor', first.next_cursor!, '-o', 'json'])).stdout);
    expect(second.items.map((s) => s.session_id)).toEqual([a1.session_id]);
    expect(second.next_cursor).toBeNull();
    const table = await run(['session', 'list', '--limit', '2']);
    expect(table.stderr).toContain(`--cursor ${first.next_cursor}`);

    expect(json((await run(['session', 'list', '--user', 'ann@example.com', '-o', 'json'])).stdout).items).toHaveLength(2);
    expect(json((await run(['session', 'list', '--kind', 'impersonation', '-o', 'json'])).stdout).items).toEqual([]);
    expect((await run(['session', 'list', '--all', '-o', 'ndjson'])).stdout.trim().split('\n')).toHaveLength(3);

    await run(['session', 'revoke', a1.session_id]);
    expect(json((await run(['session', 'list', '-o', 'json'])).stdout).items).toHaveLength(2);
    expect(json((await run(['session', 'list', '--state', 'revoked', '-o', 'json'])).stdout).items.map((s) => s.session_id)).toEqual([a1.session_id]);
    expect(json((await run(['session', 'list', '--all-states', '-o', 'json'])).stdout).items).toHaveLength(3);

    const everything = [
      (await run(['session', 'list', '--all-states'])).stdout, (await run(['session', 'list', '--all-states', '-o', 'csv'])).stdout,
      (await run(['session', 'show', a2.session_id, '-o', 'json'])).stdout, (await run(['audit', 'list', '-o', 'json'])).stdout,
    ].join('\n');
    for (const s of [a1, a2, s1]) {
      expect(everything).not.toContain(s.session_token);
      expect(everything).not.toContain(hashToken(s.session_token));
    }
  });

  it('exit codes: a bad state or kind or cursor (2), an unknown user (3), a non-admin actor (4)', async () => {
    expect((await run(['session', 'list', '--state', 'live'])).code).toBe(2);
    expect((await run(['session', 'list', '--kind', 'cli'])).code).toBe(2);
    expect((await run(['session', 'list', '--cursor', 'bogus-cursor'])).code).toBe(2);
    expect((await run(['session', 'list', '--state', 'any', '--all-states'])).code).toBe(2);
    expect((await run(['session', 'list', '--user', 'ghost@example.com'])).code).toBe(3);
    expect((await run(['--actor', 'ann@example.com', 'session', 'list'])).code).toBe(4);
  });
});

describe('session show', () => {
  it('shows one session by its id; unknown is 3, malformed is 2', async () => {
    const a = await session('ann@example.com');
    const r = await run(['session', 'show', a.session_id, '-o', 'json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ session_id: a.session_id, user_email: 'ann@example.com', kind: 'web', state: 'active', ip: '203.0.113.9' });
    const table = await run(['session', 'show', a.session_id]);
    expect(table.stdout).toContain('ann@example.com');
    expect((await run(['session', 'show', 'ses_aaaaaaaaaaaaaaaa'])).code).toBe(3);
    expect((await run(['session', 'show', 'nonsense'])).code).toBe(2);
  });
});

describe('session revoke and user revoke-sessions', () => {
  it('revokes one session by id: audited, the token stops working', async () => {
    const a1 = await session('ann@example.com');
    const a2 = await session('ann@example.com');
    const r = await run(['session', 'revoke', a1.session_id, '-o', 'json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ session_id: a1.session_id, state: 'revoked' });
    expect(await withDb((ctx) => validateSession(ctx, a1.session_token))).toEqual({ ok: false, reason: 'revoked' });
    expect(await withDb((ctx) => validateSession(ctx, a2.session_token))).toMatchObject({ ok: true });
    const again = await run(['session', 'revoke', a1.session_id]);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('nothing to change');
    const audit = json((await run(['audit', 'list', '--action', 'session.revoke', '-o', 'json'])).stdout);
    expect(audit.items).toHaveLength(1);
    expect(audit.items[0]).toMatchObject({ target: 'ann@example.com', changes: { session_id: { after: a1.session_id } } });
  });

  it('revokes every session of a user with --user or user revoke-sessions', async () => {
    const a1 = await session('ann@example.com');
    const a2 = await session('ann@example.com');
    const s = await session('sue@example.com');
    const r = await run(['session', 'revoke', '--user', 'ann@example.com', '-o', 'json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ revoked: 2 });
    for (const x of [a1, a2]) expect(await withDb((ctx) => validateSession(ctx, x.session_token))).toEqual({ ok: false, reason: 'revoked' });
    const u = await run(['user', 'revoke-sessions', 'sue@example.com']);
    expect(u.code).toBe(0);
    expect(u.stderr).toMatch(/Revoked the sessions of sue@example\.com .*sessions_revoked=1/);
    expect(await withDb((ctx) => validateSession(ctx, s.session_token))).toEqual({ ok: false, reason: 'revoked' });
  });

  it('exit codes: neither or both of id and --user (2), unknown (3), --dry-run changes nothing', async () => {
    const a = await session('ann@example.com');
    expect((await run(['session', 'revoke'])).code).toBe(2);
    expect((await run(['session', 'revoke', a.session_id, '--user', 'ann@example.com'])).code).toBe(2);
    expect((await run(['session', 'revoke', '--user', 'ghost@example.com'])).code).toBe(3);
    expect((await run(['user', 'revoke-sessions', 'ghost@example.com'])).code).toBe(3);
    const dry = await run(['session', 'revoke', a.session_id, '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stderr).toContain('Dry run');
    expect(await withDb((ctx) => validateSession(ctx, a.session_token))).toMatchObject({ ok: true });
    expect((await run(['--actor', 'ann@example.com', 'session', 'revoke', a.session_id])).code).toBe(4);
  });
});

describe('session purge', () => {
  beforeEach(async () => {
    // ann: a session that expired on 2026-10-15 (40 days ago); sue: a live one
    await session('ann@example.com', new Date('2026-10-01T12:00:00.000Z'));
    await session('sue@example.com');
  });
  const count = async () => json((await run(['session', 'list', '--all-states', '-o', 'json'])).stdout).items.length;

  it('asks first: without a terminal and --yes it is exit 5 and nothing is deleted', async () => {
    const r = await run(['session', 'purge']);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('--yes');
    expect(await count()).toBe(2);
  });

  it('--dry-run reports the count; --yes deletes only ended sessions, audited once with the count', async () => {
    const dry = await run(['session', 'purge', '--dry-run', '-o', 'json']);
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.stdout)).toEqual({ purged: 1, cutoff: '2026-10-25T12:00:00.000Z', older_than: '30d', dry_run: true });
    expect(await count()).toBe(2);
    expect((await run(['session', 'purge', '--older-than', '50d', '--yes'])).stderr).toContain('Deleted 0');
    const r = await run(['session', 'purge', '--yes', '-o', 'json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ purged: 1, cutoff: '2026-10-25T12:00:00.000Z', older_than: '30d' });
    expect(await count()).toBe(1);
    const audit = json((await run(['audit', 'list', '--action', 'session.purge', '-o', 'json'])).stdout);
    expect(audit.items.map((e) => (e.changes as Record<string, { after: unknown }>).sessions_purged!.after)).toEqual([1, 0]);
  });

  it('asks on a terminal with the count; a malformed --older-than is exit 2', async () => {
    const r = await run(['session', 'purge', '--older-than', '7d'], { tty: true, answers: [true] });
    expect(r.code).toBe(0);
    expect(r.asked[0]).toMatch(/Delete 1 revoked or expired session/);
    expect((await run(['session', 'purge', '--older-than', 'a week', '--yes'])).code).toBe(2);
    expect((await run(['--actor', 'ann@example.com', 'session', 'purge', '--yes'])).code).toBe(4);
  });
});

describe('user history and user activity', () => {
  it('user history: newest first, --failed, paged, {"items", "next_cursor"}', async () => {
    await signIn('ann@example.com', new Date('2026-11-20T10:00:00.000Z'));
    await signIn('ann@example.com', new Date('2026-11-21T10:00:00.000Z'), 'a wrong password');
    await signIn('ann@example.com', new Date('2026-11-22T10:00:00.000Z'));
    const r = await run(['user', 'history', 'ann@example.com', '-o', 'json']);
    expect(r.code).toBe(0);
    const page = json(r.stdout);
    expect(page.next_cursor).toBeNull();
    expect(page.items.map((h) => [h.at, h.result, h.reason])).toEqual([
      ['2026-11-22T10:00:00.000Z', 'success', null], ['2026-11-21T10:00:00.000Z', 'failure', 'bad_password'], ['2026-11-20T10:00:00.000Z', 'success', null],
    ]);
    expect(page.items[0]).toEqual({ at: '2026-11-22T10:00:00.000Z', ip: '203.0.113.9', method: 'password', result: 'success', reason: null, user_agent: 'Firefox/140', identifier: 'ann@example.com' });
    expect(json((await run(['user', 'history', 'ann@example.com', '--failed', '-o', 'json'])).stdout).items).toHaveLength(1);
    expect(json((await run(['user', 'history', 'ann@example.com', '--since', '2026-11-21', '-o', 'json'])).stdout).items).toHaveLength(2);
    const p1 = json((await run(['user', 'history', 'ann@example.com', '--limit', '2', '-o', 'json'])).stdout);
    const p2 = json((await run(['user', 'history', 'ann@example.com', '--limit', '2', '--cursor', p1.next_cursor!, '-o', 'json'])).stdout);
    expect([...p1.items, ...p2.items]).toEqual(page.items);
    expect(p2.next_cursor).toBeNull();
    const table = await run(['user', 'history', 'ann@example.com']);
    expect(table.stdout).toMatch(/TIME\s+IP\s+METHOD\s+RESULT\s+REASON\s+USER AGENT/);
    expect((await run(['user', 'history', 'ann@example.com', '--since', 'last week'])).code).toBe(2);
    expect((await run(['user', 'history', 'ghost@example.com'])).code).toBe(3);
    expect((await run(['--actor', 'ann@example.com', 'user', 'history', 'ann@example.com'])).code).toBe(4);
  });

  it('user activity: entries by and about the user, paged', async () => {
    await run(['user', 'role', 'ann@example.com', 'admin']);
    await run(['--actor', 'ann@example.com', 'user', 'suspend', 'sue@example.com']);
    const r = await run(['user', 'activity', 'ann@example.com', '-o', 'json']);
    expect(r.code).toBe(0);
    const page = json(r.stdout);
    expect(page.items.map((e) => [e.action, e.target])).toEqual([['user.suspend', 'sue@example.com'], ['user.role', 'ann@example.com'], ['user.create', 'ann@example.com']]);
    const p1 = json((await run(['user', 'activity', 'ann@example.com', '--limit', '2', '-o', 'json'])).stdout);
    expect(p1.items).toHaveLength(2);
    const p2 = json((await run(['user', 'activity', 'ann@example.com', '--limit', '2', '--cursor', p1.next_cursor!, '-o', 'json'])).stdout);
    expect(p2).toEqual({ items: [page.items[2]], next_cursor: null });
    // --all continues from --cursor too
    const rest = (await run(['user', 'activity', 'ann@example.com', '--all', '--cursor', p1.next_cursor!, '-o', 'ndjson'])).stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(rest).toEqual([page.items[2]]);
    expect((await run(['user', 'activity', 'ghost@example.com'])).code).toBe(3);
    expect((await run(['--actor', 'sue@example.com', 'user', 'activity', 'ann@example.com'])).code).toBe(4);
  });
});

describe('user impersonate', () => {
  it('prints the token once on stdout, the session id and expiry on stderr; session list shows who impersonates whom', async () => {
    const r = await run(['user', 'impersonate', 'ann@example.com', '--ttl', '15m']);
    expect(r.code).toBe(0);
    const token = r.stdout.trim();
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(r.stderr).toMatch(/Impersonation session ses_\w+: \S+ as ann@example\.com \(usr_\w+\), until 2026-11-24T12:15:00\.000Z/);
    expect(r.stderr).not.toContain(token);
    const v = await withDb((ctx) => validateSession(ctx, token));
    expect(v).toMatchObject({ ok: true, kind: 'impersonation', user: { email: 'ann@example.com' } });
    const list = json((await run(['session', 'list', '--kind', 'impersonation', '-o', 'json'])).stdout);
    expect(list.items).toEqual([expect.objectContaining({ user_email: 'ann@example.com', kind: 'impersonation', impersonator: (v as { impersonator: string }).impersonator })]);
    const table = await run(['session', 'list']);
    expect(table.stdout).toContain('IMPERSONATED BY');
    const others = [table.stdout, (await run(['audit', 'list', '-o', 'json'])).stdout, (await run(['user', 'activity', 'ann@example.com', '-o', 'json'])).stdout].join('\n');
    expect(others).not.toContain(token);
    expect(others).not.toContain(hashToken(token));
    expect(json((await run(['audit', 'list', '--action', 'user.impersonate', '-o', 'json'])).stdout).items[0]).toMatchObject({
      target: 'ann@example.com', changes: { until: { after: '2026-11-24T12:15:00.000Z' } },
    });
  });

  it('-o json gives the token and the session in one record', async () => {
    const r = await run(['user', 'impersonate', 'ann@example.com', '-o', 'json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ token: expect.any(String), session_id: expect.stringMatching(/^ses_/), expires_at: '2026-11-24T13:00:00.000Z', ttl_seconds: 3600 });
  });

  it('exit codes: over the cap (2, naming it), a suspended user (4), an admin by a non-super admin (4), a closed stdout (1, no session)', async () => {
    const cap = await run(['user', 'impersonate', 'ann@example.com', '--ttl', '2h']);
    expect(cap.code).toBe(2);
    expect(cap.stderr).toContain('security.impersonation_max_ttl is 1h');
    expect((await run(['user', 'impersonate', 'ann@example.com', '--ttl', 'soon'])).code).toBe(2);
    await run(['user', 'suspend', 'sue@example.com']);
    expect((await run(['user', 'impersonate', 'sue@example.com'])).code).toBe(4);
    await run(['user', 'role', 'ann@example.com', 'admin']);
    expect((await run(['--actor', 'ann@example.com', 'user', 'impersonate', 'root@example.com'])).code).toBe(4);
    for (const format of ['table', 'json']) {
      const lost = await run(['user', 'impersonate', 'ann@example.com', '-o', format], { stdoutClosed: true });
      expect(lost.code).toBe(1);
      expect(lost.stderr).toMatch(/session token/);
    }
    const dry = await run(['user', 'impersonate', 'ann@example.com', '--dry-run', '-o', 'json']);
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.stdout)).not.toHaveProperty('token');
    expect(json((await run(['session', 'list', '--all-states', '-o', 'json'])).stdout).items).toEqual([]);
    expect((await run(['user', 'impersonate', 'ghost@example.com'])).code).toBe(3);
  });
});
