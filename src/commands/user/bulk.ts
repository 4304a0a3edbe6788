import { Option, type Command } from 'commander';
import type { Factory } from '../../factory.js';
import type { FactoryRef } from '../../main.js';
import { ROLES, USER_STATUSES } from '../../domain/enums.js';
import { csvOptions, runOptions, RUN_HELP, type CsvCliOptions, type RunCliOptions } from '../bulk.js';
import { intOption } from '../shared.js';

export interface UserBulkCliOptions extends CsvCliOptions, RunCliOptions {
  verb: string;
  value?: string | undefined;
  file?: string | undefined;
  whereRole?: string | undefined;
  whereStatus?: string | undefined;
  lastLoginBefore?: string | undefined;
  createdBefore?: string | undefined;
  search?: string | undefined;
  '2fa'?: string | undefined;
  confirmDelete?: number | undefined;
}

interface VerbSpec {
  verb: string;
  value?: string;
  description: string;
  words: Record<string, string>;
  examples: string[];
}

const VERBS: VerbSpec[] = [
  {
    verb: 'set-role', value: 'role', description: 'Change the role of many accounts (file: an identifier column and a role column).',
    words: { 'set-role': 'role changed', noop: 'already that role' },
    examples: ['user bulk set-role user --where-role reseller --last-login-before 2026-01-01', 'user bulk set-role --file roles.csv --yes'],
  },
  {
    verb: 'set-status', value: 'status', description: 'Suspend, deactivate or activate many accounts (file: an identifier column and a status column).',
    words: { suspend: 'suspended', deactivate: 'deactivated', activate: 'activated', noop: 'already that status' },
    examples: ['user bulk set-status suspended --where-role user --last-login-before 2026-01-01', 'user bulk set-status active --file back.csv --reason "ticket 42"'],
  },
  {
    verb: 'set-timezone', value: 'timezone', description: 'Set the time zone of many accounts (file: an identifier column and a timezone column).',
    words: { 'set-timezone': 'time zone set', noop: 'already that zone' },
    examples: ['user bulk set-timezone Europe/Berlin --search example.de', 'user bulk set-timezone --file zones.csv --dry-run'],
  },
  {
    verb: 'revoke-sessions', description: 'Sign many accounts out everywhere (file: an identifier column).',
    words: { 'revoke-sessions': 'signed out', noop: 'no live session' },
    examples: ['user bulk revoke-sessions --where-role admin --2fa off', 'user bulk revoke-sessions --file leavers.csv --yes'],
  },
  {
    verb: 'reset-2fa', description: 'Turn off two-factor sign-in for many accounts (file: an identifier column).',
    words: { 'reset-2fa': '2FA reset', noop: 'no 2FA' },
    examples: ['user bulk reset-2fa --file lost-phones.csv'],
  },
  {
    verb: 'delete', description: 'Delete many accounts permanently: type the count back to confirm (prefer set-status suspended).',
    words: { delete: 'deleted', noop: 'unchanged' },
    examples: ['user bulk delete --where-status deactivated --last-login-before 2025-01-01', 'user bulk delete --file gone.csv --confirm-delete 120'],
  },
];

