import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import type { Database, DialectName } from './connect.js';
import { SCHEMA_SUBSTITUTIONS, lockForMigration, tableExists } from './dialect.js';
import { rebuildSqliteTable, renameCreatedTable, withSqliteForeignKeysOff } from './rebuild.js';
import { SchemaError } from '../errors.js';

/** schema.sql sits at the package root, some levels above this module (src/, dist/ or the bundle). */
function schemaPath(): string {
  // import.meta.url in ES modules (dist/, tests); __filename in the CommonJS bundle.
  let dir = dirname(import.meta.url ? fileURLToPath(import.meta.url) : __filename);
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'schema.sql');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new SchemaError('schema.sql not found next to the acctctl package');
}

let cached: SchemaVersion[] | undefined;

export interface SchemaStatement {
  sql: string;
  /** Set by an `-- only: <dialect>` line: the statement runs on that engine alone. */
  only?: DialectName;
  /** Set by a `-- rebuild: <table>` line: the statement is that table's full new CREATE TABLE (SQLite only). */
  rebuild?: string;
}

export interface SchemaVersion {
  version: number;
  statements: SchemaStatement[];
}

/**
 * Splits a version's body into statements: a statement ends with `;` at the end of a
 * line, except inside a trigger body (a line ending in BEGIN up to a line `END;`).
 */
function splitStatements(body: string): SchemaStatement[] {
  const statements: SchemaStatement[] = [];
  let lines: string[] = [];
  let only: DialectName | undefined;
  let rebuild: string | undefined;
  let inBlock = false;
  for (const line of body.split('\n')) {
    const marker = /^\s*--\s*only:\s*(sqlite|postgres)\s*$/.exec(line);
    if (marker && lines.length === 0) {
      only = marker[1] as DialectName;
      continue;
    }
    const rebuildMarker = /^\s*--\s*rebuild:(.*)$/.exec(line);
    if (rebuildMarker && lines.length === 0) {
      rebuild = rebuildMarker[1]!.trim();
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(rebuild)) throw new SchemaError(`schema.sql: "-- rebuild:" needs a table name, not "${rebuild}"`);
      continue;
    }
    if (/^\s*--/.test(line) || (lines.length === 0 && line.trim() === '')) continue;
    lines.push(line);
    if (/\bBEGIN\s*$/i.test(line)) inBlock = true;
    const ends = inBlock ? /^\s*END;\s*$/i.test(line) : /;\s*$/.test(line);
    if (ends) {
      inBlock = false;
      const text = inBlockStrip(lines.join('\n').trim());
      if (rebuild !== undefined) {
        // A rebuild is SQLite's way; PostgreSQL alters in place with its own statements.
        if (only === 'postgres') throw new SchemaError(`schema.sql: "-- rebuild: ${rebuild}" is for SQLite, it cannot be "-- only: postgres"`);
        renameCreatedTable(text, rebuild, rebuild); // throws unless it is CREATE TABLE <rebuild> (…)
        statements.push({ sql: text, only: 'sqlite', rebuild });
      } else {
        statements.push(only ? { sql: text, only } : { sql: text });
      }
      lines = [];
      only = undefined;
      rebuild = undefined;
    }
  }
  if (lines.join('').trim() !== '') throw new SchemaError(`schema.sql: statement without a closing ";": ${lines.join(' ').slice(0, 60)}…`);
  return statements;
}

/** Drops the final ";" of a statement (the drivers take one statement at a time). */
function inBlockStrip(text: string): string {
  return /\bEND;$/i.test(text) ? text.slice(0, -1) : text.replace(/;$/, '');
}

/** Parses schema.sql into its versions (a `-- version: N` line starts each). */
export function parseSchema(text: string): SchemaVersion[] {
  const versions: SchemaVersion[] = [];
  const parts = text.split(/^--\s*version:\s*(\d+)\s*$/m);
  for (let i = 1; i < parts.length; i += 2) {
    const version = Number(parts[i]);
    if (versions.length > 0 && version !== versions[versions.length - 1]!.version + 1) {
      throw new SchemaError(`schema.sql: version ${version} does not follow ${versions[versions.length - 1]!.version}`);
    }
    versions.push({ version, statements: splitStatements(parts[i + 1] ?? '') });
  }
  return versions;
}

export function schemaVersions(): SchemaVersion[] {
  cached ??= parseSchema(readFileSync(schemaPath(), 'utf8'));
  return cached;
}

export function latestVersion(): number {
  const all = schemaVersions();
  return all.length === 0 ? 0 : all[all.length - 1]!.version;
}

