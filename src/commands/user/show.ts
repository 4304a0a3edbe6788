import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import type { FactoryRef } from '../../main.js';

export interface ShowOptions {
  user: string;
}

export function registerShow(parent: Command, f: FactoryRef): void {
  parent
    .command('show')
    .alias('get')
    .description('Show one user: profile, access and region, security and system sections.')
    .argument('<user>', 'numeric id, public id (usr_…), email or username')
    .addHelpText(
      'after',
      `
Examples:
  $ acctctl user show alice@example.com
  $ acctctl user show usr_k3q7x2m4p9r5t8vw -o json | jq .status`,
    )
    .action((user: string) => f().run('user show', { user }, runShow));
}

export async function runShow(f: Factory, o: ShowOptions): Promise<void> {
  const { showUser } = await import('../../core.js');
  const { userSections } = await import('./render.js');
  const user = await showUser(await f.context({ mode: 'read' }), o.user);
  await f.output.record(user, userSections(user));
}
