/** truncateAll: what lets a test file share one database, reset between tests. */
import { describe, expect, it } from 'vitest';
import { DIALECTS, useTestDb } from '../setup.js';
import { makeUser, snapshot } from '../helpers.js';
import { listTables, truncateAll } from '../../src/db/truncate.js';
import { listUsers } from '../../src/services/users.js';
import { verifyAuditLog } from '../../src/services/audit.js';

describe.each(DIALECTS)('truncateAll on %s', (dialect) => {
  const t = useTestDb(dialect);

  it('finds every application table from the catalog', async () => {
    expect(await listTables(t.db)).toEqual(['audit_head', 'audit_log', 'sessions', 'users']);
  });

  it('empties every table, restarts ids and the chain, and leaves search working', async () => {
    const ctx = t.ctx();
    const empty = await snapshot(t.db);
    const u = await makeUser(ctx, { email: 'first@example.com', displayName: 'Searchable Person' });
    await t.db.kysely.insertInto('sessions').values({ token_hash: 'h', user_id: u.id, created_at: 'x', expires_at: 'y', impersonator_id: null, ip: null, user_agent: null, last_seen_at: null, revoked_at: null }).execute();
    await truncateAll(t.db);
    expect(await snapshot(t.db)).toBe(empty);
    const again = await makeUser(ctx, { email: 'again@example.com', displayName: 'Another Person' });
    expect(again.id).toBe(1);
    expect((await listUsers(ctx, { search: 'searchable' })).items).toEqual([]);
    expect((await listUsers(ctx, { search: 'another' })).items.map((x) => x.email)).toEqual(['again@example.com']);
    expect(await verifyAuditLog(ctx)).toMatchObject({ ok: true, entries: 1 });
  });
});