export function substitute(statement: string, dialect: Database['dialect']): string {
  const subs = SCHEMA_SUBSTITUTIONS[dialect];
  return statement.replace(/\{\{(\w+)\}\}/g, (whole, name: string) => {
    const value = subs[name];
    if (value === undefined) throw new SchemaError(`schema.sql: unknown substitution ${whole}`);
    return value;
  });
}

/** The applied version, 0 for an empty database. */
export async function currentVersion(db: Database): Promise<number> {
  // Ask whether the table exists rather than catch an error: a refused connection or a
  // wrong password must surface as such, not as "not initialised".
  if (!(await tableExists(db, 'schema_migrations'))) return 0;
  const row = await db.kysely
    .selectFrom('schema_migrations')
    .select((eb) => eb.fn.max('version').as('v'))
    .executeTakeFirst();
  return Number(row?.v ?? 0);
}

export interface SchemaStatus {
  current: number;
  latest: number;
  pending: number[];
}

export async function schemaStatus(db: Database): Promise<SchemaStatus> {
  const current = await currentVersion(db);
  const latest = latestVersion();
  const pending = schemaVersions().filter((v) => v.version > current).map((v) => v.version);
  return { current, latest, pending };
}

/**
 * Applies every pending version, each in its own transaction. Idempotent and safe to run
 * concurrently. Refuses, changing nothing, a database newer than `versions` (which tests
 * may extend with a version of their own).
 */
export async function migrate(db: Database, now: () => Date = () => new Date(), versions: SchemaVersion[] = schemaVersions()): Promise<number[]> {
  const latest = versions.length === 0 ? 0 : versions[versions.length - 1]!.version;
  // Under the migration lock: PostgreSQL's IF NOT EXISTS still races on the catalog.
  await db.kysely.transaction().execute(async (trx) => {
    await lockForMigration(trx, db.dialect);
    await sql`CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)`.execute(trx);
    const row = await trx.selectFrom('schema_migrations').select((eb) => eb.fn.max('version').as('v')).executeTakeFirst();
    const current = Number(row?.v ?? 0);
    // An older acctctl would otherwise apply its own idea of the pending versions.
    if (current > latest) throw newerSchema(current, latest);
  });
  const applied: number[] = [];
  for (const version of versions) {
    const rebuilds = db.dialect === 'sqlite' && version.statements.some((s) => s.rebuild !== undefined);
    const run = () =>
      db.kysely.transaction().execute(async (trx) => {
        await lockForMigration(trx, db.dialect);
        const exists = await trx.selectFrom('schema_migrations').select('version').where('version', '=', version.version).executeTakeFirst();
        if (exists) return false;
        for (const statement of version.statements) {
          if (statement.only && statement.only !== db.dialect) continue;
          const text = substitute(statement.sql, db.dialect);
          if (statement.rebuild !== undefined) await rebuildSqliteTable(trx, statement.rebuild, text);
          else await sql.raw(text).execute(trx);
        }
        await trx.insertInto('schema_migrations').values({ version: version.version, applied_at: now().toISOString() }).execute();
        return true;
      });
    const done = rebuilds ? await withSqliteForeignKeysOff(db, run) : await run();
    if (done) applied.push(version.version);
  }
  return applied;
}

/** Refuses to work on a database whose schema is missing, behind, or ahead of this acctctl. */
export async function assertSchemaCurrent(db: Database): Promise<void> {
  const { current, latest } = await schemaStatus(db);
  if (current === latest) return;
  if (current === 0) throw new SchemaError(`database ${db.displayUrl} is not initialised: run \`acctctl init\``);
  if (current < latest) throw new SchemaError(`database schema is at version ${current}, this acctctl needs ${latest}: run \`acctctl db migrate\``);
  throw newerSchema(current, latest);
}

/** What migrating a database that does not exist yet would do (for dry runs). */
export function newDatabaseStatus(): SchemaStatus {
  return { current: 0, latest: latestVersion(), pending: schemaVersions().map((v) => v.version) };
}

function newerSchema(current: number, latest: number): SchemaError {
  return new SchemaError(`database schema version ${current} is newer than this acctctl understands (${latest}): upgrade acctctl`);
}

/** What migrate() would do, checked as it would check it (for dry runs). */
export async function plannedMigration(db: Database): Promise<SchemaStatus> {
  const status = await schemaStatus(db);
  if (status.current > status.latest) throw newerSchema(status.current, status.latest);
  return status;
}
