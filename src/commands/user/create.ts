import { Option, type Command } from 'commander';
import type { Factory } from '../../factory.js';

export interface CreateOptions {
  email: string;
  username?: string;
  name?: string;
  role: string;
  superAdmin?: boolean;
  phone?: string;
  address?: string;
  timezone?: string;
  language?: string;
  preferences?: string;
  passwordStdin?: boolean;
  generatePassword?: boolean;
}

export function registerCreate(parent: Command, f: Factory): void {
  parent
    .command('create')
    .description('Create a user. Without a password the user is pending until one is set.')
    .requiredOption('--email <email>', 'email address (unique, any case)')
    .option('--username <name>', 'username (unique; letters, digits, . _ -)')
    .option('--name <name>', 'display name')
    .addOption(new Option('--role <role>', 'platform role').choices(['admin', 'reseller', 'user']).default('user'))
    .option('--super-admin', 'make an admin a super admin (needs a super admin actor)')
    .option('--phone <phone>', 'phone number')
    .option('--address <text>', 'postal address')
    .option('--timezone <zone>', 'IANA time zone, e.g. Europe/Berlin')
    .option('--language <tag>', 'language tag, e.g. en or de-CH')
    .option('--preferences <json>', 'preferences as a JSON object')
    .addOption(new Option('--password-stdin', 'read the password from stdin').conflicts('generatePassword'))
    .addOption(new Option('--generate-password', 'generate a password and print it once'))
    .addHelpText(
      'after',
      `
Examples:
  $ acctctl user create --email alice@example.com --name "Alice Doe" --generate-password
  $ printf '%s' "$PW" | acctctl user create --email ops@example.com --role admin --password-stdin
  $ acctctl user create --email bob@example.com --timezone Europe/Berlin --json`,
    )
    .action(async (opts: CreateOptions) => {
      const { createUser } = await import('../../services/users.js');
      const { reportMutation, passwordFromStdin } = await import('../shared.js');
      const password = opts.passwordStdin ? await passwordFromStdin(f, 'password') : undefined;
      const outcome = await createUser(await f.context(), {
        email: opts.email, username: opts.username, displayName: opts.name, role: opts.role, superAdmin: opts.superAdmin,
        phone: opts.phone, address: opts.address, timezone: opts.timezone, language: opts.language, preferences: opts.preferences,
        password, generatePassword: opts.generatePassword,
      });
      const { user, generated_password } = outcome.result;
      await reportMutation(f, outcome, 'Created user', (r) => (r.generated_password ? { ...r.user, generated_password: r.generated_password } : r.user));
      if (generated_password && !f.output.isJson && !outcome.dryRun) {
        f.output.info(`Generated password for ${user.email} (shown once, not stored):`);
        await f.output.value(generated_password);
      }
    });
}
