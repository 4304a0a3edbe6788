/**
 * Secrets at rest: one 32-byte key (from a file or the environment), AES-256-GCM with the
 * field's name as additional data, and the helpers key rotation needs. Settings, TOTP
 * secrets and identity-provider client secrets all go through here.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  fchmodSync,
  fchownSync,
  fstatSync,
  fsyncSync,
  openSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
 realpathSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { AcctError } from '../errors.js';

/** Exit 1: the secret key is missing, unreadable, malformed, or not the one a secret was sealed with. */
export class SecretKeyError extends AcctError {
  override readonly code = 'secret_key';
}

export const KEY_BYTES = 32;
export const KEY_FILE_NAME = 'acctctl.key';
const KEY_ID_LABEL = 'acctctl secret key id v1\0';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const VERSION = 'v1';
const SEALED = /^v1\.([0-9a-f]{16})\.([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]*)$/;

/** A hash of the key, safe to store and print: names a key without revealing it. */
export function keyId(key: Buffer): string {
  return createHash('sha256').update(KEY_ID_LABEL).update(key).digest('hex').slice(0, 16);
}

export function generateKey(): Buffer {
  return randomBytes(KEY_BYTES);
}

export function encodeKey(key: Buffer): string {
  checkKeyLength(key, 'key');
  return key.toString('base64');
}

/** Standard or url-safe base64, whitespace ignored; never echoes the text in an error. */
export function decodeKey(text: string, where: string): Buffer {
  const compact = text.replace(/\s+/g, '');
  if (compact === '') throw new SecretKeyError(`${where}: the secret key is empty (generate one with \`openssl rand -base64 32\`)`);
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(compact)) throw new SecretKeyError(`${where}: the secret key is not base64`);
  const key = Buffer.from(compact.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (key.length !== KEY_BYTES) {
    throw new SecretKeyError(`${where}: the secret key is ${key.length} bytes, it must be ${KEY_BYTES} (generate one with \`openssl rand -base64 32\`)`);
  }
  return key;
}

function checkKeyLength(key: Buffer, where: string): void {
  if (key.length !== KEY_BYTES) throw new SecretKeyError(`${where}: the secret key is ${key.length} bytes, it must be ${KEY_BYTES}`);
}

export interface KeySource {
  kind: 'env' | 'env-file' | 'option-file' | 'db-file';
  /** Where the key came from, for messages, e.g. "ACCTCTL_SECRET_KEY" or "key file /srv/acctctl.key". */
  description: string;
  /** The absolute path of a key file. */
  path?: string;
}

export interface ResolveKeyOptions {
  /** ACCTCTL_SECRET_KEY (base64). */
  envKey?: string | undefined;
  /** ACCTCTL_SECRET_KEY_FILE. */
  envKeyFile?: string | undefined;
  /** --secret-key-file. */
  optionKeyFile?: string | undefined;
  dbTarget: { dialect: 'sqlite' | 'postgres'; location: string };
  /** Create the key file beside a SQLite database when missing (init). */
  create?: boolean;
}

/** The key file beside a SQLite database, or undefined (PostgreSQL, in-memory). */
export function dbKeyFilePath(dbTarget: ResolveKeyOptions['dbTarget']): string | undefined {
  if (dbTarget.dialect !== 'sqlite' || dbTarget.location === ':memory:' || dbTarget.location === '') return undefined;
  return join(dirname(resolve(dbTarget.location)), KEY_FILE_NAME);
}

