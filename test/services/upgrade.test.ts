/** A version-1 database (the schema before the policy issue) upgrades with its users and audit chain intact. */
import { describe, expect, it, afterEach } from 'vitest';
import { DIALECTS, freshDb, type TestDb } from '../setup.js';
import { migrate, schemaStatus, schemaVersions } from '../../src/db/migrate.js';
import { mutate } from '../../src/services/unit-of-work.js';
import { listUsers } from '../../src/services/users.js';
import { verifyAuditLog } from '../../src/services/audit.js';
import { showPolicy, setPolicy } from '../../src/services/policy.js';

describe.each(DIALECTS)('upgrading a version-1 database on %s', (dialect) => {
  let t: TestDb | undefined;
  afterEach(async () => t?.cleanup());

  it('keeps users and the audit chain, and gains the policy', async () => {
    t = await freshDb(dialect, { migrate: false });
    const ctx = t.ctx();
    await migrate(t.db, undefined, schemaVersions().slice(0, 1));
    expect((await schemaStatus(t.db)).current).toBe(1);
    // what version 1 held: users and their audit entries (written without the policy, which v1 lacks)
    for (let i = 0; i < 20; i++) {
      await mutate(ctx, 'user.create', async (uow) => {
        const now = new Date().toISOString();
        const row = await uow.trx.insertInto('users').values({
          public_id: `usr_v1user${String(i).padStart(8, 'a')}`, username: null, username_normalized: null, email: `v1-${i}@example.com`,
          email_normalized: `v1-${i}@example.com`, display_name: `V1 ${i}`, phone: null, address: null, timezone: null, language: null,
          role: i === 0 ? 'admin' : 'user', super_admin: i === 0 ? 1 : 0, status: 'active', status_reason: null, email_verified_at: null,
          password_hash: '$2b$04$abcdefghijklmnopqrstuuJ0ZbNq1H0xSgD3Ikq2s1l3pxYdWmS2', password_changed_at: now, two_factor_secret: null,
          two_factor_enabled_at: null, locked_until: null, last_login_at: null, last_login_ip: null, created_at: now, updated_at: now,
          search_text: `v1-${i}@example.com\nv1 ${i}`,
        }).returningAll().executeTakeFirstOrThrow();
        await uow.record('user.create', { type: 'user', id: row.public_id, label: row.email }, { email: { after: row.email } });
      });
    }
    const before = await verifyAuditLog(ctx);
    expect(before).toMatchObject({ ok: true, entries: 20 });

    expect(await migrate(t.db)).toEqual(schemaVersions().slice(1).map((v) => v.version));
    expect(await verifyAuditLog(ctx)).toMatchObject({ ok: true, entries: 20 });
    const users = await listUsers(ctx, { limit: 100 });
    expect(users.items).toHaveLength(20);
    // sign-in now wants a verified email (version 6): the accounts that existed count as verified
    expect(users.items.every((u) => u.email_verified_at === u.created_at)).toBe(true);
    expect((await listUsers(ctx, { search: 'v1 19' })).items.map((u) => u.email)).toEqual(['v1-19@example.com']);
    expect((await showPolicy(ctx)).every((s) => !s.changed)).toBe(true);
    await setPolicy(ctx, [{ key: 'password.min_length', value: '14', from: 'text' }]);
    expect(await verifyAuditLog(ctx)).toMatchObject({ ok: true, entries: 21 });
  });
});
