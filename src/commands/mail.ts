import { Option, type Command } from 'commander';
import type { Factory } from '../factory.js';
import type { FactoryRef } from '../main.js';
import type { ListSpec } from '../io/output.js';
import type { MailView, MailRunResult } from '../core.js';
import { intOption, pagingOptions } from './shared.js';

/** Kept here, not imported from core: --help must not load the services. */
const STATUSES = ['queued', 'sending', 'sent', 'failed'] as const;

const MAIL_LIST: ListSpec<MailView> = {
  columns: [
    { header: 'ID', value: (m) => m.id },
    { header: 'KIND', value: (m) => m.kind },
    { header: 'TO', value: (m) => m.to },
    { header: 'STATUS', value: (m) => m.status },
    { header: 'ATTEMPTS', value: (m) => m.attempts },
    { header: 'CREATED', value: (m) => m.created_at },
    { header: 'SENT', value: (m) => m.sent_at },
    { header: 'NEXT TRY', value: (m) => m.next_attempt_at },
    { header: 'LAST ERROR', value: (m) => (m.last_error !== null && m.last_error.length > 50 ? `${m.last_error.slice(0, 49)}…` : m.last_error) },
  ],
  csvFields: ['id', 'kind', 'to', 'subject', 'status', 'attempts', 'last_error', 'server_reply', 'next_attempt_at', 'created_at', 'sent_at', 'sealed'],
};

export function registerMail(program: Command, f: FactoryRef): Command {
  const mail = program.command('mail').addHelpText('after', `
Every email (invitation, password reset, email verification, test) is written to the
outbox in the transaction of the change that causes it, then sent after the commit
through the smtp.* settings. A failure keeps the message with its error and is retried
with backoff by \`acctctl mail send\` (run it from cron). Without smtp.host messages stay
queued. A body that carries a token is sealed at rest; no listing shows a body.

Examples:
  $ acctctl mail list --status failed
  $ acctctl mail send`);

  const list = mail.command('list').alias('ls').description('List outbox messages, newest first (never their bodies).')
    .addOption(new Option('--status <status>', 'only this status').choices(STATUSES));
  for (const o of pagingOptions()) list.addOption(o);
  list.addHelpText('after', `
Examples:
  $ acctctl mail list
  $ acctctl mail list --status failed -o json | jq '.items[] | {id, to, last_error}'`)
    .action((opts: { status?: string; limit: number; cursor?: string; all?: boolean }) => f().run('mail list', opts, runList));

  mail.command('show').description('One message: headers and text (a link\'s token masked).')
    .argument('<id>', 'the message id', intOption('<id>', 1, Number.MAX_SAFE_INTEGER))
    .addHelpText('after', `
Examples:
  $ acctctl mail show 42`)
    .action((id: number) => f().run('mail show', { id }, runShow));

  mail.command('send').description('Send what is due (failed messages whose retry time has come); for cron.')
    .addOption(new Option('--id <id>', 'send this message now, even if it was given up').argParser(intOption('--id', 1, Number.MAX_SAFE_INTEGER)))
    .addOption(new Option('--batch-size <n>', 'messages claimed at a time (default 100)').argParser(intOption('--batch-size', 1, 10_000)))
    .addHelpText('after', `
One run at a time: a second one exits 0 at once. Each message is claimed before it is
sent, so a message goes out once even with a command sending it at the same time.
Retries back off (1 min, 5 min, 30 min, 2 h, 6 h, 12 h, 24 h), then the message is given
up (--id tries it again). Exit 0 when nothing is due; one line on stderr (JSON with -o json).

Examples:
  $ acctctl mail send
  $ acctctl mail send --id 42
  # crontab: every five minutes
  */5 * * * *  acctctl --db /var/lib/acctctl/acctctl.db mail send -q`)
    .action((opts: { id?: number; batchSize?: number }) => f().run('mail send', opts, runSend));

  mail.command('test').description('Send a test message at once and show the SMTP server\'s reply (exit 1 with its error).')
    .requiredOption('--to <address>', 'where to send it')
    .addHelpText('after', `
Examples:
  $ acctctl mail test --to ops@example.com`)
    .action((opts: { to: string }) => f().run('mail test', opts, runTest));

  mail.command('purge').description('Delete sent (and given-up) messages older than a duration.')
    .requiredOption('--older-than <duration>', 'e.g. 30d')
    .addHelpText('after', `
Queued messages and messages still to be retried are kept.

Examples:
  $ acctctl mail purge --older-than 30d`)
    .action((opts: { olderThan: string }) => f().run('mail purge', opts, runPurge));
  return mail;
}

