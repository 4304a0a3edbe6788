/** Sign-in verbs on the command line: reset-password, 2fa, reset-2fa, auth check. */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { useCommandDb } from './harness.js';
import { totpCode } from '../../src/security/totp.js';
import { CLOCK } from './harness.js';

const cli = useCommandDb({ migrated: false });
const { run, init } = cli;

function inDatabase(secret: string): boolean {
  return [cli.url, `${cli.url}-wal`].filter(existsSync).some((f) => readFileSync(f).includes(Buffer.from(secret)));
}

describe('sign-in verbs', () => {
  it('reset-password: generated once, from stdin, or a reset link; one mode only; no secret left in the database', async () => {
    await init();
    await run(['user', 'create', '--email', 'bob@example.com', '--username', 'bob']);
    expect((await run(['user', 'reset-password', 'bob'])).code).toBe(2);
    expect((await run(['user', 'reset-password', 'bob', '--generate', '--send-email'])).code).toBe(2);
    const gen = await run(['user', 'reset-password', 'bob', '--generate', '--must-change']);
    expect(gen.code).toBe(0);
    const pw = gen.stdout.trim();
    expect(pw).toMatch(/^\S{20}$/);
    expect(inDatabase(pw)).toBe(false);
    const common = await run(['user', 'reset-password', 'bob', '--password-stdin'], { stdin: 'password1234\n' });
    expect(common.code).toBe(2);
    const noBase = await run(['user', 'reset-password', 'bob', '--send-email']);
    expect(noBase.code).toBe(2);
    expect(noBase.stderr).toContain('app.base_url is unset');
    expect((await run(['policy', 'set', 'app.base_url', 'https://app.example.com', '--yes'])).code).toBe(0);
    const link = await run(['user', 'reset-password', 'bob', '--send-email']);
    expect(link.code).toBe(0);
    expect(link.stderr).toContain('stays queued');
    const token = /(?:token=|built\): )(\S+)/.exec(link.stderr)![1]!;
    expect(inDatabase(token)).toBe(false);
    expect((await run(['audit', 'list', '-o', 'json'])).stdout).not.toContain(token);
    const closed = await run(['user', 'reset-password', 'bob', '--generate'], { stdoutClosed: true });
    expect(closed.code).toBe(1);
  });

  it('2fa enroll, status, confirm, reset-2fa; the secret and codes are shown once and kept only sealed or hashed', async () => {
    await init();
    await run(['user', 'create', '--email', 'bot@example.com', '--username', 'bot', '--generate-password', '--email-verified']);
    const enrol = await run(['user', '2fa', 'enroll', 'bot', '-o', 'json']);
    expect(enrol.code).toBe(0);
    const enrolled = JSON.parse(enrol.stdout) as { secret: string; otpauth_uri: string };
    expect(enrolled.otpauth_uri).toContain(`secret=${enrolled.secret}`);
    expect(inDatabase(enrolled.secret)).toBe(false);
    expect(JSON.parse((await run(['user', '2fa', 'bot', '-o', 'json'])).stdout)).toMatchObject({ enabled: false, enrolment_pending: true });
    // on a terminal, a QR code of the URI comes first
    const tty = await run(['user', '2fa', 'enroll', 'bot'], { tty: true });
    expect(tty.stdout).toMatch(/[▀▄█]/);
    const again = JSON.parse((await run(['user', '2fa', 'enroll', 'bot', '-o', 'json'])).stdout);
    Object.assign(enrolled, again);
    expect((await run(['user', '2fa', 'confirm', 'bot', '--code', '000000'])).code).toBe(2);
    const confirm = await run(['user', '2fa', 'confirm', 'bot', '--code', totpCode(enrolled.secret, CLOCK().getTime())]);
    expect(confirm.code).toBe(0);
    const codes = confirm.stdout.trim().split('\n');
    expect(codes).toHaveLength(10);
    for (const c of codes) expect(inDatabase(c)).toBe(false);
    expect(JSON.parse((await run(['user', '2fa', 'status', 'bot', '-o', 'json'])).stdout)).toMatchObject({ enabled: true, recovery_codes_left: 10 });
    const on = JSON.parse((await run(['user', 'list', '--2fa', 'on', '-o', 'json'])).stdout).items.map((u: { email: string }) => u.email);
    const off = JSON.parse((await run(['user', 'list', '--2fa', 'off', '-o', 'json'])).stdout).items.map((u: { email: string }) => u.email);
    expect(on).toEqual(['bot@example.com']);
    expect(off).toEqual(['root@example.com']);
    expect((await run(['user', 'list'])).stdout).toMatch(/2FA/);
    const check = await run(['auth', 'check', 'bot', '-o', 'json']);
    expect(check.code).toBe(4);
    expect(JSON.parse(check.stdout).checks.find((c: { check: string }) => c.check === '2FA')).toMatchObject({ ok: false });
    expect((await run(['auth', 'check', 'bot', '--recovery-code', codes[0]!])).code).toBe(0);
    expect((await run(['user', 'reset-2fa', 'bot'])).code).toBe(0);
    expect(JSON.parse((await run(['user', '2fa', 'bot', '-o', 'json'])).stdout)).toMatchObject({ enabled: false, recovery_codes_left: 0 });
  });

  it('auth check explains a refusal line by line and changes nothing', async () => {
    await init();
    await run(['user', 'create', '--email', 'sue@example.com', '--username', 'sue', '--password-stdin', '--email-verified'], { stdin: 'a long enough password' });
    await run(['--reason', 'chargeback', 'user', 'suspend', 'sue']);
    await run(['policy', 'set', 'signin.username', 'false', '--yes']);
    const audit = (await run(['audit', 'list', '-o', 'json'])).stdout;
    const r = await run(['auth', 'check', 'sue', '--password-stdin'], { stdin: 'the wrong password' });
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/✗ status: suspended since .* by .*: chargeback/);
    expect(r.stderr).toMatch(/password sign-in by username is disabled \(signin\.username\)/);
    expect(r.stderr).toMatch(/✗ password check: the password given is wrong/);
    expect((await run(['audit', 'list', '-o', 'json'])).stdout).toBe(audit);
    await run(['user', 'activate', 'sue']);
    const ok = await run(['auth', 'check', 'sue', '--password-stdin'], { stdin: 'a long enough password' });
    expect(ok.code).toBe(0);
    expect(ok.stderr).toContain('Sign-in would succeed.');
  });

  it('auth check --create-session signs in by username when email sign-in is off', async () => {
    await init();
    await run(['user', 'create', '--email', 'uma@example.com', '--username', 'uma', '--password-stdin', '--email-verified'], { stdin: 'a long enough password' });
    await run(['policy', 'set', 'signin.email', 'false', '--yes']);
    const r = await run(['auth', 'check', 'uma', '--password-stdin', '--create-session', '-o', 'json'], { stdin: 'a long enough password' });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ allowed: true, session_id: expect.stringMatching(/^ses_/) });
  });
});
