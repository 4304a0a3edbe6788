/** user import through the bulk engine, on every database: the must-shows of issue 9. */
import { describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { readFileSync, mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DIALECTS, useTestDb } from '../setup.js';
import { auditCount, expectUnchanged, makeUser, rejection, snapshot, userCount } from '../helpers.js';
import { importUsers, passwordFingerprint, type ImportInput } from '../../src/services/user-import.js';
import { applyPlan } from '../../src/services/bulk-plans.js';
import { authenticate } from '../../src/services/auth.js';
import { setPassword } from '../../src/services/credentials.js';
import { verifyAuditLog } from '../../src/services/audit.js';
import { editUser } from '../../src/services/users.js';
import { PartialError, type BulkHooks, type BulkOptions, type RefusedRow } from '../../src/bulk/engine.js';
import { ConfirmationError, RefusedError } from '../../src/errors.js';
import type { ServiceContext } from '../../src/services/context.js';
import { runAt } from '../commands/harness.js';

/** PHP: password_hash('rasmuslerdorf', PASSWORD_DEFAULT), the example of PHP's manual. */
const PHP_2Y = '$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a';

function input(text: string | Buffer, more: Partial<ImportInput> = {}): ImportInput {
  return { open: () => Readable.from([typeof text === 'string' ? Buffer.from(text) : text]), name: 'test.csv', ...more };
}

async function imp(ctx: ServiceContext, text: string | Buffer, more: Partial<ImportInput> = {}, opts: BulkOptions = {}, hooks: BulkHooks = {}) {
  return importUsers(ctx, input(text, more), opts, hooks);
}

/** n rows of valid users; row i (1-based) is on line i + 1. */
function rows(n: number, bad?: { at: number; cell: string }): string {
  const out = ['email,name,role,password_hash'];
  const hash = '$2b$04$abcdefghijklmnopqrstuuQ9n1s4kM3C2p6Vq8v1I4q1sQ0rWq6yW';
  for (let i = 1; i <= n; i++) out.push(`${bad?.at === i ? bad.cell : `u${i}@example.com`},User ${i},user,${hash}`);
  return out.join('\n') + '\n';
}

describe.each(DIALECTS)('user import on %s', (dialect) => {
  const t = useTestDb(dialect);

  it('a 10,000-row file with one bad row changes nothing and names its line and column; --continue-on-error imports the other 9,999 (exit 6)', async () => {
    await makeUser(t.ctx(), { email: 'root@example.com', role: 'admin', superAdmin: true });
    const text = rows(10_000, { at: 5000, cell: 'not-an-email' });
    await expectUnchanged(t.db, () => imp(t.ctx(), text), 2, 'none');
    const err = await rejection(imp(t.ctx(), text));
    expect((err as Error).message).toMatch(/^line 5001, column email: /);

    const refused: RefusedRow[] = [];
    const e2 = await rejection(imp(t.ctx(), text, {}, { continueOnError: true }, { refused: async (r) => void refused.push(r) }));
    expect(e2).toBeInstanceOf(PartialError);
    expect((e2 as PartialError).exitCode).toBe(6);
    expect((e2 as PartialError).summary).toMatchObject({ applied: 9999, refused: 1, counts: { create: 9999 } });
    expect(refused).toEqual([expect.objectContaining({ line: 5001, column: 'email' })]);
    expect(await userCount(t.db)).toBe(10_000);
    // one entry per account and one bulk.run entry, all in the chain
    expect(await auditCount(t.db)).toBe(1 + 9999 + 1); // root's own, then the import's
    expect((await verifyAuditLog(t.ctx())).ok).toBe(true);
    const run = await t.db.kysely.selectFrom('audit_log').selectAll().where('action', '=', 'bulk.run').executeTakeFirstOrThrow();
    const changes = JSON.parse(run.changes) as Record<string, { after: unknown }>;
    expect(changes.sha256!.after).toMatch(/^[0-9a-f]{64}$/);
    expect(changes.applied!.after).toBe(9999);
  }, 120_000);

  it('an email or username given twice in the file is refused on its second line, naming the first', async () => {
    const err = await rejection(imp(t.ctx(), 'email,username\na@example.com,ann\nb@example.com,ANN\nA@EXAMPLE.COM,\n'));
    expect(err.exitCode).toBe(2);
    expect(err.message).toBe('line 3, column username: ANN is already on line 2; line 4, column email: A@EXAMPLE.COM is already on line 2');
    expect(await userCount(t.db)).toBe(0);
  });

  it('reads every dialect of CSV: BOM, CRLF, ";", quoted newlines, mapped headers', async () => {
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('email,address\r\nbom@example.com,"Two\r\nLines"\r\n')]);
    await imp(t.ctx(), bom);
    await imp(t.ctx(), 'Email Address;Full Name;Ignored\nsemi@example.com;"Semi; Colon";x\n', { delimiter: ';', map: { 'Email Address': 'email', 'Full Name': 'name' }, ignoreUnknown: true });
    const users = await t.db.kysely.selectFrom('users').select(['email', 'display_name', 'address']).orderBy('email').execute();
    expect(users).toEqual([{ email: 'bom@example.com', display_name: null, address: 'Two\r\nLines' }, { email: 'semi@example.com', display_name: 'Semi; Colon', address: null }]);
  });

  it('a $2y$ hash from PHP\'s password_hash is stored as $2b$ and signs in through authenticate', async () => {
    await imp(t.ctx(), `email,password_hash,email_verified_at\nphp@example.com,${PHP_2Y},true\n`);
    const u = await t.db.kysely.selectFrom('users').selectAll().where('email', '=', 'php@example.com').executeTakeFirstOrThrow();
    expect(u.password_hash).toBe(PHP_2Y.replace('$2y$', '$2b$'));
    expect(u.status).toBe('active');
    expect((await authenticate(t.ctx(), { identifier: 'php@example.com', password: 'rasmuslerdorf' })).ok).toBe(true);
    await expectUnchanged(t.db, () => imp(t.ctx(), 'email,password_hash\nmd5@example.com,5f4dcc3b5aa765d61d8327deb882cf99\n'), 2, 'none');
  });

  it('--dry-run and a declined confirmation change nothing', async () => {
    const before = await snapshot(t.db);
    const r = await imp(t.ctx({ dryRun: true }), rows(3));
    expect(r.summary).toMatchObject({ dry_run: true, applied: 0 });
    expect(r.plan.counts).toEqual({ create: 3 });
    await expect(imp(t.ctx(), rows(3), {}, {}, { confirm: async () => { throw new ConfirmationError('declined'); } })).rejects.toMatchObject({ exitCode: 5 });
    expect(await snapshot(t.db)).toBe(before);
  });

  it('re-running the same file changes nothing and writes no audit entry; a password set by the file plaintext is kept as imported', async () => {
    const text = 'email,name,password,email_verified_at\nre@example.com,Re,correct horse battery staple,2026-01-02T03:04:05Z\nre2@example.com,Re Two,another long passphrase,\n';
    const first = await imp(t.ctx(), text);
    expect(first.summary.counts).toEqual({ create: 2 });
    const before = await snapshot(t.db);
    const again = await imp(t.ctx(), text);
    expect(again.summary).toMatchObject({ applied: 0, unchanged: 2 });
    expect(await snapshot(t.db)).toBe(before);
    expect((await authenticate(t.ctx(), { identifier: 're@example.com', password: 'correct horse battery staple' })).ok).toBe(true);
  });

  it('a row that differs is refused (exit 4, naming the line) unless --update-existing or --skip-existing', async () => {
    await imp(t.ctx(), 'email,name,role\na@example.com,Ann,user\nb@example.com,Bob,user\n');
    const changed = 'email,name,timezone\na@example.com,Ann,Europe/Berlin\nb@example.com,Bobby,\n';
    await expectUnchanged(t.db, () => imp(t.ctx(), changed), 4, 'none');
    const err = await rejection(imp(t.ctx(), changed));
    expect(err).toBeInstanceOf(RefusedError);
    expect(err.message).toContain('line 2, column timezone');
    expect(err.message).toContain('line 3, column name');
    const skipped = await imp(t.ctx(), changed, { skipExisting: true });
    expect(skipped.summary).toMatchObject({ applied: 0, unchanged: 2 });
    const updated = await imp(t.ctx(), changed, { updateExisting: true });
    expect(updated.summary.counts).toEqual({ update: 2 });
    const users = await t.db.kysely.selectFrom('users').select(['email', 'display_name', 'timezone', 'role']).orderBy('email').execute();
    // only the columns present: role was not in the file and stays; an empty cell is not given
    expect(users).toEqual([
      { email: 'a@example.com', display_name: 'Ann', timezone: 'Europe/Berlin', role: 'user' },
      { email: 'b@example.com', display_name: 'Bobby', timezone: null, role: 'user' },
    ]);
    const entries = await t.db.kysely.selectFrom('audit_log').select(['action', 'target']).where('action', '=', 'user.update').orderBy('seq').execute();
    expect(entries.map((e) => e.target)).toEqual(['a@example.com', 'b@example.com']);
  });

  it('a password changed since the import is neither a difference nor overwritten, unless --reset-passwords', async () => {
    const text = 'email,password,email_verified_at\npw@example.com,first long passphrase 1,true\n';
    await imp(t.ctx(), text);
    const u0 = await t.db.kysely.selectFrom('users').selectAll().where('email', '=', 'pw@example.com').executeTakeFirstOrThrow();
    expect(u0.import_fingerprint).toBe(passwordFingerprint(u0.password_hash!));
    await setPassword(t.ctx(), 'pw@example.com', { password: 'changed by the user 22' });
    const again = await imp(t.ctx(), text);
    expect(again.summary).toMatchObject({ applied: 0, unchanged: 1 });
    const other = await imp(t.ctx(), 'email,password\npw@example.com,yet another passphrase 3\n', { updateExisting: true });
    expect(other.summary.applied).toBe(0);
    expect((await authenticate(t.ctx(), { identifier: 'pw@example.com', password: 'changed by the user 22' })).ok).toBe(true);
    const reset = await imp(t.ctx(), text, { updateExisting: true, resetPasswords: true });
    expect(reset.summary.counts).toEqual({ update: 1 });
    expect((await authenticate(t.ctx(), { identifier: 'pw@example.com', password: 'first long passphrase 1' })).ok).toBe(true);
  });

  it('a saved plan applies; it is refused whole (nothing changed) once one of its targets changed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'acctctl-plan-'));
    try {
      await imp(t.ctx(), 'email,name\np1@example.com,One\np2@example.com,Two\n');
      const change = 'email,name,password,email_verified_at\np1@example.com,One!,plan passphrase long 1,\np2@example.com,Two!,,\np3@example.com,Three,plan passphrase long 3,true\n';
      const planA = join(dir, 'a.json');
      const saved = await imp(t.ctx(), change, { updateExisting: true }, { planOut: planA });
      expect(saved.summary.plan_file).toBe(planA);
      const text = readFileSync(planA, 'utf8');
      expect(JSON.parse(text)).toMatchObject({ acctctl_plan: 1, action: 'user.import', counts: { update: 2, create: 1 } });
      expect(text).not.toContain('plan passphrase long'); // the plan holds hashes, never a password
      expect(await userCount(t.db)).toBe(2);
      const applied = await applyPlan(t.ctx(), planA, {});
      expect(applied.summary.counts).toEqual({ update: 2, create: 1 });
      expect((await authenticate(t.ctx(), { identifier: 'p3@example.com', password: 'plan passphrase long 3' })).ok).toBe(true);

      const planB = join(dir, 'b.json');
      await imp(t.ctx(), 'email,name\np1@example.com,Uno\np2@example.com,Dos\n', { updateExisting: true }, { planOut: planB });
      await editUser(t.ctx(), 'p2@example.com', { timezone: 'UTC' });
      await expectUnchanged(t.db, () => applyPlan(t.ctx(), planB, {}), 4, 'none');
      // a damaged plan is refused too
      const planC = join(dir, 'c.json');
      await imp(t.ctx(), 'email,name\np1@example.com,Eins\n', { updateExisting: true }, { planOut: planC });
      const damaged = join(dir, 'd.json');
      (await import('node:fs')).writeFileSync(damaged, readFileSync(planC, 'utf8').replace('Eins', 'Zwei'));
      await expectUnchanged(t.db, () => applyPlan(t.ctx(), damaged, {}), 2, 'none');
      expect(existsSync(planA)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a bulk demotion by import that would leave no active admin is refused whole', async () => {
    await makeUser(t.ctx(), { email: 'root@example.com', role: 'admin', superAdmin: true });
    await makeUser(t.ctx(), { email: 'adm@example.com', role: 'admin' });
    const text = 'email,role\nroot@example.com,user\nadm@example.com,user\n';
    await expectUnchanged(t.db, () => imp(t.ctx(), text, { updateExisting: true }), 4, 'none');
    const err = await rejection(imp(t.ctx(), text, { updateExisting: true }));
    expect(err.message).toContain('no active admin');
  });

  it('export -> import round-trips to identical rows', async () => {
    await makeUser(t.ctx(), { email: 'root@example.com', role: 'admin', superAdmin: true });
    await imp(t.ctx(), 'email,username,name,role,status,phone,address,timezone,language,preferences,password,email_verified_at\n' +
      'x1@example.com,xone,"=SUM(A1)",reseller,suspended,+49 30 1234567,"Street 1\nCity",Europe/Berlin,de,"{""a"":[1,2]}",round trip passphrase,2026-01-02T03:04:05Z\n' +
      'x2@example.com,,-minus,user,pending,,,,,,,\n' +
      'x3@example.com,xthree,@at,admin,active,,,UTC,en,{},third round trip pass,true\n');
    const columns = ['email', 'username', 'display_name', 'role', 'super_admin', 'status', 'phone', 'address', 'timezone', 'language', 'preferences', 'password_hash', 'email_verified_at'] as const;
    const dump = async () => (await t.db.kysely.selectFrom('users').select(columns).orderBy('email').execute()).map((u) => ({ ...u, super_admin: Number(u.super_admin) }));
    const before = await dump();
    const exported = await runAt(t.url, ['user', 'export']);
    expect(exported.code).toBe(0);
    const csv = exported.stdout;
    expect(csv).toContain("'=SUM(A1)");
    // the export re-imports as it is: nothing differs
    const same = await imp(t.ctx(), csv);
    expect(same.summary).toMatchObject({ applied: 0, unchanged: 4 });
    // and into an empty database it makes the same rows
    await t.db.kysely.deleteFrom('users').execute();
    await makeUser(t.ctx(), { email: 'op@example.com', role: 'admin', superAdmin: true });
    await imp(t.ctx(), csv);
    const after = (await dump()).filter((u) => u.email !== 'op@example.com');
    expect(after).toEqual(before);
  });
});

