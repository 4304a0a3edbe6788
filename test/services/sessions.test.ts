/** Sessions (list, show, revoke, purge), sign-in history, user activity and impersonation, on every database, clock injected. */
import { beforeEach, describe, expect, it } from 'vitest';
import { DIALECTS, useTestDb } from '../setup.js';
import { expectUnchanged, lastAudit, makeUser } from '../helpers.js';
import { authenticate, validateSession } from '../../src/services/auth.js';
import {
  iterateSessions, listSessions, previewPurgeSessions, purgeSessions, revokeSession, revokeSessions, showSession, type SessionView,
} from '../../src/services/sessions.js';
import { iterateLoginHistory, iterateUserActivity, listLoginHistory, listUserActivity } from '../../src/services/history.js';
import { impersonate } from '../../src/services/impersonation.js';
import { setPolicy } from '../../src/services/policy.js';
import { editUser, setUserStatus } from '../../src/services/users.js';
import { hashToken } from '../../src/security/tokens.js';
import type { ServiceContext } from '../../src/services/context.js';
import type { Page } from '../../src/services/paging.js';

const PASSWORD = 'correct horse battery staple';

async function collect<T>(gen: AsyncGenerator<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of gen) out.push(x);
  return out;
}

/** Every page of a list, following next_cursor. */
async function allPages<T>(first: (cursor: string | undefined) => Promise<Page<T>>): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await first(cursor);
    items.push(...page.items);
    pages++;
    cursor = page.next_cursor ?? undefined;
  } while (cursor !== undefined);
  return { items, pages };
}