/** Order: --secret-key-file, ACCTCTL_SECRET_KEY, ACCTCTL_SECRET_KEY_FILE, then (SQLite) acctctl.key beside the database. */
export function resolveSecretKey(opts: ResolveKeyOptions): { key: Buffer; source: KeySource } {
  if (opts.optionKeyFile !== undefined) {
    if (opts.optionKeyFile.trim() === '') throw new SecretKeyError('--secret-key-file: empty path');
    const path = resolve(opts.optionKeyFile);
    return fromFile({ kind: 'option-file', description: `key file ${path} (from --secret-key-file)`, path });
  }
  if (nonEmpty(opts.envKey)) {
    const source: KeySource = { kind: 'env', description: 'ACCTCTL_SECRET_KEY' };
    return { key: decodeKey(opts.envKey, source.description), source };
  }
  if (nonEmpty(opts.envKeyFile)) {
    const path = resolve(opts.envKeyFile);
    return fromFile({ kind: 'env-file', description: `key file ${path} (from ACCTCTL_SECRET_KEY_FILE)`, path });
  }
  const path = dbKeyFilePath(opts.dbTarget);
  if (path === undefined) {
    const what = opts.dbTarget.dialect === 'postgres' ? 'PostgreSQL' : 'an in-memory SQLite database';
    throw new SecretKeyError(`no secret key: ${what} needs ACCTCTL_SECRET_KEY, ACCTCTL_SECRET_KEY_FILE or --secret-key-file`);
  }
  const source: KeySource = { kind: 'db-file', description: `key file ${path} (beside the database)`, path };
  if (opts.create === true) return { key: createOrReadKeyFile(source, path), source };
  const key = readKeyFile(path, source.description);
  if (key === undefined) {
    throw new SecretKeyError(
      `no secret key: looked for --secret-key-file, ACCTCTL_SECRET_KEY, ACCTCTL_SECRET_KEY_FILE (none set) and the key file ${path} (does not exist); ` +
        'set one of them, or restore the key file',
    );
  }
  return { key, source };
}

function nonEmpty(v: string | undefined): v is string {
  return v !== undefined && v.trim() !== '';
}

function fromFile(source: KeySource & { path: string }): { key: Buffer; source: KeySource } {
  const key = readKeyFile(source.path, source.description);
  if (key === undefined) throw new SecretKeyError(`no secret key: ${source.description} does not exist`);
  return { key, source };
}

/** The key in the file, or undefined when it does not exist. Refuses a file others can read. */
function readKeyFile(path: string, where: string): Buffer | undefined {
  const text = readKeyText(path, where);
  return text === undefined ? undefined : decodeKey(text, where);
}

function readKeyText(path: string, where: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SecretKeyError(`${where} cannot be read: ${(err as Error).message}`, { cause: err });
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new SecretKeyError(`${where} is not a regular file`);
    checkPrivate(st.mode, path, where);
    // A key file is 45 bytes; more than this is not a key file.
    const buf = Buffer.alloc(4096);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return buf.subarray(0, n).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

function checkPrivate(mode: number, path: string, where: string): void {
  if (process.platform === 'win32' || (mode & 0o077) === 0) return;
  const octal = (mode & 0o777).toString(8).padStart(4, '0');
  const what = (mode & 0o044) !== 0 ? 'readable' : 'accessible';
  throw new SecretKeyError(`${where} is ${what} by others (mode ${octal}): chmod 600 ${path}`);
}

/** Written by createKeyFile in one write ending in a newline; anything shorter is still being written. */
const incomplete = (text: string) => text.length < 45 && !text.endsWith('\n');

/**
 * Creates the key file with 'wx', so of two concurrent inits only one writes; the other
 * waits (briefly) for the winner's key and uses it.
 */
function createOrReadKeyFile(source: KeySource, path: string): Buffer {
  const deadline = Date.now() + 2000;
  for (;;) {
    const text = readKeyText(path, source.description);
    if (text === undefined) {
      const key = createKeyFile(source, path);
      if (key !== undefined) return key;
    } else if (!incomplete(text) || Date.now() >= deadline) {
      return decodeKey(text, source.description);
    }
    sleepSync(10);
  }
}

/** The new key, or undefined when another process created the file first. */
function createKeyFile(source: KeySource, path: string): Buffer | undefined {
  const key = generateKey();
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw new SecretKeyError(`cannot create ${source.description}: ${(err as Error).message}`, { cause: err });
  }
  try {
    fchmodSync(fd, 0o600); // in case the umask removed owner bits
    writeSync(fd, `${encodeKey(key)}\n`);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    try {
      unlinkSync(path);
    } catch {
      // leave it; the next run reports it
    }
    throw new SecretKeyError(`cannot write ${source.description}: ${(err as Error).message}`, { cause: err });
  }
  closeSync(fd);
  syncDir(dirname(path));
  return key;
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // not supported everywhere (Windows); the rename itself is what matters
  }
}

/**
 * Replaces a key file: a 0600 temp file in the same folder, fsync, rename over the old one.
 * Keeps the old file's owner when run as root, so the service user can still read it.
 */
