import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import {
  SecretBox,
  SecretKeyError,
  decodeKey,
  encodeKey,
  generateKey,
  isSealed,
  keyId,
  reseal,
  resolveSecretKey,
  rotationPlan,
  sealedKeyId,
  writeKeyFileAtomically,
} from '../../src/security/secrets.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'acctctl-secrets-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const mode = (path: string) => statSync(path).mode & 0o777;

function keyFile(dir: string, name: string, key: Buffer, fileMode = 0o600): string {
  const path = join(dir, name);
  writeFileSync(path, `${encodeKey(key)}\n`, { mode: fileMode });
  chmodSync(path, fileMode);
  return path;
}

function caught(fn: () => unknown): SecretKeyError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SecretKeyError);
    expect(err).toMatchObject({ exitCode: 1, code: 'secret_key' });
    return err as SecretKeyError;
  }
  throw new Error('expected a SecretKeyError');
}

/** Flips one character of a base64url segment to another valid one. */
function flip(sealed: string, segment: number): string {
  const parts = sealed.split('.');
  const s = parts[segment]!;
  const i = Math.floor(s.length / 2);
  parts[segment] = s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
  return parts.join('.');
}

describe('SecretBox', () => {
  const box = new SecretBox(generateKey());

  it('round-trips text, unicode and the empty string', () => {
    for (const plain of ['hunter2', 'pässwörd 🔑 日本語 \u0000 end', '', 'x'.repeat(10_000)]) {
      const sealed = box.seal(plain, 'smtp.password');
      expect(isSealed(sealed)).toBe(true);
      expect(box.open(sealed, 'smtp.password')).toBe(plain);
    }
  });

  it('seals in the v1 format with the key id, a fresh IV each time, and no plaintext', () => {
    const plain = 'correct-horse-battery-staple';
    const a = box.seal(plain, 'smtp.password');
    const b = box.seal(plain, 'smtp.password');
    expect(a).not.toBe(b);
    expect(a).toMatch(/^v1\.[0-9a-f]{16}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]+$/);
    expect(sealedKeyId(a)).toBe(box.keyId);
    for (const form of [plain, Buffer.from(plain).toString('base64'), Buffer.from(plain).toString('base64url'), Buffer.from(plain).toString('hex')]) {
      expect(a).not.toContain(form);
    }
    expect(a).not.toContain('horse');
  });

  it('a different key fails clearly, naming both key ids and where the key came from', () => {
    const sealed = box.seal('secret', 'smtp.password');
    const other = new SecretBox(generateKey(), { kind: 'env', description: 'ACCTCTL_SECRET_KEY' });
    const err = caught(() => other.open(sealed, 'smtp.password'));
    expect(err.message).toBe(
      `smtp.password: this secret was sealed with key ${box.keyId}, the key in use is ${other.keyId} (from ACCTCTL_SECRET_KEY)`,
    );
    expect(caught(() => new SecretBox(generateKey()).open(sealed, 'smtp.password')).message).not.toContain('(from');
  });

  it('a wrong context fails: a ciphertext cannot move to another field', () => {
    const sealed = box.seal('secret', 'smtp.password');
    expect(caught(() => box.open(sealed, 'registration.turnstile_secret')).message).toMatch(/cannot be decrypted \(tampered, or the wrong key\)/);
  });

  it('any tampered character fails', () => {
    const sealed = box.seal('a secret worth protecting', 'smtp.password');
    for (const segment of [2, 3, 4]) {
      const bad = flip(sealed, segment);
      expect(bad).not.toBe(sealed);
      expect(caught(() => box.open(bad, 'smtp.password')).message).toMatch(/cannot be decrypted \(tampered, or the wrong key\)/);
    }
    // A changed last character (spare bits in base64) or a truncated blob also fails.
    const last = sealed.slice(0, -1) + (sealed.endsWith('A') ? 'B' : 'A');
    expect(() => box.open(last, 'smtp.password')).toThrow(SecretKeyError);
    expect(() => box.open(sealed.slice(0, -4), 'smtp.password')).toThrow(SecretKeyError);
    expect(() => box.open('plain text', 'smtp.password')).toThrow(SecretKeyError);
  });

  it('key ids differ between keys, are stable for one key, and are not the key', () => {
    const key = generateKey();
    expect(keyId(key)).toBe(keyId(Buffer.from(key)));
    expect(new SecretBox(key).keyId).toBe(keyId(key));
    expect(keyId(key)).toMatch(/^[0-9a-f]{16}$/);
    expect(keyId(generateKey())).not.toBe(keyId(key));
    expect(key.toString('hex')).not.toContain(keyId(key));
  });

  it('reseal moves a secret to a new key', () => {
    const to = new SecretBox(generateKey());
    const sealed = box.seal('rotate me', 'smtp.password');
    const moved = reseal(sealed, 'smtp.password', box, to);
    expect(sealedKeyId(moved)).toBe(to.keyId);
    expect(to.open(moved, 'smtp.password')).toBe('rotate me');
    expect(() => box.open(moved, 'smtp.password')).toThrow(/sealed with key/);
  });

  it('isSealed and sealedKeyId reject other text', () => {
    expect(isSealed('hunter2')).toBe(false);
    expect(isSealed('')).toBe(false);
    expect(() => sealedKeyId('v1.abc')).toThrow(SecretKeyError);
  });

  it('refuses a key that is not 32 bytes', () => {
    expect(() => new SecretBox(Buffer.alloc(16))).toThrow(/16 bytes, it must be 32/);
  });
});

