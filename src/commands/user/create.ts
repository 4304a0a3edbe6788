import { Option, type Command } from 'commander';
import type { Factory } from '../../factory.js';
import type { FactoryRef } from '../../main.js';
import { STDIN_NOTE } from '../shared.js';
import { addUserFieldOptions, userInputFrom } from './fields.js';

export interface CreateOptions {
  email: string;
  username?: string | undefined;
  name?: string | undefined;
  role: string;
  superAdmin?: boolean | undefined;
  phone?: string | undefined;
  address?: string | undefined;
  timezone?: string | undefined;
  language?: string | undefined;
  preferences?: string | undefined;
  passwordStdin?: boolean | undefined;
  generatePassword?: boolean | undefined;
  emailVerified?: boolean | undefined;
}

export function registerCreate(parent: Command, f: FactoryRef): void {
  const cmd = parent.command('create').description('Create a user. Without a password the user is pending until one is set.');
  addUserFieldOptions(cmd, 'create');
  cmd
    .addOption(new Option('--password-stdin', 'read the password from stdin').conflicts('generatePassword'))
    .addOption(new Option('--generate-password', 'generate a password and print it once'))
    .option('--email-verified', 'the address is known to be theirs (otherwise the account starts unverified)')
    .addHelpText(
      'after',
      `
--password-stdin: ${STDIN_NOTE}
--generate-password: the password is printed once on stdout; if it cannot be written
(stdout closed), the user is not created.

Examples:
  $ acctctl user create --email alice@example.com --name "Alice Doe" --generate-password
  $ printf '%s' "$PW" | acctctl user create --email ops@example.com --role admin --password-stdin
  $ acctctl user create --email bob@example.com --timezone Europe/Berlin --json`,
    )
    .action((opts: CreateOptions) => f().run('user create', opts, runCreate));
}

export async function runCreate(f: Factory, opts: CreateOptions): Promise<void> {
  const { createUser } = await import('../../core.js');
  const { reportMutation, passwordFromStdin, deliverSecret } = await import('../shared.js');
  type Created = import('../../core.js').CreatedUser;
  const password = opts.passwordStdin ? await passwordFromStdin(f, 'password') : undefined;
  const words = { done: 'Created user', would: 'create user' };
  const record = (r: Created) => (r.generated_password ? { ...r.user, generated_password: r.generated_password } : r.user);
  let shown = false;
  // A generated password is shown before the user is committed: lost output means no user.
  const beforeCommit = opts.generatePassword
    ? async (o: import('../../core.js').MutationOutcome<unknown>) => {
        const outcome = o as import('../../core.js').MutationOutcome<Created>;
        if (outcome.dryRun) return;
        shown = true;
        await deliverSecret(f, 'the generated password', async () => {
          if (f.output.isJson) await reportMutation(f, outcome, words, record);
          else await f.output.value(outcome.result.generated_password!);
        });
      }
    : undefined;
  const ctx = await f.context({ beforeCommit });
  const outcome = await createUser(ctx, {
    ...userInputFrom(opts as unknown as Record<string, unknown>), email: opts.email, password, generatePassword: opts.generatePassword, emailVerified: opts.emailVerified,
  });
  if (!shown) await reportMutation(f, outcome, words, record);
  else if (!f.output.isJson) {
    await reportMutation(f, outcome, words, record);
    f.output.info(`The generated password for ${outcome.result.user.email} is on stdout above: shown once, not stored.`);
  }
}
