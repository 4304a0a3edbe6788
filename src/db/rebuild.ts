/**
 * SQLite cannot change a constraint or a column type in place: the table is rebuilt
 * following https://www.sqlite.org/lang_altertable.html#otheralter (the 12 steps).
 * schema.sql asks for it with a `-- rebuild: <table>` statement (see its header).
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from './connect.js';
import type { DB } from './types.js';
import { SchemaError } from '../errors.js';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

function quote(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * Points a `CREATE TABLE <table> (…)` statement at another name; refuses any other
 * statement, so a `-- rebuild:` marker cannot silently name the wrong table.
 */
export function renameCreatedTable(createSql: string, table: string, newName: string): string {
  const head = /^\s*CREATE\s+TABLE\s+(?:main\.)?(["`]?)([A-Za-z_][A-Za-z0-9_]*)\1\s*\(/i.exec(createSql);
  if (!head || head[2]!.toLowerCase() !== table.toLowerCase()) {
    throw new SchemaError(`schema.sql: "-- rebuild: ${table}" must precede "CREATE TABLE ${table} (…)", not: ${createSql.slice(0, 60)}…`);
  }
  return `CREATE TABLE ${quote(newName)} (` + createSql.slice(head[0].length);
}

/**
 * Runs fn with SQLite's foreign keys off, restoring the previous setting after.
 * The pragma is a no-op inside a transaction, so this must wrap the BEGIN; and it is
 * needed because DROP TABLE on a parent with foreign keys on deletes its children
 * (ON DELETE CASCADE), e.g. every session when users is rebuilt.
 */
export async function withSqliteForeignKeysOff<T>(db: Database, fn: () => Promise<T>): Promise<T> {
  if (db.dialect !== 'sqlite') return fn();
  const before = await sql<{ foreign_keys: number }>`PRAGMA foreign_keys`.execute(db.kysely);
  const wasOn = Number(before.rows[0]?.foreign_keys ?? 0) !== 0;
  await sql`PRAGMA foreign_keys = OFF`.execute(db.kysely);
  try {
    return await fn();
  } finally {
    if (wasOn) await sql`PRAGMA foreign_keys = ON`.execute(db.kysely);
  }
}

async function columnNames(trx: Kysely<DB>, table: string): Promise<string[]> {
  const result = await sql<{ name: string }>`SELECT name FROM pragma_table_info(${table}) ORDER BY cid`.execute(trx);
  return result.rows.map((r) => r.name);
}

/**
 * Replaces `table` by the one createSql (its full new CREATE TABLE) defines, inside the
 * caller's transaction, with foreign keys already off (withSqliteForeignKeysOff).
 * Keeps the rows and their ids, the AUTOINCREMENT counter, and the table's own indexes
 * and triggers; columns createSql omits are dropped, new ones take their defaults.
 */
export async function rebuildSqliteTable(trx: Kysely<DB>, table: string, createSql: string): Promise<void> {
  if (!IDENTIFIER.test(table)) throw new SchemaError(`rebuild: invalid table name ${JSON.stringify(table)}`);
  const fk = await sql<{ foreign_keys: number }>`PRAGMA foreign_keys`.execute(trx);
  if (Number(fk.rows[0]?.foreign_keys ?? 0) !== 0) {
    throw new SchemaError(`rebuild of ${table}: foreign keys must be off, or dropping the table cascades into the tables referencing it`);
  }
  const exists = await sql<{ n: number }>`SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = ${table}`.execute(trx);
  if (Number(exists.rows[0]?.n ?? 0) === 0) throw new SchemaError(`rebuild: no table ${table}`);
  const temp = `${table}__new`;
  const create = renameCreatedTable(createSql, table, temp);

  // DROP TABLE takes the table's indexes and triggers with it (auto-indexes, sql NULL,
  // come back from the CREATE itself).
  const saved = await sql<{ sql: string }>`
    SELECT sql FROM sqlite_master
    WHERE tbl_name = ${table} AND type IN ('index', 'trigger') AND sql IS NOT NULL
    ORDER BY type = 'trigger', rowid`.execute(trx);
  // DROP TABLE also forgets the AUTOINCREMENT high-water mark: keep it, so the ids of
  // deleted rows (which the audit log may name) are never handed out again.
  const hasSequence = await sql<{ n: number }>`SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'`.execute(trx);
  const sequence =
    Number(hasSequence.rows[0]?.n ?? 0) > 0
      ? (await sql<{ seq: number }>`SELECT seq FROM sqlite_sequence WHERE name = ${table}`.execute(trx)).rows[0]?.seq
      : undefined;

  await sql.raw(`DROP TABLE IF EXISTS ${quote(temp)}`).execute(trx);
  await sql.raw(create).execute(trx);
  const newColumns = await columnNames(trx, temp);
  const oldColumns = new Set(await columnNames(trx, table));
  const common = newColumns.filter((c) => oldColumns.has(c)).map(quote).join(', ');
  if (common === '') throw new SchemaError(`rebuild of ${table}: the new table shares no column with the old one`);
  await sql.raw(`INSERT INTO ${quote(temp)} (${common}) SELECT ${common} FROM ${quote(table)}`).execute(trx);
  // Legacy rename: views and other tables' triggers that name the table are left as
  // they are (they name it again once the rename is done) instead of being re-parsed
  // against a schema where it is, for a moment, missing.
  await sql.raw('PRAGMA legacy_alter_table = ON').execute(trx);
  try {
    await sql.raw(`DROP TABLE ${quote(table)}`).execute(trx);
    await sql.raw(`ALTER TABLE ${quote(temp)} RENAME TO ${quote(table)}`).execute(trx);
  } finally {
    await sql.raw('PRAGMA legacy_alter_table = OFF').execute(trx);
  }

  if (sequence !== undefined && /\bAUTOINCREMENT\b/i.test(createSql)) {
    await sql`DELETE FROM sqlite_sequence WHERE name = ${table}`.execute(trx);
    await sql`INSERT INTO sqlite_sequence (name, seq) VALUES (${table}, max(${sequence}, coalesce((SELECT max(rowid) FROM ${sql.id(table)}), 0)))`.execute(trx);
  }
  for (const row of saved.rows) await sql.raw(row.sql).execute(trx);

  const broken = await sql<{ table: string; rowid: number | null; parent: string }>`PRAGMA foreign_key_check`.execute(trx);
  if (broken.rows.length > 0) {
    const first = broken.rows.slice(0, 3).map((r) => `${r.table} row ${r.rowid ?? '?'} → ${r.parent}`).join(', ');
    throw new SchemaError(`rebuild of ${table} breaks ${broken.rows.length} foreign key reference(s): ${first}`);
  }
}
