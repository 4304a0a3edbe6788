/**
 * Outgoing mail through the outbox. A service that causes an email queues it with
 * queueMailTx inside its own unit of work (so the email exists exactly when the change
 * does); the caller sends it after the commit (sendMail), and `acctctl mail send` (cron)
 * retries what failed, with backoff. A sender claims each message in a short write
 * transaction before talking to the server, so two senders never send one message twice.
 * A body carrying a token is sealed with the secrets key: no token is in clear in the
 * database, and none is ever shown by a listing.
 */

import type { OutboxRow } from '../db/types.js';
import { withWriteTx } from '../db/dialect.js';
import { withJobLock, type LockHolder } from '../db/job-lock.js';
import { NotFoundError, RefusedError, UsageError, AcctError } from '../errors.js';
import { MAIL_STATUSES, type MailKind, type MailStatus } from '../domain/enums.js';
import * as v from '../domain/validate.js';
import type { MailContent } from './mail-templates.js';
import { testMail } from './mail-templates.js';
import { isoNow, type ServiceContext } from './context.js';
import { assertCan } from './permissions.js';
import { checkLimit, decodeCursor, encodeCursor, pageOf, type Page } from './paging.js';
import { policyOf, revealSetting, sealWith } from './policy.js';
import { authorizeRead, baseDb, mutate, reader, type MutationOutcome, type UnitOfWork } from './unit-of-work.js';
import { printable } from './validate.js';

const SEAL_CONTEXT = 'outbox.body';
/** A claim lasts this long: a sender that dies leaves the message to be tried again after it. */
const CLAIM_MS = 5 * 60_000;
/** Waits before the 2nd, 3rd, … attempt; after the last one the message is given up. */
const BACKOFF_S = [60, 5 * 60, 30 * 60, 2 * 3600, 6 * 3600, 12 * 3600, 24 * 3600];
const DEFAULT_BATCH = 100;

export interface QueueMail {
  kind: MailKind;
  to: string;
  content: MailContent;
  /** The body carries a token: sealed at rest. */
  secret: boolean;
  userId?: number | null | undefined;
}

/** Queues an email in the caller's unit of work; returns its id. */
export async function queueMailTx(uow: UnitOfWork, m: QueueMail): Promise<number> {
  const body = JSON.stringify({ text: m.content.text, html: m.content.html });
  const now = isoNow(uow.ctx);
  const row = await uow.trx.insertInto('outbox').values({
    kind: m.kind, to_address: m.to, subject: m.content.subject,
    body: m.secret ? null : body, body_sealed: m.secret ? await sealWith(uow, SEAL_CONTEXT, body) : null,
    user_id: m.userId ?? null, last_error: null, server_reply: null, next_attempt_at: now, claimed_until: null, created_at: now, sent_at: null,
  }).returning('id').executeTakeFirstOrThrow();
  return Number(row.id);
}

/** What a listing shows of a message: never its body. */
export interface MailView {
  id: number;
  kind: MailKind;
  to: string;
  subject: string;
  status: MailStatus;
  attempts: number;
  last_error: string | null;
  server_reply: string | null;
  next_attempt_at: string | null;
  created_at: string;
  sent_at: string | null;
  /** The body is sealed (it carries a token). */
  sealed: boolean;
}

function mailView(r: OutboxRow): MailView {
  return {
    id: Number(r.id), kind: r.kind, to: r.to_address, subject: r.subject, status: r.status, attempts: Number(r.attempts), last_error: r.last_error,
    server_reply: r.server_reply, next_attempt_at: r.next_attempt_at, created_at: r.created_at, sent_at: r.sent_at, sealed: r.body_sealed !== null,
  };
}

export interface MailFilter {
  status?: string | undefined;
  limit?: number | undefined;
  cursor?: string | undefined;
}

/** Newest first. */
export async function listMail(ctx: ServiceContext, filter: MailFilter = {}): Promise<Page<MailView>> {
  const status = filter.status === undefined ? undefined : checkStatus(filter.status);
  const limit = checkLimit(filter.limit);
  const cursor = decodeCursor<{ id: number }>('mail', filter.cursor, { id: 'int' });
  await authorizeRead(ctx, 'mail.list', (a) => assertCan(a, 'mail.read'));
  let q = reader(ctx).selectFrom('outbox').selectAll();
  if (status) q = q.where('status', '=', status);
  if (cursor) q = q.where('id', '<', cursor.id);
  const rows = await q.orderBy('id', 'desc').limit(limit + 1).execute();
  return pageOf(rows, limit, mailView, (r) => encodeCursor('mail', { id: Number(r.id) }));
}

