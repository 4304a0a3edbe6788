/** The invite verbs: link on stderr without SMTP, accept from the token, the listing. */
import { describe, expect, it } from 'vitest';
import { useCommandDb } from './harness.js';

const { run, init } = useCommandDb({ migrated: true });

describe('invite', () => {
  it('create prints the link without SMTP; accept creates the account once; list and show follow', async () => {
    await init();
    expect((await run(['invite', 'create', '--email', 'x@example.com'])).code).toBe(2); // app.base_url unset
    await run(['policy', 'set', 'app.base_url', 'https://acme.test', '--yes']);
    const c = await run(['invite', 'create', '--email', 'x@example.com', '--role', 'reseller', '--ttl', '72h', '-o', 'json']);
    expect(c.code).toBe(0);
    expect(JSON.parse(c.stdout)).toMatchObject({ email: 'x@example.com', role: 'reseller', status: 'pending', expires_at: '2026-11-27T12:00:00.000Z' });
    const token = /accept-invitation\?token=(\S+)/.exec(c.stderr)![1]!;
    expect(c.stdout).not.toContain(token);
    expect((await run(['invite', 'create', '--email', 'x@example.com'])).code).toBe(4);
    expect((await run(['invite', 'create', '--email', 'y@example.com', '--plan', 'gold'])).code).toBe(2);
    const a = await run(['invite', 'accept', token, '--name', 'Xavier', '--password-stdin', '-o', 'json'], { stdin: 'a very long passphrase\n' });
    expect(a.code).toBe(0);
    expect(JSON.parse(a.stdout)).toMatchObject({ email: 'x@example.com', role: 'reseller', status: 'active' });
    expect((await run(['invite', 'accept', token])).code).toBe(4);
    const list = await run(['invite', 'list', '-o', 'json']);
    expect(JSON.parse(list.stdout).items).toEqual([expect.objectContaining({ email: 'x@example.com', status: 'accepted' })]);
    expect((await run(['invite', 'show', 'x@example.com'])).stdout).toContain('accepted');
    expect((await run(['invite', 'revoke', 'x@example.com'])).code).toBe(4);
  });

  it('user create --email-verified, user verify-email and user send-verification (link on stderr without SMTP)', async () => {
    await init();
    const v = await run(['user', 'create', '--email', 'v@example.com', '--email-verified', '-o', 'json']);
    expect(JSON.parse(v.stdout).email_verified_at).toBe('2026-11-24T12:00:00.000Z');
    const u = await run(['user', 'create', '--email', 'u@example.com', '-o', 'json']);
    expect(JSON.parse(u.stdout).email_verified_at).toBeNull();
    await run(['policy', 'set', 'app.base_url', 'https://acme.test', '--yes']);
    const sent = await run(['user', 'send-verification', 'u@example.com']);
    expect(sent.code).toBe(0);
    expect(sent.stderr).toMatch(/https:\/\/acme\.test\/verify-email\?token=\S+/);
    expect((await run(['user', 'send-verification', 'v@example.com'])).code).toBe(4);
    const marked = await run(['user', 'verify-email', 'u@example.com', '-o', 'json']);
    expect(marked.code).toBe(0);
    expect(JSON.parse(marked.stdout).email_verified_at).not.toBeNull();
  });
});
