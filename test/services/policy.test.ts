/** The sign-in policy on every database: every setting, secrets at rest, the rules, the lint. */
import { beforeEach, describe, expect, it } from 'vitest';
import { readFileSync, existsSync } from 'node:fs';
import { DIALECTS, useTestDb } from '../setup.js';
import { auditCount, expectUnchanged, makeUser, snapshot } from '../helpers.js';
import { SETTINGS, type SettingSpec, type SettingValue } from '../../src/policy/registry.js';
import { toJson } from '../../src/policy/values.js';
import {
  checkPolicy, documentInputs, exportPolicy, getSetting, importPolicy, previewPolicy, revealSetting, setPolicy, showPolicy,
} from '../../src/services/policy.js';
import { rotateSecrets } from '../../src/services/secrets.js';
import { createUser } from '../../src/services/users.js';
import { generateKey, SecretBox } from '../../src/security/secrets.js';
import type { ServiceContext } from '../../src/services/context.js';

/** A valid value other than the default, as command-line text. */
function sample(spec: SettingSpec): string {
  const d = spec.default as SettingValue;
  switch (spec.type) {
    case 'boolean':
      return String(!d);
    case 'integer':
      return String(d === spec.max ? spec.min : spec.max);
    case 'duration':
      return d === spec.max ? `${spec.min}s` : `${spec.max}s`;
    case 'enum':
      return spec.values!.find((v) => v !== d)!;
    case 'list':
      return 'example.com,example.org';
    case 'url':
      return 'https://accounts.example.com/base';
    case 'email':
      return 'Acme <no-reply@example.com>';
    case 'secret':
      return `S3cret-${spec.key}-x`;
    default:
      return spec.key === 'smtp.host' ? 'mail.example.com' : 'Some value';
  }
}

const SECRET_KEY = generateKey();

