import { Option, type Command } from 'commander';
import type { Factory } from '../factory.js';
import type { FactoryRef } from '../main.js';
import type { ListSpec } from '../io/output.js';
import type { InvitationView, IssuedInvitation } from '../core.js';
import { ROLES } from '../domain/enums.js';
import { pagingOptions, STDIN_NOTE } from './shared.js';
import { csvOptions, runOptions, RUN_HELP, type CsvCliOptions, type RunCliOptions } from './bulk.js';

interface InviteBulkOptions extends CsvCliOptions, RunCliOptions {
  file: string;
  ttl?: string | undefined;
}

/** Kept here, not imported from core: --help must not load the services. */
const STATES = ['pending', 'accepted', 'expired', 'revoked'] as const;

const INVITE_LIST: ListSpec<InvitationView> = {
  columns: [
    { header: 'INVITATION', value: (i) => i.invitation_id },
    { header: 'EMAIL', value: (i) => i.email },
    { header: 'ROLE', value: (i) => i.role },
    { header: 'STATUS', value: (i) => i.status },
    { header: 'INVITED BY', value: (i) => i.invited_by },
    { header: 'CREATED', value: (i) => i.created_at },
    { header: 'EXPIRES', value: (i) => i.expires_at },
    { header: 'USER', value: (i) => i.user_public_id },
  ],
  csvFields: ['invitation_id', 'email', 'role', 'status', 'invited_by', 'created_at', 'expires_at', 'accepted_at', 'revoked_at', 'user_public_id', 'mail_id'],
};

interface CreateOptions {
  email: string;
  role: string;
  ttl?: string | undefined;
  resend?: boolean | undefined;
  plan?: string | undefined;
  customer?: string | undefined;
  memberRole?: string | undefined;
}

