/**
 * Single-use recovery codes for two-factor sign-in: made here, shown once, stored only as
 * hashes. Pure functions, no database; the service deletes (or marks) the matched hash in
 * the same transaction that accepts it, so a code works once.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Crockford's base32 alphabet: no i, l, o or u, so a code read off paper survives; 5 bits a
 * character. Typed look-alikes are mapped back (o → 0, i/l → 1) when a code is normalised.
 */
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
const GROUPS = 4;
const GROUP_LENGTH = 4;
/** 16 characters × 5 bits = 80 bits per code. */
export const RECOVERY_CODE_LENGTH = GROUPS * GROUP_LENGTH;
export const RECOVERY_CODE_BITS = RECOVERY_CODE_LENGTH * 5;
export const DEFAULT_RECOVERY_CODES = 10;

const LABEL = 'acctctl recovery code v1\0';
const SALT_BYTES = 16;
const PREFIX = 'rc1$';
const HASH = /^rc1\$([A-Za-z0-9_-]{22})\$([A-Za-z0-9_-]{43})$/;

/** n fresh codes such as "7k2m-q9xa-e4tp-0hvn" (80 random bits each), all different. */
export function newRecoveryCodes(n: number = DEFAULT_RECOVERY_CODES): string[] {
  if (!Number.isInteger(n) || n < 1 || n > 100) throw new RangeError('the number of recovery codes must be 1 to 100');
  const codes = new Set<string>();
  while (codes.size < n) codes.add(newRecoveryCode());
  return [...codes];
}

function newRecoveryCode(): string {
  const bytes = randomBytes(RECOVERY_CODE_LENGTH);
  let out = '';
  for (let i = 0; i < RECOVERY_CODE_LENGTH; i++) {
    if (i > 0 && i % GROUP_LENGTH === 0) out += '-';
    out += ALPHABET[bytes[i]! & 31]; // 32 symbols: the low 5 bits are uniform
  }
  return out;
}

/**
 * The canonical form of a typed code: NFKC (full-width input), lower case, without dashes
 * or spaces, look-alikes mapped. Undefined when it cannot be a code.
 */
export function normalizeRecoveryCode(code: string): string | undefined {
  if (typeof code !== 'string' || code.length > 100) return undefined;
  const c = code
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[\s\u00a0-]+/gu, '')
    .replace(/o/g, '0')
    .replace(/[il]/g, '1');
  return c.length === RECOVERY_CODE_LENGTH && [...c].every((ch) => ALPHABET.includes(ch)) ? c : undefined;
}

/**
 * "rc1$<salt>$<SHA-256(label, salt, code)>", base64url. A fast hash is enough here, unlike for
 * passwords: a code has 80 random bits, so trying every code costs ~2^79 hashes on average;
 * the per-code salt stops one table of guesses from being tried against every stored code
 * at once. bcrypt would make each sign-in with a recovery code check ten slow hashes.
 */
export function hashRecoveryCode(code: string): string {
  const c = normalizeRecoveryCode(code);
  if (c === undefined) throw new RangeError('not a recovery code');
  const salt = randomBytes(SALT_BYTES);
  return `${PREFIX}${salt.toString('base64url')}$${digest(salt, c).toString('base64url')}`;
}

/**
 * The index in `hashes` of the hash that `code` matches, or -1. Every hash is computed and
 * compared in constant time, with no early exit, so the time taken does not say which
 * (or whether one) matched. A malformed stored hash never matches.
 */
export function matchRecoveryCode(code: string, hashes: readonly string[]): number {
  // A code that cannot be one is still hashed against every entry (it matches none).
  const c = normalizeRecoveryCode(code) ?? '';
  let found = -1;
  for (let i = 0; i < hashes.length; i++) {
    const m = HASH.exec(hashes[i] ?? '');
    const salt = m === null ? DUMMY_SALT : Buffer.from(m[1]!, 'base64url');
    const stored = m === null ? DUMMY_DIGEST : Buffer.from(m[2]!, 'base64url');
    const equal = timingSafeEqual(digest(salt, c), stored) && m !== null && c !== '';
    if (equal && found < 0) found = i;
  }
  return found;
}

function digest(salt: Buffer, normalized: string): Buffer {
  return createHash('sha256').update(LABEL).update(salt).update(normalized, 'utf8').digest();
}

const DUMMY_SALT = Buffer.alloc(SALT_BYTES);
const DUMMY_DIGEST = Buffer.alloc(32);
