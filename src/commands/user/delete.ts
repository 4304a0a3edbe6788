import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import type { FactoryRef } from '../../main.js';

export interface DeleteOptions {
  user: string;
}

export function registerDelete(parent: Command, f: FactoryRef): void {
  parent
    .command('delete')
    .alias('rm')
    .description('Delete a user permanently (asks first; --yes without a terminal). The audit entries stay.')
    .argument('<user>', 'numeric id, public id (usr_…), email or username')
    .addHelpText(
      'after',
      `
Prefer suspend or deactivate unless the data really must go. The last active admin
and the last super admin cannot be deleted.

Examples:
  $ acctctl user delete bob@example.com
  $ acctctl user delete 42 --yes --reason "GDPR erasure request #77"`,
    )
    .action((user: string) => f().run('user delete', { user }, runDelete));
}

export async function runDelete(f: Factory, o: DeleteOptions): Promise<void> {
  const { deleteUser, previewDeleteUser } = await import('../../core.js');
  const { reportMutation } = await import('../shared.js');
  const ctx = await f.context();
  // Check every rule first (exit 3 or 4 before asking), then name the user in the question.
  const preview = await previewDeleteUser(ctx, o.user);
  const user = preview.result;
  await f.confirm(`Delete user ${user.email} (${user.public_id}, ${user.role}) permanently?`);
  const outcome = ctx.dryRun ? preview : await deleteUser(ctx, user.public_id);
  await reportMutation(f, outcome, { done: 'Deleted user', would: 'delete user' });
}
