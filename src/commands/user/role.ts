import type { Command } from 'commander';
import type { Factory } from '../../factory.js';

export function registerRole(parent: Command, f: Factory): void {
  parent
    .command('role')
    .description('Change a user\'s platform role (admin, reseller, user) and super-admin flag.')
    .argument('<user>', 'numeric id, public id (usr_…), email or username')
    .argument('<role>', 'admin, reseller or user')
    .option('--super-admin', 'make the admin a super admin (needs a super admin actor)')
    .option('--no-super-admin', 'take the super-admin flag away')
    .addHelpText(
      'after',
      `
The last active admin and the last super admin cannot be demoted.

Examples:
  $ acctctl user role bob@example.com admin
  $ acctctl user role bob@example.com admin --super-admin --reason "second super admin"
  $ acctctl user role carol user --reason "left the ops team"`,
    )
    .action(async (ref: string, role: string, opts: { superAdmin?: boolean }) => {
      const { setUserRole } = await import('../../services/users.js');
      const { reportMutation } = await import('../shared.js');
      const outcome = await setUserRole(await f.context(), ref, role, opts.superAdmin);
      await reportMutation(f, outcome, 'Changed role of');
    });
}
