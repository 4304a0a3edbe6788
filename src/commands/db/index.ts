import type { Command } from 'commander';
import type { Factory } from '../../factory.js';

export function registerDb(program: Command, f: Factory): Command {
  const db = program.command('db');

  db.command('migrate')
    .description('Apply the schema versions this database is missing (idempotent).')
    .addHelpText('after', '\nExamples:\n  $ acctctl db migrate\n  $ acctctl --db postgres://acct@db.internal/acct db migrate --dry-run')
    .action(async () => {
      const { migrate, schemaStatus } = await import('../../db/migrate.js');
      const database = await f.db({ checkSchema: false });
      const before = await schemaStatus(database);
      const applied = f.options.dryRun ? [] : await migrate(database, f.clock);
      const after = f.options.dryRun ? before : await schemaStatus(database);
      const result = { database: database.displayUrl, dialect: database.dialect, schema_version: after.current, applied_versions: applied, pending_versions: after.pending, dry_run: f.options.dryRun };
      if (f.output.isJson) await f.output.record(result, []);
      if (f.options.dryRun) f.output.info(`Dry run: would apply ${before.pending.length === 0 ? 'nothing' : 'versions ' + before.pending.join(', ')}. Nothing changed.`);
      else f.output.info(applied.length === 0 ? `Already at schema version ${after.current}.` : `Applied schema versions ${applied.join(', ')}; now at ${after.current}.`);
    });

  db.command('status')
    .description('Show the database location, engine and schema version.')
    .addHelpText('after', '\nExamples:\n  $ acctctl db status\n  $ ACCTCTL_DB=/srv/acct.db acctctl db status -o json')
    .action(async () => {
      const { schemaStatus } = await import('../../db/migrate.js');
      const database = await f.db({ checkSchema: false });
      const s = await schemaStatus(database);
      const result = { database: database.displayUrl, dialect: database.dialect, schema_version: s.current, latest_version: s.latest, pending_versions: s.pending, up_to_date: s.pending.length === 0 && s.current === s.latest };
      await f.output.record(result, [
        {
          title: 'Database',
          fields: [['Location', result.database], ['Engine', result.dialect], ['Schema version', result.schema_version], ['Latest version', result.latest_version], ['Pending', result.pending_versions.join(', ') || 'none']],
        },
      ]);
    });
  return db;
}
