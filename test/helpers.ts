import { expect } from 'vitest';
import { sql } from 'kysely';
import type { ServiceContext } from '../src/services/context.js';
import type { Database } from '../src/db/connect.js';
import { listTables } from '../src/db/truncate.js';
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

/** Every row of every table (or of all but `except`), in a stable order: proof that nothing changed. */
export async function snapshot(db: Database, except: string[] = []): Promise<string> {
  const out: Record<string, unknown[]> = {};
  for (const table of await listTables(db)) {
    if (except.includes(table)) continue;
    const rows = await sql<Record<string, unknown>>`SELECT * FROM ${sql.table(table)}`.execute(db.kysely);
    out[table] = rows.rows.map((r) => JSON.stringify(r)).sort();
  }
  return JSON.stringify(out);
}

/**
 * Runs something that must fail with `exitCode` and change nothing in any table; the
 * audit log grows by exactly one refused entry, or by none.
 */
export async function expectUnchanged(db: Database, run: () => Promise<unknown>, exitCode: number, audited: 'refused' | 'none'): Promise<void> {
  const before = await snapshot(db, ['audit_log', 'audit_head']);
  const auditsBefore = await auditCount(db);
  await expect(run()).rejects.toMatchObject({ exitCode });
  expect(await snapshot(db, ['audit_log', 'audit_head'])).toBe(before);
  if (audited === 'refused') {
    expect(await auditCount(db)).toBe(auditsBefore + 1);
    expect((await lastAudit(db)).outcome).toBe('refused');
  } else {
    expect(await auditCount(db)).toBe(auditsBefore);
  }
}
