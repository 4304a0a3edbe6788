/**
 * Many rows into one table, as fast as each engine takes them (a bulk import's creates,
 * its audit entries). SQLite: multi-row INSERT … VALUES, as many rows a statement as its
 * parameter limit allows. PostgreSQL: one INSERT … SELECT FROM unnest() per chunk, a typed
 * array a column: a handful of parameters instead of one a cell, which the server parses
 * far faster than thousands of bind values (COPY would be faster still, but needs
 * another dependency, pg-copy-streams, for a gain the rest of the import would not show).
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import type { DB } from './types.js';
import type { DialectName } from './connect.js';

export type ColumnType = 'text' | 'int';

/** SQLite's default SQLITE_MAX_VARIABLE_NUMBER (since 3.32) is 32,766. */
const SQLITE_MAX_PARAMS = 32_000;
/** Rows an unnest() statement carries: big enough to amortise, small enough to stay a short statement. */
const PG_ROWS = 5_000;

export async function insertMany<T extends keyof DB & string>(
  trx: Transaction<DB> | Kysely<DB>,
  dialect: DialectName,
  table: T,
  columns: Readonly<Record<string, ColumnType>>,
  rows: readonly Record<string, unknown>[],
): Promise<void> {
  if (rows.length === 0) return;
  const names = Object.keys(columns);
  if (dialect === 'sqlite') {
    const per = Math.max(1, Math.floor(SQLITE_MAX_PARAMS / names.length));
    for (let i = 0; i < rows.length; i += per) {
      const part = rows.slice(i, i + per).map((r) => Object.fromEntries(names.map((n) => [n, r[n] ?? null])));
      await trx.insertInto(table).values(part as never).execute();
    }
    return;
  }
  for (let i = 0; i < rows.length; i += PG_ROWS) {
    const part = rows.slice(i, i + PG_ROWS);
    const arrays = names.map((n) => {
      const values = part.map((r) => (r[n] === undefined ? null : r[n]));
      return sql`${values}::${sql.raw(columns[n] === 'int' ? 'bigint' : 'text')}[]`;
    });
    await sql`INSERT INTO ${sql.table(table)} (${sql.join(names.map((n) => sql.ref(n)))}) SELECT * FROM unnest(${sql.join(arrays)})`.execute(trx);
  }
}