export function registerBulk(parent: Command, f: FactoryRef): void {
  const group = parent.command('bulk').description('One change to many accounts, chosen by a CSV file or by filters, after a confirmed plan.')
    .addHelpText('after', `
Examples:
  $ acctctl user bulk set-status suspended --where-role user --last-login-before 2026-01-01
  $ acctctl user bulk set-role --file roles.csv --yes`);
  for (const spec of VERBS) {
    const cmd = group.command(spec.verb).description(spec.description);
    if (spec.value) cmd.argument(`[${spec.value}]`, `the new ${spec.value} (with filters; a file carries its own ${spec.value} column)`);
    cmd
      .option('--file <file.csv>', `the accounts: a column id, public_id, email or username${spec.value ? `, and a ${spec.value} column` : ''} (- for stdin)`)
      .addOption(new Option('--where-role <role>', 'filter: this role').choices(ROLES))
      .addOption(new Option('--where-status <status>', 'filter: this status').choices(USER_STATUSES))
      .option('--last-login-before <date>', 'filter: last signed in before this date, or never')
      .option('--created-before <date>', 'filter: created before this date')
      .option('--search <text>', 'filter: username, display name, email or public id contains this (any case)')
      .addOption(new Option('--2fa <state>', 'filter: two-factor sign-in on or off').choices(['on', 'off']));
    if (spec.verb === 'delete') cmd.addOption(new Option('--confirm-delete <count>', 'without a terminal: the number of accounts the plan deletes (instead of --yes)').argParser(intOption('--confirm-delete', 0, Number.MAX_SAFE_INTEGER)));
    csvOptions(cmd);
    runOptions(cmd);
    cmd.addHelpText('after', `
Give --file or filters (not both). With filters, the plan shows how many accounts match
and a sample of them: narrow, verify, apply — one command, a confirmation in the middle.
Each account's change follows the single verb's rules and gets its own audit entry; a
plan that would leave no active admin (or super admin) is refused whole (exit 4).${spec.verb === 'delete' ? `

Deleting asks for the number of accounts to be typed back; without a terminal pass
--confirm-delete N with that number (--yes is not enough). A wrong count is exit 5.` : ''}
${RUN_HELP}

Examples:
${spec.examples.map((e) => `  $ acctctl ${e}`).join('\n')}`);
    cmd.action((...args: unknown[]) => {
      const opts = (spec.value ? args[1] : args[0]) as Omit<UserBulkCliOptions, 'verb' | 'value'>;
      const value = spec.value ? (args[0] as string | undefined) : undefined;
      return f().run(`user bulk ${spec.verb}`, { ...opts, verb: spec.verb, value }, runUserBulk);
    });
  }
}

export async function runUserBulk(f: Factory, o: UserBulkCliOptions): Promise<void> {
  const { bulkUpdateUsers, BULK_ID_COLUMNS, BULK_VALUE_COLUMN } = await import('../../core.js');
  const { bulkOptions, columnMap, runBulkCommand } = await import('../bulk.js');
  const { UsageError, ConfirmationError } = await import('../../errors.js');
  const spec = VERBS.find((v) => v.verb === o.verb)!;
  const opts = bulkOptions(o);
  const valueColumn = BULK_VALUE_COLUMN[o.verb as keyof typeof BULK_VALUE_COLUMN];
  const csvGiven = o.delimiter !== undefined || o.map !== undefined || o.ignoreUnknown;
  if (o.file === undefined && csvGiven) throw new UsageError('--delimiter, --map and --ignore-unknown read a --file; there is none', { field: 'file' });
  let file: import('../../core.js').UserBulkInput['file'];
  if (o.file !== undefined) {
    const { openInput } = await import('../bulk-input.js');
    file = { open: await openInput(f, o.file), name: o.file === '-' ? 'stdin' : o.file, delimiter: o.delimiter, map: await columnMap(o.map, [...BULK_ID_COLUMNS, ...(valueColumn ? [valueColumn] : [])]), ignoreUnknown: o.ignoreUnknown };
  }
  const confirm = o.verb === 'delete'
    ? async (plan: import('../../core.js').BulkPlan) => {
      const count = plan.counts.delete ?? 0;
      let typed: string;
      if (o.confirmDelete !== undefined) typed = String(o.confirmDelete);
      else if (!f.io.isStdinTTY || !f.io.isStderrTTY) {
        throw new ConfirmationError(`bulk delete needs the number of accounts it deletes typed back: re-run with --confirm-delete ${count}${f.options.yes ? ' (--yes is not enough for a delete)' : ''}`);
      } else typed = (await f.prompter.input(`This deletes ${count} account${count === 1 ? '' : 's'} permanently. Type ${count} to confirm:`)).trim();
      if (typed !== String(count)) throw new ConfirmationError(`the plan deletes ${count} account${count === 1 ? '' : 's'}, not ${typed === '' ? 'nothing' : typed}; nothing changed`);
    }
    : undefined;
  if (o.verb !== 'delete' && o.confirmDelete !== undefined) throw new UsageError('--confirm-delete is for bulk delete', { field: 'confirm-delete' });
  const ctx = await f.context();
  await runBulkCommand(f, o, { words: spec.words, confirm }, (hooks) =>
    bulkUpdateUsers(ctx, {
      verb: o.verb as import('../../core.js').BulkVerb, value: o.value, file,
      filter: { role: o.whereRole, status: o.whereStatus, lastLoginBefore: o.lastLoginBefore, createdBefore: o.createdBefore, search: o.search, twoFactor: o['2fa'] },
    }, opts, hooks),
  );
}
