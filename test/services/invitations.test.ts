/** Invitations on every database, delivered through a real SMTP server on loopback. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { readFileSync, existsSync } from 'node:fs';
import { DIALECTS, useTestDb } from '../setup.js';
import { expectUnchanged, makeUser, rejection } from '../helpers.js';
import { Inbox, tokenIn } from '../smtp.js';
import { SecretBox } from '../../src/security/secrets.js';
import { setPolicy } from '../../src/services/policy.js';
import { sendQueued, listMail } from '../../src/services/mail.js';
import { acceptInvitation, createInvitation, listInvitations, resendInvitation, revokeInvitation, showInvitation } from '../../src/services/invitations.js';
import { runCleanup } from '../../src/services/cleanup.js';
import { inviteBulk } from '../../src/services/invite-bulk.js';
import { runMailSend } from '../../src/services/mail.js';
import { Readable } from 'node:stream';
import { PartialError } from '../../src/bulk/engine.js';
import { authenticate } from '../../src/services/auth.js';
import type { ServiceContext } from '../../src/services/context.js';

describe.each(DIALECTS)('invitations on %s', (dialect) => {
  const t = useTestDb(dialect);
  const box = new SecretBox(randomBytes(32));
  let clock = new Date('2026-11-24T12:00:00.000Z');
  const ctx = (o: Partial<ServiceContext> = {}) => t.ctx({ secretBox: () => box, now: () => clock, ...o });
  const inbox = new Inbox();
  beforeAll(async () => inbox.start());
  afterAll(async () => inbox.stop());

  async function configure() {
    clock = new Date('2026-11-24T12:00:00.000Z');
    inbox.received = [];
    await setPolicy(ctx(), [
      { key: 'smtp.host', value: '127.0.0.1', from: 'text' }, { key: 'smtp.port', value: String(inbox.port), from: 'text' },
      { key: 'smtp.secure', value: 'none', from: 'text' }, { key: 'smtp.from', value: 'no-reply@acme.test', from: 'text' },
      { key: 'app.base_url', value: 'https://acme.test', from: 'text' }, { key: 'app.name', value: 'Acme', from: 'text' },
    ]);
  }

  async function invite(email: string, more: Parameters<typeof createInvitation>[1] extends infer T ? Partial<T> : never = {}) {
    const out = await createInvitation(ctx(), { email, sendEmail: true, ...more });
    await sendQueued(ctx(), [out.result.invitation.mail_id!]);
    return out;
  }

  it('the emailed token accepts the invitation once: the account has the intended role and a verified email; a second use is refused', async () => {
    await configure();
    const out = await invite('new@example.com', { role: 'reseller' });
    expect(inbox.received).toHaveLength(1);
    expect(inbox.received[0]!.to).toEqual(['new@example.com']);
    const token = tokenIn(inbox.received[0]!.raw, 'accept-invitation')!;
    expect(token).toBe(out.result.token);
    // no token in clear at rest, in the audit log or the outbox listing
    const rows = JSON.stringify([await t.db.kysely.selectFrom('invitations').selectAll().execute(), await t.db.kysely.selectFrom('outbox').selectAll().execute(), await t.db.kysely.selectFrom('audit_log').selectAll().execute()]);
    expect(rows).not.toContain(token);
    expect(JSON.stringify(await listMail(ctx()))).not.toContain(token);
    if (dialect === 'sqlite') for (const f of [t.url, `${t.url}-wal`].filter(existsSync)) expect(readFileSync(f).toString('latin1')).not.toContain(token);

    const accepted = await acceptInvitation(ctx(), token, { name: 'New Person', password: 'a long new passphrase' });
    expect(accepted.result.user).toMatchObject({ email: 'new@example.com', role: 'reseller', status: 'active', display_name: 'New Person' });
    expect(accepted.result.user.email_verified_at).toBe(clock.toISOString());
    expect(accepted.result.invitation.status).toBe('accepted');
    expect((await authenticate(ctx(), { identifier: 'new@example.com', password: 'a long new passphrase' })).ok).toBe(true);
    await expectUnchanged(t.db, () => acceptInvitation(ctx(), token, { password: 'another long passphrase' }), 4, 'refused');
    expect((await showInvitation(ctx(), out.result.invitation.invitation_id)).user_public_id).toBe(accepted.result.user.public_id);
  });

  it('an expired invitation is refused; cleanup marks it expired; a new one can then be made', async () => {
    await configure();
    const out = await invite('late@example.com', { ttlSeconds: 3600 });
    clock = new Date('2026-11-24T13:00:01.000Z');
    const err = await rejection(acceptInvitation(ctx(), out.result.token));
    expect(err.exitCode).toBe(4);
    expect(err.message).toContain('expired');
    expect((await listInvitations(ctx(), { status: 'expired' })).items.map((i) => i.email)).toEqual(['late@example.com']);
    const r = await runCleanup(ctx(), { kinds: ['invitations'] });
    expect(r.invitations).toBe(1);
    const stored = await t.db.kysely.selectFrom('invitations').select('status').executeTakeFirstOrThrow();
    expect(stored.status).toBe('expired');
    expect((await invite('late@example.com')).result.invitation.status).toBe('pending');
  });

  it('an email with an account, or with a pending invitation, is refused (exit 4) unless --resend; resend and revoke kill the old link', async () => {
    await configure();
    await makeUser(ctx(), { email: 'has@example.com' });
    await expectUnchanged(t.db, () => createInvitation(ctx(), { email: 'HAS@example.com' }), 4, 'refused');
    const first = await invite('twice@example.com');
    await expectUnchanged(t.db, () => createInvitation(ctx(), { email: 'twice@example.com' }), 4, 'refused');
    const again = await createInvitation(ctx(), { email: 'twice@example.com', resend: true });
    expect((await rejection(acceptInvitation(ctx(), first.result.token))).exitCode).toBe(4);
    const resent = await resendInvitation(ctx(), again.result.invitation.invitation_id);
    expect((await rejection(acceptInvitation(ctx(), again.result.token))).message).toContain('unknown');
    await revokeInvitation(ctx(), 'twice@example.com');
    expect((await rejection(acceptInvitation(ctx(), resent.result.token))).message).toContain('revoked');
    expect(await t.db.kysely.selectFrom('users').select('email').where('email', '=', 'twice@example.com').execute()).toEqual([]);
  });

  it('plan and customer are refused as not available yet (exit 2), not ignored; only admins invite', async () => {
    await configure();
    await expectUnchanged(t.db, () => createInvitation(ctx(), { email: 'p@example.com', plan: 'gold' }), 2, 'none');
    await expectUnchanged(t.db, () => createInvitation(ctx(), { email: 'p@example.com', customer: 'acme', memberRole: 'owner' }), 2, 'none');
    await makeUser(ctx(), { email: 'res@example.com', role: 'reseller' });
    await expectUnchanged(t.db, () => createInvitation(ctx({ actor: { kind: 'user', ref: 'res@example.com' } }), { email: 'p@example.com' }), 4, 'refused');
  });

  it('invite bulk: every row checked first; an email with an account refuses the run (nothing changed) unless --continue-on-error; the invitations are mailed', async () => {
    await configure();
    await makeUser(ctx(), { email: 'has@example.com' });
    const file = (text: string) => ({ open: () => Readable.from([Buffer.from(text)]), name: 'invites.csv' });
    await expectUnchanged(t.db, () => inviteBulk(ctx(), file('email,role,plan\na@example.com,user,\nb@example.com,reseller,gold\n'), {}), 2, 'none');
    const csv = 'email,role\na@example.com,user\nhas@example.com,user\nb@example.com,reseller\n';
    await expectUnchanged(t.db, () => inviteBulk(ctx(), file(csv), {}), 4, 'none');
    const err = await rejection(inviteBulk(ctx(), file(csv), { continueOnError: true }));
    expect(err).toBeInstanceOf(PartialError);
    expect((err as PartialError).summary).toMatchObject({ applied: 2, refused: 1, counts: { invite: 2 } });
    const sent = await runMailSend(ctx(), { owner: 'test' });
    expect(sent.sent).toBe(2);
    expect(inbox.received.map((m) => m.to[0]).sort()).toEqual(['a@example.com', 'b@example.com']);
    const token = tokenIn(inbox.received.find((m) => m.to[0] === 'b@example.com')!.raw, 'accept-invitation')!;
    expect((await acceptInvitation(ctx(), token)).result.user.role).toBe('reseller');
  });
});
