import { expect } from 'vitest';
import { sql } from 'kysely';
import type { ServiceContext } from '../src/services/context.js';
import type { Database } from '../src/db/connect.js';
import { listTables, primaryKeys } from '../src/db/truncate.js';
import { createUser } from '../src/services/users.js';

let n = 0;

/** Creates a user through the service (as the operator) and returns its view. */
export async function makeUser(ctx: ServiceContext, fields: { email?: string; role?: string; superAdmin?: boolean; username?: string; displayName?: string } = {}) {
  n++;
  const out = await createUser({ ...ctx, dryRun: false }, {
    email: fields.email ?? `user${n}-${Date.now()}@example.com`,
    role: fields.role,
    superAdmin: fields.superAdmin,
    username: fields.username,
    displayName: fields.displayName,
    password: 'correct horse battery staple',
    emailVerified: true,
  });
  return out.result.user;
}

async function count(db: Database, table: 'audit_log' | 'users'): Promise<number> {
  const row = await db.kysely.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

export const auditCount = (db: Database) => count(db, 'audit_log');
export const userCount = (db: Database) => count(db, 'users');

export async function lastAudit(db: Database) {
  return db.kysely.selectFrom('audit_log').selectAll().orderBy('seq', 'desc').limit(1).executeTakeFirstOrThrow();
}

/** Every table's rows (listTables), ordered by primary key, one JSON line per row. */
export async function tableRows(db: Database): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  const keys = await primaryKeys(db);
  for (const table of await listTables(db)) {
    const key = keys[table] ?? [];
    // A table without a primary key: its rows in any stable order.
    const rows = key.length > 0
      ? await sql<Record<string, unknown>>`SELECT * FROM ${sql.table(table)} ORDER BY ${sql.join(key.map((c) => sql.ref(c)))}`.execute(db.kysely)
      : await sql<Record<string, unknown>>`SELECT * FROM ${sql.table(table)}`.execute(db.kysely);
    const lines = rows.rows.map((r) => JSON.stringify(r));
    out[table] = key.length > 0 ? lines : lines.sort();
  }
  return out;
}

const render = (tables: Record<string, string[]>) => Object.entries(tables).map(([t, rows]) => [`# ${t}`, ...rows].join('\n')).join('\n');

/** Every row of every table as one stable string (a failed toBe shows the rows that differ). */
export async function snapshot(db: Database): Promise<string> {
  return render(await tableRows(db));
}

/**
 * Runs something that must fail with `exitCode` and change nothing in any table but the
 * audit log: that grows by exactly one refused entry (the chain head following it), or
 * not at all (the head unchanged).
 */
export async function expectUnchanged(db: Database, run: () => Promise<unknown>, exitCode: number, audited: 'refused' | 'none'): Promise<void> {
  const { audit_log: logBefore = [], audit_head: headBefore = [], ...before } = await tableRows(db);
  await expect(run()).rejects.toMatchObject({ exitCode });
  const { audit_log: logAfter = [], audit_head: headAfter = [], ...after } = await tableRows(db);
  expect(render(after)).toBe(render(before));
  expect(logAfter.slice(0, logBefore.length)).toEqual(logBefore);
  const added = logAfter.slice(logBefore.length).map((l) => JSON.parse(l) as { seq: number; hash: string; outcome: string });
  if (audited === 'none') {
    expect(added).toEqual([]);
    expect(headAfter).toEqual(headBefore);
    return;
  }
  expect(added).toHaveLength(1);
  expect(added[0]!.outcome).toBe('refused');
  expect(headAfter.map((l) => JSON.parse(l) as { last_seq: number; last_hash: string })).toEqual([
    expect.objectContaining({ last_seq: added[0]!.seq, last_hash: added[0]!.hash }),
  ]);
}

/** The error a call fails with (the test fails if it succeeds). */
export async function rejection(p: Promise<unknown>): Promise<Error & { exitCode?: number }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { exitCode?: number };
  }
  throw new Error('expected the call to fail, and it succeeded');
}
