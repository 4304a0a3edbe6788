import type { Command } from 'commander';
import type { Factory } from '../../factory.js';

export function registerShow(parent: Command, f: Factory): void {
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
    .action(async (ref: string) => {
      const { showUser } = await import('../../services/users.js');
      const { userSections } = await import('./render.js');
      const user = await showUser(await f.context(), ref);
      await f.output.record(user, userSections(user));
    });
}
