/**
 * Empties a database without dropping its schema: for tests (one database per test
 * file, reset between tests) and nothing else. The tables are read from the catalog,
 * so a table added by a later schema version is covered without editing this file.
 */
import { sql } from 'kysely';
import type { Database } from './connect.js';

/** The application's tables (not schema_migrations, not SQLite's or FTS5's own). */
export async function listTables(db: Database): Promise<string[]> {
  const rows =
    db.dialect === 'postgres'
      ? await sql<{ name: string }>`SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename`.execute(db.kysely)
      : await sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND sql NOT LIKE 'CREATE VIRTUAL TABLE%' ORDER BY name`.execute(db.kysely);
  const virtual = db.dialect === 'sqlite'
    ? (await sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%'`.execute(db.kysely)).rows.map((r) => r.name)
    : [];
  // FTS5 keeps its index in shadow tables named after the virtual table.
  return rows.rows.map((r) => r.name).filter((n) => n !== 'schema_migrations' && !virtual.some((v) => n.startsWith(`${v}_`)));
}

/** Empties every application table, restarts ids, and puts the audit chain back at its start. */
export async function truncateAll(db: Database): Promise<void> {
  const tables = await listTables(db);
  if (db.dialect === 'postgres') {
    // DELETE, not TRUNCATE: on a few small tables it is several times faster (TRUNCATE
    // swaps files); foreign keys are checked at the end of the statement list.
    const seqs = await sql<{ seq: string }>`SELECT pg_get_serial_sequence(quote_ident(c.table_name), c.column_name) AS seq
      FROM information_schema.columns c WHERE c.table_schema = current_schema() AND (c.is_identity = 'YES' OR c.column_default LIKE 'nextval%')`.execute(db.kysely);
    await db.kysely.transaction().execute(async (trx) => {
      await sql.raw(`SET CONSTRAINTS ALL DEFERRED`).execute(trx);
      await sql.raw(tables.map((t) => `DELETE FROM "${t}"`).join('; ')).execute(trx);
      for (const { seq } of seqs.rows) if (seq) await sql`SELECT setval(${seq}, 1, false)`.execute(trx);
      await sql`INSERT INTO audit_head (id, last_seq, last_hash) VALUES (1, 0, 'genesis')`.execute(trx);
    });
    return;
  }
  await db.kysely.transaction().execute(async (trx) => {
    await sql`PRAGMA defer_foreign_keys = ON`.execute(trx);
    for (const t of tables) await sql.raw(`DELETE FROM "${t}"`).execute(trx);
    const fts = await sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%'`.execute(trx);
    for (const { name } of fts.rows) await sql.raw(`INSERT INTO "${name}" ("${name}") VALUES ('delete-all')`).execute(trx);
    await sql`DELETE FROM sqlite_sequence`.execute(trx);
    await sql`INSERT INTO audit_head (id, last_seq, last_hash) VALUES (1, 0, 'genesis')`.execute(trx);
  });
}
