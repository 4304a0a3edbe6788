import { randomInt } from 'node:crypto';
import { ValidationError } from '../errors.js';
import { validPasswordShape } from '../domain/validate.js';

export const DEFAULT_BCRYPT_COST = 12;
/** bcrypt ignores everything past 72 bytes; refusing longer passwords keeps that honest. */
export const MAX_PASSWORD_BYTES = 72;
export const DEFAULT_MIN_PASSWORD_LENGTH = 12;

export interface PasswordPolicy {
  minLength: number;
  bcryptCost: number;
}

export const DEFAULT_PASSWORD_POLICY: PasswordPolicy = {
  minLength: DEFAULT_MIN_PASSWORD_LENGTH,
  bcryptCost: DEFAULT_BCRYPT_COST,
};

export function checkPassword(password: string, policy: PasswordPolicy, field = 'password'): void {
  // Well-formed text without control characters: invalid UTF-8 must not collapse into U+FFFD.
  const shape = validPasswordShape(password, field);
  if (!shape.ok) throw new ValidationError(shape.field, shape.message);
  if ([...password].length < policy.minLength) {
    throw new ValidationError(field, `must be at least ${policy.minLength} characters`);
  }
  if (Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES) {
    throw new ValidationError(field, `must be at most ${MAX_PASSWORD_BYTES} bytes (bcrypt ignores the rest)`);
  }
}

export async function hashPassword(password: string, cost: number): Promise<string> {
  const bcrypt = (await import('bcrypt')).default;
  return bcrypt.hash(password, cost);
}

export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  const bcrypt = (await import('bcrypt')).default;
  return bcrypt.compare(password, hash);
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
