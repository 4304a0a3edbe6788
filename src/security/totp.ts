/**
 * TOTP (RFC 6238) primitives for two-factor sign-in: pure functions, no database. The codes
 * come from otplib v13 (its functional API: generateSync, generateURI); the replay rule,
 * the window and the constant-time comparison are ours, so every candidate step is checked.
 */
import { timingSafeEqual } from 'node:crypto';
import { createRequire } from 'node:module';
import { ValidationError } from '../errors.js';
import { randomBase32 } from './tokens.js';

export type TotpAlgorithm = 'sha1' | 'sha256' | 'sha512';

export interface TotpOptions {
  /** Default 'sha1' (what every authenticator app supports). */
  algorithm?: TotpAlgorithm;
  /** 6 (default), 7 or 8. */
  digits?: number;
  /** Seconds per time step; default 30. */
  period?: number;
}

export const TOTP_DEFAULTS = { algorithm: 'sha1', digits: 6, period: 30 } as const satisfies Required<TotpOptions>;
/** 160 bits: RFC 4226's recommended shared-secret length (SHA-1's output size). */
export const TOTP_SECRET_BYTES = 20;
/** Tolerated clock drift, in steps either side; more than a few makes guessing easier. */
export const MAX_TOTP_WINDOW = 10;

type Otplib = typeof import('otplib');
let otplib: Otplib | undefined;
/**
 * otplib on first use (convention 13: it costs ~30 ms to load), synchronously, so these
 * functions need not be async. require() also keeps it out of the core bundle, like bcrypt:
 * import.meta.url in ES modules (dist/, tests), __filename in the CommonJS bundle.
 */
function loadOtplib(): Otplib {
  otplib ??= createRequire(import.meta.url || __filename)('otplib') as Otplib;
  return otplib;
}

/** A new shared secret: 160 random bits as 32 upper-case base32 characters (no padding). */
export function newTotpSecret(): string {
  // 32 characters of 5 random bits each are exactly 20 bytes once decoded.
  return randomBase32((TOTP_SECRET_BYTES * 8) / 5).toUpperCase();
}

/** The RFC 6238 time step T = floor(t / period) for a time in milliseconds. */
export function totpStep(atMs: number, period: number = TOTP_DEFAULTS.period): number {
  checkPeriod(period);
  if (!Number.isFinite(atMs) || atMs < 0) throw new RangeError('TOTP time must be a non-negative number of milliseconds');
  return Math.floor(Math.floor(atMs / 1000) / period);
}

export interface OtpauthUriInput extends TotpOptions {
  /** Base32 secret, e.g. from newTotpSecret(). */
  secret: string;
  /** The account the code is for, e.g. the user's email: shown in the authenticator app. */
  account: string;
  /** Who issues the code, e.g. the product's name: shown in the authenticator app. */
  issuer: string;
}

/** otpauth://totp/Issuer:account?secret=…&issuer=… (Google's Key URI Format), for a QR code. */
export function otpauthUri(input: OtpauthUriInput): string {
  const opts = resolveOptions(input);
  for (const field of ['issuer', 'account'] as const) {
    const v = input[field];
    if (typeof v !== 'string' || v.trim() === '') throw new ValidationError(field, 'is required');
    // The label is "issuer:account": a colon in either would make it ambiguous.
    if (v.includes(':')) throw new ValidationError(field, 'must not contain a colon (it separates issuer and account in the otpauth URI)');
  }
  const secret = secretBytes(input.secret); // refuses a bad secret before it is printed anywhere
  const { generateURI, ScureBase32Plugin } = loadOtplib();
  return generateURI({
    issuer: input.issuer,
    label: input.account,
    secret: new ScureBase32Plugin().encode(secret, { padding: false }),
    algorithm: opts.algorithm,
    digits: opts.digits,
    period: opts.period,
  });
}

/** The code for the time step that contains `atMs`. */
export function totpCode(secret: string, atMs: number, opts: TotpOptions = {}): string {
  const o = resolveOptions(opts);
  const key = secretBytes(secret);
  const { generateSync } = loadOtplib();
  return codeAt(generateSync, key, totpStep(atMs, o.period), o);
}

export interface VerifyTotpInput extends TotpOptions {
  secret: string;
  /** What the user typed: exactly `digits` digits; spaces are ignored, full-width digits read as digits. */
  code: string;
  atMs: number;
  /**
   * The step of the last code accepted for this secret (null or undefined: none yet). Only
   * newer steps pass. Not optional, so that no caller forgets replay protection.
   */
  lastUsedStep: number | null | undefined;
  /** Steps of clock drift tolerated either side of the current one; default 1. */
  window?: number;
}

