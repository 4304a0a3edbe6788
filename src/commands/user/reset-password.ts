import { Option, type Command } from 'commander';
import type { Factory } from '../../factory.js';
import type { FactoryRef } from '../../main.js';
import { STDIN_NOTE } from '../shared.js';

export interface ResetPasswordOptions {
  user: string;
  generate?: boolean | undefined;
  passwordStdin?: boolean | undefined;
  sendEmail?: boolean | undefined;
  mustChange?: boolean | undefined;
  keepSessions?: boolean | undefined;
}

export function registerResetPassword(parent: Command, f: FactoryRef): void {
  parent
    .command('reset-password')
    .description('Set a user\'s password (generated or from stdin), or issue a single-use reset link.')
    .argument('<user>', 'numeric id, public id (usr_…), email or username')
    .addOption(new Option('--generate', 'generate a password and print it once').conflicts(['passwordStdin', 'sendEmail']))
    .addOption(new Option('--password-stdin', 'read the new password from stdin').conflicts('sendEmail'))
    .option('--send-email', 'email a single-use reset link (through the outbox; printed on stderr when SMTP is not configured)')
    .option('--must-change', 'the next sign-in must set a new password')
    .option('--keep-sessions', 'do not sign the user out everywhere')
    .addHelpText('after', `
Setting a password revokes the user's sessions (unless --keep-sessions) and kills any
outstanding reset link. A reset link expires after token.reset_lifetime and works once.
--password-stdin: ${STDIN_NOTE}

Examples:
  $ acctctl user reset-password bob@example.com --generate --must-change
  $ printf '%s' "$PW" | acctctl user reset-password bob --password-stdin --keep-sessions
  $ acctctl user reset-password bob --send-email`)
    .action((user: string, opts: Omit<ResetPasswordOptions, 'user'>) => f().run('user reset-password', { user, ...opts }, runResetPassword));
}

export async function runResetPassword(f: Factory, o: ResetPasswordOptions): Promise<void> {
  const { setPassword, createResetToken } = await import('../../core.js');
  const { reportMutation, passwordFromStdin, deliverSecret } = await import('../shared.js');
  const { UsageError } = await import('../../errors.js');
  const modes = [o.generate, o.passwordStdin, o.sendEmail].filter(Boolean).length;
  if (modes !== 1) throw new UsageError('give one of --generate, --password-stdin or --send-email', { field: 'mode' });
  if (o.sendEmail && (o.mustChange || o.keepSessions)) throw new UsageError('--must-change and --keep-sessions go with --generate or --password-stdin', { field: 'send-email' });
  if (o.sendEmail) {
    type Link = import('../../core.js').ResetLink;
    const { withLinkMail } = await import('../link-mail.js');
    const spec = { what: 'the reset link', link: (r: Link) => r.link, mailId: (r: Link) => r.mail_id, expiresAt: (r: Link) => r.expires_at };
    await withLinkMail(f, spec, async (ctx) => {
      const outcome = await createResetToken(ctx, o.user, { sendEmail: true });
      await reportMutation(f, outcome, { done: 'Issued a reset link for', would: 'issue a reset link for' }, (r) => ({ user: r.user, expires_at: r.expires_at, mail_id: r.mail_id ?? null }));
      return outcome;
    });
    return;
  }
  const password = o.passwordStdin ? await passwordFromStdin(f, 'password') : undefined;
  type Set = import('../../core.js').PasswordSet;
  const words = { done: 'Set the password of', would: 'set the password of' };
  let shown = false;
  const beforeCommit = o.generate
    ? async (oc: import('../../core.js').MutationOutcome<unknown>) => {
        if (oc.dryRun) return;
        shown = true;
        const r = oc.result as Set;
        await deliverSecret(f, 'the generated password', async () => {
          if (f.output.format === 'table') await f.output.value(r.generated_password!);
          else await f.output.record(r, []);
        });
      }
    : undefined;
  const outcome = await setPassword(await f.context({ beforeCommit }), o.user, { password, generate: o.generate, mustChange: o.mustChange, keepSessions: o.keepSessions });
  if (!shown) await reportMutation(f, outcome, words, (r) => ({ user: r.user, sessions_revoked: r.sessions_revoked }));
  else f.output.info(`Set the password of ${outcome.target.label} (${outcome.result.sessions_revoked} session(s) revoked). The generated password is on stdout: shown once, not stored.`);
}
