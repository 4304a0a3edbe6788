import { beforeEach, describe, expect, it } from 'vitest';
import { DIALECTS, useTestDb } from '../setup.js';
import { auditCount, expectUnchanged as expectUnchangedIn, lastAudit, makeUser, userCount } from '../helpers.js';
import {
  createUser, deleteUser, editUser, iterateUsers, listUsers, previewDeleteUser, setUserRole, setUserStatus, showUser,
} from '../../src/services/users.js';
import { verifyPassword } from '../../src/security/passwords.js';
import { hashToken, newToken } from '../../src/security/tokens.js';
import type { ServiceContext } from '../../src/services/context.js';

describe.each(DIALECTS)('users on %s', (dialect) => {
  const t = useTestDb(dialect);
  let ctx: ServiceContext;
  beforeEach(() => {
    ctx = t.ctx();
  });

  /** test/helpers.ts expectUnchanged on this file's database. */
  const expectUnchanged = (run: () => Promise<unknown>, exitCode: number, audited: 'refused' | 'none') => expectUnchangedIn(t.db, run, exitCode, audited);

  async function addSession(userId: number) {
    await t.db.kysely
      .insertInto('sessions')
      .values({ token_hash: hashToken(newToken()), user_id: userId, created_at: new Date().toISOString(), expires_at: '2999-01-01T00:00:00.000Z', impersonator_id: null, ip: '192.0.2.1', user_agent: 'test', last_seen_at: null, revoked_at: null })
      .execute();
  }

  describe('create', () => {
    it('stores a bcrypt hash, returns a generated password once, and audits without secrets', async () => {
      const out = await createUser(ctx, { email: 'Alice@Example.com', displayName: 'Alice', generatePassword: true, timezone: 'Europe/Berlin' });
      const pw = out.result.generated_password!;
      expect(pw).toMatch(/^.{20}$/);
      expect(out.result.user.public_id).toMatch(/^usr_[a-z2-7]{16}$/);
      expect(out.result.user.status).toBe('active');
      const row = await t.db.kysely.selectFrom('users').selectAll().where('id', '=', out.result.user.id).executeTakeFirstOrThrow();
      expect(row.password_hash).toMatch(/^\$2[aby]\$04\$/);
      expect(row.password_hash).not.toContain(pw);
      expect(await verifyPassword(pw, row.password_hash!)).toBe(true);
      const entry = await lastAudit(t.db);
      expect(entry.action).toBe('user.create');
      expect(entry.outcome).toBe('ok');
      expect(entry.changes).not.toContain(pw);
      expect(entry.changes).not.toContain(row.password_hash!);
      expect(JSON.parse(entry.changes).password).toEqual({ after: 'generated' });
    });

    it('makes a user without a password pending', async () => {
      const out = await createUser(ctx, { email: 'nopw@example.com' });
      expect(out.result.user.status).toBe('pending');
      expect(out.result.user.has_password).toBe(false);
      expect(out.result.generated_password).toBeUndefined();
    });

    it('refuses a duplicate email in any case with exit 4, audited as refused', async () => {
      await makeUser(ctx, { email: 'bob@example.com' });
      await expectUnchanged(() => createUser(ctx, { email: 'BOB@Example.COM' }), 4, 'refused');
      expect(await userCount(t.db)).toBe(1);
    });

    it('refuses a duplicate username in any case', async () => {
      await makeUser(ctx, { username: 'bob' });
      await expectUnchanged(() => createUser(ctx, { email: 'other@example.com', username: 'BOB' }), 4, 'refused');
    });

    it.each([
      ['email', { email: 'not-an-email' }],
      ['email', { email: 'a@b' }],
      ['email', { email: 'evil\u001b[2J@example.com' }],
      ['role', { email: 'x@example.com', role: 'root' }],
      ['timezone', { email: 'x@example.com', timezone: 'EST' }],
      ['timezone', { email: 'x@example.com', timezone: '+02:00' }],
      ['timezone', { email: 'x@example.com', timezone: 'Mars/Olympus_Mons' }],
      ['language', { email: 'x@example.com', language: 'english please' }],
      ['display_name', { email: 'x@example.com', displayName: 'Eve\u001b]0;pwned\u0007' }],
      ['preferences', { email: 'x@example.com', preferences: '[1,2]' }],
      ['password', { email: 'x@example.com', password: 'short' }],
      ['password', { email: 'x@example.com', password: 'x'.repeat(73) }],
    ])('refuses invalid %s with exit 2, naming it, and changes nothing', async (field, input) => {
      let err: unknown;
      await expectUnchanged(() => createUser(ctx, input).catch((e: unknown) => { err = e; throw e; }), 2, 'none');
      expect(err).toMatchObject({ exitCode: 2, field });
      expect(String((err as Error).message)).toContain(field);
      expect(await auditCount(t.db)).toBe(0);
    });

    it('accepts IANA zones and aliases', async () => {
      for (const tz of ['UTC', 'America/Argentina/Buenos_Aires', 'Asia/Calcutta', 'Europe/Kyiv']) {
        const u = await createUser(ctx, { email: `${tz.replace(/\W/g, '')}@example.com`, timezone: tz });
        expect(u.result.user.timezone).toBe(tz);
      }
    });

    it('creates nothing on a dry run but reports the change', async () => {
      const out = await createUser({ ...ctx, dryRun: true }, { email: 'dry@example.com', role: 'admin' });
      expect(out.dryRun).toBe(true);
      expect(out.changes.email).toEqual({ after: 'dry@example.com' });
      expect(await userCount(t.db)).toBe(0);
      expect(await auditCount(t.db)).toBe(0);
    });
  });

  describe('lookup', () => {
    it('resolves a user by id, public id, email in any case and username in any case', async () => {
      const u = await makeUser(ctx, { email: 'Carol@Example.com', username: 'carol.w' });
      for (const ref of [String(u.id), u.public_id, 'carol@EXAMPLE.com', 'CAROL.W']) {
        expect((await showUser(ctx, ref)).id).toBe(u.id);
      }
      await expect(showUser(ctx, 'nobody@example.com')).rejects.toMatchObject({ exitCode: 3 });
      await expect(showUser(ctx, '999999')).rejects.toMatchObject({ exitCode: 3 });
    });
  });

  describe('last admin protection', () => {
    it('refuses to demote, suspend, deactivate or delete the only admin (also the last super admin)', async () => {
      const root = await makeUser(ctx, { role: 'admin', superAdmin: true });
      await expectUnchanged(() => setUserRole(ctx, root.email, 'user'), 4, 'refused');
      await expectUnchanged(() => setUserRole(ctx, root.email, 'admin', false), 4, 'refused');
      await expectUnchanged(() => setUserStatus(ctx, root.email, 'suspend'), 4, 'refused');
      await expectUnchanged(() => setUserStatus(ctx, root.email, 'deactivate'), 4, 'refused');
      await expectUnchanged(() => deleteUser(ctx, root.email), 4, 'refused');
      await expectUnchanged(() => previewDeleteUser(ctx, root.email), 4, 'refused');
    });

    it('refuses to remove the last active admin when other admins are not active', async () => {
      const a = await makeUser(ctx, { role: 'admin' });
      const b = await makeUser(ctx, { role: 'admin' });
      await setUserStatus(ctx, b.email, 'suspend');
      const err = await setUserStatus(ctx, a.email, 'deactivate').catch((e: Error) => e);
      expect(err).toMatchObject({ exitCode: 4 });
      expect((err as Error).message).toContain('last active admin');
      // with b active again, a may go
      await setUserStatus(ctx, b.email, 'activate');
      const out = await setUserStatus(ctx, a.email, 'deactivate');
      expect(out.result.status).toBe('deactivated');
    });

    it('keeps the last super admin even when another admin is active', async () => {
      const root = await makeUser(ctx, { role: 'admin', superAdmin: true });
      await makeUser(ctx, { role: 'admin' });
      await expectUnchanged(() => setUserRole(ctx, root.email, 'admin', false), 4, 'refused');
      await expectUnchanged(() => setUserRole(ctx, root.email, 'reseller'), 4, 'refused');
      await expectUnchanged(() => setUserStatus(ctx, root.email, 'suspend'), 4, 'refused');
      await expectUnchanged(() => deleteUser(ctx, root.email), 4, 'refused');
      // a second super admin lifts the protection
      const second = await makeUser(ctx, { role: 'admin', superAdmin: true });
      expect((await setUserRole(ctx, root.email, 'user')).result.role).toBe('user');
      expect(second.super_admin).toBe(true);
    });
  });

  describe('permissions', () => {
    it('lets only super admins change super admins', async () => {
      const root = await makeUser(ctx, { role: 'admin', superAdmin: true });
      await makeUser(ctx, { role: 'admin', superAdmin: true });
      const admin = await makeUser(ctx, { role: 'admin' });
      const plain = await makeUser(ctx);
      const asAdmin = t.ctx({ actor: { kind: 'user', ref: admin.email } });
      await expectUnchanged(() => setUserStatus(asAdmin, root.email, 'suspend'), 4, 'refused');
      await expectUnchanged(() => editUser(asAdmin, root.email, { displayName: 'Hacked' }), 4, 'refused');
      await expectUnchanged(() => setUserRole(asAdmin, plain.email, 'admin', true), 4, 'refused');
      await expectUnchanged(() => createUser(asAdmin, { email: 'new@example.com', role: 'admin', superAdmin: true }), 4, 'refused');
      const refusal = await lastAudit(t.db);
      expect(refusal.actor).toBe(admin.email);
      expect(refusal.actor_id).toBe(admin.public_id);
      // an admin may manage ordinary users
      expect((await setUserStatus(asAdmin, plain.email, 'suspend')).result.status).toBe('suspended');
      // a super admin may change a super admin
      const asRoot = t.ctx({ actor: { kind: 'user', ref: root.public_id } });
      expect((await editUser(asRoot, root.email, { displayName: 'Root' })).result.display_name).toBe('Root');
    });

    it.each(['reseller', 'user'])('refuses user management to a %s actor (exit 4, audited as refused)', async (role) => {
      const target = await makeUser(ctx);
      const actor = await makeUser(ctx, { role });
      const as = t.ctx({ actor: { kind: 'user', ref: actor.email } });
      await expectUnchanged(() => createUser(as, { email: 'x@example.com' }), 4, 'refused');
      await expectUnchanged(() => setUserStatus(as, target.email, 'suspend'), 4, 'refused');
      await expectUnchanged(() => setUserRole(as, actor.email, 'admin'), 4, 'refused');
      await expectUnchanged(() => deleteUser(as, target.email), 4, 'refused');
      await expectUnchanged(() => listUsers(as), 4, 'refused');
      await expectUnchanged(() => showUser(as, target.email), 4, 'refused');
      const entry = await lastAudit(t.db);
      expect(entry).toMatchObject({ actor: actor.email, outcome: 'refused', action: 'user.show' });
    });

    it('refuses an actor that is suspended, and an unknown actor', async () => {
      const admin = await makeUser(ctx, { role: 'admin' });
      await makeUser(ctx, { role: 'admin' });
      await setUserStatus(ctx, admin.email, 'suspend');
      await expectUnchanged(() => createUser(t.ctx({ actor: { kind: 'user', ref: admin.email } }), { email: 'x@example.com' }), 4, 'refused');
      await expect(createUser(t.ctx({ actor: { kind: 'user', ref: 'ghost@example.com' } }), { email: 'x@example.com' })).rejects.toMatchObject({ exitCode: 3 });
    });
  });

  describe('status', () => {
    it.each(['suspend', 'deactivate'] as const)('%s blocks the user, revokes their sessions, keeps data, records the reason', async (verb) => {
      const u = await makeUser(ctx, { displayName: 'Dana' });
      await addSession(u.id);
      await addSession(u.id);
      const out = await setUserStatus({ ...ctx, reason: 'ticket 42' }, u.email, verb);
      expect(out.result.status).toBe(verb === 'suspend' ? 'suspended' : 'deactivated');
      expect(out.result.status_reason).toBe('ticket 42');
      expect(out.result.display_name).toBe('Dana');
      expect(out.changes.sessions_revoked).toEqual({ after: 2 });
      const live = await t.db.kysely.selectFrom('sessions').select('id').where('user_id', '=', u.id).where('revoked_at', 'is', null).execute();
      expect(live).toHaveLength(0);
      expect((await showUser(ctx, u.email)).active_sessions).toBe(0);
      const entry = await lastAudit(t.db);
      expect(entry.reason).toBe('ticket 42');
      expect(entry.action).toBe(`user.${verb}`);
      const act = await setUserStatus(ctx, u.email, 'activate');
      expect(act.result.status).toBe('active');
      expect(act.result.status_reason).toBeNull();
    });

    it('writes no audit entry when the status is already the asked one', async () => {
      const u = await makeUser(ctx);
      const before = await auditCount(t.db);
      const out = await setUserStatus(ctx, u.email, 'activate');
      expect(out.changed).toBe(false);
      expect(await auditCount(t.db)).toBe(before);
    });
  });

  describe('edit', () => {
    it('changes fields, clears with "", resets email verification, audits before/after', async () => {
      const u = await makeUser(ctx, { email: 'eve@example.com' });
      await t.db.kysely.updateTable('users').set({ email_verified_at: '2026-01-01T00:00:00.000Z', phone: '+49 30 1234' }).where('id', '=', u.id).execute();
      const out = await editUser(ctx, u.email, { email: 'eve.new@example.com', phone: '', timezone: 'Asia/Tokyo', preferences: '{"theme":"dark"}' });
      expect(out.result).toMatchObject({ email: 'eve.new@example.com', phone: null, timezone: 'Asia/Tokyo', email_verified_at: null, preferences: { theme: 'dark' } });
      expect(out.changes.email).toEqual({ before: 'eve@example.com', after: 'eve.new@example.com' });
      expect(out.changes.phone).toEqual({ before: '+49 30 1234', after: null });
    });

    it('refuses an email that another user has in any case', async () => {
      await makeUser(ctx, { email: 'taken@example.com' });
      const u = await makeUser(ctx);
      await expectUnchanged(() => editUser(ctx, u.email, { email: 'TAKEN@example.com' }), 4, 'refused');
    });

    it('refuses invalid input with exit 2 and no audit entry', async () => {
      const u = await makeUser(ctx);
      await expectUnchanged(() => editUser(ctx, u.email, { timezone: 'Europe/Nowhere' }), 2, 'none');
      await expectUnchanged(() => editUser(ctx, u.email, { email: 'nope' }), 2, 'none');
      await expectUnchanged(() => editUser(ctx, u.email, {}), 2, 'none');
    });
  });

  describe('delete', () => {
    it('removes the user and their sessions permanently; the audit entries stay', async () => {
      await makeUser(ctx, { role: 'admin', superAdmin: true });
      const u = await makeUser(ctx, { email: 'gone@example.com' });
      await addSession(u.id);
      const preview = await previewDeleteUser(ctx, u.email);
      expect(preview.dryRun).toBe(true);
      expect(await userCount(t.db)).toBe(2);
      await deleteUser(ctx, u.email);
      await expect(showUser(ctx, 'gone@example.com')).rejects.toMatchObject({ exitCode: 3 });
      const sessions = await t.db.kysely.selectFrom('sessions').select('id').where('user_id', '=', u.id).execute();
      expect(sessions).toHaveLength(0);
      const entries = await t.db.kysely.selectFrom('audit_log').selectAll().where('target_id', '=', u.public_id).orderBy('seq').execute();
      expect(entries.map((e) => e.action)).toEqual(['user.create', 'user.delete']);
    });
  });

  describe('every mutation writes exactly one audit entry', () => {
    it('counts one entry per successful mutation', async () => {
      await makeUser(ctx, { role: 'admin', superAdmin: true });
      const steps: (() => Promise<unknown>)[] = [
        () => createUser(ctx, { email: 'one@example.com', password: 'correct horse battery staple' }),
        () => editUser(ctx, 'one@example.com', { displayName: 'One' }),
        () => setUserRole(ctx, 'one@example.com', 'reseller'),
        () => setUserStatus(ctx, 'one@example.com', 'suspend'),
        () => setUserStatus(ctx, 'one@example.com', 'activate'),
        () => setUserStatus(ctx, 'one@example.com', 'deactivate'),
        () => deleteUser(ctx, 'one@example.com'),
      ];
      for (const step of steps) {
        const before = await auditCount(t.db);
        await step();
        expect(await auditCount(t.db)).toBe(before + 1);
      }
    });
  });

  describe('list', () => {
    it('searches username, display name, email and public id in any case, and filters', async () => {
      const a = await makeUser(ctx, { email: 'anna@alpha.test', username: 'annak', displayName: 'Anna Karenina' });
      const b = await makeUser(ctx, { email: 'boris@beta.test', displayName: 'Boris', role: 'admin' });
      await makeUser(ctx, { email: 'cleo@gamma.test', displayName: '100%_real' });
      const emails = async (search: string, extra = {}) => (await listUsers(ctx, { search, ...extra })).items.map((u) => u.email).sort();
      expect(await emails('ANNAK')).toEqual([a.email]);
      expect(await emails('karenina')).toEqual([a.email]);
      expect(await emails('BETA.TEST')).toEqual([b.email]);
      expect(await emails(b.public_id.toUpperCase())).toEqual([b.email]);
      expect(await emails('%_')).toEqual(['cleo@gamma.test']); // wildcards match literally
      expect(await emails('s@')).toEqual([b.email]); // short needles too (not letters: public ids are random base32)
      expect(await emails('nomatch-anywhere')).toEqual([]);
      // the index follows edits and deletes
      await editUser(ctx, a.email, { displayName: 'Anna Pavlovna', email: 'anna@delta.test' });
      expect(await emails('karenina')).toEqual([]);
      expect(await emails('PAVLOVNA')).toEqual(['anna@delta.test']);
      expect(await emails('alpha.test')).toEqual([]);
      expect(await emails('gamma')).toEqual(['cleo@gamma.test']);
      await deleteUser(ctx, 'cleo@gamma.test');
      expect(await emails('gamma')).toEqual([]);
      expect(await emails('Ünïcödé')).toEqual([]);
      expect(await emails('.test', { role: 'admin' })).toEqual([b.email]);
      expect((await listUsers(ctx, { status: 'suspended' })).items).toHaveLength(0);
      await expect(listUsers(ctx, { role: 'root' })).rejects.toMatchObject({ exitCode: 2, field: 'role' });
      await expect(listUsers(ctx, { sort: 'random' })).rejects.toMatchObject({ exitCode: 2, field: 'sort' });
      await expect(listUsers(ctx, { cursor: 'garbage' })).rejects.toMatchObject({ exitCode: 2, field: 'cursor' });
    });

    it.each(['newest', 'last-login', 'updated', 'name'])('pages by keyset through every user exactly once (sort %s)', async (sort) => {
      const names = ['b', 'a', null, 'b', 'C', 'a', null, 'z', 'b', 'a', 'é', 'B'];
      for (let i = 0; i < names.length; i++) {
        const u = await makeUser(ctx, { displayName: names[i] ?? undefined });
        // ties and NULLs on purpose: several users share a login time, some never logged in
        const login = i % 3 === 0 ? null : `2026-0${1 + (i % 4)}-01T00:00:00.000Z`;
        await t.db.kysely.updateTable('users').set({ last_login_at: login, updated_at: `2026-02-0${1 + (i % 2)}T00:00:00.000Z` }).where('id', '=', u.id).execute();
      }
      const seen: number[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await listUsers(ctx, { sort, limit: 5, cursor });
        seen.push(...page.items.map((u) => u.id));
        cursor = page.next_cursor ?? undefined;
        pages++;
      } while (cursor);
      expect(pages).toBe(3);
      expect(new Set(seen).size).toBe(names.length);
      const all = (await listUsers(ctx, { sort, limit: 100 })).items.map((u) => u.id);
      expect(seen).toEqual(all);
      const streamed: number[] = [];
      for await (const u of iterateUsers(ctx, { sort }, 4)) streamed.push(u.id);
      expect(streamed).toEqual(all);
      if (sort === 'name') {
        const shown = (await listUsers(ctx, { sort, limit: 100 })).items.map((u) => u.display_name ?? '');
        expect(shown).toEqual([...shown].sort((x, y) => (Buffer.from(x) < Buffer.from(y) ? -1 : Buffer.from(x) > Buffer.from(y) ? 1 : 0)));
      }
    });
  });
});