describe('decodeKey', () => {
  it('accepts standard and url-safe base64 with whitespace', () => {
    const key = generateKey();
    expect(decodeKey(`  ${key.toString('base64')}\n`, 'x').equals(key)).toBe(true);
    expect(decodeKey(key.toString('base64url'), 'x').equals(key)).toBe(true);
    expect(decodeKey(`${encodeKey(key).slice(0, 20)}\n${encodeKey(key).slice(20)}\r\n`, 'x').equals(key)).toBe(true);
  });

  it('refuses bad base64 and the wrong length, naming the source and not echoing the text', () => {
    const err = caught(() => decodeKey('not*base64!', 'ACCTCTL_SECRET_KEY'));
    expect(err.message).toMatch(/^ACCTCTL_SECRET_KEY: .*not base64/);
    expect(err.message).not.toContain('not*base64!');
    expect(caught(() => decodeKey(Buffer.alloc(31).toString('base64'), 'ACCTCTL_SECRET_KEY')).message).toMatch(/^ACCTCTL_SECRET_KEY: .*31 bytes, it must be 32/);
    expect(caught(() => decodeKey(Buffer.alloc(33).toString('base64'), 'here')).message).toMatch(/33 bytes/);
    expect(caught(() => decodeKey(' \n', 'here')).message).toMatch(/^here: .*empty/);
  });
});

