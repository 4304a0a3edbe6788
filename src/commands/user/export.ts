import { Option, type Command } from 'commander';
import type { Factory } from '../../factory.js';
import type { FactoryRef } from '../../main.js';
import { ROLES, USER_SORTS, USER_STATUSES } from '../../domain/enums.js';

export interface ExportOptions {
  search?: string | undefined;
  role?: string | undefined;
  status?: string | undefined;
  '2fa'?: string | undefined;
  sort: string;
}

export function registerExport(parent: Command, f: FactoryRef): void {
  parent
    .command('export')
    .description('Every matching user in the import\'s column format, streamed (CSV unless -o ndjson or json).')
    .option('--search <text>', 'match username, display name, email or public id (any case)')
    .addOption(new Option('--role <role>', 'only this role').choices(ROLES))
    .addOption(new Option('--status <status>', 'only this status').choices(USER_STATUSES))
    .addOption(new Option('--2fa <state>', 'only users with 2FA on, or off').choices(['on', 'off']))
    .addOption(new Option('--sort <order>', 'order').choices(USER_SORTS).default('newest'))
    .addHelpText('after', `
Columns: email, username, name, role, super_admin, status, phone, address, timezone,
language, preferences, password_hash (bcrypt), email_verified_at, so the file re-imports
to the same users.
Cells a spreadsheet would run as a formula get a leading ' that the import removes.
It carries password hashes: super admins only; keep the file safe.

Examples:
  $ acctctl user export > users.csv
  $ acctctl user export --role admin -o ndjson | jq -r .email`)
    .action((opts: ExportOptions) => f().run('user export', opts, runExport));
}

export async function runExport(f: Factory, o: ExportOptions): Promise<void> {
  const { exportUsers, EXPORT_COLUMNS } = await import('../../core.js');
  const { Output } = await import('../../io/output.js');
  type Row = import('../../core.js').ExportedUser;
  const ctx = await f.context({ mode: 'read' });
  const rows = await exportUsers(ctx, { search: o.search, role: o.role, status: o.status, twoFactor: o['2fa'], sort: o.sort });
  // CSV unless a machine format was asked for: a table is no export.
  const out = f.output.format === 'table' ? new Output(f.io, 'csv', { quiet: f.options.quiet, color: false }) : f.output;
  await out.list(rows, { columns: [], csvFields: [...EXPORT_COLUMNS] as (keyof Row & string)[] });
}
