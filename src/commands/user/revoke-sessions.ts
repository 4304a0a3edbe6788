import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import type { FactoryRef } from '../../main.js';

export interface RevokeSessionsOptions {
  user: string;
}

export function registerRevokeSessions(parent: Command, f: FactoryRef): void {
  parent
    .command('revoke-sessions')
    .description('Sign a user out everywhere: revoke every live session (audited, even when none was live).')
    .argument('<user>', 'numeric id, public id (usr_…), email or username')
    .addHelpText(
      'after',
      `
The same as \`acctctl session revoke --user <user>\`.

Examples:
  $ acctctl user revoke-sessions bob@example.com --reason "password leaked"
  $ acctctl user revoke-sessions 42 -o json | jq .revoked`,
    )
    .action((user: string) => f().run('user revoke-sessions', { user }, runRevokeUserSessions));
}

export async function runRevokeUserSessions(f: Factory, o: RevokeSessionsOptions): Promise<void> {
  const { revokeSessions } = await import('../../core.js');
  const { reportMutation } = await import('../shared.js');
  const outcome = await revokeSessions(await f.context(), o.user);
  await reportMutation(f, outcome, { done: 'Revoked the sessions of', would: 'revoke the sessions of' });
}
