/** user bulk verbs (by file or by filters) through the bulk engine, on every database. */
import { describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { DIALECTS, useTestDb } from '../setup.js';
import { expectUnchanged, makeUser, rejection, snapshot } from '../helpers.js';
import { bulkUpdateUsers, type UserBulkInput } from '../../src/services/user-bulk.js';
import { setUserStatus, editUser } from '../../src/services/users.js';
import { verifyAuditLog } from '../../src/services/audit.js';
import { PartialError, type BulkHooks, type BulkOptions } from '../../src/bulk/engine.js';
import type { ServiceContext } from '../../src/services/context.js';

const NOW = new Date('2026-11-24T12:00:00.000Z');

function file(text: string): UserBulkInput['file'] {
  return { open: () => Readable.from([Buffer.from(text)]), name: 'f.csv' };
}

describe.each(DIALECTS)('user bulk on %s', (dialect) => {
  const t = useTestDb(dialect);
  const ctx = (o: Partial<ServiceContext> = {}) => t.ctx({ now: () => NOW, ...o });
  const bulk = (input: UserBulkInput, opts: BulkOptions = {}, hooks: BulkHooks = {}, c = ctx()) => bulkUpdateUsers(c, input, opts, hooks);

  async function people() {
    const root = await makeUser(ctx(), { email: 'root@example.com', role: 'admin', superAdmin: true });
    const a = await makeUser(ctx(), { email: 'a@example.com' });
    const b = await makeUser(ctx(), { email: 'b@example.com' });
    const c = await makeUser(ctx(), { email: 'c@example.com', role: 'reseller' });
    // a signed in recently, b long ago, c never
    await t.db.kysely.updateTable('users').set({ last_login_at: '2026-11-01T00:00:00.000Z' }).where('id', '=', a.id).execute();
    await t.db.kysely.updateTable('users').set({ last_login_at: '2025-06-01T00:00:00.000Z' }).where('id', '=', b.id).execute();
    return { root, a, b, c };
  }

  const statuses = async () => Object.fromEntries((await t.db.kysely.selectFrom('users').select(['email', 'status']).execute()).map((u) => [u.email, u.status]));

  it('filters select the accounts: --last-login-before includes those who never signed in; the plan counts them and samples them', async () => {
    await people();
    const r = await bulk({ verb: 'set-status', value: 'suspended', filter: { role: 'user', lastLoginBefore: '2026-01-01' } });
    expect(r.plan.counts).toEqual({ suspend: 1 });
    expect(r.plan.samples.suspend!.map((s) => s.target)).toEqual(['b@example.com']);
    const r2 = await bulk({ verb: 'set-status', value: 'suspended', filter: { lastLoginBefore: '2026-01-01', role: 'reseller' } });
    expect(r2.plan.counts).toEqual({ suspend: 1 }); // c never signed in
    expect(await statuses()).toEqual({ 'root@example.com': 'active', 'a@example.com': 'active', 'b@example.com': 'suspended', 'c@example.com': 'suspended' });
    // each account's change is the single verb's entry, plus one bulk.run per run
    const actions = (await t.db.kysely.selectFrom('audit_log').select('action').orderBy('seq').execute()).map((e) => e.action).slice(-4);
    expect(actions).toEqual(['user.suspend', 'bulk.run', 'user.suspend', 'bulk.run']);
    expect((await verifyAuditLog(ctx())).ok).toBe(true);
  });

  it('a file names accounts by id, public_id, email or username, with the value column', async () => {
    const { a, b, c } = await people();
    const r = await bulk({ verb: 'set-role', file: file(`id,email,role\n${a.id},,reseller\n,b@example.com,admin\n,C@EXAMPLE.COM,reseller\n`) });
    expect(r.plan.counts).toEqual({ 'set-role': 2, noop: 1 });
    const roles = Object.fromEntries((await t.db.kysely.selectFrom('users').select(['email', 'role']).execute()).map((u) => [u.email, u.role]));
    expect(roles).toMatchObject({ 'a@example.com': 'reseller', 'b@example.com': 'admin', 'c@example.com': 'reseller' });
    void b;
    void c;
    // bad rows: every one named by line and column, nothing changed
    const bad = file('email,public_id,role\nx@example.com,usr_aaaaaaaaaaaaaaaa,user\n,,user\na@example.com,,chief\n');
    await expectUnchanged(t.db, () => bulk({ verb: 'set-role', file: bad }), 2, 'none');
    const err = await rejection(bulk({ verb: 'set-role', file: file('email,public_id,role\nx@example.com,usr_aaaaaaaaaaaaaaaa,user\n,,user\na@example.com,,chief\n') }));
    expect(err.message).toContain('line 2, column public_id/email: names the account 2 ways');
    expect(err.message).toContain('line 3');
    expect(err.message).toContain('line 4, column role');
  });

  it('a file and filters together, or neither, is exit 2; an unknown account in the file is refused (exit 4) with nothing changed', async () => {
    await people();
    await expectUnchanged(t.db, () => bulk({ verb: 'delete', file: file('email\na@example.com\n'), filter: { role: 'user' } }), 2, 'none');
    await expectUnchanged(t.db, () => bulk({ verb: 'delete' }), 2, 'none');
    await expectUnchanged(t.db, () => bulk({ verb: 'set-role', filter: { role: 'user' } }), 2, 'none'); // no value
    await expectUnchanged(t.db, () => bulk({ verb: 'revoke-sessions', file: file('email\na@example.com\nnobody@example.com\n') }), 4, 'none');
  });

  it('a bulk demotion that would leave no active admin is refused whole, before anything changes', async () => {
    await people();
    await makeUser(ctx(), { email: 'adm@example.com', role: 'admin' });
    await expectUnchanged(t.db, () => bulk({ verb: 'set-role', value: 'user', filter: { role: 'admin' } }), 4, 'none');
    await expectUnchanged(t.db, () => bulk({ verb: 'set-status', value: 'suspended', filter: { role: 'admin' } }), 4, 'none');
    await expectUnchanged(t.db, () => bulk({ verb: 'delete', file: file('email\nroot@example.com\n') }), 4, 'none');
    // one of the two may go
    const r = await bulk({ verb: 'set-role', value: 'user', filter: { search: 'adm@' } });
    expect(r.summary.counts).toEqual({ 'set-role': 1 });
  });

  it('a target changed between the plan and the apply is refused: the batch rolls back (exit 4); --continue-on-error applies the rest (exit 6)', async () => {
    await people();
    const changeB = async () => void (await editUser(ctx(), 'b@example.com', { timezone: 'UTC' }));
    const before = await snapshot(t.db);
    const err = await rejection(bulk({ verb: 'set-timezone', value: 'Europe/Paris', filter: { role: 'user' } }, {}, { confirm: changeB }));
    expect(err.exitCode).toBe(4);
    expect(err.message).toContain('b@example.com changed since the plan was made');
    const tz = async () => Object.fromEntries((await t.db.kysely.selectFrom('users').select(['email', 'timezone']).execute()).map((u) => [u.email, u.timezone]));
    expect((await tz())['a@example.com']).toBeNull();
    void before;
    const err2 = await bulk({ verb: 'set-timezone', value: 'Europe/Paris', filter: { role: 'user' } }, { continueOnError: true }, {
      confirm: async () => void (await editUser(ctx(), 'b@example.com', { timezone: 'Asia/Tokyo' })),
    }).catch((e: unknown) => e);
    expect(err2).toBeInstanceOf(PartialError);
    expect((err2 as PartialError).summary).toMatchObject({ applied: 1, refused: 1 });
    expect(await tz()).toMatchObject({ 'a@example.com': 'Europe/Paris', 'b@example.com': 'Asia/Tokyo' });
  });

  it('revoke-sessions, reset-2fa and delete: no-ops are counted, not applied; delete cannot take the actor itself', async () => {
    const { a, b } = await people();
    await t.db.kysely.insertInto('sessions').values({ token_hash: 'h1', user_id: a.id, created_at: NOW.toISOString(), expires_at: '2027-01-01T00:00:00.000Z', revoked_at: null, impersonator_id: null, ip: null, user_agent: null, last_seen_at: null }).execute();
    const r = await bulk({ verb: 'revoke-sessions', filter: { role: 'user' } });
    expect(r.plan.counts).toEqual({ 'revoke-sessions': 1, noop: 1 });
    expect(r.summary).toMatchObject({ applied: 1, unchanged: 1 });
    await t.db.kysely.updateTable('users').set({ two_factor_secret: 'sealed', two_factor_enabled_at: NOW.toISOString() }).where('id', '=', b.id).execute();
    const r2 = await bulk({ verb: 'reset-2fa', filter: { twoFactor: 'on' } });
    expect(r2.summary.counts).toEqual({ 'reset-2fa': 1 });
    await setUserStatus(ctx(), 'a@example.com', 'deactivate');
    const asRoot = ctx({ actor: { kind: 'user', ref: 'root@example.com' } });
    await expectUnchanged(t.db, () => bulk({ verb: 'delete', filter: { search: 'example.com' } }, {}, {}, asRoot), 4, 'none');
    const r3 = await bulk({ verb: 'delete', filter: { status: 'deactivated' } }, {}, {}, asRoot);
    expect(r3.summary.counts).toEqual({ delete: 1 });
    expect(await statuses()).not.toHaveProperty('a@example.com');
  });
});
