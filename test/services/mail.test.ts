/**
 * The outbox and SMTP delivery against a real SMTP server on loopback (smtp-server),
 * on every database: queued with the change, sent after it, retried with backoff,
 * sent once even by two senders at once, no token in clear at rest.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { readFileSync, existsSync } from 'node:fs';
import { DIALECTS, useTestDb } from '../setup.js';
import { makeUser, rejection } from '../helpers.js';
import { SecretBox } from '../../src/security/secrets.js';
import { setPolicy } from '../../src/services/policy.js';
import { createResetToken, redeemResetToken } from '../../src/services/credentials.js';
import { listMail, purgeMail, queueMailTx, runMailSend, sendQueued, sendTestMail, showMail } from '../../src/services/mail.js';
import { mutate } from '../../src/services/unit-of-work.js';
import type { ServiceContext } from '../../src/services/context.js';
import { Inbox, bodyOf, freePort } from '../smtp.js';


describe.each(DIALECTS)('mail on %s', (dialect) => {
  const t = useTestDb(dialect);
  const box = new SecretBox(randomBytes(32));
  let clock = new Date('2026-11-24T12:00:00.000Z');
  const ctx = (o: Partial<ServiceContext> = {}) => t.ctx({ secretBox: () => box, now: () => clock, ...o });
  const inbox = new Inbox();
  beforeAll(async () => inbox.start());
  afterAll(async () => inbox.stop());

  async function configure(port: number) {
    await setPolicy(ctx(), [
      { key: 'smtp.host', value: '127.0.0.1', from: 'text' }, { key: 'smtp.port', value: String(port), from: 'text' },
      { key: 'smtp.secure', value: 'none', from: 'text' }, { key: 'smtp.from', value: 'Acme <no-reply@acme.test>', from: 'text' },
      { key: 'app.base_url', value: 'https://acme.test', from: 'text' }, { key: 'app.name', value: 'Acme', from: 'text' },
    ]);
  }

  it('a reset link is queued with its change (sealed: no token at rest), sent after it, and works once', async () => {
    clock = new Date('2026-11-24T12:00:00.000Z');
    inbox.received = [];
    await configure(inbox.port);
    await makeUser(ctx(), { email: 'bob@example.com' });
    const outcome = await createResetToken(ctx(), 'bob@example.com', { sendEmail: true });
    const token = outcome.result.token;
    const id = outcome.result.mail_id!;
    const row = await t.db.kysely.selectFrom('outbox').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'queued', body: null, kind: 'password_reset', to_address: 'bob@example.com' });
    expect(JSON.stringify(row)).not.toContain(token);
    const audit = await t.db.kysely.selectFrom('audit_log').select('changes').execute();
    expect(JSON.stringify(audit)).not.toContain(token);
    const listed = await listMail(ctx());
    expect(JSON.stringify(listed)).not.toContain(token);
    expect(JSON.stringify(await showMail(ctx(), id))).not.toContain(token);
    if (dialect === 'sqlite') for (const f of [t.url, `${t.url}-wal`].filter(existsSync)) expect(readFileSync(f).toString('latin1')).not.toContain(token);

    const [sent] = await sendQueued(ctx(), [id]);
    expect(sent).toMatchObject({ status: 'sent' });
    expect(sent!.reply).toMatch(/^250 /);
    expect(inbox.received).toHaveLength(1);
    const msg = inbox.received[0]!;
    expect(msg.to).toEqual(['bob@example.com']);
    expect(msg.raw).toMatch(/^Subject: Reset your Acme password/m);
    expect(msg.raw).toMatch(/Content-Type: multipart\/alternative/);
    const link = /https:\/\/acme\.test\/reset-password\?token=([A-Za-z0-9_-]+)/.exec(bodyOf(msg.raw));
    expect(link?.[1]).toBe(token);
    await redeemResetToken(ctx(), link![1]!, 'a brand new passphrase');
    expect((await rejection(redeemResetToken(ctx(), link![1]!, 'another new passphrase'))).exitCode).toBe(4);
    // sent once: sending it again finds nothing to claim
    expect(await sendQueued(ctx(), [id])).toEqual([]);
    expect((await t.db.kysely.selectFrom('outbox').select(['status', 'attempts']).where('id', '=', id).executeTakeFirstOrThrow())).toEqual({ status: 'sent', attempts: 1 });
  });

  it('with SMTP down the message stays with its error; mail send delivers it once the server is back, exactly once with two senders', async () => {
    clock = new Date('2026-11-24T12:00:00.000Z');
    inbox.received = [];
    const down = await freePort();
    await configure(down);
    await makeUser(ctx(), { email: 'carol@example.com' });
    const { result } = await createResetToken(ctx(), 'carol@example.com', { sendEmail: true });
    const [first] = await sendQueued(ctx(), [result.mail_id!]);
    expect(first!.status).toBe('failed');
    const row = await t.db.kysely.selectFrom('outbox').selectAll().where('id', '=', result.mail_id!).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'failed', attempts: 1, next_attempt_at: '2026-11-24T12:01:00.000Z' });
    expect(row.last_error).toMatch(/ECONNREFUSED|connect/i);
    // not due yet: nothing happens
    const early = await runMailSend(ctx(), { owner: 'test' });
    expect(early).toMatchObject({ sent: 0, failed: 0, waiting: 1 });
    // the server comes back on that port; two senders at once, after the backoff
    const back = new Inbox();
    await back.start(down);
    try {
      clock = new Date('2026-11-24T12:02:00.000Z');
      const [a, b] = await Promise.all([runMailSend(ctx(), { owner: 'a' }), runMailSend(ctx(), { owner: 'b' })]);
      expect(a.sent + b.sent).toBe(1);
      expect(back.received).toHaveLength(1);
      expect((await runMailSend(ctx(), { owner: 'c' })).sent).toBe(0);
      expect(back.received).toHaveLength(1);
      const sent = await t.db.kysely.selectFrom('outbox').selectAll().where('id', '=', result.mail_id!).executeTakeFirstOrThrow();
      expect(sent).toMatchObject({ status: 'sent', attempts: 2 });
    } finally {
      await back.stop();
    }
  });

  it('mail test reports the server\'s reply, or fails (exit 1) with its error; headers cannot be injected', async () => {
    clock = new Date('2026-11-24T12:00:00.000Z');
    inbox.received = [];
    await configure(inbox.port);
    const ok = await sendTestMail(ctx(), 'ops@example.com');
    expect(ok.result).toMatchObject({ status: 'sent', to: 'ops@example.com' });
    expect(ok.result.reply).toMatch(/^250 /);
    // a subject with CR/LF (a display name, say) stays one header
    const evil = await mutate(ctx(), 'mail.test', (uow) => queueMailTx(uow, { kind: 'test', to: 'victim@example.com', secret: false, content: { subject: 'Hi\r\nBcc: evil@attacker.test', text: 'x', html: '<p>x</p>' } }));
    await sendQueued(ctx(), [evil.result]);
    const raw = inbox.received.at(-1)!;
    expect(raw.to).toEqual(['victim@example.com']);
    expect(raw.raw).not.toMatch(/^Bcc:/im);
    await configure(await freePort());
    const err = await rejection(sendTestMail(ctx(), 'ops@example.com'));
    expect(err.exitCode).toBe(1);
    expect(err.message).toMatch(/refused or failed/);
  });

  it('mail purge deletes sent messages past the cutoff and keeps the queued ones', async () => {
    clock = new Date('2026-10-01T00:00:00.000Z');
    await configure(inbox.port);
    await sendTestMail(ctx(), 'old@example.com');
    await setPolicy(ctx(), [{ key: 'smtp.host', from: 'text' }]);
    await makeUser(ctx(), { email: 'dan@example.com' });
    await createResetToken(ctx(), 'dan@example.com', { sendEmail: true }); // stays queued: no SMTP
    clock = new Date('2026-11-24T12:00:00.000Z');
    const r = await purgeMail(ctx(), 30 * 86400);
    expect(r.result.deleted).toBe(1);
    expect((await listMail(ctx())).items.map((m) => m.status)).toEqual(['queued']);
  });
});