function checkStatus(value: string): MailStatus {
  if ((MAIL_STATUSES as readonly string[]).includes(value)) return value as MailStatus;
  throw new UsageError(`status: "${printable(value)}" is not one of ${MAIL_STATUSES.join(', ')}`, { field: 'status' });
}

export interface MailDetail extends MailView {
  from: string | null;
  text: string;
}

/** Links and tokens in a body: shown masked (the token went to its owner, once). */
function maskTokens(text: string): string {
  return text.replace(/([?&]token=)[A-Za-z0-9_-]+/g, '$1••••');
}

/** Headers and text; a token in it is masked. */
export async function showMail(ctx: ServiceContext, id: number): Promise<MailDetail> {
  await authorizeRead(ctx, 'mail.show', (a) => assertCan(a, 'mail.read'));
  const row = await reader(ctx).selectFrom('outbox').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw new NotFoundError(`no message ${id} in the outbox`, { field: 'id' });
  const policy = await policyOf(ctx);
  let text = '(sealed: the secret key is needed to read it)';
  if (row.body !== null) text = (JSON.parse(row.body) as { text: string }).text;
  else if (ctx.secretBox) text = maskTokens((JSON.parse(ctx.secretBox().open(row.body_sealed!, SEAL_CONTEXT)) as { text: string }).text);
  return { ...mailView(row), from: policy.get('smtp.from'), text };
}

// ---------------------------------------------------------------------------------
// Sending

interface Smtp {
  host: string;
  port: number;
  secure: string;
  user: string | null;
  password: string | null;
  from: string | null;
}

async function smtpSettings(ctx: ServiceContext): Promise<Smtp | null> {
  const policy = await policyOf(ctx);
  const host = policy.get('smtp.host');
  if (host === null) return null;
  const user = policy.get('smtp.user');
  return { host, port: policy.get('smtp.port'), secure: policy.get('smtp.secure'), user, password: user === null ? null : await revealSetting(ctx, 'smtp.password'), from: policy.get('smtp.from') };
}

/** Whether outgoing mail is configured (smtp.host set). */
export async function smtpConfigured(ctx: ServiceContext): Promise<boolean> {
  return (await policyOf(ctx)).get('smtp.host') !== null;
}

type Transport = { sendMail(m: object): Promise<{ response?: string; messageId?: string }>; close(): void };

async function transport(s: Smtp): Promise<Transport> {
  const nodemailer = (await import('nodemailer')).default;
  return nodemailer.createTransport({
    host: s.host, port: s.port, secure: s.secure === 'tls', requireTLS: s.secure === 'starttls', ignoreTLS: s.secure === 'none',
    auth: s.user === null ? undefined : { user: s.user, pass: s.password ?? '' },
    connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 20_000,
  }) as unknown as Transport;
}

/** An SMTP error in one line, without the server's echo of a password. */
function errorText(err: unknown): string {
  const e = err as { message?: string; response?: string; code?: string };
  return printable(String(e.response ?? e.message ?? err)).replace(/\s+/g, ' ').slice(0, 500);
}

export interface SendResult {
  id: number;
  to: string;
  status: 'sent' | 'failed' | 'skipped';
  reply: string | null;
  error: string | null;
}

/** Claims due messages (or the given ones) for this sender: one short write transaction. */
async function claim(ctx: ServiceContext, opts: { ids?: number[]; batch: number; force?: boolean }): Promise<OutboxRow[]> {
  const now = isoNow(ctx);
  const until = new Date(ctx.now().getTime() + CLAIM_MS).toISOString();
  return withWriteTx(baseDb(ctx.db), async (trx) => {
    let q = trx.selectFrom('outbox').select('id').where((eb) => eb.or([
      eb.and([eb('status', 'in', ['queued', 'failed']), opts.force ? eb.val(true) : eb.and([eb('next_attempt_at', 'is not', null), eb('next_attempt_at', '<=', now)])]),
      eb.and([eb('status', '=', 'sending'), eb('claimed_until', '<', now)]),
    ]));
    if (opts.ids) q = q.where('id', 'in', opts.ids.length > 0 ? opts.ids : [-1]);
    const ids = (await q.orderBy('id').limit(opts.batch).execute()).map((r) => Number(r.id));
    if (ids.length === 0) return [];
    return trx.updateTable('outbox').set({ status: 'sending', claimed_until: until }).where('id', 'in', ids).returningAll().execute();
  });
}

