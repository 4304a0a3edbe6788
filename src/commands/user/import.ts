import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import type { FactoryRef } from '../../main.js';
import { csvOptions, runOptions, RUN_HELP, type CsvCliOptions, type RunCliOptions } from '../bulk.js';

export interface ImportCliOptions extends CsvCliOptions, RunCliOptions {
  file: string;
  updateExisting?: boolean | undefined;
  skipExisting?: boolean | undefined;
  resetPasswords?: boolean | undefined;
}

export const IMPORT_WORDS = { create: 'created', update: 'updated', noop: 'unchanged', skip: 'skipped (differ)' };

export function registerImport(parent: Command, f: FactoryRef): void {
  const cmd = parent
    .command('import')
    .description('Create (or update) users from a CSV file, after a confirmed plan. Re-running the same file changes nothing.')
    .argument('<file.csv>', 'the file, or - for stdin')
    .option('--update-existing', 'an existing account (same email) that differs gets the file\'s values, for the columns present')
    .option('--skip-existing', 'an existing account that differs is left alone (counted as skipped)')
    .option('--reset-passwords', 'passwords in the file replace the accounts\' ones even if changed since they were imported');
  csvOptions(cmd);
  runOptions(cmd);
  cmd
    .addHelpText(
      'after',
      `
Columns (a header row is required; UTF-8, with or without BOM): email (required),
username, name, role, super_admin, status, phone, address, timezone, language,
preferences (JSON), email_verified_at (a time, true or false; without it an account
starts unverified), and password (hashed at the policy's bcrypt cost, on every core)
or password_hash (bcrypt $2a$/$2b$/$2y$). An empty cell means "not given". The file
\`acctctl user export\` writes imports as it is.

An existing account (same email) whose values equal the row's is left alone; one that
differs is refused (exit 4) unless --update-existing or --skip-existing. A password
changed since the import set it is not a difference and is kept (--reset-passwords
overwrites it). Each created or updated account gets its audit entry, and the run one
bulk.run entry with the file's SHA-256.
${RUN_HELP}

Examples:
  $ acctctl user import users.csv
  $ acctctl user import staff.csv --map "Email Address=email" --map "Full Name=name" --ignore-unknown
  $ acctctl user import seed.csv --yes -q                 # CI seeding: idempotent
  $ acctctl user import big.csv --continue-on-error --errors rejected.csv --yes
  $ acctctl user import changes.csv --update-existing --plan-out plan.json`,
    )
    .action((file: string, opts: Omit<ImportCliOptions, 'file'>) => f().run('user import', { ...opts, file }, runImport));
}

export async function runImport(f: Factory, o: ImportCliOptions): Promise<void> {
  const { importUsers, USER_IMPORT_COLUMNS } = await import('../../core.js');
  const { bulkOptions, columnMap, runBulkCommand } = await import('../bulk.js');
  const { openInput } = await import('../bulk-input.js');
  const opts = bulkOptions(o);
  const map = await columnMap(o.map, USER_IMPORT_COLUMNS);
  const open = await openInput(f, o.file);
  const ctx = await f.context();
  await runBulkCommand(f, o, { words: IMPORT_WORDS }, (hooks) =>
    importUsers(ctx, {
      open, name: o.file === '-' ? 'stdin' : o.file, delimiter: o.delimiter, map, ignoreUnknown: o.ignoreUnknown,
      updateExisting: o.updateExisting, skipExisting: o.skipExisting, resetPasswords: o.resetPasswords,
      onHeader: (h) => {
        if (h.ignored.length > 0) f.output.warn(`Ignoring column${h.ignored.length === 1 ? '' : 's'} ${h.ignored.join(', ')} (--ignore-unknown).`);
      },
    }, opts, hooks),
  );
}
