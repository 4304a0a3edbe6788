/**
 * Self-service registration on every database: each refusal has its reason and creates
 * nothing; Turnstile through a local fake siteverify; the emailed verification link
 * (through a real SMTP server) activates the account once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DIALECTS, useTestDb } from '../setup.js';
import { expectUnchanged, makeUser, rejection } from '../helpers.js';
import { Inbox, freePort, tokenIn } from '../smtp.js';
import { SecretBox } from '../../src/security/secrets.js';
import { setPolicy, type SettingInput } from '../../src/services/policy.js';
import { register, verifyEmail, markEmailVerified, RegistrationError } from '../../src/services/registration.js';
import { authenticate } from '../../src/services/auth.js';
import { explainSignIn } from '../../src/services/auth-check.js';
import { createUser } from '../../src/services/users.js';
import type { ServiceContext } from '../../src/services/context.js';

/** A fake Turnstile siteverify: the token "pass" passes, with the right secret. */
let turnstile: Server;
let turnstileUrl = '';
const seen: URLSearchParams[] = [];
beforeAll(async () => {
  turnstile = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const form = new URLSearchParams(body);
      seen.push(form);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ success: form.get('secret') === 'turnstile-secret' && form.get('response') === 'pass' }));
    });
  });
  await new Promise<void>((ok) => turnstile.listen(0, '127.0.0.1', ok));
  turnstileUrl = `http://127.0.0.1:${(turnstile.address() as AddressInfo).port}/siteverify`;
});
afterAll(async () => new Promise<void>((ok) => turnstile.close(() => ok())));

describe.each(DIALECTS)('registration on %s', (dialect) => {
  const t = useTestDb(dialect);
  const box = new SecretBox(randomBytes(32));
  const ctx = (o: Partial<ServiceContext> = {}) => t.ctx({ secretBox: () => box, ...o });
  const inbox = new Inbox();
  beforeAll(async () => inbox.start());
  afterAll(async () => inbox.stop());
  const set = (pairs: [string, string | undefined][]) => setPolicy(ctx(), pairs.map(([key, value]): SettingInput => ({ key, value, from: 'text' })));

  async function open(more: [string, string | undefined][] = []) {
    inbox.received = [];
    await set([
      ['registration.public', 'true'], ['registration.email', 'true'], ['app.base_url', 'https://acme.test'],
      ['smtp.host', '127.0.0.1'], ['smtp.port', String(inbox.port)], ['smtp.secure', 'none'], ['smtp.from', 'no-reply@acme.test'], ...more,
    ]);
  }

  const reg = (email: string, more: Partial<Parameters<typeof register>[1]> = {}) => register(ctx(), { email, password: 'a long enough passphrase', name: 'Reg', ...more });

  async function refusedWith(reason: string, run: () => Promise<unknown>, code = 4) {
    await expectUnchanged(t.db, run, code, code === 4 ? 'none' : 'none');
    const err = await rejection(run());
    expect(err).toBeInstanceOf(RegistrationError);
    expect((err as RegistrationError).reason).toBe(reason);
  }

  it('closed registration, a disallowed domain and a plus alias are refused with their reason, creating nothing', async () => {
    await makeUser(ctx(), { email: 'taken@example.com' });
    await refusedWith('registration_closed', () => reg('a@example.com'));
    await open([['registration.allowed_domains', 'example.com,*.bücher.example'], ['registration.block_plus_alias', 'true']]);
    await refusedWith('domain_not_allowed', () => reg('a@other.test'));
    await refusedWith('domain_not_allowed', () => reg('a@bücher.example')); // the wildcard is for subdomains
    await refusedWith('plus_alias', () => reg('a+tag@example.com'));
    await refusedWith('email_taken', () => reg('TAKEN@example.com'));
    await refusedWith('invalid_input', () => reg('b@example.com', { password: 'short' }), 2);
    await refusedWith('invalid_input', () => reg('b@example.com', { ip: '1.2.3.4\nforged' }), 2);
    const ok = await reg('c@shop.BÜCHER.example');
    expect(ok.result.user.status).toBe('pending');
  });

  it('with verification on, the account is pending (no sign-in) until the emailed link is used, once', async () => {
    await open();
    const r = await reg('new@example.com');
    expect(r.result).toMatchObject({ verification_required: true, mail: { status: 'sent' } });
    expect((await authenticate(ctx(), { identifier: 'new@example.com', password: 'a long enough passphrase' })).ok).toBe(false);
    const token = tokenIn(inbox.received[0]!.raw, 'verify-email')!;
    expect(JSON.stringify(await t.db.kysely.selectFrom('outbox').selectAll().execute())).not.toContain(token);
    const v = await verifyEmail(ctx(), token);
    expect(v.result).toMatchObject({ status: 'active' });
    expect(v.result.email_verified_at).not.toBeNull();
    expect((await authenticate(ctx(), { identifier: 'new@example.com', password: 'a long enough passphrase' })).ok).toBe(true);
    expect(((await rejection(verifyEmail(ctx(), token))) as RegistrationError).reason).toBe('invalid_token');
    // without verification the account is active at once, its email unverified
    await set([['registration.email_verification', 'false']]);
    const open2 = await reg('direct@example.com');
    expect(open2.result).toMatchObject({ verification_required: false, mail: null, user: { status: 'active', email_verified_at: null } });
    const marked = await markEmailVerified(ctx(), 'direct@example.com');
    expect(marked.result.email_verified_at).not.toBeNull();
  });

  it('with Turnstile keys set, a missing, rejected or unverifiable token is refused; a passing one registers', async () => {
    await open([['registration.turnstile_site_key', 'site-key'], ['registration.turnstile_secret', 'turnstile-secret'], ['registration.turnstile_verify_url', turnstileUrl]]);
    await refusedWith('human_verification_failed', () => reg('h@example.com'));
    await refusedWith('human_verification_failed', () => reg('h@example.com', { turnstile_token: 'fail' }));
    seen.length = 0;
    const ok = await reg('h@example.com', { turnstile_token: 'pass', ip: '192.0.2.7' });
    expect(ok.result.user.email).toBe('h@example.com');
    expect(seen.at(-1)!.get('remoteip')).toBe('192.0.2.7');
    await set([['registration.turnstile_verify_url', `http://127.0.0.1:${await freePort()}/siteverify`]]);
    await refusedWith('human_verification_failed', () => reg('h2@example.com', { turnstile_token: 'pass' }));
  });

  it('an unverified email cannot sign in through authenticate while verification is required; auth check says so', async () => {
    await createUser(ctx(), { email: 'adm-made@example.com', password: 'a long enough passphrase' });
    const r = await authenticate(ctx(), { identifier: 'adm-made@example.com', password: 'a long enough passphrase' });
    expect(r).toEqual({ ok: false, reason: 'email_unverified' });
    const verdict = await explainSignIn(ctx(), 'adm-made@example.com');
    expect(verdict.checks).toContainEqual(expect.objectContaining({ check: 'email verified', ok: false }));
    await set([['registration.email_verification', 'false']]);
    expect((await authenticate(ctx(), { identifier: 'adm-made@example.com', password: 'a long enough passphrase' })).ok).toBe(true);
    await set([['registration.email_verification', 'true']]);
    await markEmailVerified(ctx(), 'adm-made@example.com');
    expect((await authenticate(ctx(), { identifier: 'adm-made@example.com', password: 'a long enough passphrase' })).ok).toBe(true);
  });
});