export function registerInvite(program: Command, f: FactoryRef): Command {
  const invite = program.command('invite').addHelpText('after', `
An invitation emails a single-use link (app.base_url + /accept-invitation?token=…) that
expires after invitation.lifetime (or --ttl). The platform's registration page calls
\`invite accept\` (or the library's acceptInvitation) with the token: the account is
created with the intended role and its email verified. Without SMTP the link is printed
on stderr for you to pass on, and the message waits in the outbox.

Examples:
  $ acctctl invite create --email new@example.com --role reseller
  $ acctctl invite list --status pending`);

  invite.command('create').description('Invite an email address, with the role its account will have.')
    .requiredOption('--email <email>', 'who to invite')
    .addOption(new Option('--role <role>', 'the role of the account it creates').choices(ROLES).default('user'))
    .option('--ttl <duration>', 'how long the link works (default invitation.lifetime), e.g. 72h')
    .option('--resend', 'if the email has a pending invitation, replace it (its link stops working)')
    .option('--plan <code>', 'a plan to start on (not available yet)')
    .option('--customer <customer>', 'a customer account to join (not available yet)')
    .option('--member-role <role>', 'owner or manager of --customer (not available yet)')
    .addHelpText('after', `
An email that already has an account, or a pending invitation (unless --resend), is
refused (exit 4). Only admins invite.

Examples:
  $ acctctl invite create --email new@example.com
  $ acctctl invite create --email lead@example.com --role admin --ttl 72h`)
    .action((opts: CreateOptions) => f().run('invite create', opts, runCreate));

  const list = invite.command('list').alias('ls').description('List invitations, newest first.')
    .addOption(new Option('--status <status>', 'only this status').choices(STATES))
    .option('--email <text>', 'only emails containing this');
  for (const o of pagingOptions()) list.addOption(o);
  list.addHelpText('after', `
Examples:
  $ acctctl invite list --status pending
  $ acctctl invite list --email example.com -o json`)
    .action((opts: { status?: string; email?: string; limit: number; cursor?: string; all?: boolean }) => f().run('invite list', opts, runList));

  const bulk = invite.command('bulk').description('Invite everyone in a CSV file (email, role), after a confirmed plan.')
    .requiredOption('--file <file.csv>', 'the file (- for stdin): columns email (required), role, plan, customer, member_role')
    .option('--ttl <duration>', 'how long the links work (default invitation.lifetime)');
  csvOptions(bulk);
  runOptions(bulk);
  bulk.addHelpText('after', `
plan, customer and member_role must be empty until plans and customers exist. An email
with an account or a pending invitation is refused (the run stops, or with
--continue-on-error is written to --errors). The emails are queued in the outbox and sent
at the end when SMTP is configured (else by \`acctctl mail send\` once it is).
${RUN_HELP}

Examples:
  $ acctctl invite bulk --file team.csv
  $ acctctl invite bulk --file leads.csv --continue-on-error --errors rejected.csv --yes`)
    .action((opts: InviteBulkOptions) => f().run('invite bulk', opts, runBulk));

  invite.command('show').description('One invitation.').argument('<invitation>', 'its inv_… id, or the email (the newest)')
    .addHelpText('after', `
Examples:
  $ acctctl invite show inv_abcdefghijklmnop`)
    .action((ref: string) => f().run('invite show', { ref }, runShow));

  invite.command('resend').description('Issue a new link (and email) for a pending invitation; the old link stops working.')
    .argument('<invitation>', 'its inv_… id, or the email')
    .option('--ttl <duration>', 'how long the new link works (default invitation.lifetime)')
    .addHelpText('after', `
Examples:
  $ acctctl invite resend new@example.com`)
    .action((ref: string, opts: { ttl?: string }) => f().run('invite resend', { ref, ...opts }, runResend));

  invite.command('revoke').description('Revoke a pending invitation: its link stops working.')
    .argument('<invitation>', 'its inv_… id, or the email')
    .addHelpText('after', `
Examples:
  $ acctctl invite revoke inv_abcdefghijklmnop --reason "sent to the wrong address"`)
    .action((ref: string) => f().run('invite revoke', { ref }, runRevoke));

  invite.command('accept').description('Accept an invitation with its token: creates the account (what the registration page calls).')
    .argument('<token>', 'the token from the link')
    .option('--name <name>', 'the display name')
    .option('--username <name>', 'a username')
    .option('--password-stdin', 'read the password from stdin (without one the account is pending until it sets one)')
    .addHelpText('after', `
The account gets the invitation's role and its email counts as verified; nobody is
signed in. A link works once; an expired, revoked or replaced one is refused (exit 4).
--password-stdin: ${STDIN_NOTE}

Examples:
  $ acctctl invite accept "$TOKEN" --name "New Person"
  $ printf '%s' "$PW" | acctctl invite accept "$TOKEN" --password-stdin`)
    .action((token: string, opts: { name?: string; username?: string; passwordStdin?: boolean }) => f().run('invite accept', { token, ...opts }, runAccept));
  return invite;
}

const LINK = {
  what: 'the invitation link',
  link: (r: IssuedInvitation) => r.link,
  mailId: (r: IssuedInvitation) => r.invitation.mail_id,
  expiresAt: (r: IssuedInvitation) => r.invitation.expires_at,
};

async function ttlOf(ttl: string | undefined): Promise<number | undefined> {
  if (ttl === undefined) return undefined;
  const { parseDurationInput } = await import('../core.js');
  return parseDurationInput('--ttl', ttl);
}

export async function runCreate(f: Factory, o: CreateOptions): Promise<void> {
  const { createInvitation } = await import('../core.js');
  const { reportMutation } = await import('./shared.js');
  const { withLinkMail } = await import('./link-mail.js');
  const ttlSeconds = await ttlOf(o.ttl);
  await withLinkMail(f, LINK, async (ctx) => {
    const outcome = await createInvitation(ctx, { email: o.email, role: o.role, ttlSeconds, resend: o.resend, sendEmail: true, plan: o.plan, customer: o.customer, memberRole: o.memberRole });
    await reportMutation(f, outcome, { done: 'Invited', would: 'invite' }, (r) => r.invitation);
    return outcome;
  });
}

