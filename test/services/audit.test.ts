import { beforeEach, describe, expect, it } from 'vitest';
import { DIALECTS, useTestDb } from '../setup.js';
import { makeUser } from '../helpers.js';
import { listAudit, verifyAuditLog } from '../../src/services/audit.js';
import { createUser, setUserRole, setUserStatus } from '../../src/services/users.js';
import type { ServiceContext } from '../../src/services/context.js';

describe.each(DIALECTS)('audit log on %s', (dialect) => {
  const t = useTestDb(dialect);
  let ctx: ServiceContext;
  beforeEach(() => {
    ctx = t.ctx({ actorIp: '198.51.100.7' });
  });

  async function seed(n: number) {
    for (let i = 0; i < n; i++) await makeUser(ctx, { email: `u${i}@example.com` });
  }

  it('records actor, actor IP, action, target, reason and before/after', async () => {
    const u = await makeUser(ctx, { email: 'a@example.com' });
    await setUserStatus({ ...ctx, reason: 'chargeback' }, u.email, 'suspend');
    const { items } = await listAudit(ctx, { limit: 1 });
    expect(items[0]).toMatchObject({
      seq: 2, actor: 'test@host', actor_ip: '198.51.100.7', action: 'user.suspend', target_type: 'user', target_id: u.public_id,
      target: 'a@example.com', outcome: 'ok', reason: 'chargeback', changes: { status: { before: 'active', after: 'suspended' } },
    });
    expect(items[0]!.at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  });

  it('verifies an intact chain', async () => {
    await seed(5);
    expect(await verifyAuditLog(ctx)).toMatchObject({ ok: true, entries: 5, head_seq: 5, first_bad_seq: null });
  });

  it('names the first edited entry', async () => {
    await seed(5);
    await t.db.kysely.updateTable('audit_log').set({ actor: 'someone-else' }).where('seq', '=', 3).execute();
    const r = await verifyAuditLog(ctx);
    expect(r).toMatchObject({ ok: false, first_bad_seq: 3 });
    expect(r.problem).toContain('edited');
    await expect(verifyAuditLog(ctx)).resolves.toMatchObject({ ok: false });
  });

  it('detects an entry whose changes were rewritten together with a recomputed-looking hash', async () => {
    await seed(3);
    await t.db.kysely.updateTable('audit_log').set({ changes: '{}', hash: 'f'.repeat(64) }).where('seq', '=', 2).execute();
    expect(await verifyAuditLog(ctx)).toMatchObject({ ok: false, first_bad_seq: 2 });
  });

  it('names a removed entry in the middle', async () => {
    await seed(5);
    await t.db.kysely.deleteFrom('audit_log').where('seq', '=', 2).execute();
    expect(await verifyAuditLog(ctx)).toMatchObject({ ok: false, first_bad_seq: 2 });
  });

  it('detects removal of the newest entries (the head remembers)', async () => {
    await seed(4);
    await t.db.kysely.deleteFrom('audit_log').where('seq', '>=', 3).execute();
    const r = await verifyAuditLog(ctx);
    expect(r).toMatchObject({ ok: false, first_bad_seq: 3 });
    expect(r.problem).toContain('removed');
  });

  it('filters by actor, action, target and time, and pages by keyset', async () => {
    const admin = await makeUser(ctx, { role: 'admin', email: 'boss@example.com' });
    const u = await makeUser(ctx, { email: 'x@example.com' });
    const asAdmin = t.ctx({ actor: { kind: 'user', ref: admin.email }, now: () => new Date('2030-01-01T00:00:00Z') });
    await setUserStatus(asAdmin, u.email, 'suspend');
    await setUserStatus(asAdmin, u.email, 'activate');
    expect((await listAudit(ctx, { actor: 'boss@example.com' })).items.map((e) => e.action)).toEqual(['user.activate', 'user.suspend']);
    expect((await listAudit(ctx, { actor: admin.public_id })).items).toHaveLength(2);
    expect((await listAudit(ctx, { action: 'user.create' })).items).toHaveLength(2);
    expect((await listAudit(ctx, { action: 'user' })).items).toHaveLength(4);
    expect((await listAudit(ctx, { target: u.public_id })).items).toHaveLength(3);
    expect((await listAudit(ctx, { target: 'x@example.com' })).items).toHaveLength(3);
    expect((await listAudit(ctx, { since: '2029-12-31' })).items).toHaveLength(2);
    expect((await listAudit(ctx, { until: '2029-12-31' })).items).toHaveLength(2);
    await expect(listAudit(ctx, { since: 'yesterday' })).rejects.toMatchObject({ exitCode: 2, field: 'since' });
    const p1 = await listAudit(ctx, { limit: 3 });
    expect(p1.items.map((e) => e.seq)).toEqual([4, 3, 2]);
    const p2 = await listAudit(ctx, { limit: 3, cursor: p1.next_cursor! });
    expect(p2.items.map((e) => e.seq)).toEqual([1]);
    expect(p2.next_cursor).toBeNull();
  });

  it('keeps the chain linear when two connections write at once', async () => {
    if (dialect === 'sqlite') return; // better-sqlite3 is synchronous: SQLite concurrency is tested across processes (test/e2e)
    const other = t.ctx({ db: await t.reconnect() } as never);
    const otherCtx: ServiceContext = { ...ctx, db: other.db };
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        createUser(i % 2 === 0 ? ctx : otherCtx, { email: `c${i}@example.com` }),
      ),
    );
    expect(await verifyAuditLog(ctx)).toMatchObject({ ok: true, entries: 20 });
  });
});