export function writeKeyFileAtomically(path: string, key: Buffer): void {
  checkKeyLength(key, path);
  // A symlinked key file (a mounted secret) is rewritten where it points, not replaced by a plain file.
  let target = resolve(path);
  try {
    target = realpathSync(target);
  } catch {
    /* not there yet: write it here */
  }
  const dir = dirname(target);
  let owner: { uid: number; gid: number } | undefined;
  try {
    const st = statSync(target);
    owner = { uid: st.uid, gid: st.gid };
  } catch {
    owner = undefined;
  }
  const temp = join(dir, `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(temp, 'wx', 0o600);
    fchmodSync(fd, 0o600);
    if (owner !== undefined && process.getuid?.() === 0 && owner.uid !== 0) fchownSync(fd, owner.uid, owner.gid);
    writeSync(fd, `${encodeKey(key)}\n`);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(temp, target);
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(temp);
    } catch {
      // already gone
    }
    throw new SecretKeyError(`cannot write key file ${target}: ${(err as Error).message}`, { cause: err });
  }
  syncDir(dir);
}

/** After rotation: a key file is rewritten in place; a key from ACCTCTL_SECRET_KEY is printed once for the operator. */
export function rotationPlan(source: KeySource): 'rewrite-file' | 'print-once' {
  return source.kind === 'env' ? 'print-once' : 'rewrite-file';
}

export function isSealed(text: string): boolean {
  return SEALED.test(text);
}

/** The id of the key a secret was sealed with, without decrypting it. */
export function sealedKeyId(sealed: string): string {
  const m = SEALED.exec(sealed);
  if (m === null) throw new SecretKeyError('not a sealed secret (expected v1.<key id>.<iv>.<tag>.<ciphertext>)');
  return m[1]!;
}

/** Strict base64url: a changed character always changes the bytes (no slack in the padding bits). */
function fromB64url(text: string): Buffer | undefined {
  const buf = Buffer.from(text, 'base64url');
  return buf.toString('base64url') === text ? buf : undefined;
}

export class SecretBox {
  readonly keyId: string;
  readonly source: KeySource | undefined;
  readonly #key: Buffer;

  /** `source` only improves the wrong-key message. */
  constructor(key: Buffer, source?: KeySource) {
    checkKeyLength(key, source?.description ?? 'SecretBox');
    this.#key = Buffer.from(key);
    this.keyId = keyId(this.#key);
    this.source = source;
  }

  /** `context` (e.g. 'smtp.password') is authenticated: the result opens only for the same field. */
  seal(plain: string, context: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad(context));
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [VERSION, this.keyId, iv.toString('base64url'), tag.toString('base64url'), body.toString('base64url')].join('.');
  }

  open(sealed: string, context: string): string {
    const m = SEALED.exec(sealed);
    if (m === null) throw new SecretKeyError(`${context}: not a sealed secret, cannot be decrypted`, { field: context });
    if (m[1] !== this.keyId) {
      const from = this.source === undefined ? '' : ` (from ${this.source.description})`;
      throw new SecretKeyError(`${context}: this secret was sealed with key ${m[1]}, the key in use is ${this.keyId}${from}`, { field: context });
    }
    const [iv, tag, body] = [fromB64url(m[2]!), fromB64url(m[3]!), fromB64url(m[4]!)];
    const bad = () => new SecretKeyError(`${context}: the secret cannot be decrypted (tampered, or the wrong key)`, { field: context });
    if (iv === undefined || tag === undefined || body === undefined || iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw bad();
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(aad(context));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
    } catch {
      throw bad();
    }
  }
}

/** The format version is authenticated with the field name. */
function aad(context: string): Buffer {
  return Buffer.from(`${VERSION}\0${context}`, 'utf8');
}

/** Opens with `from`, seals with `to`: one row of a key rotation. */
export function reseal(sealed: string, context: string, from: SecretBox, to: SecretBox): string {
  return to.seal(from.open(sealed, context), context);
}

/** Resolves the key and wraps it: what a command's context calls on first use of a secret. */
export function openSecretBox(opts: ResolveKeyOptions): SecretBox {
  const { key, source } = resolveSecretKey(opts);
  return new SecretBox(key, source);
}