export async function runResend(f: Factory, o: { ref: string; ttl?: string }): Promise<void> {
  const { resendInvitation } = await import('../core.js');
  const { reportMutation } = await import('./shared.js');
  const { withLinkMail } = await import('./link-mail.js');
  const ttlSeconds = await ttlOf(o.ttl);
  await withLinkMail(f, LINK, async (ctx) => {
    const outcome = await resendInvitation(ctx, o.ref, { ttlSeconds, sendEmail: true });
    await reportMutation(f, outcome, { done: 'Re-issued the invitation of', would: 're-issue the invitation of' }, (r) => r.invitation);
    return outcome;
  });
}

export async function runRevoke(f: Factory, o: { ref: string }): Promise<void> {
  const { revokeInvitation } = await import('../core.js');
  const { reportMutation } = await import('./shared.js');
  const ctx = await f.context();
  await reportMutation(f, await revokeInvitation(ctx, o.ref), { done: 'Revoked the invitation of', would: 'revoke the invitation of' });
}

export async function runList(f: Factory, o: { status?: string; email?: string; limit: number; cursor?: string; all?: boolean }): Promise<void> {
  const { listInvitations, iterateInvitations } = await import('../core.js');
  const { outputListing } = await import('./shared.js');
  const ctx = await f.context({ mode: 'read' });
  const filter = { status: o.status, email: o.email, limit: o.limit, cursor: o.cursor };
  await outputListing(f, o.all, INVITE_LIST, () => listInvitations(ctx, filter), () => iterateInvitations(ctx, { status: o.status, email: o.email }));
}

export async function runShow(f: Factory, o: { ref: string }): Promise<void> {
  const { showInvitation } = await import('../core.js');
  const ctx = await f.context({ mode: 'read' });
  const i = await showInvitation(ctx, o.ref);
  await f.output.record(i, [{
    title: `Invitation ${i.invitation_id}`,
    fields: [['Email', i.email], ['Role', i.role], ['Status', i.status], ['Invited by', i.invited_by], ['Created', i.created_at], ['Expires', i.expires_at], ['Accepted', i.accepted_at], ['Revoked', i.revoked_at], ['User', i.user_public_id], ['Mail', i.mail_id]],
  }]);
}

export async function runAccept(f: Factory, o: { token: string; name?: string; username?: string; passwordStdin?: boolean }): Promise<void> {
  const { acceptInvitation } = await import('../core.js');
  const { reportMutation, passwordFromStdin } = await import('./shared.js');
  const password = o.passwordStdin ? await passwordFromStdin(f, 'password') : undefined;
  const ctx = await f.context();
  const outcome = await acceptInvitation(ctx, o.token.trim(), { name: o.name, username: o.username, password });
  await reportMutation(f, outcome, { done: 'Accepted the invitation of', would: 'accept the invitation of' }, (r) => r.user);
}

export async function runBulk(f: Factory, o: InviteBulkOptions): Promise<void> {
  const { inviteBulk, INVITE_BULK_COLUMNS, runMailSend, smtpConfigured } = await import('../core.js');
  const { bulkOptions, columnMap, runBulkCommand } = await import('./bulk.js');
  const { openInput } = await import('./bulk-input.js');
  const opts = bulkOptions(o);
  const map = await columnMap(o.map, INVITE_BULK_COLUMNS);
  const ttlSeconds = await ttlOf(o.ttl);
  const open = await openInput(f, o.file);
  const ctx = await f.context({ createSecretKey: true }); // the emailed links are sealed at rest
  try {
    await runBulkCommand(f, o, { words: { invite: 'invited' } }, (hooks) =>
      inviteBulk(ctx, { open, name: o.file === '-' ? 'stdin' : o.file, delimiter: o.delimiter, map, ignoreUnknown: o.ignoreUnknown, ttlSeconds }, opts, hooks));
  } finally {
    // What was invited is queued: send it now if mail is configured (a partial run too).
    if (!ctx.dryRun && opts.planOut === undefined && (await smtpConfigured(ctx))) {
      const r = await runMailSend(ctx, { owner: `pid ${process.pid}` });
      if (r.sent + r.failed > 0) f.output.info(`Mail: ${r.sent} sent, ${r.failed} failed${r.failed > 0 ? ' (acctctl mail send retries them)' : ''}.`);
    }
  }
}