async function finish(ctx: ServiceContext, row: OutboxRow, outcome: { ok: true; reply: string } | { ok: false; error: string }): Promise<void> {
  const attempts = Number(row.attempts) + 1;
  const now = isoNow(ctx);
  const set = outcome.ok
    ? { status: 'sent' as const, attempts, sent_at: now, server_reply: outcome.reply.slice(0, 500), last_error: null, next_attempt_at: null, claimed_until: null }
    : {
        status: 'failed' as const, attempts, last_error: outcome.error, claimed_until: null,
        next_attempt_at: attempts > BACKOFF_S.length ? null : new Date(ctx.now().getTime() + BACKOFF_S[attempts - 1]! * 1000).toISOString(),
      };
  await withWriteTx(baseDb(ctx.db), (trx) => trx.updateTable('outbox').set(set).where('id', '=', row.id).where('status', '=', 'sending').execute());
}

function bodyOf(ctx: ServiceContext, row: OutboxRow): { text: string; html: string } {
  if (row.body !== null) return JSON.parse(row.body) as { text: string; html: string };
  if (!ctx.secretBox) throw new UsageError('a queued message is sealed and no secret key is configured (ACCTCTL_SECRET_KEY, --secret-key-file, or the key file beside the database)');
  return JSON.parse(ctx.secretBox().open(row.body_sealed!, SEAL_CONTEXT)) as { text: string; html: string };
}

async function deliver(ctx: ServiceContext, rows: OutboxRow[], smtp: Smtp): Promise<SendResult[]> {
  const results: SendResult[] = [];
  if (rows.length === 0) return results;
  const t = await transport(smtp);
  try {
    for (const row of rows) {
      try {
        const body = bodyOf(ctx, row);
        const info = await t.sendMail({ from: smtp.from ?? undefined, to: row.to_address, subject: row.subject, text: body.text, html: body.html, disableFileAccess: true, disableUrlAccess: true });
        const reply = String(info.response ?? 'accepted');
        await finish(ctx, row, { ok: true, reply });
        results.push({ id: Number(row.id), to: row.to_address, status: 'sent', reply, error: null });
      } catch (err) {
        const error = errorText(err);
        await finish(ctx, row, { ok: false, error });
        results.push({ id: Number(row.id), to: row.to_address, status: 'failed', reply: null, error });
      }
    }
  } finally {
    t.close();
  }
  return results;
}

/**
 * Sends the given messages now (after the commit that queued them). Without SMTP they
 * stay queued ('skipped'); a failure keeps them for `mail send` with their error.
 */
export async function sendQueued(ctx: ServiceContext, ids: number[]): Promise<SendResult[]> {
  const smtp = await smtpSettings(ctx);
  if (smtp === null || ctx.dryRun) return ids.map((id) => ({ id, to: '', status: 'skipped', reply: null, error: null }));
  return deliver(ctx, await claim(ctx, { ids, batch: ids.length }), smtp);
}

export interface MailRunResult {
  /** Another `mail send` holds the lock: this one did nothing. */
  skipped: boolean;
  locked_by: LockHolder | null;
  /** smtp.host is unset: nothing can be sent. */
  not_configured: boolean;
  sent: number;
  failed: number;
  results: SendResult[];
  /** Messages still waiting (queued or failed with a retry to come). */
  waiting: number;
}

async function waiting(ctx: ServiceContext): Promise<number> {
  const r = await reader(ctx).selectFrom('outbox').select((eb) => eb.fn.countAll<number>().as('n')).where('status', 'in', ['queued', 'failed', 'sending']).where((eb) => eb.or([eb('status', '!=', 'failed'), eb('next_attempt_at', 'is not', null)])).executeTakeFirstOrThrow();
  return Number(r.n);
}

/**
 * `mail send`: the due messages in batches (or one by id, even if given up), one run at a
 * time. One mail.send audit entry records what a run sent or failed.
 */
