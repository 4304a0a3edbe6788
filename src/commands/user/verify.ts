import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import type { FactoryRef } from '../../main.js';

export function registerVerify(parent: Command, f: FactoryRef): void {
  parent.command('verify-email').description('Mark a user\'s email address as verified (audited).')
    .argument('<user>', 'numeric id, public id (usr_…), email or username')
    .addHelpText('after', `
Examples:
  $ acctctl user verify-email bob@example.com --reason "confirmed by phone, ticket 88"`)
    .action((user: string) => f().run('user verify-email', { user }, runVerifyEmail));

  parent.command('send-verification').description('Email a new verification link (older ones stop working).')
    .argument('<user>', 'numeric id, public id (usr_…), email or username')
    .addHelpText('after', `
The link goes through the outbox (printed on stderr when SMTP is not configured) and
works once, until token.verification_lifetime has passed.

Examples:
  $ acctctl user send-verification bob@example.com`)
    .action((user: string) => f().run('user send-verification', { user }, runSendVerification));
}

export async function runVerifyEmail(f: Factory, o: { user: string }): Promise<void> {
  const { markEmailVerified } = await import('../../core.js');
  const { reportMutation } = await import('../shared.js');
  const ctx = await f.context();
  await reportMutation(f, await markEmailVerified(ctx, o.user), { done: 'Verified the email of', would: 'verify the email of' });
}

export async function runSendVerification(f: Factory, o: { user: string }): Promise<void> {
  const { sendVerification } = await import('../../core.js');
  const { reportMutation } = await import('../shared.js');
  const { withLinkMail } = await import('../link-mail.js');
  type Sent = { user: string; mail_id: number; expires_at: string; link: string };
  await withLinkMail(f, { what: 'the verification link', link: (r: Sent) => r.link, mailId: (r: Sent) => r.mail_id, expiresAt: (r: Sent) => r.expires_at }, async (ctx) => {
    const outcome = await sendVerification(ctx, o.user);
    await reportMutation(f, outcome, { done: 'Issued a verification link for', would: 'issue a verification link for' }, (r) => ({ user: r.user, mail_id: r.mail_id, expires_at: r.expires_at }));
    return outcome;
  });
}
