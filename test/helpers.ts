import type { ServiceContext } from '../src/services/context.js';
import type { Database } from '../src/db/connect.js';
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

export async function auditCount(db: Database): Promise<number> {
  const row = await db.kysely.selectFrom('audit_log').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function lastAudit(db: Database) {
  return db.kysely.selectFrom('audit_log').selectAll().orderBy('seq', 'desc').limit(1).executeTakeFirstOrThrow();
}

export async function userCount(db: Database): Promise<number> {
  const row = await db.kysely.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

/** A snapshot of all user rows, to prove a refused action changed nothing. */
export async function snapshot(db: Database): Promise<string> {
  const rows = await db.kysely.selectFrom('users').selectAll().orderBy('id').execute();
  return JSON.stringify(rows);
}
