/**
 * The library API keeps the rules: a scratch project that depends on acctctl by path
 * imports it as any platform would, calls every exported function, and finds no secret
 * field (a hash, a 2FA secret, a token hash) in anything they return.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../..');
let dir: string;

const SCRIPT = String.raw`
import * as acct from 'acctctl';
import { join } from 'node:path';

// Infrastructure: opening, migrating, building a context; they return no account data.
const INFRA = new Set(['connect', 'defaultDbPath', 'migrate', 'schemaStatus', 'assertSchemaCurrent', 'latestVersion', 'makeContext', 'parseAnchor']);
const FORBIDDEN_KEYS = /^(password_hash|two_factor_secret|token_hash|secret|client_secret|smtp_password)$/;

const functions = Object.entries(acct).filter(([, v]) => typeof v === 'function' && !/^class\b/.test(Function.prototype.toString.call(v)));
const db = await acct.connect(join(process.argv[2], 'lib.db'));
await acct.migrate(db);
const ctx = acct.makeContext(db, { actor: { kind: 'operator', label: 'library-test' }, passwordPolicy: { ...acct.DEFAULT_PASSWORD_POLICY, bcryptCost: 4 } });
const collect = async (it) => { const out = []; for await (const x of it) out.push(x); return out; };

const calls = {
  initialize: () => acct.initialize(ctx, { email: 'root@example.com', generatePassword: true }),
  createUser: () => acct.createUser(ctx, { email: 'a@example.com', password: 'correct horse battery staple' }),
  listUsers: () => acct.listUsers(ctx, {}),
  iterateUsers: () => collect(acct.iterateUsers(ctx, {})),
  showUser: () => acct.showUser(ctx, 'a@example.com'),
  editUser: () => acct.editUser(ctx, 'a@example.com', { displayName: 'A' }),
  setUserRole: () => acct.setUserRole(ctx, 'a@example.com', 'reseller'),
  setUserStatus: () => acct.setUserStatus(ctx, 'a@example.com', 'suspend'),
  revokeSessions: () => acct.revokeSessions(ctx, 'a@example.com'),
  previewDeleteUser: () => acct.previewDeleteUser(ctx, 'a@example.com'),
  deleteUser: () => acct.deleteUser(ctx, 'a@example.com'),
  listAudit: () => acct.listAudit(ctx, {}),
  iterateAudit: () => collect(acct.iterateAudit(ctx, {})),
  auditAnchor: () => acct.auditAnchor(ctx),
  verifyAuditLog: () => acct.verifyAuditLog(ctx),
};

const problems = [];
const untested = functions.map(([n]) => n).filter((n) => !INFRA.has(n) && !(n in calls));
if (untested.length) problems.push('exported but not checked here: ' + untested.join(', '));
function scan(name, value, path = name) {
  if (value === null || value === undefined) return;
  if (typeof value === 'string') {
    if (/^\$2[aby]\$\d\d\$/.test(value) || /^\$argon2/.test(value)) problems.push(path + ' looks like a password hash');
    return;
  }
  if (typeof value !== 'object') return;
  for (const [k, v] of Object.entries(value)) {
    if (FORBIDDEN_KEYS.test(k)) problems.push(path + '.' + k + ' is a secret field');
    scan(name, v, path + '.' + k);
  }
}
for (const [name, call] of Object.entries(calls)) scan(name, await call());

// Permission checks hold for library callers too.
const rctx = acct.makeContext(db, { actor: { kind: 'user', ref: 'root@example.com' } });
await acct.createUser(ctx, { email: 'u@example.com', password: 'correct horse battery staple' });
const uctx = acct.makeContext(db, { actor: { kind: 'user', ref: 'u@example.com' } });
for (const [name, run] of [['verifyAuditLog', () => acct.verifyAuditLog(uctx)], ['listAudit', () => acct.listAudit(uctx, {})], ['revokeSessions', () => acct.revokeSessions(uctx, 'root@example.com')], ['listUsers', () => acct.listUsers(uctx, {})]]) {
  const err = await run().then(() => null, (e) => e);
  if (!err || err.exitCode !== 4) problems.push(name + ' let a plain user through');
}
if ((await acct.verifyAuditLog(rctx)).ok !== true) problems.push('audit chain broken');
await db.close();
console.log(JSON.stringify({ exports: Object.keys(acct).sort(), problems }));
`;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'acctctl-lib-'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'scratch', type: 'module', private: true, dependencies: { acctctl: `file:${ROOT}` } }));
  // what `npm install` does for a file: dependency
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(ROOT, join(dir, 'node_modules', 'acctctl'), 'dir');
  writeFileSync(join(dir, 'check.mjs'), SCRIPT);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the library API', () => {
  it('exports views and audited mutations only, each checking permissions and returning no secret', () => {
    const r = spawnSync(process.execPath, ['check.mjs', dir], { cwd: dir, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { exports: string[]; problems: string[] };
    expect(out.problems).toEqual([]);
    for (const internal of ['findUser', 'findUserRow', 'getUserRow', 'revokeUserSessions', 'revokeUserSessionsTx', 'verifyAudit', 'hashPassword', 'verifyPassword', 'userView', 'prepareNewUser']) {
      expect(out.exports).not.toContain(internal);
    }
  });
});