describe.each(DIALECTS)('sessions on %s', (dialect) => {
  const t = useTestDb(dialect);
  let clock: Date;
  let ctx: ServiceContext;
  const at = (iso: string) => (clock = new Date(iso));
  const as = (ref: string) => t.ctx({ now: () => clock, actor: { kind: 'user', ref } });
  beforeEach(async () => {
    clock = new Date('2026-11-24T12:00:00.000Z');
    ctx = t.ctx({ now: () => clock });
    await makeUser(ctx, { email: 'root@example.com', role: 'admin', superAdmin: true });
    await makeUser(ctx, { email: 'adm@example.com', role: 'admin' });
    await makeUser(ctx, { email: 'ann@example.com', username: 'ann' });
    await makeUser(ctx, { email: 'sue@example.com', username: 'sue' });
  });
  const signIn = async (identifier: string, ua = 'Firefox') => {
    const r = await authenticate(ctx, { identifier, password: PASSWORD, ip: '203.0.113.9', user_agent: ua });
    if (!r.ok) throw new Error(`sign-in failed: ${r.reason}`);
    return r;
  };
  const dump = async () => JSON.stringify(await t.db.kysely.selectFrom('audit_log').selectAll().execute());

  it('lists live sessions newest first, filtered by user, kind and state, and pages with a cursor', async () => {
    const s1 = await signIn('ann', 'UA one');
    const s2 = await signIn('ann', 'UA two');
    const s3 = await signIn('root@example.com');
    const imp = await impersonate(ctx, 'ann', { ttlSeconds: 600 });
    const all = await listSessions(ctx);
    expect(all.next_cursor).toBeNull();
    expect(all.items.map((s) => s.session_id)).toEqual([imp.result.session_id, s3.session_id, s2.session_id, s1.session_id]);
    expect(all.items[3]).toEqual({
      session_id: s1.session_id, user_public_id: expect.stringMatching(/^usr_/), user_email: 'ann@example.com', kind: 'web', scope: 'full', state: 'active',
      created_at: '2026-11-24T12:00:00.000Z', last_seen_at: '2026-11-24T12:00:00.000Z', expires_at: '2026-12-08T12:00:00.000Z', revoked_at: null,
      ip: '203.0.113.9', user_agent: 'UA one', impersonator: null, impersonator_public_id: null,
    } satisfies SessionView);
    expect(all.items[0]).toMatchObject({ kind: 'impersonation', user_email: 'ann@example.com', impersonator: 'test@host', impersonator_public_id: null });

    expect((await listSessions(ctx, { user: 'ANN@example.com' })).items).toHaveLength(3);
    expect((await listSessions(ctx, { kind: 'impersonation' })).items.map((s) => s.session_id)).toEqual([imp.result.session_id]);
    expect((await listSessions(ctx, { kind: 'web', user: 'root@example.com' })).items.map((s) => s.session_id)).toEqual([s3.session_id]);

    // paging: two at a time, the same rows in the same order, then a null cursor
    const paged = await allPages((cursor) => listSessions(ctx, { limit: 2, cursor }));
    expect(paged.pages).toBe(2);
    expect(paged.items.map((s) => s.session_id)).toEqual(all.items.map((s) => s.session_id));
    expect((await collect(iterateSessions(ctx, {}, 3))).map((s) => s.session_id)).toEqual(all.items.map((s) => s.session_id));

    // states
    await revokeSession(ctx, s2.session_id);
    at('2026-11-24T12:30:00.000Z'); // the impersonation (10 minutes) has expired
    expect((await listSessions(ctx)).items.map((s) => s.session_id)).toEqual([s3.session_id, s1.session_id]);
    expect((await listSessions(ctx, { state: 'revoked' })).items.map((s) => [s.session_id, s.state])).toEqual([[s2.session_id, 'revoked']]);
    expect((await listSessions(ctx, { state: 'expired' })).items.map((s) => [s.session_id, s.state])).toEqual([[imp.result.session_id, 'expired']]);
    expect((await listSessions(ctx, { state: 'any' })).items).toHaveLength(4);

    // never a token or its hash
    const shown = JSON.stringify([await listSessions(ctx, { state: 'any' }), await showSession(ctx, s1.session_id)]);
    for (const tok of [s1.session_token, s2.session_token, s3.session_token, imp.result.token]) {
      expect(shown).not.toContain(tok);
      expect(shown).not.toContain(hashToken(tok));
    }

    // bad input: another list's cursor, an unknown state or kind (2), an unknown user (3)
    const otherCursor = Buffer.from(JSON.stringify({ l: 'user:newest', id: 3 })).toString('base64url');
    await expect(listSessions(ctx, { cursor: otherCursor })).rejects.toMatchObject({ exitCode: 2 });
    await expect(listSessions(ctx, { state: 'live' })).rejects.toMatchObject({ exitCode: 2 });
    await expect(listSessions(ctx, { kind: 'cli' })).rejects.toMatchObject({ exitCode: 2 });
    await expect(listSessions(ctx, { user: 'ghost@example.com' })).rejects.toMatchObject({ exitCode: 3 });
  });

  it('shows a session made before schema version 3 as ses_legacy_<id>, and finds it by that id', async () => {
    const ann = await t.db.kysely.selectFrom('users').select('id').where('email', '=', 'ann@example.com').executeTakeFirstOrThrow();
    const row = await t.db.kysely.insertInto('sessions').values({
      token_hash: hashToken('old token'), user_id: Number(ann.id), kind: 'web', impersonator_id: null, impersonator: null, ip: null, user_agent: null,
      created_at: '2026-11-20T00:00:00.000Z', last_seen_at: null, expires_at: '2026-12-20T00:00:00.000Z', revoked_at: null, public_id: null,
    }).returning('id').executeTakeFirstOrThrow();
    const id = `ses_legacy_${row.id}`;
    expect((await listSessions(ctx)).items.map((s) => s.session_id)).toEqual([id]);
    expect(await showSession(ctx, id)).toMatchObject({ session_id: id, user_email: 'ann@example.com', state: 'active' });
    await revokeSession(ctx, id);
    expect(await validateSession(ctx, 'old token')).toEqual({ ok: false, reason: 'revoked' });
    await expect(showSession(ctx, 'ses_aaaaaaaaaaaaaaaa')).rejects.toMatchObject({ exitCode: 3 });
    await expect(showSession(ctx, 'not-a-session')).rejects.toMatchObject({ exitCode: 2 });
  });

  it('revokes one session by id and every session of a user: the tokens stop working, one entry each', async () => {
    const a1 = await signIn('ann');
    const a2 = await signIn('ann');
    const r1 = await signIn('root@example.com');
    const one = await revokeSession(ctx, a1.session_id);
    expect(one.result).toMatchObject({ session_id: a1.session_id, state: 'revoked', revoked_at: '2026-11-24T12:00:00.000Z' });
    expect(await validateSession(ctx, a1.session_token)).toEqual({ ok: false, reason: 'revoked' });
    expect(await validateSession(ctx, a2.session_token)).toMatchObject({ ok: true });
    const entry = await lastAudit(t.db);
    expect(entry).toMatchObject({ action: 'session.revoke', target_type: 'user', target: 'ann@example.com', outcome: 'ok' });
    expect(JSON.parse(entry.changes)).toEqual({ session_id: { after: a1.session_id }, revoked_at: { before: null, after: '2026-11-24T12:00:00.000Z' } });

    // already revoked: nothing changes, no entry
    const again = await revokeSession(ctx, a1.session_id);
    expect(again.changed).toBe(false);
    expect((await lastAudit(t.db)).seq).toBe(entry.seq);

    const byUser = await revokeSessions(ctx, 'ann');
    expect(byUser.result).toMatchObject({ revoked: 1 });
    expect(await validateSession(ctx, a2.session_token)).toEqual({ ok: false, reason: 'revoked' });
    expect(await validateSession(ctx, r1.session_token)).toMatchObject({ ok: true });
    expect(JSON.parse((await lastAudit(t.db)).changes)).toEqual({ sessions_revoked: { after: 1 } });
    const audit = await dump();
    for (const s of [a1, a2]) {
      expect(audit).not.toContain(s.session_token);
      expect(audit).not.toContain(hashToken(s.session_token));
    }
  });

  it('refuses a non-admin, and an admin touching a super admin\'s session, auditing the refusal and changing nothing', async () => {
    const a = await signIn('ann');
    const r = await signIn('root@example.com');
    await expect(listSessions(as('ann'))).rejects.toMatchObject({ exitCode: 4 });
    expect(await lastAudit(t.db)).toMatchObject({ action: 'session.list', outcome: 'refused', actor: 'ann@example.com' });
    await expect(showSession(as('ann'), a.session_id)).rejects.toMatchObject({ exitCode: 4 });
    await expectUnchanged(t.db, () => revokeSession(as('ann'), a.session_id), 4, 'refused');
    await expectUnchanged(t.db, () => revokeSession(as('adm@example.com'), r.session_id), 4, 'refused');
    await expectUnchanged(t.db, () => revokeSessions(as('adm@example.com'), 'root@example.com'), 4, 'refused');
    await expectUnchanged(t.db, () => purgeSessions(as('ann')), 4, 'refused');
    expect((await revokeSession(as('adm@example.com'), a.session_id)).changed).toBe(true);
  });

  it('purges only revoked or expired sessions that ended before the cutoff, once audited with the count', async () => {
    // B: revoked 2026-10-05; D: expired 2026-10-15; E: expired 2026-11-15; C: revoked 2026-11-20; A: live.
    at('2026-10-01T12:00:00.000Z');
    const b = await signIn('ann');
    const d = await signIn('sue');
    at('2026-10-05T12:00:00.000Z');
    await revokeSession(ctx, b.session_id);
    at('2026-11-01T12:00:00.000Z');
    const e = await signIn('sue');
    at('2026-11-18T12:00:00.000Z');
    const c = await signIn('ann');
    at('2026-11-20T12:00:00.000Z');
    await revokeSession(ctx, c.session_id);
    at('2026-11-24T12:00:00.000Z');
    const a = await signIn('ann');
    const ids = async () => (await listSessions(ctx, { state: 'any' })).items.map((s) => s.session_id).sort();

    // a dry run counts and changes nothing
    const preview = await previewPurgeSessions(ctx);
    expect(preview.result).toEqual({ purged: 2, cutoff: '2026-10-25T12:00:00.000Z', older_than: '30d' });
    expect(await ids()).toHaveLength(5);
    const dry = await purgeSessions({ ...ctx, dryRun: true });
    expect(dry).toMatchObject({ dryRun: true, result: { purged: 2 } });
    expect(await ids()).toHaveLength(5);

    // default: retention.revoked_sessions (30 days)
    const first = await purgeSessions(ctx);
    expect(first.result.purged).toBe(2);
    expect(await ids()).toEqual([a.session_id, c.session_id, e.session_id].sort());
    const entry = await lastAudit(t.db);
    expect(entry).toMatchObject({ action: 'session.purge', outcome: 'ok' });
    expect(JSON.parse(entry.changes)).toEqual({ sessions_purged: { after: 2 }, ended_before: { after: '2026-10-25T12:00:00.000Z' }, older_than: { after: '30d' } });

    // 7 days: E (expired 9 days ago) goes, C (revoked 4 days ago) and the live one stay
    expect((await purgeSessions(ctx, { olderThanSeconds: 7 * 86400 })).result.purged).toBe(1);
    expect(await ids()).toEqual([a.session_id, c.session_id].sort());
    expect(await validateSession(ctx, a.session_token)).toMatchObject({ ok: true });
    void d;

    // keep forever: nothing purged, nothing recorded, unless an age is given
    await setPolicy(ctx, [{ key: 'retention.revoked_sessions', value: '0', from: 'text' }]);
    const seq = (await lastAudit(t.db)).seq;
    expect((await purgeSessions(ctx)).result).toEqual({ purged: 0, cutoff: null, older_than: null });
    expect((await lastAudit(t.db)).seq).toBe(seq);
    expect((await purgeSessions(ctx, { olderThanSeconds: 0 })).result.purged).toBe(1);
    expect(await ids()).toEqual([a.session_id]);
  });

  it('history: sign-in attempts newest first, with --failed and --since, paged', async () => {
    const attempt = async (iso: string, password: string) => {
      at(iso);
      await authenticate(ctx, { identifier: 'ann', password, ip: '198.51.100.7', user_agent: 'curl/8' });
    };
    await attempt('2026-11-01T10:00:00.000Z', PASSWORD);
    await attempt('2026-11-02T10:00:00.000Z', 'wrong password one');
    await attempt('2026-11-03T10:00:00.000Z', 'wrong password two');
    await attempt('2026-11-03T10:00:00.000Z', PASSWORD); // same time: id breaks the tie
    await attempt('2026-11-04T10:00:00.000Z', PASSWORD);
    await authenticate(ctx, { identifier: 'sue', password: 'wrong password sue' });

    const page = await listLoginHistory(ctx, 'ann@example.com');
    expect(page.items.map((h) => [h.at.slice(0, 10), h.result])).toEqual([
      ['2026-11-04', 'success'], ['2026-11-03', 'success'], ['2026-11-03', 'failure'], ['2026-11-02', 'failure'], ['2026-11-01', 'success'],
    ]);
    expect(page.items[2]).toEqual({
      at: '2026-11-03T10:00:00.000Z', ip: '198.51.100.7', method: 'password', result: 'failure', reason: 'bad_password', user_agent: 'curl/8', identifier: 'ann',
    });
    expect((await listLoginHistory(ctx, 'ann', { failed: true })).items.map((h) => h.reason)).toEqual(['bad_password', 'bad_password']);
    expect((await listLoginHistory(ctx, 'ann', { since: '2026-11-03' })).items).toHaveLength(3);
    expect((await listLoginHistory(ctx, 'ann', { since: '2026-11-03', failed: true })).items).toHaveLength(1);

    const paged = await allPages((cursor) => listLoginHistory(ctx, 'ann', { limit: 2, cursor }));
    expect(paged.pages).toBe(3);
    expect(paged.items).toEqual(page.items);
    expect(await collect(iterateLoginHistory(ctx, 'ann', {}, 2))).toEqual(page.items);

    await expect(listLoginHistory(ctx, 'ann', { since: 'yesterday' })).rejects.toMatchObject({ exitCode: 2 });
    await expect(listLoginHistory(ctx, 'ghost')).rejects.toMatchObject({ exitCode: 3 });
    await expect(listLoginHistory(as('ann'), 'ann')).rejects.toMatchObject({ exitCode: 4 });
    // an impersonation shows in the history of the one impersonated
    at('2026-11-05T10:00:00.000Z');
    await impersonate(ctx, 'ann');
    expect((await listLoginHistory(ctx, 'ann', { limit: 1 })).items[0]).toMatchObject({ method: 'impersonation', result: 'success', reason: 'impersonated by test@host' });
  });

  it('activity: audit entries by the user and about them, newest first, paged', async () => {
    const adm = as('adm@example.com');
    await setUserStatus(adm, 'sue', 'suspend'); // by adm
    await editUser(ctx, 'adm@example.com', { displayName: 'Adm' }); // about adm
    await setUserStatus(adm, 'sue', 'activate'); // by adm
    await editUser(ctx, 'ann', { displayName: 'Ann' }); // neither
    const page = await listUserActivity(ctx, 'adm@example.com');
    expect(page.items.map((e) => [e.action, e.actor, e.target])).toEqual([
      ['user.activate', 'adm@example.com', 'sue@example.com'],
      ['user.edit', 'test@host', 'adm@example.com'],
      ['user.suspend', 'adm@example.com', 'sue@example.com'],
      ['user.create', 'test@host', 'adm@example.com'],
    ]);
    const paged = await allPages((cursor) => listUserActivity(ctx, 'adm@example.com', { limit: 3, cursor }));
    expect(paged.pages).toBe(2);
    expect(paged.items).toEqual(page.items);
    expect(await collect(iterateUserActivity(ctx, 'adm@example.com', {}, 2))).toEqual(page.items);
    await expect(listUserActivity(as('ann'), 'ann')).rejects.toMatchObject({ exitCode: 4 });
    await expect(listUserActivity(ctx, 'adm@example.com', { cursor: 'AAAAAAAA' })).rejects.toMatchObject({ exitCode: 2 });
  });

  it('impersonation: the cap by default, a session that validates as impersonation naming the impersonator, audited without the token', async () => {
    const imp = await impersonate(ctx, 'ann');
    expect(imp.result).toMatchObject({
      session_id: expect.stringMatching(/^ses_/), user_email: 'ann@example.com', impersonator: 'test@host',
      created_at: '2026-11-24T12:00:00.000Z', expires_at: '2026-11-24T13:00:00.000Z', ttl_seconds: 3600,
    });
    const token = imp.result.token;
    expect(await validateSession(ctx, token)).toMatchObject({ ok: true, kind: 'impersonation', impersonator: 'test@host', user: { email: 'ann@example.com' } });
    const entry = await lastAudit(t.db);
    expect(entry).toMatchObject({ action: 'user.impersonate', actor: 'test@host', target: 'ann@example.com', outcome: 'ok' });
    expect(JSON.parse(entry.changes)).toEqual({
      impersonated: { after: 'ann@example.com' }, until: { after: '2026-11-24T13:00:00.000Z' }, session_id: { after: imp.result.session_id },
    });

    // an admin impersonating: the session names that admin, by email and public id
    const byAdm = await impersonate(as('adm@example.com'), 'sue', { ttlSeconds: 15 * 60 });
    expect(byAdm.result.expires_at).toBe('2026-11-24T12:15:00.000Z');
    expect(await validateSession(ctx, byAdm.result.token)).toMatchObject({ ok: true, kind: 'impersonation', impersonator: 'adm@example.com' });
    const shown = await showSession(ctx, byAdm.result.session_id);
    expect(shown).toMatchObject({ kind: 'impersonation', user_email: 'sue@example.com', impersonator: 'adm@example.com', impersonator_public_id: expect.stringMatching(/^usr_/) });
    // the super admin may impersonate an admin; the session ends when the clock passes it
    expect((await impersonate(as('root@example.com'), 'adm@example.com', { ttlSeconds: 60 })).changed).toBe(true);
    at('2026-11-24T13:00:00.000Z');
    expect(await validateSession(ctx, token)).toEqual({ ok: false, reason: 'expired' });

    const everything = JSON.stringify([await dump(), await listSessions(ctx, { state: 'any' }), await listUserActivity(ctx, 'ann'), await listLoginHistory(ctx, 'ann')]);
    for (const tok of [token, byAdm.result.token]) {
      expect(everything).not.toContain(tok);
      expect(everything).not.toContain(hashToken(tok));
    }
  });

  it('impersonation: a ttl over security.impersonation_max_ttl is exit 2 naming the cap, and nothing is written', async () => {
    await setPolicy(ctx, [{ key: 'security.impersonation_max_ttl', value: '30m', from: 'text' }]);
    const err = await impersonate(ctx, 'ann', { ttlSeconds: 3600 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ exitCode: 2, message: expect.stringContaining('security.impersonation_max_ttl is 30m') });
    await expectUnchanged(t.db, () => impersonate(ctx, 'ann', { ttlSeconds: 31 * 60 }), 2, 'none');
    await expectUnchanged(t.db, () => impersonate(ctx, 'ann', { ttlSeconds: 0 }), 2, 'none');
    expect((await impersonate(ctx, 'ann')).result.expires_at).toBe('2026-11-24T12:30:00.000Z');
  });

  it('impersonation is refused for a user who is not active, for an admin unless the actor is a super admin, and for non-admins', async () => {
    await setUserStatus(ctx, 'sue', 'suspend');
    await expectUnchanged(t.db, () => impersonate(ctx, 'sue'), 4, 'refused');
    expect(await lastAudit(t.db)).toMatchObject({ action: 'user.impersonate', outcome: 'refused', target: 'sue@example.com' });
    await expectUnchanged(t.db, () => impersonate(as('adm@example.com'), 'root@example.com'), 4, 'refused');
    await makeUser(ctx, { email: 'adm2@example.com', role: 'admin' });
    await expectUnchanged(t.db, () => impersonate(as('adm@example.com'), 'adm2@example.com'), 4, 'refused');
    await expectUnchanged(t.db, () => impersonate(as('ann'), 'sue'), 4, 'refused');
    await expectUnchanged(t.db, () => impersonate(as('adm@example.com'), 'adm@example.com'), 4, 'refused');
    await expectUnchanged(t.db, () => impersonate(ctx, 'ghost@example.com'), 3, 'none');
    // the operator counts as a super admin
    expect((await impersonate(ctx, 'adm2@example.com')).changed).toBe(true);
  });
});
