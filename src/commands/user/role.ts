import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import type { FactoryRef } from '../../main.js';

export interface RoleOptions {
  user: string;
  role: string;
  superAdmin?: boolean | undefined;
}

export function registerRole(parent: Command, f: FactoryRef): void {
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
    .action((user: string, role: string, opts: { superAdmin?: boolean }) => f().run('user role', { user, role, superAdmin: opts.superAdmin }, runRole));
}

export async function runRole(f: Factory, o: RoleOptions): Promise<void> {
  const { setUserRole } = await import('../../core.js');
  const { reportMutation } = await import('../shared.js');
  const outcome = await setUserRole(await f.context(), o.user, o.role, o.superAdmin);
  await reportMutation(f, outcome, { done: 'Changed role of', would: 'change role of' });
}