describe.each(DIALECTS)('user search on %s', (dialect) => {
  const t = useTestDb(dialect);

  it('matches non-ASCII text in any case on both engines', async () => {
    const ctx = t.ctx();
    await makeUser(ctx, { email: 'z@example.com', displayName: 'Zoë Ünderwood' });
    expect((await listUsers(ctx, { search: 'ÜNDERWOOD' })).items).toHaveLength(1);
    expect((await listUsers(ctx, { search: 'zoë' })).items).toHaveLength(1);
  });
});

describe.each(DIALECTS)('search paging across the probe window on %s', (dialect) => {
  const t = useTestDb(dialect);

  it('returns the same pages whether the probe or the index answers', async () => {
    const ctx = t.ctx();
    const marked: number[] = [];
    for (let i = 0; i < 30; i++) {
      const u = await makeUser(ctx, { displayName: i % 4 === 0 || i < 3 ? `Needle ${i}` : `Hay ${i}` });
      if (i % 4 === 0 || i < 3) marked.push(u.id);
    }
    const expected = marked.reverse();
    for (const probeWindow of [1, 3, 8, 5000]) {
      for (const limit of [2, 3, 50]) {
        const seen: number[] = [];
        let cursor: string | undefined;
        do {
          const page = await listUsers(ctx, { search: 'needle', limit, cursor, probeWindow });
          seen.push(...page.items.map((u) => u.id));
          cursor = page.next_cursor ?? undefined;
        } while (cursor);
        expect(seen, `window ${probeWindow}, limit ${limit}`).toEqual(expected);
      }
    }
  });
});
