/** Errors and exit codes. */
import { beforeEach, describe, expect, it } from 'vitest';
import { useCommandDb } from './harness.js';

const cli = useCommandDb({ migrated: true });
const { run, init } = cli;

describe('errors and exit codes', () => {
  beforeEach(init);

  it('writes JSON errors on stderr with -o json, with the exit code', async () => {
    const r = await run(['user', 'show', 'ghost@example.com', '-o', 'json']);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(JSON.parse(r.stderr)).toEqual({ error: { code: 'not_found', exit_code: 3, field: 'user', message: expect.stringContaining('ghost@example.com') } });
    const bad = await run(['user', 'create', '--email', 'nope', '--json']);
    expect(bad.code).toBe(2);
    expect(JSON.parse(bad.stderr).error).toMatchObject({ code: 'invalid_input', field: 'email' });
    const usage = await run(['user', 'create', '--json']);
    expect(usage.code).toBe(2);
    expect(JSON.parse(usage.stderr).error.message).toContain('--email');
  });

  it('maps refusals to exit 4 and records them', async () => {
    const r = await run(['user', 'suspend', 'root@example.com']);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('last active admin');
    const audit = JSON.parse((await run(['audit', 'list', '--json', '--limit', '1'])).stdout);
    expect(audit.items[0]).toMatchObject({ action: 'user.suspend', outcome: 'refused' });
  });

  it('refuses a reseller actor given with --actor or ACCTCTL_ACTOR', async () => {
    await run(['user', 'create', '--email', 'rs@example.com', '--role', 'reseller', '--generate-password']);
    expect((await run(['--actor', 'rs@example.com', 'user', 'list'])).code).toBe(4);
    expect((await run(['user', 'list'], { env: { ACCTCTL_ACTOR: 'rs@example.com' } })).code).toBe(4);
    expect((await run(['user', 'list', '--actor', 'rs@example.com'])).code).toBe(4);
    // audit list's own --actor filters; the acting actor goes before the group
    const filtered = JSON.parse((await run(['audit', 'list', '--actor', 'rs@example.com', '--json'])).stdout);
    expect(filtered.items.every((e: { actor: string }) => e.actor === 'rs@example.com')).toBe(true);
    expect(filtered.items.length).toBeGreaterThan(0);
  });

  it('records the SSH client address as the actor IP', async () => {
    await run(['user', 'create', '--email', 'ip@example.com'], { env: { SSH_CLIENT: '203.0.113.9 52114 22' } });
    const audit = JSON.parse((await run(['audit', 'list', '--json', '--limit', '1'])).stdout);
    expect(audit.items[0].actor_ip).toBe('203.0.113.9');
  });
});