describe('resolveSecretKey', () => {
  const sqlite = (dir: string) => ({ dialect: 'sqlite' as const, location: join(dir, 'acct.db') });
  const postgres = { dialect: 'postgres' as const, location: 'postgres://u:p@localhost/acct' };

  it('takes --secret-key-file, then ACCTCTL_SECRET_KEY, then ACCTCTL_SECRET_KEY_FILE, then the file beside the database', () => {
    const dir = tempDir();
    const [opt, env, envFile, db] = [generateKey(), generateKey(), generateKey(), generateKey()];
    const optionKeyFile = keyFile(dir, 'option.key', opt);
    const envKeyFile = keyFile(dir, 'env.key', envFile);
    keyFile(dir, 'acctctl.key', db);
    const all = { optionKeyFile, envKey: encodeKey(env), envKeyFile, dbTarget: sqlite(dir) };

    const r1 = resolveSecretKey(all);
    expect(r1.key.equals(opt)).toBe(true);
    expect(r1.source).toEqual({ kind: 'option-file', description: `key file ${optionKeyFile} (from --secret-key-file)`, path: optionKeyFile });

    const r2 = resolveSecretKey({ ...all, optionKeyFile: undefined });
    expect(r2.key.equals(env)).toBe(true);
    expect(r2.source).toEqual({ kind: 'env', description: 'ACCTCTL_SECRET_KEY' });

    const r3 = resolveSecretKey({ ...all, optionKeyFile: undefined, envKey: undefined });
    expect(r3.key.equals(envFile)).toBe(true);
    expect(r3.source.kind).toBe('env-file');
    expect(r3.source.path).toBe(envKeyFile);

    const r4 = resolveSecretKey({ dbTarget: sqlite(dir), envKey: '' });
    expect(r4.key.equals(db)).toBe(true);
    expect(r4.source).toEqual({ kind: 'db-file', description: `key file ${join(dir, 'acctctl.key')} (beside the database)`, path: join(dir, 'acctctl.key') });

    // The environment works for PostgreSQL too.
    expect(resolveSecretKey({ envKey: encodeKey(env), dbTarget: postgres }).key.equals(env)).toBe(true);
  });

  it('creates the SQLite key file with mode 0600 when asked, and reuses it after', () => {
    const dir = tempDir();
    const path = join(dir, 'acctctl.key');
    const created = resolveSecretKey({ dbTarget: sqlite(dir), create: true });
    expect(created.source).toMatchObject({ kind: 'db-file', path });
    expect(mode(path)).toBe(0o600);
    expect(readFileSync(path, 'utf8')).toBe(`${encodeKey(created.key)}\n`);
    expect(resolveSecretKey({ dbTarget: sqlite(dir), create: true }).key.equals(created.key)).toBe(true);
    expect(resolveSecretKey({ dbTarget: sqlite(dir) }).key.equals(created.key)).toBe(true);
  });

  it('a relative database path puts the key file beside it', () => {
    const dir = tempDir();
    const rel = join(dir, 'sub', '..', 'acct.db');
    const r = resolveSecretKey({ dbTarget: { dialect: 'sqlite', location: rel }, create: true });
    expect(r.source.path).toBe(resolve(dir, 'acctctl.key'));
  });

  it('without create, a missing key names every place looked at', () => {
    const dir = tempDir();
    const err = caught(() => resolveSecretKey({ dbTarget: sqlite(dir) }));
    for (const place of ['--secret-key-file', 'ACCTCTL_SECRET_KEY,', 'ACCTCTL_SECRET_KEY_FILE', join(dir, 'acctctl.key')]) {
      expect(err.message).toContain(place);
    }
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a named key file that does not exist is an error, not a fallback or a new key', () => {
    const dir = tempDir();
    const missing = join(dir, 'nope.key');
    expect(caught(() => resolveSecretKey({ optionKeyFile: missing, dbTarget: sqlite(dir), create: true })).message).toContain(`${missing} (from --secret-key-file) does not exist`);
    expect(caught(() => resolveSecretKey({ envKeyFile: missing, dbTarget: sqlite(dir) })).message).toContain(`${missing} (from ACCTCTL_SECRET_KEY_FILE) does not exist`);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('PostgreSQL without a key says what to set', () => {
    const err = caught(() => resolveSecretKey({ dbTarget: postgres, create: true }));
    expect(err.message).toBe('no secret key: PostgreSQL needs ACCTCTL_SECRET_KEY, ACCTCTL_SECRET_KEY_FILE or --secret-key-file');
    expect(caught(() => resolveSecretKey({ dbTarget: { dialect: 'sqlite', location: ':memory:' }, create: true })).message).toMatch(/in-memory SQLite database needs ACCTCTL_SECRET_KEY/);
  });

  it('refuses a key file that others can read (0644), whichever way it was named', () => {
    const dir = tempDir();
    const path = keyFile(dir, 'acctctl.key', generateKey(), 0o644);
    for (const opts of [{ dbTarget: sqlite(dir) }, { dbTarget: sqlite(dir), create: true }, { optionKeyFile: path, dbTarget: postgres }, { envKeyFile: path, dbTarget: postgres }]) {
      expect(caught(() => resolveSecretKey(opts)).message).toContain(`is readable by others (mode 0644): chmod 600 ${path}`);
    }
    chmodSync(path, 0o640);
    expect(caught(() => resolveSecretKey({ dbTarget: sqlite(dir) })).message).toContain('(mode 0640)');
    chmodSync(path, 0o600);
    expect(() => resolveSecretKey({ dbTarget: sqlite(dir) })).not.toThrow();
  });

  it('refuses bad base64 and the wrong length, naming the source', () => {
    const dir = tempDir();
    expect(caught(() => resolveSecretKey({ envKey: 'zz!!', dbTarget: postgres })).message).toMatch(/^ACCTCTL_SECRET_KEY: .*not base64/);
    expect(caught(() => resolveSecretKey({ envKey: Buffer.alloc(16).toString('base64'), dbTarget: postgres })).message).toMatch(/^ACCTCTL_SECRET_KEY: .*16 bytes/);
    const short = join(dir, 'short.key');
    writeFileSync(short, `${Buffer.alloc(24).toString('base64')}\n`, { mode: 0o600 });
    expect(caught(() => resolveSecretKey({ optionKeyFile: short, dbTarget: postgres })).message).toMatch(
      new RegExp(`^key file ${short} \\(from --secret-key-file\\): .*24 bytes`),
    );
    const db = join(dir, 'acctctl.key');
    writeFileSync(db, 'not a key at all!\n', { mode: 0o600 });
    expect(caught(() => resolveSecretKey({ dbTarget: sqlite(dir), create: true })).message).toMatch(
      new RegExp(`^key file ${db} \\(beside the database\\): .*not base64`),
    );
    expect(readFileSync(db, 'utf8')).toBe('not a key at all!\n');
  });

  it('waits for a key file another process is still writing', async () => {
    const dir = tempDir();
    const path = join(dir, 'acctctl.key');
    writeFileSync(path, '', { mode: 0o600 }); // the winner has opened it, not written yet
    const key = generateKey();
    const writer = spawn(process.execPath, ['-e', `setTimeout(() => require('fs').writeFileSync(${JSON.stringify(path)}, ${JSON.stringify(`${encodeKey(key)}\n`)}), 200)`]);
    const done = new Promise((ok) => writer.on('exit', ok));
    const r = resolveSecretKey({ dbTarget: sqlite(dir), create: true });
    await done;
    expect(r.key.equals(key)).toBe(true);
  });

  it('concurrent creation by several processes yields one key', async () => {
    const dir = tempDir();
    const bundle = join(dir, 'secrets.mjs');
    await build({ entryPoints: [resolve('src/security/secrets.ts')], bundle: true, platform: 'node', format: 'esm', outfile: bundle, logLevel: 'silent' });
    const script = join(dir, 'race.mjs');
    // Each process spins until a shared start time, then creates or reads the key.
    writeFileSync(
      script,
      `import { resolveSecretKey, keyId } from './secrets.mjs';
const [db, start] = process.argv.slice(2);
while (Date.now() < Number(start)) {}
const r = resolveSecretKey({ dbTarget: { dialect: 'sqlite', location: db }, create: true });
process.stdout.write(keyId(r.key));`,
    );
    const db = join(dir, 'data', 'acct.db');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(dir, 'data'));
    const start = String(Date.now() + 1500);
    const run = () =>
      new Promise<string>((ok, fail) => {
        const child = spawn(process.execPath, [script, db, start]);
        let out = '';
        let err = '';
        child.stdout.on('data', (d: Buffer) => (out += d));
        child.stderr.on('data', (d: Buffer) => (err += d));
        child.on('exit', (code) => (code === 0 ? ok(out) : fail(new Error(`exit ${code}: ${err}`))));
      });
    const ids = await Promise.all(Array.from({ length: 6 }, run));
    const onDisk = decodeKey(readFileSync(join(dir, 'data', 'acctctl.key'), 'utf8'), 'test');
    expect(new Set(ids)).toEqual(new Set([keyId(onDisk)]));
    expect(mode(join(dir, 'data', 'acctctl.key'))).toBe(0o600);
    expect(readdirSync(join(dir, 'data'))).toEqual(['acctctl.key']);
  });
});

describe('rotation helpers', () => {
  it('writeKeyFileAtomically replaces the content and keeps mode 0600', () => {
    const dir = tempDir();
    const path = keyFile(dir, 'acctctl.key', generateKey());
    const next = generateKey();
    writeKeyFileAtomically(path, next);
    expect(mode(path)).toBe(0o600);
    expect(decodeKey(readFileSync(path, 'utf8'), path).equals(next)).toBe(true);
    expect(readdirSync(dir)).toEqual(['acctctl.key']); // no temp file left
    // A new file is created 0600 too, and resolves afterwards.
    const fresh = join(dir, 'new.key');
    writeKeyFileAtomically(fresh, next);
    expect(mode(fresh)).toBe(0o600);
    expect(resolveSecretKey({ optionKeyFile: fresh, dbTarget: { dialect: 'postgres', location: 'postgres://x/y' } }).key.equals(next)).toBe(true);
  });

  it('writeKeyFileAtomically refuses a wrong-length key and leaves the old file', () => {
    const dir = tempDir();
    const old = generateKey();
    const path = keyFile(dir, 'acctctl.key', old);
    expect(() => writeKeyFileAtomically(path, Buffer.alloc(8))).toThrow(SecretKeyError);
    expect(decodeKey(readFileSync(path, 'utf8'), path).equals(old)).toBe(true);
    expect(() => writeKeyFileAtomically(join(dir, 'missing', 'k.key'), generateKey())).toThrow(/cannot write key file/);
  });

  it('rotationPlan prints a key from the environment once and rewrites files', () => {
    expect(rotationPlan({ kind: 'env', description: 'ACCTCTL_SECRET_KEY' })).toBe('print-once');
    for (const kind of ['env-file', 'option-file', 'db-file'] as const) {
      expect(rotationPlan({ kind, description: 'f', path: '/x' })).toBe('rewrite-file');
    }
  });
});
