/**
 * Password rules and bcrypt hashing. A password is compared and hashed in its NFKC form, so
 * two encodings of one password (a ligature, full-width digits) are one password. bcrypt
 * loads on first use, and so does the common-password list (convention 13).
 */
import { randomInt } from 'node:crypto';
import { ValidationError } from '../errors.js';
import { fail, ok, validPasswordShape, type Result } from '../domain/validate.js';

export const DEFAULT_BCRYPT_COST = 12;
/** bcrypt ignores everything past 72 bytes; refusing longer passwords keeps that honest (password.max_bytes). */
export const MAX_PASSWORD_BYTES = 72;
export const DEFAULT_MIN_PASSWORD_LENGTH = 12;
/** bcrypt's own range of work factors. */
export const MIN_BCRYPT_COST = 4;
export const MAX_BCRYPT_COST = 31;

export interface PasswordPolicy {
  /** password.min_length: characters (code points) of the NFKC form. */
  minLength: number;
  /** password.bcrypt_cost: the work factor of new hashes. */
  bcryptCost: number;
  /** password.block_common: refuse passwords in the common-password list. */
  blockCommon: boolean;
}

export const DEFAULT_PASSWORD_POLICY: PasswordPolicy = {
  minLength: DEFAULT_MIN_PASSWORD_LENGTH,
  bcryptCost: DEFAULT_BCRYPT_COST,
  blockCommon: true,
};

/** The form a password is measured, hashed and compared in. */
export function normalizePassword(password: string): string {
  return password.normalize('NFKC');
}

/**
 * Every rule except the common-password list, which loads asynchronously (validNewPassword
 * has it): well-formed text without control characters, at least minLength characters and
 * at most 72 UTF-8 bytes, both of the NFKC form. Any other character is allowed; there are
 * no composition rules. The value is the NFKC form.
 */
export function validPassword(password: string, policy: Pick<PasswordPolicy, 'minLength'>, field = 'password'): Result<string> {
  // Invalid UTF-8 must not collapse into U+FFFD, nor a control character hide in a password.
  const shape = validPasswordShape(password, field);
  if (!shape.ok) return shape;
  const nfkc = normalizePassword(password);
  const again = validPasswordShape(nfkc, field);
  if (!again.ok) return again;
  if ([...nfkc].length < policy.minLength) {
    return fail(field, `must be at least ${policy.minLength} characters`);
  }
  const bytes = Buffer.byteLength(nfkc, 'utf8');
  if (bytes > MAX_PASSWORD_BYTES) {
    return fail(
      field,
      `must be at most ${MAX_PASSWORD_BYTES} bytes in UTF-8 (this one is ${bytes}): bcrypt ignores everything after the ${MAX_PASSWORD_BYTES}th byte, ` +
        'so the rest would not be checked (a character outside ASCII takes 2 to 4 bytes)',
    );
  }
  return ok(nfkc);
}

/** validPassword, then (with blockCommon) the common-password list. The value is the NFKC form. */
export async function validNewPassword(password: string, policy: Pick<PasswordPolicy, 'minLength' | 'blockCommon'>, field = 'password'): Promise<Result<string>> {
  const r = validPassword(password, policy, field);
  if (!r.ok) return r;
  if (policy.blockCommon && (await isCommonPassword(r.value))) {
    return fail(field, 'is too common: it is on a list of passwords that attackers try first; choose another');
  }
  return r;
}

/** Throwing form of validPassword (not the common-password list: use checkNewPassword to set a password). Returns the NFKC form. */
export function checkPassword(password: string, policy: Pick<PasswordPolicy, 'minLength'>, field = 'password'): string {
  const r = validPassword(password, policy, field);
  if (!r.ok) throw new ValidationError(r.field, r.message);
  return r.value;
}

/** Throwing form of validNewPassword: every rule, for a password about to be set. Returns the NFKC form. */
export async function checkNewPassword(password: string, policy: Pick<PasswordPolicy, 'minLength' | 'blockCommon'>, field = 'password'): Promise<string> {
  const r = await validNewPassword(password, policy, field);
  if (!r.ok) throw new ValidationError(r.field, r.message);
  return r.value;
}

let commonPasswords: Promise<Set<string>> | undefined;