export type VerifyTotpResult = { ok: true; step: number } | { ok: false; reason: 'bad_code' | 'replayed' };

/**
 * Accepts a code for a step within ±window of now that is newer than lastUsedStep, and
 * returns that step (store it: it is the next call's lastUsedStep). Every candidate step is
 * computed and compared in constant time, with no early exit. A code that matches only
 * steps already used is 'replayed'. Throws only for a bad secret or bad options.
 */
export function verifyTotp(input: VerifyTotpInput): VerifyTotpResult {
  const o = resolveOptions(input);
  const window = input.window ?? 1;
  if (!Number.isInteger(window) || window < 0 || window > MAX_TOTP_WINDOW) {
    throw new RangeError(`TOTP window must be an integer from 0 to ${MAX_TOTP_WINDOW}`);
  }
  const last = input.lastUsedStep ?? null;
  if (last !== null && !Number.isSafeInteger(last)) throw new RangeError('lastUsedStep must be an integer, null or undefined');
  const key = secretBytes(input.secret);
  const now = totpStep(input.atMs, o.period);

  const given = normalizeCode(input.code, o.digits);
  if (given === undefined) return { ok: false, reason: 'bad_code' };
  const givenBytes = Buffer.from(given, 'ascii');

  const { generateSync } = loadOtplib();
  let accepted = -1;
  let replayed = false;
  for (let step = Math.max(0, now - window); step <= now + window; step++) {
    const expected = Buffer.from(codeAt(generateSync, key, step, o), 'ascii');
    const match = timingSafeEqual(expected, givenBytes);
    const fresh = last === null || step > last;
    // The newest fresh match wins (a code can, rarely, match two steps).
    if (match && fresh) accepted = step;
    if (match && !fresh) replayed = true;
  }
  if (accepted >= 0) return { ok: true, step: accepted };
  return { ok: false, reason: replayed ? 'replayed' : 'bad_code' };
}

/** The code without spaces when it is exactly `digits` digits (NFKC: full-width ones too); else undefined. */
function normalizeCode(code: unknown, digits: number): string | undefined {
  if (typeof code !== 'string' || code.length > 64) return undefined;
  const compact = code.normalize('NFKC').replace(/\s+/gu, '');
  return compact.length === digits && /^[0-9]+$/.test(compact) ? compact : undefined;
}

function codeAt(generateSync: Otplib['generateSync'], key: Uint8Array, step: number, o: Required<TotpOptions>): string {
  return generateSync({ secret: key, epoch: step * o.period, period: o.period, algorithm: o.algorithm, digits: o.digits });
}

/** Base32 (any case, spaces and '=' padding ignored) to bytes; never echoes the secret. */
function secretBytes(secret: string): Uint8Array {
  if (typeof secret !== 'string') throw new TypeError('TOTP secret must be a base32 string');
  const compact = secret.replace(/[\s=]+/g, '').toUpperCase();
  if (!/^[A-Z2-7]+$/.test(compact)) throw new TypeError('TOTP secret is not base32');
  const { ScureBase32Plugin } = loadOtplib();
  let key: Uint8Array;
  try {
    key = new ScureBase32Plugin().decode(compact);
  } catch {
    throw new TypeError('TOTP secret is not base32');
  }
  // otplib's guardrails: 128 to 512 bits.
  if (key.length < 16 || key.length > 64) throw new TypeError(`TOTP secret is ${key.length} bytes; it must be 16 to 64`);
  return key;
}

function resolveOptions(opts: TotpOptions): Required<TotpOptions> {
  const algorithm = opts.algorithm ?? TOTP_DEFAULTS.algorithm;
  const digits = opts.digits ?? TOTP_DEFAULTS.digits;
  const period = opts.period ?? TOTP_DEFAULTS.period;
  if (algorithm !== 'sha1' && algorithm !== 'sha256' && algorithm !== 'sha512') {
    throw new RangeError(`TOTP algorithm must be sha1, sha256 or sha512`);
  }
  if (!Number.isInteger(digits) || digits < 6 || digits > 8) throw new RangeError('TOTP digits must be 6, 7 or 8');
  checkPeriod(period);
  return { algorithm, digits, period };
}

function checkPeriod(period: number): void {
  if (!Number.isInteger(period) || period < 1 || period > 3600) throw new RangeError('TOTP period must be 1 to 3600 seconds');
}
