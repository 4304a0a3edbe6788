import type { Command } from 'commander';
import type { Factory } from '../../factory.js';

interface EditOptions {
  email?: string;
  username?: string;
  name?: string;
  phone?: string;
  address?: string;
  timezone?: string;
  language?: string;
  preferences?: string;
}

export function registerEdit(parent: Command, f: Factory): void {
  parent
    .command('edit')
    .alias('update')
    .description('Change profile fields. An empty value ("") clears an optional field.')
    .argument('<user>', 'numeric id, public id (usr_…), email or username')
    .option('--email <email>', 'new email (must be verified again)')
    .option('--username <name>', 'new username')
    .option('--name <name>', 'display name')
    .option('--phone <phone>', 'phone number')
    .option('--address <text>', 'postal address')
    .option('--timezone <zone>', 'IANA time zone, e.g. Europe/Berlin')
    .option('--language <tag>', 'language tag, e.g. en or de-CH')
    .option('--preferences <json>', 'preferences as a JSON object (replaces them)')
    .addHelpText(
      'after',
      `
Examples:
  $ acctctl user edit alice@example.com --name "Alice Smith" --timezone America/New_York
  $ acctctl user edit 42 --phone "" --reason "customer asked to remove it"`,
    )
    .action(async (ref: string, opts: EditOptions) => {
      const { editUser } = await import('../../services/users.js');
      const { reportMutation } = await import('../shared.js');
      const outcome = await editUser(await f.context(), ref, {
        email: opts.email, username: opts.username, displayName: opts.name, phone: opts.phone, address: opts.address,
        timezone: opts.timezone, language: opts.language, preferences: opts.preferences,
      });
      await reportMutation(f, outcome, 'Updated');
    });
}