/** Case-insensitive after NFKC. The list (common-passwords.ts, ~18,000 entries) is read once, on first use. */
export async function isCommonPassword(password: string): Promise<boolean> {
  commonPasswords ??= import('./common-passwords.js').then(({ COMMON_PASSWORDS }) => {
    const set = new Set(COMMON_PASSWORDS.split('\n'));
    set.delete('');
    return set;
  });
  return (await commonPasswords).has(normalizePassword(password).toLowerCase());
}

/** $2a$, $2b$ or $2y$, a two-digit cost within bcrypt's range, then exactly 53 characters of salt and hash. */
const BCRYPT_HASH = /^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/;

/**
 * Whether a stored hash may be given to bcrypt at all. node's bcrypt accepts a valid hash
 * followed by junk, and a cost it cannot run in reasonable time; anything else is refused.
 */
export function isWellFormedBcryptHash(hash: unknown): hash is string {
  if (typeof hash !== 'string' || !BCRYPT_HASH.test(hash)) return false;
  const cost = Number(hash.slice(4, 6));
  return cost >= MIN_BCRYPT_COST && cost <= MAX_BCRYPT_COST;
}

/** The work factor of a well-formed bcrypt hash (to re-hash one below the policy's cost at sign-in), else undefined. */
export function bcryptCostOf(hash: string): number | undefined {
  return isWellFormedBcryptHash(hash) ? Number(hash.slice(4, 6)) : undefined;
}

export async function hashPassword(password: string, cost: number): Promise<string> {
  const nfkc = normalizePassword(password);
  // A last guard: bcrypt would silently hash only the first 72 bytes.
  if (Buffer.byteLength(nfkc, 'utf8') > MAX_PASSWORD_BYTES) throw new ValidationError('password', `must be at most ${MAX_PASSWORD_BYTES} bytes in UTF-8`);
  const bcrypt = (await import('bcrypt')).default;
  return bcrypt.hash(nfkc, cost);
}

/**
 * True when `password` (NFKC) matches `hash`. False, without calling bcrypt, for a hash that
 * is not well-formed; false, after the same one comparison as a real attempt, for a
 * password that could never have been set (so its timing says nothing). Never throws.
 */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  if (!isWellFormedBcryptHash(hash)) return false;
  const settable = typeof password === 'string' && validPasswordShape(password).ok;
  const nfkc = settable ? normalizePassword(password) : '';
  const usable = settable && Buffer.byteLength(nfkc, 'utf8') <= MAX_PASSWORD_BYTES;
  try {
    const bcrypt = (await import('bcrypt')).default;
    const match = await bcrypt.compare(usable ? nfkc : DUMMY_PASSWORD, hash);
    return usable && match;
  } catch {
    return false;
  }
}

/** A real bcrypt hash (of DUMMY_PASSWORD at cost 4); dummyVerify swaps in the cost it needs. */
const DUMMY_HASH_BODY = '13jLSOSlWgvvy/hFNcabHOjjgREuZIRzpsrCGOcsKITp76KS98Dbe';
const DUMMY_PASSWORD = "acctctl dummy password, never anyone's";

/**
 * One bcrypt comparison at `cost` that never succeeds: what signing in as an unknown
 * identifier costs, so the time taken does not reveal which accounts exist.
 */
export async function dummyVerify(cost: number = DEFAULT_BCRYPT_COST): Promise<false> {
  if (!Number.isInteger(cost) || cost < MIN_BCRYPT_COST || cost > MAX_BCRYPT_COST) {
    throw new RangeError(`bcrypt cost must be an integer from ${MIN_BCRYPT_COST} to ${MAX_BCRYPT_COST}`);
  }
  const bcrypt = (await import('bcrypt')).default;
  await bcrypt.compare('not the dummy password', `$2b$${String(cost).padStart(2, '0')}$${DUMMY_HASH_BODY}`);
  return false;
}

// No look-alikes (0/O, 1/l/I) so a password read aloud or off a screen survives.
const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
const SYMBOLS = '-_.!%+';

/** A random password: 20 characters, ~115 bits, at least one symbol, lower, upper and digit. */
export function generatePassword(length = 20): string {
  const all = ALPHABET + SYMBOLS;
  for (;;) {
    let out = '';
    for (let i = 0; i < length; i++) out += all[randomInt(all.length)];
    if (/[a-z]/.test(out) && /[A-Z]/.test(out) && /[2-9]/.test(out) && /[-_.!%+]/.test(out)) return out;
  }
}
