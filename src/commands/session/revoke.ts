import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import type { FactoryRef } from '../../main.js';

export interface SessionRevokeOptions {
  session?: string | undefined;
  user?: string | undefined;
}

export function registerRevoke(parent: Command, f: FactoryRef): void {
  parent
    .command('revoke')
    .description('Revoke one session, or with --user every session of a user (signs them out everywhere).')
    .argument('[session]', 'session id (ses_…)')
    .option('--user <user>', 'revoke every session of this user instead (id, usr_…, email or username)')
    .addHelpText(
      'after',
      `
Give a session id or --user, not both. Revoking is audited; a session already revoked
is left as it is. \`acctctl user revoke-sessions <user>\` is the same as --user.

Examples:
  $ acctctl session revoke ses_k3q7x2m4p9r5t8vw --reason "stolen laptop"
  $ acctctl session revoke --user bob@example.com
  $ acctctl session revoke --user bob@example.com --dry-run`,
    )
    .action((session: string | undefined, opts: { user?: string }) => f().run('session revoke', { session, user: opts.user }, runRevoke));
}

export async function runRevoke(f: Factory, o: SessionRevokeOptions): Promise<void> {
  const { UsageError } = await import('../../errors.js');
  if ((o.session === undefined) === (o.user === undefined)) {
    throw new UsageError('give a session id (ses_…) or --user <user>, not both and not neither', { field: o.session === undefined ? 'session' : 'user' });
  }
  const { revokeSession } = await import('../../core.js');
  const { reportMutation } = await import('../shared.js');
  if (o.user !== undefined) {
    const { runRevokeUserSessions } = await import('../user/revoke-sessions.js');
    await runRevokeUserSessions(f, { user: o.user });
    return;
  }
  const outcome = await revokeSession(await f.context(), o.session!);
  await reportMutation(f, outcome, { done: 'Revoked a session of', would: 'revoke a session of' });
}