describe.each(DIALECTS)('verify while others write, on %s', (dialect) => {
  const t = useTestDb(dialect);

  it('never reports entries appended during the walk as a broken chain', async () => {
    const ctx = t.ctx();
    const writer: ServiceContext = { ...t.ctx(), db: await t.reconnect() };
    for (let i = 0; i < 30; i++) await makeUser(ctx, { email: `seed${i}@example.com` });
    let writing = true;
    const writes = (async () => {
      for (let i = 0; writing && i < 60; i++) await makeUser(writer, { email: `w${i}@example.com` });
    })();
    for (let i = 0; i < 15; i++) expect((await verifyAuditLog(ctx)).problem).toBeNull();
    writing = false;
    await writes;
    expect((await verifyAuditLog(ctx)).ok).toBe(true);
  });

  it('checks the chain up to the head it read first (what a walk sees when an append lands mid-way)', async () => {
    const ctx = t.ctx();
    for (let i = 0; i < 3; i++) await makeUser(ctx);
    const second = await t.db.kysely.selectFrom('audit_log').select(['seq', 'hash']).where('seq', '=', 2).executeTakeFirstOrThrow();
    // the head as it was before entry 3 committed
    await t.db.kysely.updateTable('audit_head').set({ last_seq: 2, last_hash: second.hash }).execute();
    expect(await verifyAuditLog(ctx)).toMatchObject({ ok: true, entries: 2, head_seq: 2 });
  });
});


describe.each(DIALECTS.filter((d) => d === 'postgres'))('concurrency on %s', (dialect) => {
  const t = useTestDb(dialect);

  it('demoting the last two admins at the same moment from two connections leaves exactly one admin (many times)', async () => {
    const ctxA = t.ctx();
    const ctxB: ServiceContext = { ...t.ctx(), db: await t.reconnect() };
    const x = await makeUser(ctxA, { role: 'admin', email: 'x@example.com' });
    const y = await makeUser(ctxA, { role: 'admin', email: 'y@example.com' });
    for (let round = 0; round < 25; round++) {
      const results = await Promise.allSettled([setUserRole(ctxA, x.email, 'user'), setUserRole(ctxB, y.email, 'user')]);
      const ok = results.filter((r) => r.status === 'fulfilled');
      const refused = results.filter((r) => r.status === 'rejected' && (r.reason as { exitCode?: number }).exitCode === 4);
      expect(ok).toHaveLength(1);
      expect(refused).toHaveLength(1);
      const admins = await t.db.kysely.selectFrom('users').select('email').where('role', '=', 'admin').where('status', '=', 'active').execute();
      expect(admins).toHaveLength(1);
      // restore both as admins for the next round
      const demoted = admins[0]!.email === x.email ? y : x;
      await setUserRole(ctxA, demoted.email, 'admin');
    }
    expect(await verifyAuditLog(ctxA)).toMatchObject({ ok: true });
  });
});
