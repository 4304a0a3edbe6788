/**
 * Empties a database without dropping its schema: for tests (one database per test
 * file, reset between tests) and nothing else. Tables, foreign keys, sequences and
 * search indexes are read from the catalog, so a table added by a later schema version
 * is covered without editing this file (only a new seeded row, like audit_head's, is not).
 */
import { sql } from 'kysely';
import type { Database } from './connect.js';

/** The application's tables, by name (not schema_migrations, not SQLite's or FTS5's own). */
export async function listTables(db: Database): Promise<string[]> {
  if (db.dialect === 'postgres') {
    const r = await sql<{ name: string }>`SELECT tablename AS name FROM pg_tables
      WHERE schemaname = current_schema() AND tablename <> 'schema_migrations' ORDER BY tablename`.execute(db.kysely);
    return r.rows.map((t) => t.name);
  }
  return (await sqliteTables(db)).tables;
}

/** Each table's primary key columns, in key order (a table without one is absent). */
export async function primaryKeys(db: Database): Promise<Record<string, string[]>> {
  const r =
    db.dialect === 'postgres'
      ? await sql<{ tbl: string; col: string }>`SELECT c.relname AS tbl, a.attname AS col FROM pg_index i
          JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
          JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
          WHERE i.indisprimary AND n.nspname = current_schema()
          ORDER BY c.relname, array_position(i.indkey::int2[], a.attnum)`.execute(db.kysely)
      : await sql<{ tbl: string; col: string }>`SELECT m.name AS tbl, p.name AS col FROM sqlite_master m
          JOIN pragma_table_info(m.name) p WHERE m.type = 'table' AND p.pk > 0 ORDER BY m.name, p.pk`.execute(db.kysely);
  const out: Record<string, string[]> = {};
  for (const { tbl, col } of r.rows) (out[tbl] ??= []).push(col);
  return out;
}

/** Empties every application table, restarts ids, and puts the audit chain back at its start. */
export async function truncateAll(db: Database): Promise<void> {
  if (db.dialect === 'postgres') return truncatePostgres(db);
  return truncateSqlite(db);
}

async function sqliteTables(db: Database): Promise<{ tables: string[]; virtual: { name: string; sql: string }[] }> {
  const r = await sql<{ name: string; sql: string | null }>`SELECT name, sql FROM sqlite_master
    WHERE type = 'table' AND name NOT GLOB 'sqlite_*' ORDER BY name`.execute(db.kysely);
  const virtual = r.rows.filter((t) => /^CREATE\s+VIRTUAL\s+TABLE/i.test(t.sql ?? '')).map((t) => ({ name: t.name, sql: t.sql! }));
  // A virtual table keeps its data in shadow tables named <table>_<something> (FTS5: _data, _idx, …).
  const tables = r.rows
    .map((t) => t.name)
    .filter((n) => n !== 'schema_migrations' && !virtual.some((v) => n === v.name || n.startsWith(`${v.name}_`)));
  return { tables, virtual };
}

/** Child → parent pairs of the foreign keys between the given tables. */
async function foreignKeys(db: Database, tables: string[]): Promise<[string, string][]> {
  const r =
    db.dialect === 'postgres'
      ? await sql<{ child: string; parent: string }>`SELECT c.relname AS child, p.relname AS parent FROM pg_constraint k
          JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid
          JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE k.contype = 'f' AND n.nspname = current_schema()`.execute(db.kysely)
      : await sql<{ child: string; parent: string }>`SELECT m.name AS child, f."table" AS parent
          FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) f WHERE m.type = 'table'`.execute(db.kysely);
  return r.rows.filter((e) => e.child !== e.parent && tables.includes(e.child) && tables.includes(e.parent)).map((e) => [e.child, e.parent]);
}

/**
 * Children before their parents, so no DELETE meets a row that still references it;
 * null when the foreign keys form a cycle.
 */
function deleteOrder(tables: string[], edges: [string, string][]): string[] | null {
  const order: string[] = [];
  let left = [...tables];
  while (left.length > 0) {
    const ready = left.filter((t) => !edges.some(([child, parent]) => parent === t && left.includes(child)));
    if (ready.length === 0) return null;
    order.push(...ready);
    left = left.filter((t) => !ready.includes(t));
  }
  return order;
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

async function truncatePostgres(db: Database): Promise<void> {
  const tables = await listTables(db);
  const order = deleteOrder(tables, await foreignKeys(db, tables));
  // DELETE, not TRUNCATE, when it can: on near-empty tables it is faster (TRUNCATE makes
  // new files for every table and index). One simple-protocol query is one implicit
  // transaction: it all happens or, on an error, none of it.
  const empty = order
    ? order.map((t) => `DELETE FROM ${quote(t)};`)
    : [`TRUNCATE ${tables.map(quote).join(', ')} CASCADE;`];
  await sql.raw([
    ...empty,
    // Every sequence of the schema back to its start (what TRUNCATE … RESTART IDENTITY does).
    `SELECT setval(s.seqrelid::regclass, s.seqstart, false) FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema();`,
    `INSERT INTO audit_head (id, last_seq, last_hash) VALUES (1, 0, 'genesis');`,
  ].join('\n')).execute(db.kysely);
}

async function truncateSqlite(db: Database): Promise<void> {
  const { tables, virtual } = await sqliteTables(db);
  const order = deleteOrder(tables, await foreignKeys(db, tables)) ?? tables;
  const hasSequence = (await sql`SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'`.execute(db.kysely)).rows.length > 0;
  await db.kysely.transaction().execute(async (trx) => {
    // Only for a cycle of foreign keys: checked at COMMIT instead of at each DELETE.
    await sql`PRAGMA defer_foreign_keys = ON`.execute(trx);
    for (const t of order) await sql.raw(`DELETE FROM ${quote(t)}`).execute(trx);
    for (const v of virtual) {
      // An external-content or contentless FTS index is emptied with 'delete-all' (right
      // only now that its content table is empty); any other virtual table with DELETE.
      const external = /\busing\s+fts5\s*\(/i.test(v.sql) && /\bcontent\s*=/i.test(v.sql);
      await sql.raw(external ? `INSERT INTO ${quote(v.name)} (${quote(v.name)}) VALUES ('delete-all')` : `DELETE FROM ${quote(v.name)}`).execute(trx);
    }
    if (hasSequence) await sql`DELETE FROM sqlite_sequence`.execute(trx);
    await sql`INSERT INTO audit_head (id, last_seq, last_hash) VALUES (1, 0, 'genesis')`.execute(trx);
  });
}
