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
import { randomBytes } from 'node:crypto';

// Infrastructure: opening, migrating, building a context; they return no account data.
const INFRA = new Set(['connect', 'defaultDbPath', 'migrate', 'schemaStatus', 'assertSchemaCurrent', 'latestVersion', 'makeContext', 'parseAnchor', 'openSecretBox']);
// Stored secrets (hashes, sealed values) never leave. One-time displays are the point of
// their functions and are checked below by name: generated_password, session_token,
// token (a reset link's), secret and otpauth_uri (enrolment), recovery_codes.
const FORBIDDEN_KEYS = /^(password_hash|two_factor_secret|token_hash|code_hash|sealed|client_secret|smtp_password)$/;

const functions = Object.entries(acct).filter(([, v]) => typeof v === 'function' && !/^class\b/.test(Function.prototype.toString.call(v)));
const db = await acct.connect(join(process.argv[2], 'lib.db'));
await acct.migrate(db);
const box = new acct.SecretBox(randomBytes(32));
const ctx = acct.makeContext(db, { actor: { kind: 'operator', label: 'library-test' }, passwordPolicy: { bcryptCost: 4 }, secretBox: () => box });
const collect = async (it) => { const out = []; for await (const x of it) out.push(x); return out; };

let rootPassword = '';
const calls = {
  initialize: async () => {
    const r = await acct.initialize(ctx, { email: 'root@example.com', generatePassword: true });
    rootPassword = r.admin.result.generated_password;
    await acct.createUser(ctx, { email: 'b@example.com', password: 'correct horse battery staple' });
    return r;
  },
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
  authenticate: () => acct.authenticate(ctx, { identifier: 'root@example.com', password: rootPassword, ip: '192.0.2.1' }),
  validateSession: async () => acct.validateSession(ctx, (await acct.authenticate(ctx, { identifier: 'root@example.com', password: rootPassword })).session_token),
  explainSignIn: () => acct.explainSignIn(ctx, 'root@example.com', { password: rootPassword }),
  setPassword: () => acct.setPassword(ctx, 'b@example.com', { generate: true }),
  createResetToken: () => acct.createResetToken(ctx, 'b@example.com'),
  changeOwnPassword: () => acct.changeOwnPassword(acct.makeContext(db, { actor: { kind: 'user', ref: 'root@example.com' }, passwordPolicy: { bcryptCost: 4 } }), 'root@example.com', { current: rootPassword, next: 'root chose this passphrase' }).then((r) => { rootPassword = 'root chose this passphrase'; return r; }),
  redeemResetToken: async () => acct.redeemResetToken(ctx, (await acct.createResetToken(ctx, 'b@example.com')).result.token, 'another long passphrase'),
  enrollTotp: () => acct.enrollTotp(ctx, 'b@example.com'),
  confirmTotp: () => acct.confirmTotp(ctx, 'b@example.com', '000000').catch((e) => ({ refused: e.exitCode })),
  resetTwoFactor: () => acct.resetTwoFactor(ctx, 'b@example.com'),
  twoFactorStatus: () => acct.twoFactorStatus(ctx, 'b@example.com'),
  listSessions: () => acct.listSessions(ctx, {}),
  iterateSessions: () => collect(acct.iterateSessions(ctx, {})),
  showSession: async () => acct.showSession(ctx, (await acct.listSessions(ctx, {})).items[0].session_id),
  revokeSession: async () => acct.revokeSession(ctx, (await acct.listSessions(ctx, {})).items[0].session_id),
  purgeSessions: () => acct.purgeSessions(ctx, { olderThanSeconds: 0 }),
  listLoginHistory: () => acct.listLoginHistory(ctx, 'root@example.com', {}),
  iterateLoginHistory: () => collect(acct.iterateLoginHistory(ctx, 'root@example.com', {})),
  listUserActivity: () => acct.listUserActivity(ctx, 'root@example.com', {}),
  iterateUserActivity: () => collect(acct.iterateUserActivity(ctx, 'root@example.com', {})),
  impersonate: () => acct.impersonate(ctx, 'b@example.com', {}),
  showPolicy: () => acct.showPolicy(ctx),
  getSetting: () => acct.getSetting(ctx, 'password.min_length'),
  setPolicy: () => acct.setPolicy(ctx, [{ key: 'app.name', value: 'Lib', from: 'text' }]),
  exportPolicy: () => acct.exportPolicy(ctx),
  importPolicy: () => acct.importPolicy(ctx, { 'app.name': 'Lib2' }),
  checkPolicy: () => acct.checkPolicy(ctx),
  runCleanup: () => acct.runCleanup(ctx, {}),
  listMail: () => acct.listMail(ctx, {}),
  sendQueued: () => acct.sendQueued(ctx, [1]),
  runMailSend: () => acct.runMailSend(ctx, { owner: 'library-test' }),
  createInvitation: () => acct.createInvitation(ctx, { email: 'inv@example.com', role: 'reseller' }),
  listInvitations: () => acct.listInvitations(ctx, {}),
  iterateInvitations: () => collect(acct.iterateInvitations(ctx, {})),
  showInvitation: () => acct.showInvitation(ctx, 'inv@example.com'),
  resendInvitation: () => acct.resendInvitation(ctx, 'inv@example.com'),
  acceptInvitation: async () => acct.acceptInvitation(ctx, (await acct.resendInvitation(ctx, 'inv@example.com')).result.token, { name: 'Inv', password: 'invited passphrase 1' }),
  revokeInvitation: async () => { await acct.createInvitation(ctx, { email: 'inv2@example.com' }); return acct.revokeInvitation(ctx, 'inv2@example.com'); },
  register: async () => {
    await acct.setPolicy(ctx, [{ key: 'registration.public', value: 'true', from: 'text' }, { key: 'app.base_url', value: 'https://lib.test', from: 'text' }]);
    return acct.register(ctx, { email: 'reg@example.com', password: 'registered passphrase', name: 'Reg', ip: '192.0.2.1' });
  },
  verifyEmail: () => acct.verifyEmail(ctx, 'not-a-token').catch((e) => ({ refused: e.reason })),
  sendVerification: () => acct.sendVerification(ctx, 'reg@example.com'),
  markEmailVerified: () => acct.markEmailVerified(ctx, 'reg@example.com'),
  inviteBulk: async () => {
    const { Readable } = await import('node:stream');
    return acct.inviteBulk(ctx, { open: () => Readable.from(['email,role\nbulk-inv@example.com,user\n']), name: 'invites.csv' }, {});
  },
  importUsers: async () => {
    const { Readable } = await import('node:stream');
    const csv = 'email,name,password_hash\nimp@example.com,Imp,$2b$04$abcdefghijklmnopqrstuuQ9n1s4kM3C2p6Vq8v1I4q1sQ0rWq6yW\n';
    return acct.importUsers(ctx, { open: () => Readable.from([csv]), name: 'lib.csv' }, {});
  },
  bulkUpdateUsers: () => acct.bulkUpdateUsers(ctx, { verb: 'set-timezone', value: 'UTC', filter: { search: 'imp@' } }, {}),
  applyPlan: async () => {
    const { Readable } = await import('node:stream');
    const plan = join(process.argv[2], 'plan.json');
    await acct.importUsers(ctx, { open: () => Readable.from(['email,name\nplan@example.com,Plan\n']), name: 'plan.csv' }, { planOut: plan });
    return acct.applyPlan(ctx, plan, {});
  },
};

const problems = [];
const untested = functions.map(([n]) => n).filter((n) => !INFRA.has(n) && !(n in calls));
if (untested.length) problems.push('exported but not checked here: ' + untested.join(', '));
function scan(name, value, path = name) {
  if (value === null || value === undefined) return;
  if (typeof value === 'string') {
    if (/^\$2[aby]\$\d\d\$/.test(value) || /^\$argon2/.test(value)) problems.push(path + ' looks like a password hash');
    if (/^v1\.[0-9a-f]{16}\./.test(value)) problems.push(path + ' looks like a sealed secret');
    if (/^[0-9a-f]{64}$/.test(value) && !path.endsWith('.hash') && !path.endsWith('.sha256')) problems.push(path + ' looks like a token hash'); // .sha256: a file's digest
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
