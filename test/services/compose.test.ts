/** Services compose inside one unit of work, on every database. */
import { beforeEach, describe, expect, it } from 'vitest';
import { DIALECTS, useTestDb } from '../setup.js';
import { auditCount, makeUser, userCount } from '../helpers.js';
import { createUser, createUserTx, listUsers, prepareNewUser, setUserStatus, setUserStatusTx } from '../../src/services/users.js';
import { initialize } from '../../src/services/setup.js';
import { mutate, reader } from '../../src/services/unit-of-work.js';
import { verifyAuditLog } from '../../src/services/audit.js';
import type { ServiceContext } from '../../src/services/context.js';

/** Fails the test instead of hanging it. */
function within<T>(ms: number, p: Promise<T>): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`still waiting after ${ms} ms (deadlock?)`)), ms))]);
}

describe.each(DIALECTS)('services compose on %s', (dialect) => {
  const t = useTestDb(dialect);
  let ctx: ServiceContext;
  beforeEach(() => {
    ctx = t.ctx();
  });

  it('a service called inside another joins its transaction: one commit, one entry each, the chain intact', async () => {
    await makeUser(ctx, { email: 'root@example.com', role: 'admin', superAdmin: true });
    const before = await auditCount(t.db);
    const out = await within(10_000, mutate(ctx, 'test.onboard', async () => {
      // the public form, called from inside: it must join, not wait for the lock its caller holds
      const a = await createUser(ctx, { email: 'a@example.com', password: 'correct horse battery staple' });
      const b = await createUser(ctx, { email: 'b@example.com', password: 'correct horse battery staple' });
      await setUserStatus(ctx, b.result.user.public_id, 'suspend');
      // reads inside the unit see its own uncommitted writes
      const seen = await reader(ctx).selectFrom('users').select('email').where('email', 'in', ['a@example.com', 'b@example.com']).execute();
      return { a: a.result.user.email, seen: seen.length };
    }));
    expect(out.result).toEqual({ a: 'a@example.com', seen: 2 });
    expect(await userCount(t.db)).toBe(3);
    const entries = await t.db.kysely.selectFrom('audit_log').select(['seq', 'action']).where('seq', '>', before).orderBy('seq').execute();
    expect(entries.map((e) => e.action)).toEqual(['user.create', 'user.create', 'user.suspend']);
    expect((await verifyAuditLog(ctx)).ok).toBe(true);
  });

  it('the Tx forms compose explicitly, and a refusal in a later step rolls back the earlier ones', async () => {
    const admin = await makeUser(ctx, { email: 'root@example.com', role: 'admin', superAdmin: true });
    const nu = await prepareNewUser(ctx, { email: 'c@example.com', password: 'correct horse battery staple' });
    const usersBefore = await userCount(t.db);
    const auditBefore = await auditCount(t.db);
    const err = await mutate(ctx, 'test.batch', async (uow) => {
      await createUserTx(uow, nu);
      await setUserStatusTx(uow, admin.public_id, 'suspend'); // the last admin: refused
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ exitCode: 4 });
    expect(await userCount(t.db)).toBe(usersBefore);
    // only the refusal entry, naming the step that refused
    expect(await auditCount(t.db)).toBe(auditBefore + 1);
    const last = await t.db.kysely.selectFrom('audit_log').selectAll().orderBy('seq', 'desc').limit(1).executeTakeFirstOrThrow();
    expect(last).toMatchObject({ outcome: 'refused', action: 'test.batch', target: 'root@example.com' });
    expect((await verifyAuditLog(ctx)).ok).toBe(true);
  });

  it('using ctx.db.kysely inside a unit of work fails at once instead of hanging', async () => {
    const err = await within(5_000, mutate(ctx, 'test.stray', async () => ctx.db.kysely.selectFrom('users').selectAll().execute()).catch((e: unknown) => e));
    expect(String(err)).toMatch(/inside a unit of work/);
    expect(await auditCount(t.db)).toBe(0);
  });

  it('a dry run rolls back every step of the unit', async () => {
    const dry = { ...ctx, dryRun: true };
    const out = await mutate(dry, 'test.dry', async () => {
      await createUser(dry, { email: 'd1@example.com' });
      await createUser(dry, { email: 'd2@example.com' });
      return 'done';
    });
    expect(out.dryRun).toBe(true);
    expect(await userCount(t.db)).toBe(0);
    expect(await auditCount(t.db)).toBe(0);
  });
});

describe.each(DIALECTS)('units of work, edge cases, on %s', (dialect) => {
  const t = useTestDb(dialect);

  it('a service called from a beforeCommit hook joins the unit instead of hanging', async () => {
    const ctx = t.ctx();
    let seen = -1;
    const hooked = { ...ctx, beforeCommit: async () => { seen = (await listUsers(ctx, {})).items.length; } };
    await within(10_000, createUser(hooked, { email: 'hook@example.com' }));
    expect(seen).toBe(1);
  });

  it('a nested mutation acting as someone else fails at once', async () => {
    const ctx = t.ctx();
    await makeUser(ctx, { email: 'root@example.com', role: 'admin', superAdmin: true });
    const other = t.ctx({ actor: { kind: 'user', ref: 'root@example.com' } });
    const err = await within(10_000, mutate(ctx, 'test.nested', async () => createUser(other, { email: 'n@example.com' })).catch((e: unknown) => e));
    expect(String(err)).toMatch(/nested mutation must act as the outer one/);
    expect(await userCount(t.db)).toBe(1);
  });

  it('a refused read in a dry run writes no audit entry', async () => {
    const ctx = t.ctx();
    await makeUser(ctx, { email: 'plain@example.com' });
    const before = await auditCount(t.db);
    const asPlain = t.ctx({ actor: { kind: 'user', ref: 'plain@example.com' }, dryRun: true });
    await expect(listUsers(asPlain, {})).rejects.toMatchObject({ exitCode: 4 });
    await expect(verifyAuditLog(asPlain)).rejects.toMatchObject({ exitCode: 4 });
    expect(await auditCount(t.db)).toBe(before);
  });

  it('initialize: a plain user may not migrate; the first super admin needs a password', async () => {
    const ctx = t.ctx();
    await makeUser(ctx, { email: 'plain@example.com' });
    await expect(initialize(t.ctx({ actor: { kind: 'user', ref: 'plain@example.com' } }))).rejects.toMatchObject({ exitCode: 4 });
    await expect(initialize(ctx, { email: 'root@example.com' })).rejects.toMatchObject({ exitCode: 2, field: 'password' });
    expect(await userCount(t.db)).toBe(1);
  });
});