describe.each(DIALECTS)('policy on %s', (dialect) => {
  const t = useTestDb(dialect);
  let ctx: ServiceContext;
  beforeEach(async () => {
    const box = new SecretBox(SECRET_KEY);
    ctx = t.ctx({ secretBox: () => box });
    await makeUser(ctx, { email: 'root@example.com', role: 'admin', superAdmin: true });
  });

  it('shows every setting at its default on a fresh database', async () => {
    const items = await showPolicy(ctx);
    expect(items.map((i) => i.key).sort()).toEqual(SETTINGS.map((s) => s.key).sort());
    for (const item of items) {
      const spec = SETTINGS.find((s) => s.key === item.key)!;
      expect(item.changed).toBe(false);
      expect(item.value).toEqual(spec.secret ? null : toJson(spec, spec.default));
    }
  });

  it('every setting: a valid value round-trips through set, get, export and import; unset goes back', async () => {
    for (const spec of SETTINGS) {
      if (spec.min !== undefined && spec.min === spec.max) continue; // fixed (password.max_bytes)
      const value = sample(spec);
      const out = await setPolicy(ctx, [{ key: spec.key, value, from: 'text' }]);
      expect(out.changed, spec.key).toBe(true);
      const got = await getSetting(ctx, spec.key);
      expect(got.changed, spec.key).toBe(true);
      if (spec.secret) {
        expect(got.value).toBe(`••••${value.slice(-2)}`);
        expect(await revealSetting(ctx, spec.key)).toBe(value);
      }
      const doc = await exportPolicy(ctx);
      expect(doc.settings[spec.key], spec.key).toEqual(got.value);
      const exportedFresh = await exportPolicy(ctx, { includeSecrets: true });
      // unset, then import the export: the value comes back
      await setPolicy(ctx, [{ key: spec.key, from: 'text' }]);
      expect((await getSetting(ctx, spec.key)).changed).toBe(false);
      await importPolicy(ctx, exportedFresh);
      expect((await getSetting(ctx, spec.key)).value, spec.key).toEqual(got.value);
      await setPolicy(ctx, [{ key: spec.key, from: 'text' }]);
    }
    expect(await t.db.kysely.selectFrom('settings').selectAll().execute()).toEqual([]);
  });

  it.each([
    ['password.min_length', '7'], ['password.min_length', 'twelve'], ['signin.email', 'maybe'], ['smtp.secure', 'ssl'],
    ['security.session_lifetime', '10x'], ['security.session_lifetime', '1.5h'], ['app.base_url', 'ftp://example.com'],
    ['app.base_url', 'https://user:pw@example.com'], ['registration.allowed_domains', 'exa mple.com'], ['smtp.port', '70000'],
    ['no.such_key', '1'],
  ])('refuses %s = %j with exit 2 naming the key, changing nothing', async (key, value) => {
    const err = await setPolicy(ctx, [{ key, value, from: 'text' }]).catch((e: unknown) => e);
    expect(err).toMatchObject({ exitCode: 2 });
    expect(String((err as Error).message)).toContain(key);
    expect(await t.db.kysely.selectFrom('settings').selectAll().execute()).toEqual([]);
  });

  it('reports every bad key and value of one request, and applies none of it', async () => {
    const err = (await setPolicy(ctx, [
      { key: 'password.min_length', value: '14', from: 'text' },
      { key: 'password.min_lenght', value: '3', from: 'text' },
      { key: 'security.lockout_duration', value: 'soon', from: 'text' },
    ]).catch((e: unknown) => e)) as { exitCode: number; message: string; errors: { field: string }[] };
    expect(err.exitCode).toBe(2);
    expect(err.errors.map((e) => e.field)).toEqual(['password.min_lenght', 'security.lockout_duration']);
    expect(err.message).toContain('did you mean password.min_length');
    expect((await getSetting(ctx, 'password.min_length')).value).toBe(12);
  });

  it('writes one audit entry per changed key, and none for an unchanged one', async () => {
    const before = await auditCount(t.db);
    await setPolicy(ctx, [{ key: 'password.min_length', value: '14', from: 'text' }, { key: 'signin.username', value: 'true', from: 'text' }]);
    expect(await auditCount(t.db)).toBe(before + 1);
    const e = await t.db.kysely.selectFrom('audit_log').selectAll().orderBy('seq', 'desc').limit(1).executeTakeFirstOrThrow();
    expect(e).toMatchObject({ action: 'policy.set', target_id: 'password.min_length' });
    expect(JSON.parse(e.changes)).toEqual({ value: { before: 12, after: 14 } });
  });

  it('export then import of the same document changes nothing and writes no entry', async () => {
    await setPolicy(ctx, [{ key: 'password.min_length', value: '14', from: 'text' }, { key: 'registration.allowed_domains', value: 'b.example,a.example', from: 'text' }]);
    await setPolicy(ctx, [{ key: 'smtp.password', value: 'another-S3cret', from: 'text' }]);
    const doc = JSON.parse(JSON.stringify(await exportPolicy(ctx)));
    expect(Object.keys(doc.settings)).toEqual([...Object.keys(doc.settings)].sort());
    const before = await snapshot(t.db);
    expect((await previewPolicy(ctx, documentInputs(doc))).changes).toEqual([]);
    const out = await importPolicy(ctx, doc);
    expect(out.changed).toBe(false);
    expect(await snapshot(t.db)).toBe(before);
  });

  it('import --prune resets what the file leaves out; a file with a bad value changes nothing', async () => {
    await setPolicy(ctx, [{ key: 'password.min_length', value: '14', from: 'text' }, { key: 'app.name', value: 'Acme', from: 'text' }]);
    await importPolicy(ctx, { 'app.name': 'Acme' }, { prune: true });
    expect((await getSetting(ctx, 'password.min_length')).changed).toBe(false);
    expect((await getSetting(ctx, 'app.name')).value).toBe('Acme');
    await expectUnchanged(t.db, () => importPolicy(ctx, { settings: { 'app.name': 'X', 'smtp.port': 'many' }, format: 'acctctl-policy/1' }), 2, 'none');
  });

  it('keeps a secret sealed: never in clear in the database, the audit log or a view; it survives a key rotation', async () => {
    const secret = 'Correct-Horse-Battery-9';
    await setPolicy(ctx, [{ key: 'smtp.password', value: secret, from: 'text' }]);
    const rows = await t.db.kysely.selectFrom('settings').selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain(secret);
    expect(rows[0]!.sealed).toMatch(/^v1\./);
    const audit = await t.db.kysely.selectFrom('audit_log').select('changes').execute();
    expect(JSON.stringify(audit)).not.toContain(secret);
    expect(JSON.stringify(await showPolicy(ctx))).not.toContain(secret);
    expect(JSON.stringify(await exportPolicy(ctx))).not.toContain(secret);
    if (dialect === 'sqlite') {
      for (const f of [t.url, `${t.url}-wal`]) if (existsSync(f)) expect(readFileSync(f).includes(Buffer.from(secret))).toBe(false);
    }
    const next = new SecretBox(generateKey());
    const rotated = await rotateSecrets(ctx, next);
    expect(rotated.result.resealed).toBe(1);
    // the old key no longer opens it; the new one does
    await expect(revealSetting(ctx, 'smtp.password')).rejects.toMatchObject({ exitCode: 1, code: 'secret_key' });
    expect(await revealSetting(t.ctx({ secretBox: () => next }), 'smtp.password')).toBe(secret);
  });

  it('a wrong key fails clearly, and settings that are not secret still read without a key', async () => {
    await setPolicy(ctx, [{ key: 'smtp.password', value: 'Sealed-Secret-1', from: 'text' }]);
    const wrong = t.ctx({ secretBox: () => new SecretBox(generateKey()) });
    await expect(revealSetting(wrong, 'smtp.password')).rejects.toThrow(/sealed with key .* the key in use is/);
    const keyless = t.ctx();
    expect((await getSetting(keyless, 'smtp.password')).value).toBe('••••');
    expect((await getSetting(keyless, 'password.min_length')).value).toBe(12);
    await expect(setPolicy(keyless, [{ key: 'smtp.password', value: 'x1234567', from: 'text' }])).rejects.toMatchObject({ exitCode: 2 });
  });

  it('the password policy comes from the database', async () => {
    await setPolicy(ctx, [{ key: 'password.min_length', value: '20', from: 'text' }]);
    const fresh = t.ctx();
    await expect(createUser(fresh, { email: 'short@example.com', password: 'only sixteen chr' })).rejects.toMatchObject({ exitCode: 2, field: 'password' });
    expect((await createUser(fresh, { email: 'long@example.com', password: 'twenty or more characters' })).changed).toBe(true);
  });

  it('refuses to switch off every password sign-in path while no admin has another way in', async () => {
    await expectUnchanged(t.db, () => setPolicy(ctx, [{ key: 'signin.email', value: 'false', from: 'text' }, { key: 'signin.username', value: 'false', from: 'text' }]), 4, 'refused');
    await expectUnchanged(t.db, () => setPolicy(ctx, [
      { key: 'signin.email', value: 'false', from: 'text' }, { key: 'signin.username', value: 'false', from: 'text' }, { key: 'signin.third_party', value: 'true', from: 'text' },
    ]), 4, 'refused');
    // one path off is allowed, and asks for confirmation
    const preview = await previewPolicy(ctx, [{ key: 'signin.username', value: 'false', from: 'text' }]);
    expect(preview.confirm.join()).toMatch(/removes a sign-in path/);
    expect((await previewPolicy(ctx, [{ key: 'security.enforce_admin_2fa', value: 'true', from: 'text' }])).confirm.join()).toMatch(/enrol/);
  });

  it('only admins read the policy and only super admins change it (refusals audited)', async () => {
    await makeUser(ctx, { email: 'admin@example.com', role: 'admin' });
    await makeUser(ctx, { email: 'plain@example.com' });
    const admin = t.ctx({ actor: { kind: 'user', ref: 'admin@example.com' } });
    const plain = t.ctx({ actor: { kind: 'user', ref: 'plain@example.com' } });
    expect((await showPolicy(admin)).length).toBe(SETTINGS.length);
    await expectUnchanged(t.db, () => showPolicy(plain), 4, 'refused');
    await expectUnchanged(t.db, () => setPolicy(admin, [{ key: 'password.min_length', value: '14', from: 'text' }]), 4, 'refused');
    await expectUnchanged(t.db, () => exportPolicy(admin, { includeSecrets: true }), 4, 'refused');
  });

  it('policy check: the fresh database\'s findings, then a deliberately weak configuration\'s', async () => {
    const fresh = await checkPolicy(ctx);
    expect(fresh.map((f) => f.code).sort()).toEqual(['admin-2fa-not-enforced', 'base-url-unset', 'single-admin', 'smtp-unset']);
    expect(fresh.every((f) => f.level !== 'error' && f.fix.length > 0)).toBe(true);
    await setPolicy(ctx, [
      { key: 'registration.public', value: 'true', from: 'text' }, { key: 'registration.email_verification', value: 'false', from: 'text' },
      { key: 'security.lockout_threshold', value: '0', from: 'text' }, { key: 'app.base_url', value: 'http://accounts.example.com', from: 'text' },
      { key: 'security.session_lifetime', value: '90d', from: 'text' }, { key: 'signin.username', value: 'false', from: 'text' },
    ]);
    const weak = await checkPolicy(ctx);
    const byCode = Object.fromEntries(weak.map((f) => [f.code, f.level]));
    expect(byCode).toMatchObject({
      'open-registration-unverified': 'error', 'lockout-disabled': 'warning', 'base-url-not-https': 'error', 'long-sessions': 'warning', 'single-admin': 'warning',
    });
    expect(byCode['base-url-unset']).toBeUndefined();
  });
});
