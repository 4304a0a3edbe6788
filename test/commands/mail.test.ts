/** The mail verbs against a real SMTP server on loopback. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { useCommandDb } from './harness.js';

const cli = useCommandDb({ migrated: true });
const { run, init } = cli;
const received: string[] = [];
let server: SMTPServer;
let port = 0;

beforeAll(async () => {
  server = new SMTPServer({
    authOptional: true, disabledCommands: ['STARTTLS'], logger: false,
    onData: (stream, _s, done) => {
      let raw = '';
      stream.on('data', (c: Buffer) => (raw += c.toString('utf8')));
      stream.on('end', () => {
        received.push(raw);
        done();
      });
    },
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  port = (server.server.address() as AddressInfo).port;
});
afterAll(async () => new Promise<void>((ok) => server.close(() => ok())));

async function smtp() {
  for (const [k, v] of [['smtp.host', '127.0.0.1'], ['smtp.port', String(port)], ['smtp.secure', 'none'], ['smtp.from', 'ops@acme.test'], ['app.base_url', 'https://acme.test']]) {
    expect((await run(['policy', 'set', k!, v!, '--yes'])).code).toBe(0);
  }
}

describe('mail', () => {
  it('without SMTP a reset link is queued and printed on stderr; mail send exits 0 saying nothing can be sent', async () => {
    await init();
    await run(['user', 'create', '--email', 'bob@example.com']);
    await run(['policy', 'set', 'app.base_url', 'https://acme.test', '--yes']);
    const r = await run(['user', 'reset-password', 'bob@example.com', '--send-email']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/https:\/\/acme\.test\/reset-password\?token=\S+/);
    const token = /token=(\S+)/.exec(r.stderr)![1]!;
    const list = await run(['mail', 'list', '-o', 'json']);
    expect(JSON.parse(list.stdout).items).toEqual([expect.objectContaining({ kind: 'password_reset', status: 'queued', to: 'bob@example.com', sealed: true })]);
    expect(list.stdout).not.toContain(token);
    const show = await run(['mail', 'show', '1']);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain('reset-password?token=••••');
    expect(show.stdout).not.toContain(token);
    const send = await run(['mail', 'send', '-o', 'json']);
    expect(send.code).toBe(0);
    expect(JSON.parse(send.stdout)).toMatchObject({ sent: 0, not_configured: true, waiting: 1 });
  });

  it('with SMTP: the reset link is emailed, not printed; mail send sends what was queued before; mail test shows the reply', async () => {
    await init();
    await run(['user', 'create', '--email', 'carol@example.com']);
    received.length = 0;
    await run(['policy', 'set', 'app.base_url', 'https://acme.test', '--yes']);
    await run(['user', 'reset-password', 'carol@example.com', '--send-email']); // queued: no SMTP yet
    await smtp();
    const r = await run(['user', 'reset-password', 'carol@example.com', '--send-email']);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toContain('token=');
    expect(r.stderr).toMatch(/Emailed the reset link \(message 2\): 250/);
    const send = await run(['mail', 'send']);
    expect(send.code).toBe(0);
    expect(send.stderr).toContain('Mail: 1 sent, 0 failed; 0 waiting.');
    expect(received).toHaveLength(2);
    const t = await run(['mail', 'test', '--to', 'ops@example.com']);
    expect(t.code).toBe(0);
    expect(t.stderr).toMatch(/the server said: 250/);
    expect((await run(['mail', 'send', '--id', '1'])).code).toBe(4); // sent already
    expect((await run(['mail', 'show', '99'])).code).toBe(3);
  });
});
