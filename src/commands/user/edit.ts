import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import type { FactoryRef } from '../../main.js';
import { addUserFieldOptions, userInputFrom } from './fields.js';

export interface EditOptions {
  user: string;
  email?: string | undefined;
  username?: string | undefined;
  name?: string | undefined;
  phone?: string | undefined;
  address?: string | undefined;
  timezone?: string | undefined;
  language?: string | undefined;
  preferences?: string | undefined;
}

export function registerEdit(parent: Command, f: FactoryRef): void {
  const cmd = parent
    .command('edit')
    .alias('update')
    .description('Change profile fields. An empty value ("") clears an optional field.')
    .argument('<user>', 'numeric id, public id (usr_…), email or username');
  addUserFieldOptions(cmd, 'edit');
  cmd
    .addHelpText(
      'after',
      `
Examples:
  $ acctctl user edit alice@example.com --name "Alice Smith" --timezone America/New_York
  $ acctctl user edit 42 --phone "" --reason "customer asked to remove it"`,
    )
    .action((user: string, opts: Omit<EditOptions, 'user'>) => f().run('user edit', { user, ...opts }, runEdit));
}

export async function runEdit(f: Factory, o: EditOptions): Promise<void> {
  const { editUser } = await import('../../core.js');
  const { reportMutation } = await import('../shared.js');
  const { user, ...fields } = o;
  const outcome = await editUser(await f.context(), user, userInputFrom(fields));
  await reportMutation(f, outcome, { done: 'Updated user', would: 'update user' });
}
