import { Option, type Command } from 'commander';
import type { Factory } from '../../factory.js';
import type { FactoryRef } from '../../main.js';
import { STDIN_NOTE } from '../shared.js';

export interface SetOptions {
  args: string[];
  stdin?: boolean | undefined;
  fromEnv?: string | undefined;
}

export interface UnsetOptions {
  keys: string[];
}

export function registerSet(policy: Command, f: FactoryRef): void {
  policy
    .command('set')
    .description('Change settings: several KEY VALUE pairs at once, in one transaction, one audit entry each.')
    .argument('<key-value...>', 'KEY VALUE [KEY VALUE …], or one KEY with --stdin / --from-env')
    .addOption(new Option('--stdin', 'read the one KEY\'s value from stdin (for secrets)').conflicts('fromEnv'))
    .option('--from-env <var>', 'take the one KEY\'s value from this environment variable (for secrets)')
    // An unknown "option" is taken as an argument, so a secret starting with "-" is refused, not echoed.
    .allowUnknownOption()
    .addHelpText('after', `
Values: booleans true/false, durations 90s 30m 12h 7d, lists comma-separated, "" for an
empty list. A secret (smtp.password, registration.turnstile_secret) is never taken from
the command line: use --stdin or --from-env. ${STDIN_NOTE}
Switching a sign-in method off or 2FA enforcement on asks first (--yes without a terminal).
Only super admins change the policy.

Examples:
  $ acctctl policy set password.min_length 14 security.session_lifetime 7d
  $ acctctl policy set registration.allowed_domains example.com,example.org
  $ printf '%s' "$SMTP_PW" | acctctl policy set smtp.password --stdin
  $ acctctl policy set smtp.password --from-env SMTP_PASSWORD`)
    .action((args: string[], opts: { stdin?: boolean; fromEnv?: string }) => f().run('policy set', { args, ...opts }, runSet));

  policy
    .command('unset')
    .description('Put settings back to their defaults.')
    .argument('<keys...>', 'setting keys')
    .addHelpText('after', `
Examples:
  $ acctctl policy unset password.min_length
  $ acctctl policy unset smtp.host smtp.user smtp.password`)
    .action((keys: string[]) => f().run('policy unset', { keys }, runUnset));
}

export async function runSet(f: Factory, o: SetOptions): Promise<void> {
  const { settingByKey } = await import('../../core.js');
  const { UsageError } = await import('../../errors.js');
  type Input = import('../../core.js').SettingInput;
  const inputs: Input[] = [];
  if (o.stdin || o.fromEnv !== undefined) {
    if (o.args.length !== 1) throw new UsageError(`--${o.stdin ? 'stdin' : 'from-env'} sets one KEY: give the key alone`, { field: 'key' });
    let value: string;
    if (o.stdin) {
      const { readStdin } = await import('../../io/iostreams.js');
      value = await readStdin(f.io, o.args[0]!);
    } else {
      const v = f.config.variable(o.fromEnv!);
      if (v === undefined) throw new UsageError(`--from-env: ${o.fromEnv} is not set`, { field: 'from-env' });
      value = v;
    }
    value = value.replace(/\r?\n$/, '');
    if (value === '') throw new UsageError(`${o.args[0]}: nothing was read (to put it back to its default: acctctl policy unset ${o.args[0]})`, { field: o.args[0]! });
    inputs.push({ key: o.args[0]!, value, from: 'text' });
  } else {
    // Never echo an argument here: it may be a secret typed where it should not be.
    const glued = o.args.find((a) => /^[a-z_]+\.[a-z_0-9]+=/.test(a));
    if (glued) throw new UsageError(`give KEY VALUE as two arguments, not KEY=VALUE (${glued.slice(0, glued.indexOf('='))}=…)`, { field: 'value' });
    if (o.args.length % 2 !== 0) throw new UsageError('give KEY VALUE pairs: the last key has no value (a secret: --stdin or --from-env)', { field: 'value' });
    for (let i = 0; i < o.args.length; i += 2) {
      const key = o.args[i]!;
      if (settingByKey(key)?.secret) {
        throw new UsageError(`${key} is a secret: it is never taken from the command line (shell history, ps); use --stdin or --from-env`, { field: key });
      }
      inputs.push({ key, value: o.args[i + 1]!, from: 'text' });
    }
  }
  await apply(f, inputs);
}

export async function runUnset(f: Factory, o: UnsetOptions): Promise<void> {
  await apply(f, o.keys.map((key) => ({ key, from: 'text' as const })));
}

async function apply(f: Factory, inputs: import('../../core.js').SettingInput[]): Promise<void> {
  const { previewPolicy, setPolicy } = await import('../../core.js');
  const { changeLine } = await import('./render.js');
  const ctx = await f.context();
  const preview = await previewPolicy(ctx, inputs, { forChange: true });
  if (preview.confirm.length > 0) await f.confirm(`${preview.confirm.join('; ')}. Apply?`);
  const outcome = await setPolicy(ctx, inputs);
  const out = f.output;
  const { changes } = outcome.result;
  if (out.format !== 'table') await out.record({ changes, dry_run: outcome.dryRun }, []);
  if (changes.length === 0) out.info('Nothing to change: every setting already has that value.');
  for (const c of changes) out.info(`${outcome.dryRun ? 'Dry run: would set' : 'Set'} ${changeLine(c)}`);
  if (outcome.dryRun && changes.length > 0) out.info('Nothing changed.');
}
