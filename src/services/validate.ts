/** Input validation shared by services: each check names the field it is about. */
import { ValidationError } from '../errors.js';

export const ROLES = ['admin', 'reseller', 'user'] as const;
export type Role = (typeof ROLES)[number];
export const STATUSES = ['pending', 'active', 'suspended', 'deactivated'] as const;
export type Status = (typeof STATUSES)[number];

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** A practical address check: one @, a dotted domain, no spaces or control characters. */
export function validEmail(value: string, field = 'email'): string {
  const email = value.trim();
  if (email === '') throw new ValidationError(field, 'is required');
  if (email.length > 254) throw new ValidationError(field, 'is longer than 254 characters');
  if (CONTROL.test(email) || /\s/.test(email)) throw new ValidationError(field, `"${printable(email)}" contains spaces or control characters`);
  const m = /^([^@]+)@([^@]+)$/.exec(email);
  if (!m) throw new ValidationError(field, `"${printable(email)}" is not an email address`);
  const [, local, domain] = m as unknown as [string, string, string];
  if (local.length > 64 || !/^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.\u0080-\uffff-]+$/.test(local) || local.startsWith('.') || local.endsWith('.') || local.includes('..')) {
    throw new ValidationError(field, `"${printable(email)}" is not an email address (bad local part)`);
  }
  const labels = domain.split('.');
  if (labels.length < 2 || labels.some((l) => !/^[A-Za-z0-9\u0080-\uffff]([A-Za-z0-9\u0080-\uffff-]{0,61}[A-Za-z0-9\u0080-\uffff])?$/.test(l))) {
    throw new ValidationError(field, `"${printable(email)}" is not an email address (bad domain)`);
  }
  return email;
}

/**
 * Usernames: 2–64 of a-z 0-9 . _ -, starting with a letter or digit. Never all digits,
 * never containing @, never starting usr_ — so a <user> argument is never ambiguous.
 */
export function validUsername(value: string, field = 'username'): string {
  const u = value.trim();
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$/.test(u)) {
    throw new ValidationError(field, `"${printable(u)}" must be 2-64 characters of letters, digits, . _ - and start with a letter or digit`);
  }
  if (/^\d+$/.test(u)) throw new ValidationError(field, 'must not be all digits (it would read as an id)');
  if (/^usr_/i.test(u)) throw new ValidationError(field, 'must not start with usr_ (it would read as a public id)');
  return u;
}

export function validRole(value: string, field = 'role'): Role {
  if (!(ROLES as readonly string[]).includes(value)) throw new ValidationError(field, `unknown role "${printable(value)}" (expected one of: ${ROLES.join(', ')})`);
  return value as Role;
}

export function validStatus(value: string, field = 'status'): Status {
  if (!(STATUSES as readonly string[]).includes(value)) throw new ValidationError(field, `unknown status "${printable(value)}" (expected one of: ${STATUSES.join(', ')})`);
  return value as Status;
}

let zones: Set<string> | undefined;

/** IANA time zone names only ("Europe/Berlin", "UTC"); no offsets or abbreviations such as "+02:00" or "CEST". */
export function validTimezone(value: string, field = 'timezone'): string {
  const tz = value.trim();
  zones ??= new Set([...Intl.supportedValuesOf('timeZone'), 'UTC', 'Etc/UTC']);
  if (zones.has(tz)) return tz;
  // Accept IANA aliases (Asia/Calcutta) that resolve to a canonical zone.
  if (/^[A-Za-z]+(?:[/_-][A-Za-z0-9+_-]+)+$/.test(tz) && tz.includes('/')) {
    try {
      const resolved = new Intl.DateTimeFormat('en-US', { timeZone: tz }).resolvedOptions().timeZone;
      if (zones.has(resolved)) return tz;
    } catch {
      /* fall through */
    }
  }
  throw new ValidationError(field, `"${printable(tz)}" is not an IANA time zone name (e.g. Europe/Berlin, America/New_York, UTC)`);
}

/** BCP 47 language tags: en, de-CH, pt-BR, zh-Hant. */
export function validLanguage(value: string, field = 'language'): string {
  const tag = value.trim();
  if (!/^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/.test(tag)) throw new ValidationError(field, `"${printable(tag)}" is not a language tag (e.g. en, de-CH)`);
  try {
    return Intl.getCanonicalLocales(tag)[0]!;
  } catch {
    throw new ValidationError(field, `"${printable(tag)}" is not a language tag (e.g. en, de-CH)`);
  }
}

export function validPhone(value: string, field = 'phone'): string {
  const p = value.trim();
  if (!/^\+?[0-9][0-9 ().\-/]{2,31}$/.test(p)) throw new ValidationError(field, `"${printable(p)}" is not a phone number (digits, spaces, + ( ) . - /)`);
  return p;
}

/** Free text: trimmed, bounded, no control characters (newlines only where allowed). */
export function validText(value: string, field: string, max: number, opts: { multiline?: boolean } = {}): string {
  const t = value.trim();
  const bad = opts.multiline ? t.replace(/\r?\n/g, '') : t;
  if (CONTROL.test(bad)) throw new ValidationError(field, 'must not contain control characters or bidirectional overrides');
  if ([...t].length > max) throw new ValidationError(field, `is longer than ${max} characters`);
  return t;
}

export function validPreferences(value: string, field = 'preferences'): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (err) {
    throw new ValidationError(field, `is not valid JSON: ${(err as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new ValidationError(field, 'must be a JSON object');
  const text = JSON.stringify(parsed);
  if (text.length > 16_384) throw new ValidationError(field, 'is larger than 16 KiB');
  return text;
}

/** For error messages: a hostile value can't drive the terminal through our own message. */
export function printable(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`).slice(0, 200);
}