export async function runMailSend(ctx: ServiceContext, opts: { id?: number | undefined; batchSize?: number | undefined; owner: string }): Promise<MailRunResult> {
  await authorizeRead(ctx, 'mail.send', (a) => assertCan(a, 'mail.send'));
  const batch = opts.batchSize ?? DEFAULT_BATCH;
  const smtp = await smtpSettings(ctx);
  const empty: MailRunResult = { skipped: false, locked_by: null, not_configured: smtp === null, sent: 0, failed: 0, results: [], waiting: 0 };
  if (opts.id !== undefined) {
    const row = await reader(ctx).selectFrom('outbox').select(['id', 'status']).where('id', '=', opts.id).executeTakeFirst();
    if (!row) throw new NotFoundError(`no message ${opts.id} in the outbox`, { field: 'id' });
    if (row.status === 'sent') throw new RefusedError(`message ${opts.id} was sent already`);
  }
  if (smtp === null || ctx.dryRun) return { ...empty, waiting: await waiting(ctx) };
  const locked = await withJobLock(baseDb(ctx.db), 'mail.send', { owner: opts.owner, now: ctx.now }, async (lease) => {
    const results: SendResult[] = [];
    for (;;) {
      const rows = await claim(ctx, opts.id === undefined ? { batch } : { ids: [opts.id], batch: 1, force: true });
      if (rows.length === 0) break;
      results.push(...(await deliver(ctx, rows, smtp)));
      if (opts.id !== undefined) break;
      await lease.renew();
    }
    return results;
  });
  if (!locked.ran) return { ...empty, skipped: true, locked_by: locked.heldBy ?? null, waiting: await waiting(ctx) };
  const results = locked.value;
  const sent = results.filter((r) => r.status === 'sent').length;
  const failed = results.filter((r) => r.status === 'failed').length;
  if (results.length > 0) {
    await mutate(ctx, 'mail.send', (uow) => uow.record('mail.send', { type: 'outbox', id: opts.id === undefined ? 'due' : String(opts.id), label: 'outbox' }, { sent: { after: sent }, failed: { after: failed } }));
  }
  return { ...empty, sent, failed, results, waiting: await waiting(ctx) };
}

export interface MailTestResult extends SendResult {
  from: string | null;
}

/** `mail test --to`: queues a test message and sends it at once; the server's reply, or its error (exit 1). */
export async function sendTestMail(ctx: ServiceContext, to: string): Promise<MutationOutcome<MailTestResult>> {
  const address = v.validEmail(to, 'to');
  if (!address.ok) throw new UsageError(`to: ${address.message}`, { field: 'to' });
  const smtp = await smtpSettings(ctx);
  if (smtp === null) throw new UsageError('smtp.host is unset: set it first (acctctl policy set smtp.host mail.example.com)', { field: 'smtp.host' });
  const policy = await policyOf(ctx);
  const outcome = await mutate(ctx, 'mail.test', async (uow) => {
    assertCan(uow.actor, 'mail.send');
    const id = await queueMailTx(uow, { kind: 'test', to: address.value, content: testMail({ name: policy.get('app.name') }, isoNow(ctx)), secret: false });
    await uow.record('mail.test', { type: 'outbox', id: String(id), label: address.value }, { to: { after: address.value } });
    return { id, to: address.value, status: 'skipped' as SendResult['status'], reply: null as string | null, error: null as string | null, from: smtp.from };
  });
  if (ctx.dryRun) return outcome;
  const [r] = await sendQueued(ctx, [outcome.result.id]);
  const result = { ...outcome.result, ...r! };
  if (result.status === 'failed') throw new MailError(`the SMTP server ${smtp.host}:${smtp.port} refused or failed: ${result.error}`);
  return { ...outcome, result };
}

/** Exit 1: the mail server did not take a message. */
export class MailError extends AcctError {
  override readonly code = 'mail_failed';
}

/** `mail purge --older-than`: sent messages, and failed ones given up, created before the cutoff. */
export async function purgeMail(ctx: ServiceContext, olderThanSeconds: number): Promise<MutationOutcome<{ deleted: number }>> {
  return mutate(ctx, 'mail.purge', async (uow) => {
    assertCan(uow.actor, 'mail.send');
    const cutoff = new Date(ctx.now().getTime() - olderThanSeconds * 1000).toISOString();
    const r = await uow.trx.deleteFrom('outbox').where('created_at', '<', cutoff)
      .where((eb) => eb.or([eb('status', '=', 'sent'), eb.and([eb('status', '=', 'failed'), eb('next_attempt_at', 'is', null)])])).executeTakeFirst();
    const deleted = Number(r.numDeletedRows);
    const target = { type: 'outbox', id: 'purge', label: 'outbox' };
    uow.about(target);
    if (deleted > 0) await uow.record('mail.purge', target, { deleted: { after: deleted }, older_than: { after: cutoff } });
    return { deleted };
  });
}

