import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import type { FactoryRef } from '../../main.js';

export interface TwoFactorOptions {
  user: string;
  code?: string | undefined;
}

/** `user 2fa <user>` (status), `user 2fa enroll|confirm <user>`, and `user reset-2fa <user>`. */
export function registerTwoFactor(parent: Command, f: FactoryRef): void {
  const tfa: Command = parent
    .command('2fa')
    .description('Two-factor authentication (TOTP): status, operator-assisted enrolment. `user 2fa <user>` = `user 2fa status <user>`.')
    .argument('[user]', 'show this user\'s 2FA status')
    .action((user: string | undefined): Promise<void> => {
      if (user === undefined) tfa.help({ error: true });
      return f().run('user 2fa status', { user: user! }, runStatus);
    })
    .addHelpText('after', `
Examples:
  $ acctctl user 2fa status bob@example.com
  $ acctctl user 2fa enroll ci-bot
  $ acctctl user 2fa confirm ci-bot --code 123456`);
  tfa
    .command('status')
    .description('2FA state: enrolled since, recovery codes left, whether policy requires it.')
    .argument('<user>', 'numeric id, public id (usr_…), email or username')
    .addHelpText('after', '\nExamples:\n  $ acctctl user 2fa status bob@example.com\n  $ acctctl user 2fa status bob -o json | jq .recovery_codes_left')
    .action((user: string) => f().run('user 2fa status', { user }, runStatus));
  tfa
    .command('enroll')
    .description('Start enrolment: prints the otpauth URI and the base32 secret once.')
    .argument('<user>', 'numeric id, public id (usr_…), email or username')
    .addHelpText('after', '\nThe secret is stored encrypted; if it cannot be written to stdout, nothing changes.\n\nExamples:\n  $ acctctl user 2fa enroll ci-bot\n  $ acctctl user 2fa enroll ci-bot -o json | jq -r .otpauth_uri')
    .action((user: string) => f().run('user 2fa enroll', { user }, runEnroll));
  tfa
    .command('confirm')
    .description('Finish enrolment with a first code: 2FA on, 10 recovery codes printed once.')
    .argument('<user>', 'numeric id, public id (usr_…), email or username')
    .requiredOption('--code <code>', 'the current code from the authenticator')
    .addHelpText('after', '\nExamples:\n  $ acctctl user 2fa confirm ci-bot --code 123456')
    .action((user: string, opts: { code: string }) => f().run('user 2fa confirm', { user, code: opts.code }, runConfirm));
  parent
    .command('reset-2fa')
    .description('Clear a user\'s 2FA secret and recovery codes and revoke every session.')
    .argument('<user>', 'numeric id, public id (usr_…), email or username')
    .addHelpText('after', '\nIf policy enforces 2FA, the user must enrol again at the next sign-in.\n\nExamples:\n  $ acctctl user reset-2fa bob@example.com --reason "lost phone, ticket 88"')
    .action((user: string) => f().run('user reset-2fa', { user }, runReset));
}

export async function runStatus(f: Factory, o: TwoFactorOptions): Promise<void> {
  const { twoFactorStatus } = await import('../../core.js');
  const s = await twoFactorStatus(await f.context({ mode: 'read' }), o.user);
  await f.output.record(s, [{ title: '2FA', fields: [['Enabled', s.enabled], ['Since', s.enabled_at], ['Enrolment pending', s.enrolment_pending], ['Recovery codes left', s.recovery_codes_left], ['Required by policy', s.required_by_policy]] }]);
}

/** Runs a 2FA mutation whose result holds one-time secrets: shown before the commit, or nothing changes. */
async function withSecrets<T extends object>(f: Factory, what: string, run: (ctx: import('../../core.js').ServiceContext) => Promise<import('../../core.js').MutationOutcome<T>>, show: (r: T) => string[]): Promise<void> {
  const { deliverSecret } = await import('../shared.js');
  const ctx = await f.context({
    beforeCommit: async (oc) => {
      if (oc.dryRun) return;
      const r = oc.result as T;
      await deliverSecret(f, what, async () => {
        if (f.output.format === 'table') for (const line of show(r)) await f.output.value(line);
        else await f.output.record(r, []);
      });
    },
  });
  const outcome = await run(ctx);
  f.output.info(outcome.dryRun ? `Dry run: would ${what.replace(/^the /, 'make the ')} for ${outcome.target.label}. Nothing changed.` : `Done for ${outcome.target.label}: ${what} above are shown once.`);
}

export async function runEnroll(f: Factory, o: TwoFactorOptions): Promise<void> {
  const { enrollTotp } = await import('../../core.js');
  // On a terminal, a QR code to scan as well (uqr: small, no dependencies, loaded only here).
  const qr = f.io.isStdoutTTY && f.output.format === 'table' ? (await import('uqr')).renderUnicodeCompact : undefined;
  await withSecrets(f, 'the 2FA secret and URI', (ctx) => enrollTotp(ctx, o.user), (r) => [...(qr ? [qr(r.otpauth_uri)] : []), r.otpauth_uri, r.secret]);
}

export async function runConfirm(f: Factory, o: TwoFactorOptions): Promise<void> {
  const { confirmTotp } = await import('../../core.js');
  await withSecrets(f, 'the recovery codes', (ctx) => confirmTotp(ctx, o.user, o.code!), (r) => r.recovery_codes);
}

export async function runReset(f: Factory, o: TwoFactorOptions): Promise<void> {
  const { resetTwoFactor } = await import('../../core.js');
  const { reportMutation } = await import('../shared.js');
  const outcome = await resetTwoFactor(await f.context(), o.user);
  await reportMutation(f, outcome, { done: 'Reset 2FA of', would: 'reset 2FA of' });
}
