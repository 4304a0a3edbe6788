/** Defects found trying the foundation as a new user would (issue 6), on every database. */
import { beforeEach, describe, expect, it } from 'vitest';
import { DIALECTS, useTestDb, type TestDb } from '../setup.js';
import { auditCount, expectUnchanged, makeUser, userCount } from '../helpers.js';
import {
  createUser, deleteUser, editUser, listUsers, previewDeleteUser, setUserRole, setUserStatus,
} from '../../src/services/users.js';
import { auditAnchor, assertVerified, listAudit, parseAnchor, verifyAuditLog } from '../../src/services/audit.js';
import type { ServiceContext } from '../../src/services/context.js';

describe.each(DIALECTS)('defects on %s', (dialect) => {
  const t = useTestDb(dialect);
  let ctx: ServiceContext;
  beforeEach(() => {
    ctx = t.ctx();
  });

  describe('activation and the last admin who can sign in', () => {
    it('a user without a password cannot become active through suspend then activate', async () => {
      const u = await createUser(ctx, { email: 'nopw@example.com' });
      expect(u.result.user.status).toBe('pending');
      await setUserStatus(ctx, 'nopw@example.com', 'suspend');
      const err = await setUserStatus(ctx, 'nopw@example.com', 'activate').catch((e: unknown) => e);
      expect(err).toMatchObject({ exitCode: 4 });
      expect(String((err as Error).message)).toMatch(/no way to sign in/);
      const row = await t.db.kysely.selectFrom('users').select('status').where('email', '=', 'nopw@example.com').executeTakeFirstOrThrow();
      expect(row.status).toBe('suspended');
    });

    it('an admin without a way to sign in does not count as another active admin', async () => {
      await makeUser(ctx, { email: 'root@example.com', role: 'admin', superAdmin: true });
      await createUser(ctx, { email: 'ghost@example.com', role: 'admin' }); // pending, no password
      // even if it was made active by hand (an old database, another tool)
      await t.db.kysely.updateTable('users').set({ status: 'active' }).where('email', '=', 'ghost@example.com').execute();
      for (const run of [
        () => deleteUser(ctx, 'root@example.com'),
        () => setUserStatus(ctx, 'root@example.com', 'suspend'),
        () => setUserRole(ctx, 'root@example.com', 'user'),
      ]) {
        await expectUnchanged(t.db, run, 4, 'refused');
      }
      // the one that cannot sign in may go
      expect((await deleteUser(ctx, 'ghost@example.com')).changed).toBe(true);
    });
  });

  describe('identifiers', () => {
    it.each([['\u200b'], ['\u200d'], ['\u2060'], ['\u200e'], ['\u202e'], ['\ufeff']])('refuses invisible or bidi character %j in an email or username', async (c) => {
      await expect(createUser(ctx, { email: `ro${c}ot@example.com` })).rejects.toMatchObject({ exitCode: 2, field: 'email' });
      await expect(createUser(ctx, { email: 'x@example.com', username: `ro${c}ot` })).rejects.toMatchObject({ exitCode: 2, field: 'username' });
      expect(await userCount(t.db)).toBe(0);
    });

    it('treats NFC and NFD forms, and Unicode and punycode domains, as the same address', async () => {
      const nfc = 'jos\u00e9@b\u00fccher.example';
      await createUser(ctx, { email: nfc });
      await expect(createUser(ctx, { email: nfc.normalize('NFD') })).rejects.toMatchObject({ exitCode: 4, field: 'email' });
      await expect(createUser(ctx, { email: 'jos\u00e9@xn--bcher-kva.example' })).rejects.toMatchObject({ exitCode: 4, field: 'email' });
      await expect(createUser(ctx, { email: 'JOS\u00c9@B\u00dcCHER.example' })).rejects.toMatchObject({ exitCode: 4, field: 'email' });
      const stored = await t.db.kysely.selectFrom('users').select(['email', 'email_normalized']).executeTakeFirstOrThrow();
      expect(stored.email).toBe(nfc);
      expect(stored.email_normalized).toBe('jos\u00e9@xn--bcher-kva.example');
    });

    it('refuses a numeric top-level domain and text that was invalid UTF-8', async () => {
      await expect(createUser(ctx, { email: 'x@123.456' })).rejects.toMatchObject({ exitCode: 2, field: 'email' });
      await expect(createUser(ctx, { email: 'x@example.com', displayName: 'bad \ufffd name' })).rejects.toMatchObject({ exitCode: 2 });
      await expect(createUser(ctx, { email: 'x@example.com', password: 'long enough password \ufffd' })).rejects.toMatchObject({ exitCode: 2, field: 'password' });
      await expect(createUser(ctx, { email: 'x@example.com', password: 'long enough password \ud800' })).rejects.toMatchObject({ exitCode: 2, field: 'password' });
      expect(await userCount(t.db)).toBe(0);
    });

    it('stores the canonical IANA zone name', async () => {
      expect((await createUser(ctx, { email: 'b@example.com', timezone: 'Europe/berlin' })).result.user.timezone).toBe('Europe/Berlin');
      expect((await createUser(ctx, { email: 'g@example.com', timezone: 'Etc/GMT+5' })).result.user.timezone).toBe('Etc/GMT+5');
    });
  });

  describe('limits', () => {
    it('refuses deeply nested preferences and a huge search needle with exit 2 naming the field', async () => {
      const deep = '['.repeat(100_000) + ']'.repeat(100_000);
      await expect(createUser(ctx, { email: 'p@example.com', preferences: `{"a":${deep}}` })).rejects.toMatchObject({ exitCode: 2, field: 'preferences' });
      await expect(listUsers(ctx, { search: 'x'.repeat(60_000) })).rejects.toMatchObject({ exitCode: 2, field: 'search' });
      await expect(listUsers(ctx, { search: '%'.repeat(30_000) })).rejects.toMatchObject({ exitCode: 2, field: 'search' });
    });

    it('measures preferences in bytes, and "" clears them', async () => {
      const big = JSON.stringify({ s: '\u00e9'.repeat(9000) }); // ~9k characters, ~18k bytes
      await expect(createUser(ctx, { email: 'p@example.com', preferences: big })).rejects.toMatchObject({ exitCode: 2, field: 'preferences' });
      await createUser(ctx, { email: 'p@example.com', preferences: '{"theme":"dark"}' });
      const out = await editUser(ctx, 'p@example.com', { preferences: '' });
      expect(out.result.preferences).toEqual({});
      expect(out.changes.preferences).toEqual({ before: '{"theme":"dark"}', after: '{}' });
    });

    it('refuses an empty or hand-made cursor, for users and audit alike', async () => {
      await makeUser(ctx);
      for (const cursor of ['', '0x10', '16', 'e30']) {
        await expect(listUsers(ctx, { cursor })).rejects.toMatchObject({ exitCode: 2, field: 'cursor' });
        await expect(listAudit(ctx, { cursor })).rejects.toMatchObject({ exitCode: 2, field: 'cursor' });
      }
      await expect(listAudit(ctx, { limit: 0 })).rejects.toMatchObject({ exitCode: 2, field: 'limit' });
      await expect(listAudit(ctx, { limit: 1001 })).rejects.toMatchObject({ exitCode: 2, field: 'limit' });
      // a cursor of one listing is refused by another
      await makeUser(ctx);
      const page = await listUsers(ctx, { limit: 1 });
      await expect(listAudit(ctx, { cursor: page.next_cursor! })).rejects.toMatchObject({ exitCode: 2 });
      const audit = await listAudit(ctx, { limit: 1 });
      expect((await listAudit(ctx, { limit: 1, cursor: audit.next_cursor! })).items).toHaveLength(1);
    });
  });

  describe('audit', () => {
    it('records super_admin as a boolean in every entry', async () => {
      await makeUser(ctx, { email: 'root@example.com', role: 'admin', superAdmin: true });
      await makeUser(ctx, { email: 'two@example.com', role: 'admin' });
      const out = await setUserRole(ctx, 'two@example.com', 'admin', true);
      expect(out.changes.super_admin).toEqual({ before: false, after: true });
      const created = await t.db.kysely.selectFrom('audit_log').select('changes').where('action', '=', 'user.create').executeTakeFirstOrThrow();
      expect(JSON.parse(created.changes).super_admin).toEqual({ after: true });
    });

    it('a refused delete in a dry run writes nothing at all', async () => {
      await makeUser(ctx, { email: 'root@example.com', role: 'admin', superAdmin: true });
      const before = await auditCount(t.db);
      await expect(previewDeleteUser({ ...ctx, dryRun: true }, 'root@example.com')).rejects.toMatchObject({ exitCode: 4 });
      expect(await auditCount(t.db)).toBe(before);
      // outside a dry run the preview's refusal is audited
      await expect(previewDeleteUser(ctx, 'root@example.com')).rejects.toMatchObject({ exitCode: 4 });
      expect(await auditCount(t.db)).toBe(before + 1);
    });

    it('anchors: a rewritten history or a cut-short log fails verify --anchor with exit 4', async () => {
      for (let i = 0; i < 4; i++) await makeUser(ctx);
      const anchor = await auditAnchor(ctx);
      expect(anchor).toMatchObject({ seq: 4, anchor: `4:${anchor.hash}` });
      const a = parseAnchor(anchor.anchor);
      expect((await verifyAuditLog(ctx, { anchors: [a] })).ok).toBe(true);

      // Rewrite entry 2 and recompute every later hash, as someone with write access could.
      await t.db.kysely.updateTable('audit_log').set({ actor: 'nobody' }).where('seq', '=', 2).execute();
      await rechain(t);
      const plain = await verifyAuditLog(ctx);
      expect(plain.ok).toBe(true); // the chain alone cannot tell
      const anchored = await verifyAuditLog(ctx, { anchors: [a] });
      expect(anchored).toMatchObject({ ok: false, first_bad_seq: 4 });
      expect(() => assertVerified(anchored)).toThrow(expect.objectContaining({ exitCode: 4 }));

      // Cut the log short (drop the last entries and move the head back): the anchor is beyond the end.
      await t.db.kysely.deleteFrom('audit_log').where('seq', '>=', 3).execute();
      await rechain(t);
      const cut = await verifyAuditLog(ctx, { anchors: [a] });
      expect(cut).toMatchObject({ ok: false, first_bad_seq: 4 });
      expect(cut.problem).toMatch(/ends at entry 2/);

      expect(() => parseAnchor('4:nothex')).toThrow(expect.objectContaining({ exitCode: 2 }));
    });

    it('a missing chain head is exit 4, not a crash', async () => {
      await makeUser(ctx);
      await t.db.kysely.deleteFrom('audit_head').execute();
      const r = await verifyAuditLog(ctx);
      expect(r.ok).toBe(false);
      expect(r.problem).toMatch(/audit_head/);
      expect(() => assertVerified(r)).toThrow(expect.objectContaining({ exitCode: 4 }));
      await expect(makeUser(ctx)).rejects.toMatchObject({ exitCode: 4 });
    });
  });
});

/** Recomputes every hash and the head, as a forger would. */
async function rechain(t: TestDb): Promise<void> {
  const { createHash } = await import('node:crypto');
  const rows = await t.db.kysely.selectFrom('audit_log').selectAll().orderBy('seq').execute();
  let prev = 'genesis';
  for (const e of rows) {
    const canonical = JSON.stringify([Number(e.seq), e.at, e.actor, e.actor_id, e.actor_ip, e.action, e.target_type, e.target_id, e.target, e.outcome, e.reason, e.changes]);
    const hash = createHash('sha256').update(prev).update('\n').update(canonical).digest('hex');
    await t.db.kysely.updateTable('audit_log').set({ prev_hash: prev, hash }).where('seq', '=', e.seq).execute();
    prev = hash;
  }
  await t.db.kysely.updateTable('audit_head').set({ last_seq: rows.length === 0 ? 0 : Number(rows[rows.length - 1]!.seq), last_hash: prev }).where('id', '=', 1).execute();
}
