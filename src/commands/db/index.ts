import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import type { FactoryRef } from '../../main.js';

export function registerDb(program: Command, f: FactoryRef): Command {
  const db = program.command('db');

  db.command('migrate')
    .description('Apply the schema versions this database is missing (idempotent; creates the database if needed).')
    .addHelpText('after', '\nExamples:\n  $ acctctl db migrate\n  $ acctctl --db postgres://acct@db.internal/acct db migrate --dry-run')
    .action(() => f().run('db migrate', {}, runMigrate));

  db.command('status')
    .description('Show the database location, engine and schema version.')
    .addHelpText('after', '\nExamples:\n  $ acctctl db status\n  $ ACCTCTL_DB=/srv/acct.db acctctl db status -o json')
    .action(() => f().run('db status', {}, runStatus));
  return db;
}

export async function runMigrate(f: Factory): Promise<void> {
  const { migrate, schemaStatus, plannedMigration, newDatabaseStatus } = await import('../../core.js');
  const { DatabaseMissingError } = await import('../../errors.js');
  const dry = f.options.dryRun;
  // A dry run opens read-only and creates nothing; a missing database would be created.
  const database = await f.db({ mode: dry ? 'read' : 'create', checkSchema: false }).catch((err: unknown) => {
    if (dry && err instanceof DatabaseMissingError) return null;
    throw err;
  });
  const before = database ? await (dry ? plannedMigration(database) : schemaStatus(database)) : newDatabaseStatus();
  // An SQLite database gets its key file for secrets at rest, as init makes one (checked before migrating).
  if (!dry && database) await f.context({ mode: 'create', checkSchema: false, createSecretKey: true });
  const applied = dry || !database ? [] : await migrate(database, f.clock);
  const after = dry || !database ? before : await schemaStatus(database);
  const location = database?.displayUrl ?? (await f.dbUrl());
  const result = { database: location, dialect: database?.dialect ?? 'sqlite', schema_version: after.current, applied_versions: applied, pending_versions: after.pending, dry_run: dry };
  if (f.output.isJson) await f.output.record(result, []);
  if (dry) f.output.info(`Dry run: would apply ${before.pending.length === 0 ? 'nothing' : 'versions ' + before.pending.join(', ')}. Nothing changed.`);
  else f.output.info(applied.length === 0 ? `Already at schema version ${after.current}.` : `Applied schema versions ${applied.join(', ')}; now at ${after.current}.`);
}

export async function runStatus(f: Factory): Promise<void> {
  const { schemaStatus } = await import('../../core.js');
  const database = await f.db({ mode: 'read', checkSchema: false });
  const s = await schemaStatus(database);
  const result = {
    database: database.displayUrl, dialect: database.dialect, schema_version: s.current, latest_version: s.latest, pending_versions: s.pending,
    up_to_date: s.pending.length === 0 && s.current === s.latest, newer_than_acctctl: s.current > s.latest,
  };
  await f.output.record(result, [
    {
      title: 'Database',
      fields: [['Location', result.database], ['Engine', result.dialect], ['Schema version', result.schema_version], ['Latest version', result.latest_version], ['Pending', result.pending_versions.join(', ') || 'none']],
    },
  ]);
}