export async function runList(f: Factory, o: { status?: string; limit: number; cursor?: string; all?: boolean }): Promise<void> {
  const { listMail } = await import('../core.js');
  const { outputListing } = await import('./shared.js');
  const ctx = await f.context({ mode: 'read' });
  const filter = { status: o.status, limit: o.limit, cursor: o.cursor };
  await outputListing(f, o.all, MAIL_LIST, () => listMail(ctx, filter), () => allMail(ctx, filter));
}

async function* allMail(ctx: import('../core.js').ServiceContext, filter: { status?: string | undefined; cursor?: string | undefined }): AsyncGenerator<MailView> {
  const { listMail } = await import('../core.js');
  let cursor = filter.cursor;
  for (;;) {
    const page = await listMail(ctx, { status: filter.status, limit: 500, cursor });
    yield* page.items;
    if (page.next_cursor === null) return;
    cursor = page.next_cursor;
  }
}

export async function runShow(f: Factory, o: { id: number }): Promise<void> {
  const { showMail } = await import('../core.js');
  const ctx = await f.context({ mode: 'read' });
  const m = await showMail(ctx, o.id);
  if (f.output.format !== 'table') return f.output.record(m, []);
  await f.output.record(m, [
    { title: `Message ${m.id} (${m.kind})`, fields: [['From', m.from], ['To', m.to], ['Subject', m.subject], ['Status', m.status], ['Attempts', m.attempts], ['Created', m.created_at], ['Sent', m.sent_at], ['Next try', m.next_attempt_at], ['Server reply', m.server_reply], ['Last error', m.last_error]] },
  ]);
  const { write } = await import('../io/iostreams.js');
  await write(f.io.stdout, `\n${m.text}`);
}

function sendSummary(r: MailRunResult): string {
  if (r.skipped) return `Mail send skipped: another run holds the lock${r.locked_by ? ` (${r.locked_by.owner}, since ${r.locked_by.since})` : ''}; nothing done.`;
  if (r.not_configured) return `SMTP is not configured (smtp.host): nothing sent; ${r.waiting} message${r.waiting === 1 ? '' : 's'} waiting.`;
  return `Mail: ${r.sent} sent, ${r.failed} failed; ${r.waiting} waiting.`;
}

export async function runSend(f: Factory, o: { id?: number; batchSize?: number }): Promise<void> {
  const { runMailSend } = await import('../core.js');
  const ctx = await f.context();
  const r = await runMailSend(ctx, { id: o.id, batchSize: o.batchSize, owner: `pid ${process.pid}` });
  if (f.output.format !== 'table') await f.output.record({ sent: r.sent, failed: r.failed, waiting: r.waiting, skipped: r.skipped, not_configured: r.not_configured, results: r.results }, []);
  for (const x of r.results) if (x.status === 'failed') f.output.warn(`Message ${x.id} to ${x.to} failed: ${x.error}`);
  f.output.info(sendSummary(r));
  if (o.id !== undefined && r.failed > 0) {
    const { MailError } = await import('../core.js');
    throw new MailError(`message ${o.id} could not be sent: ${r.results[0]?.error ?? 'unknown error'}`);
  }
}

export async function runTest(f: Factory, o: { to: string }): Promise<void> {
  const { sendTestMail } = await import('../core.js');
  const ctx = await f.context();
  const outcome = await sendTestMail(ctx, o.to);
  const r = outcome.result;
  if (f.output.format !== 'table') await f.output.record({ id: r.id, to: r.to, status: outcome.dryRun ? 'not sent (dry run)' : r.status, reply: r.reply, dry_run: outcome.dryRun }, []);
  f.output.info(outcome.dryRun ? `Dry run: would send a test message to ${r.to}. Nothing changed.` : `Sent a test message to ${r.to} (message ${r.id}); the server said: ${r.reply}`);
}

export async function runPurge(f: Factory, o: { olderThan: string }): Promise<void> {
  const { purgeMail, parseDurationInput } = await import('../core.js');
  const seconds = parseDurationInput('--older-than', o.olderThan);
  const ctx = await f.context();
  const outcome = await purgeMail(ctx, seconds);
  if (f.output.format !== 'table') await f.output.record({ deleted: outcome.result.deleted, dry_run: outcome.dryRun }, []);
  f.output.info(`${outcome.dryRun ? 'Dry run: would delete' : 'Deleted'} ${outcome.result.deleted} message${outcome.result.deleted === 1 ? '' : 's'}.`);
}
