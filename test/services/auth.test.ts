/** The sign-in core on every database, clock injected. */
import { beforeEach, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { DIALECTS, useTestDb } from '../setup.js';
import { makeUser } from '../helpers.js';
import { authenticate, validateSession } from '../../src/services/auth.js';
import { confirmTotp, enrollTotp, resetTwoFactor, twoFactorStatus } from '../../src/services/two-factor.js';
import { changeOwnPassword, createResetToken, redeemResetToken, setPassword } from '../../src/services/credentials.js';
import { setPolicy } from '../../src/services/policy.js';
import { createUser, deleteUser, setUserRole, setUserStatus } from '../../src/services/users.js';
import { totpCode } from '../../src/security/totp.js';
import { generateKey, SecretBox } from '../../src/security/secrets.js';
import type { ServiceContext } from '../../src/services/context.js';

const PASSWORD = 'correct horse battery staple';
const KEY = new SecretBox(generateKey());

describe.each(DIALECTS)('sign-in on %s', (dialect) => {
  const t = useTestDb(dialect);
  let clock: Date;
  let ctx: ServiceContext;
  const at = (iso: string) => (clock = new Date(iso));
  beforeEach(async () => {
    clock = new Date('2026-11-24T12:00:00.000Z');
    ctx = t.ctx({ now: () => clock, secretBox: () => KEY });
    await makeUser(ctx, { email: 'root@example.com', role: 'admin', superAdmin: true });
    await makeUser(ctx, { email: 'ann@example.com', username: 'ann' });
  });
  const history = () => t.db.kysely.selectFrom('login_history').selectAll().orderBy('id').execute();

  it('signs in by email or username, creates a session only its hash names, and records the attempt', async () => {
    const r = await authenticate(ctx, { identifier: 'ANN@example.com', password: PASSWORD, ip: '203.0.113.9', user_agent: 'test' });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.session_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(r.session_id).toMatch(/^ses_/);
    const rows = await t.db.kysely.selectFrom('sessions').selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain(r.session_token);
    expect(await validateSession(ctx, r.session_token)).toMatchObject({ ok: true, user: { email: 'ann@example.com' } });
    expect(await validateSession(ctx, 'forged')).toEqual({ ok: false, reason: 'unknown' });
    expect((await authenticate(ctx, { identifier: 'ann', password: PASSWORD })).ok).toBe(true);
    const user = await t.db.kysely.selectFrom('users').select(['last_login_ip', 'last_login_at', 'failed_login_count']).where('email', '=', 'ann@example.com').executeTakeFirstOrThrow();
    expect(user).toMatchObject({ last_login_at: '2026-11-24T12:00:00.000Z', failed_login_count: 0 });
    expect((await history()).map((h) => [h.success, h.method, h.ip])).toEqual([[1, 'password', '203.0.113.9'], [1, 'password', null]]);
    at('2026-12-31T00:00:00.000Z');
    expect(await validateSession(ctx, r.session_token)).toEqual({ ok: false, reason: 'expired' });
  });

  it('refuses with a reason for the operator: unknown, disabled method, suspended, wrong password', async () => {
    expect(await authenticate(ctx, { identifier: 'ghost@example.com', password: PASSWORD })).toEqual({ ok: false, reason: 'unknown_identifier' });
    await setPolicy(ctx, [{ key: 'signin.username', value: 'false', from: 'text' }]);
    expect(await authenticate(ctx, { identifier: 'ann', password: PASSWORD })).toEqual({ ok: false, reason: 'method_disabled' });
    expect(await authenticate(ctx, { identifier: 'ann@example.com', password: 'wrong password here' })).toEqual({ ok: false, reason: 'bad_password' });
    await setUserStatus({ ...ctx, reason: 'chargeback' }, 'ann@example.com', 'suspend');
    expect(await authenticate(ctx, { identifier: 'ann@example.com', password: PASSWORD })).toEqual({ ok: false, reason: 'suspended' });
    const reasons = (await history()).map((h) => h.reason);
    expect(reasons).toEqual(['unknown_identifier', 'method_disabled', 'bad_password', 'suspended']);
  });

  it('locks at the threshold and unlocks after the duration', async () => {
    await setPolicy(ctx, [{ key: 'security.lockout_threshold', value: '3', from: 'text' }, { key: 'security.lockout_duration', value: '15m', from: 'text' }]);
    for (let i = 0; i < 3; i++) expect((await authenticate(ctx, { identifier: 'ann', password: 'wrong password here' })).ok).toBe(false);
    expect(await authenticate(ctx, { identifier: 'ann', password: PASSWORD })).toEqual({ ok: false, reason: 'locked' });
    at('2026-11-24T12:16:00.000Z');
    expect((await authenticate(ctx, { identifier: 'ann', password: PASSWORD })).ok).toBe(true);
  });

  it('50 parallel wrong guesses against threshold 5 run at most 5 comparisons and leave the account locked', async () => {
    await setPolicy(ctx, [{ key: 'security.lockout_threshold', value: '5', from: 'text' }]);
    // PostgreSQL: two pools racing; SQLite: one process has one connection (another would wait on it synchronously)
    const other = dialect === 'postgres' ? { ...t.ctx({ now: () => clock, secretBox: () => KEY }), db: await t.reconnect() } : ctx;
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => authenticate(i % 2 ? ctx : other, { identifier: 'ann', password: `wrong guess number ${i}` })));
    const reasons = results.map((r) => (r.ok ? 'ok' : r.reason));
    expect(reasons.filter((r) => r === 'bad_password').length).toBeLessThanOrEqual(5);
    expect(reasons.filter((r) => r === 'locked').length).toBeGreaterThanOrEqual(45);
    expect(await authenticate(ctx, { identifier: 'ann', password: PASSWORD })).toEqual({ ok: false, reason: 'locked' });
  });

  it('re-hashes a password stored below the policy\'s cost at the next sign-in', async () => {
    const before = await t.db.kysely.selectFrom('users').select('password_hash').where('email', '=', 'ann@example.com').executeTakeFirstOrThrow();
    expect(before.password_hash).toMatch(/^\$2b\$04\$/);
    const strict = t.ctx({ now: () => clock, passwordPolicy: { bcryptCost: 10 } });
    expect((await authenticate(strict, { identifier: 'ann', password: PASSWORD })).ok).toBe(true);
    const after = await t.db.kysely.selectFrom('users').select('password_hash').where('email', '=', 'ann@example.com').executeTakeFirstOrThrow();
    expect(after.password_hash).toMatch(/^\$2b\$10\$/);
  });

  it('TOTP: enrol, confirm, a code works once, a recovery code works once; reset-2fa ends it and the sessions', async () => {
    const enrol = await enrollTotp(ctx, 'ann');
    const secret = enrol.result.secret;
    expect(enrol.result.otpauth_uri).toMatch(/^otpauth:\/\/totp\//);
    const confirmed = await confirmTotp(ctx, 'ann', totpCode(secret, clock.getTime()));
    expect(confirmed.result.recovery_codes).toHaveLength(10);
    expect((await twoFactorStatus(ctx, 'ann')).recovery_codes_left).toBe(10);
    expect(await authenticate(ctx, { identifier: 'ann', password: PASSWORD })).toEqual({ ok: false, reason: 'totp_required' });
    at('2026-11-24T12:01:00.000Z');
    const code = totpCode(secret, clock.getTime());
    const good = await authenticate(ctx, { identifier: 'ann', password: PASSWORD, totp: code });
    expect(good.ok).toBe(true);
    expect(await authenticate(ctx, { identifier: 'ann', password: PASSWORD, totp: code })).toEqual({ ok: false, reason: 'totp_replayed' });
    const rc = confirmed.result.recovery_codes[0]!;
    expect((await authenticate(ctx, { identifier: 'ann', password: PASSWORD, recovery_code: rc })).ok).toBe(true);
    expect(await authenticate(ctx, { identifier: 'ann', password: PASSWORD, recovery_code: rc })).toEqual({ ok: false, reason: 'bad_recovery_code' });
    // nothing of it in clear in the database
    const dump = JSON.stringify(await t.db.kysely.selectFrom('users').selectAll().execute()) + JSON.stringify(await t.db.kysely.selectFrom('recovery_codes').selectAll().execute());
    expect(dump).not.toContain(secret);
    for (const c of confirmed.result.recovery_codes) expect(dump).not.toContain(c);
    if (dialect === 'sqlite') for (const f of [t.url, `${t.url}-wal`]) if (existsSync(f)) expect(readFileSync(f).includes(Buffer.from(secret))).toBe(false);

    const reset = await resetTwoFactor(ctx, 'ann');
    expect(reset.result.sessions_revoked).toBe(2);
    if (good.ok) expect(await validateSession(ctx, good.session_token)).toEqual({ ok: false, reason: 'revoked' });
    at('2026-11-24T12:02:00.000Z');
    const r = await authenticate(ctx, { identifier: 'ann', password: PASSWORD, totp: totpCode(secret, clock.getTime()) });
    expect(r.ok).toBe(true); // 2FA is off: the old code proves nothing and is not asked for
    expect((await twoFactorStatus(ctx, 'ann'))).toMatchObject({ enabled: false, recovery_codes_left: 0 });
  });

  it('reset tokens: single-use under 20 parallel redemptions, expire, die with a newer token or a suspension', async () => {
    const link = await createResetToken(ctx, 'ann');
    const token = link.result.token;
    expect(link.result.link).toBeNull(); // app.base_url unset
    expect(JSON.stringify(await t.db.kysely.selectFrom('tokens').selectAll().execute())).not.toContain(token);
    const other = dialect === 'postgres' ? { ...t.ctx({ now: () => clock, secretBox: () => KEY }), db: await t.reconnect() } : ctx;
    const tries = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => redeemResetToken(i % 2 ? ctx : other, token, `a brand new password ${i}`)));
    expect(tries.filter((x) => x.status === 'fulfilled')).toHaveLength(1);
    expect(tries.filter((x) => x.status === 'rejected' && (x.reason as { exitCode: number }).exitCode === 4)).toHaveLength(19);

    const first = (await createResetToken(ctx, 'ann')).result.token;
    const second = (await createResetToken(ctx, 'ann')).result.token;
    await expect(redeemResetToken(ctx, first, 'a brand new password x')).rejects.toMatchObject({ exitCode: 4 });
    at('2026-11-24T14:00:00.000Z'); // token.reset_lifetime is 1h
    await expect(redeemResetToken(ctx, second, 'a brand new password y')).rejects.toMatchObject({ exitCode: 4 });
    const third = (await createResetToken(ctx, 'ann')).result.token;
    await setUserStatus(ctx, 'ann', 'suspend');
    await setUserStatus(ctx, 'ann', 'activate');
    await expect(redeemResetToken(ctx, third, 'a brand new password z')).rejects.toMatchObject({ exitCode: 4 });
  });

  it('setting a password revokes sessions unless kept, and can demand a change at the next sign-in', async () => {
    const s = await authenticate(ctx, { identifier: 'ann', password: PASSWORD });
    const out = await setPassword(ctx, 'ann', { generate: true, mustChange: true });
    expect(out.result.generated_password).toMatch(/^\S{20}$/);
    expect(out.result.sessions_revoked).toBe(1);
    if (s.ok) expect(await validateSession(ctx, s.session_token)).toEqual({ ok: false, reason: 'revoked' });
    const r = await authenticate(ctx, { identifier: 'ann', password: out.result.generated_password! });
    expect(r).toMatchObject({ ok: true, must_change_password: true, scope: 'change_password' });
    await expect(setPassword(ctx, 'ann', { password: 'password1234' })).rejects.toMatchObject({ exitCode: 2 }); // common
    const kept = await setPassword(ctx, 'ann', { password: 'a fine long passphrase', keepSessions: true });
    expect(kept.result.sessions_revoked).toBe(0);
    const audit = await t.db.kysely.selectFrom('audit_log').select('changes').execute();
    expect(JSON.stringify(audit)).not.toContain(out.result.generated_password!);
  });

  it('with 2FA enforced for admins, an admin without 2FA gets a session that may only enrol', async () => {
    await setPolicy(ctx, [{ key: 'security.enforce_admin_2fa', value: 'true', from: 'text' }]);
    const admin = await authenticate(ctx, { identifier: 'root@example.com', password: PASSWORD });
    expect(admin).toMatchObject({ ok: true, must_enrol_2fa: true, scope: 'enrol_2fa' });
    if (admin.ok) expect(await validateSession(ctx, admin.session_token)).toMatchObject({ ok: true, scope: 'enrol_2fa' });
    expect(await authenticate(ctx, { identifier: 'ann', password: PASSWORD })).toMatchObject({ ok: true, scope: 'full' });
  });

  it('after reset-2fa the old secret\'s codes prove nothing; a password change kills outstanding reset links', async () => {
    const first = (await enrollTotp(ctx, 'ann')).result.secret;
    await confirmTotp(ctx, 'ann', totpCode(first, clock.getTime()));
    await resetTwoFactor(ctx, 'ann');
    const second = (await enrollTotp(ctx, 'ann')).result.secret;
    expect(second).not.toBe(first);
    at('2026-11-24T12:05:00.000Z');
    await expect(confirmTotp(ctx, 'ann', totpCode(first, clock.getTime()))).rejects.toMatchObject({ exitCode: 2, field: 'code' });
    await confirmTotp(ctx, 'ann', totpCode(second, clock.getTime()));
    at('2026-11-24T12:06:00.000Z');
    expect(await authenticate(ctx, { identifier: 'ann', password: PASSWORD, totp: totpCode(first, clock.getTime()) })).toEqual({ ok: false, reason: 'bad_totp' });

    const link = (await createResetToken(ctx, 'ann')).result.token;
    await setPassword(ctx, 'ann', { password: 'a different long passphrase' });
    await expect(redeemResetToken(ctx, link, 'yet another passphrase')).rejects.toMatchObject({ exitCode: 4 });
  });

  it('a password set while a sign-in compares the old one wins: no session, no old hash put back', async () => {
    // ann's hash is at cost 4; a policy at cost 12 makes the sign-in re-hash slowly, while the reset lands
    const slow = t.ctx({ now: () => clock, passwordPolicy: { bcryptCost: 12 } });
    const signIn = authenticate(slow, { identifier: 'ann', password: PASSWORD });
    await new Promise((r) => setTimeout(r, 30));
    await setPassword(ctx, 'ann', { password: 'the new long passphrase' });
    expect(await signIn).toEqual({ ok: false, reason: 'changed_during_sign_in' });
    expect(await t.db.kysely.selectFrom('sessions').selectAll().execute()).toEqual([]);
    expect((await authenticate(ctx, { identifier: 'ann', password: PASSWORD })).ok).toBe(false);
    expect((await authenticate(ctx, { identifier: 'ann', password: 'the new long passphrase' })).ok).toBe(true);
  });

  it('an impersonation ends when its impersonator is suspended, demoted or deleted', async () => {
    const { impersonate } = await import('../../src/services/impersonation.js');
    for (const end of ['suspend', 'demote', 'delete'] as const) {
      const email = `imp-${end}@example.com`;
      await makeUser(ctx, { email, role: 'admin' });
      const asAdmin = t.ctx({ now: () => clock, actor: { kind: 'user', ref: email } });
      const imp = await impersonate(asAdmin, 'ann', {});
      expect(await validateSession(ctx, imp.result.token)).toMatchObject({ ok: true, kind: 'impersonation' });
      if (end === 'suspend') await setUserStatus(ctx, email, 'suspend');
      else if (end === 'demote') await setUserRole(ctx, email, 'user');
      else await deleteUser(ctx, email);
      expect((await validateSession(ctx, imp.result.token)).ok, end).toBe(false);
    }
  });

  it('a password set on a pending user activates it; hostile identifiers are refused, not thrown', async () => {
    await createUser(ctx, { email: 'pend@example.com', username: 'pend', emailVerified: true });
    await setPassword(ctx, 'pend', { password: 'a long enough passphrase' });
    expect((await authenticate(ctx, { identifier: 'pend', password: 'a long enough passphrase' })).ok).toBe(true);
    for (const identifier of ['an\u0000n', 'k\u0000@example.com', 'x'.repeat(10_000), 42 as unknown as string]) {
      expect(await authenticate(ctx, { identifier, password: PASSWORD })).toEqual({ ok: false, reason: 'unknown_identifier' });
    }
  });

  it('a wrong second factor counts and locks like a wrong password', async () => {
    await setPolicy(ctx, [{ key: 'security.lockout_threshold', value: '2', from: 'text' }]);
    const secret = (await enrollTotp(ctx, 'ann')).result.secret;
    await confirmTotp(ctx, 'ann', totpCode(secret, clock.getTime()));
    for (let i = 0; i < 2; i++) expect(await authenticate(ctx, { identifier: 'ann', password: PASSWORD, totp: '000000' })).toEqual({ ok: false, reason: 'bad_totp' });
    at('2026-11-24T12:01:00.000Z');
    expect(await authenticate(ctx, { identifier: 'ann', password: PASSWORD, totp: totpCode(secret, clock.getTime()) })).toEqual({ ok: false, reason: 'locked' });
  });

  it('a session that owes a step takes it as the user itself, and is then upgraded', async () => {
    await setPolicy(ctx, [{ key: 'security.enforce_admin_2fa', value: 'true', from: 'text' }]);
    await makeUser(ctx, { email: 'adm@example.com', role: 'admin' });
    await setPassword(ctx, 'adm@example.com', { password: 'a temporary passphrase', mustChange: true });
    const s = await authenticate(ctx, { identifier: 'adm@example.com', password: 'a temporary passphrase' });
    expect(s).toMatchObject({ ok: true, scope: 'enrol_2fa', must_change_password: true });
    if (!s.ok) return;
    const self = t.ctx({ now: () => clock, secretBox: () => KEY, actor: { kind: 'user', ref: 'adm@example.com' } });
    const secret = (await enrollTotp(self, 'adm@example.com')).result.secret;
    await confirmTotp(self, 'adm@example.com', totpCode(secret, clock.getTime()));
    expect(await validateSession(ctx, s.session_token)).toMatchObject({ ok: true, scope: 'change_password' });
    await expect(changeOwnPassword(self, 'adm@example.com', { current: 'wrong one', next: 'my own new passphrase' })).rejects.toMatchObject({ exitCode: 4 });
    await changeOwnPassword(self, 'adm@example.com', { current: 'a temporary passphrase', next: 'my own new passphrase' });
    expect(await validateSession(ctx, s.session_token)).toMatchObject({ ok: true, scope: 'full' });
    // another user cannot do it for them
    const other = t.ctx({ now: () => clock, secretBox: () => KEY, actor: { kind: 'user', ref: 'ann@example.com' } });
    await expect(enrollTotp(other, 'root@example.com')).rejects.toMatchObject({ exitCode: 4 });
  });

  it('refuses pending, deactivated and password-less accounts; enforce_2fa covers everyone', async () => {
    await createUser(ctx, { email: 'pending@example.com', emailVerified: true });
    expect(await authenticate(ctx, { identifier: 'pending@example.com', password: PASSWORD })).toEqual({ ok: false, reason: 'pending' });
    await setUserStatus(ctx, 'ann', 'deactivate');
    expect(await authenticate(ctx, { identifier: 'ann', password: PASSWORD })).toEqual({ ok: false, reason: 'deactivated' });
    await t.db.kysely.updateTable('users').set({ status: 'active', password_hash: null }).where('email', '=', 'pending@example.com').execute();
    expect(await authenticate(ctx, { identifier: 'pending@example.com', password: PASSWORD })).toEqual({ ok: false, reason: 'no_password' });
    await setPolicy(ctx, [{ key: 'security.enforce_2fa', value: 'true', from: 'text' }]);
    await makeUser(ctx, { email: 'plain@example.com' });
    expect(await authenticate(ctx, { identifier: 'plain@example.com', password: PASSWORD })).toMatchObject({ ok: true, scope: 'enrol_2fa' });
  });
});

