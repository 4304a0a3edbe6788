/**
 * Pure validators: each returns a Result naming the field, never throws. Text is
 * trimmed and NFC-normalised. services/validate.ts wraps these into throwing checks.
 */
import { domainToASCII } from 'node:url';
import { ROLES, USER_STATUSES, isOneOf, type Role, type UserStatus } from './enums.js';
import { hasBidiControls, hasControlChars, hasInvisibleChars, isWellFormedText, printable } from './text.js';

export type Result<T> = { ok: true; value: T } | { ok: false; field: string; message: string };
export interface FieldError {
  field: string;
  message: string;
}

export function ok<T>(value: T): { ok: true; value: T } {
  return { ok: true, value };
}

export function fail(field: string, message: string): { ok: false; field: string; message: string } {
  return { ok: false, field, message };
}

// Documented limits (SPEC.md); lengths are in characters (code points) unless named bytes.
export const EMAIL_MAX = 254;
export const EMAIL_LOCAL_MAX = 64;
export const DOMAIN_MAX = 253;
export const DOMAIN_LABEL_MAX = 63;
export const USERNAME_MIN = 2;
export const USERNAME_MAX = 64;
export const DISPLAY_NAME_MAX = 200;
export const ADDRESS_MAX = 500;
export const PHONE_MAX = 32;
export const LANGUAGE_MAX = 35;
export const TIMEZONE_MAX = 64;
export const PREFERENCES_MAX_BYTES = 16_384;
export const PREFERENCES_MAX_DEPTH = 20;
export const SEARCH_MAX = 200;
export const REASON_MAX = 1000;

const NOT_UTF8 = 'is not valid UTF-8 (it has an invalid byte sequence, a lone surrogate or U+FFFD)';

export interface TextOptions {
  /** Allow \n and \r\n (addresses). */
  multiline?: boolean;
  /** Also refuse invisible characters (emails, usernames: no look-alikes). */
  identifier?: boolean;
}

/** The checks every text field shares; returns the trimmed NFC value. */
export function validTextShape(value: string, field: string, opts: TextOptions = {}): Result<string> {
  if (typeof (value as unknown) !== 'string') return fail(field, 'must be text');
  if (!isWellFormedText(value)) return fail(field, NOT_UTF8);
  const t = value.trim().normalize('NFC');
  if (hasControlChars(t, { allowNewlines: opts.multiline === true })) return fail(field, 'must not contain control characters');
  if (hasBidiControls(t)) return fail(field, 'must not contain bidirectional control characters');
  if (opts.identifier && hasInvisibleChars(t)) return fail(field, 'must not contain invisible characters (zero-width spaces, joiners, soft hyphens…)');
  return ok(t);
}

/** Free text: trimmed, NFC, at most `max` characters, newlines only where allowed. */
export function validText(value: string, field: string, max: number, opts: TextOptions = {}): Result<string> {
  const r = validTextShape(value, field, opts);
  if (!r.ok) return r;
  if (r.value.length > max && [...r.value].length > max) return fail(field, `is longer than ${max} characters`);
  return r;
}

const LOCAL_PART = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.\u{80}-\u{10ffff}-]+$/u;
const DOMAIN_LABEL = /^[A-Za-z0-9\u{80}-\u{10ffff}](?:[A-Za-z0-9\u{80}-\u{10ffff}-]{0,61}[A-Za-z0-9\u{80}-\u{10ffff}])?$/u;

/** A practical address check: one @, a dotted domain with a non-numeric top label, no spaces or invisible characters. */
export function validEmail(value: string, field = 'email'): Result<string> {
  const r = validTextShape(value, field, { identifier: true });
  if (!r.ok) return r;
  const email = r.value;
  if (email === '') return fail(field, 'is required');
  if (email.length > EMAIL_MAX) return fail(field, `is longer than ${EMAIL_MAX} characters`);
  if (/\s/u.test(email)) return fail(field, `"${printable(email)}" contains spaces`);
  const m = /^([^@]+)@([^@]+)$/.exec(email);
  if (!m) return fail(field, `"${printable(email)}" is not an email address`);
  const local = m[1]!;
  // IDNA's other full stops (。．｡) are dots: store the address as it will be compared.
  const domain = m[2]!.replace(/[\u3002\uff0e\uff61]/gu, '.');
  if (local.length > EMAIL_LOCAL_MAX || !LOCAL_PART.test(local) || local.startsWith('.') || local.endsWith('.') || local.includes('..')) {
    return fail(field, `"${printable(email)}" is not an email address (bad local part)`);
  }
  const badDomain = fail(field, `"${printable(email)}" is not an email address (bad domain)`);
  const labels = domain.split('.');
  if (labels.length < 2 || labels.some((l) => !DOMAIN_LABEL.test(l))) return badDomain;
  // x@123.456 would be read as an IP address; IDNA turns other digits into ASCII ones.
  const allDigits = (l: string | undefined) => l !== undefined && /^\p{Nd}+$/u.test(l);
  const numeric = fail(field, `"${printable(email)}" is not an email address (the domain's last label is all digits)`);
  if (allDigits(labels[labels.length - 1])) return numeric;
  const ascii = domainToASCII(domain);
  if (ascii === '' || ascii.length > DOMAIN_MAX) return badDomain;
  const asciiLabels = ascii.split('.');
  if (asciiLabels.length < 2 || asciiLabels.some((l) => l.length === 0 || l.length > DOMAIN_LABEL_MAX)) return badDomain;
  if (allDigits(asciiLabels[asciiLabels.length - 1])) return numeric;
  return ok(`${local}@${domain}`);
}

/**
 * The key for email uniqueness and lookup: NFC, lower-cased local part, IDNA (punycode)
 * domain, so Unicode and xn-- spellings of one domain are one address.
 */
export function normalizeEmail(email: string): string {
  const e = email.trim().normalize('NFC');
  const at = e.lastIndexOf('@');
  if (at < 0) return e.toLowerCase();
  const domain = e.slice(at + 1);
  // An invalid domain (never stored) still gets a key, so a lookup simply finds nothing.
  return `${e.slice(0, at).toLowerCase()}@${domainToASCII(domain) || domain.toLowerCase()}`;
}

/**
 * Usernames: 2–64 of a-z 0-9 . _ -, starting with a letter or digit. Never all digits,
 * never starting usr_ (and no @) — so a <user> argument is never ambiguous.
 */
export function validUsername(value: string, field = 'username'): Result<string> {
  const r = validTextShape(value, field, { identifier: true });
  if (!r.ok) return r;
  const u = r.value;
  if (u.length < USERNAME_MIN || u.length > USERNAME_MAX || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(u)) {
    return fail(field, `"${printable(u)}" must be ${USERNAME_MIN}-${USERNAME_MAX} characters of letters, digits, . _ - and start with a letter or digit`);
  }
  if (/^\d+$/.test(u)) return fail(field, 'must not be all digits (it would read as an id)');
  if (/^usr_/i.test(u)) return fail(field, 'must not start with usr_ (it would read as a public id)');
  return ok(u);
}

export function validRole(value: string, field = 'role'): Result<Role> {
  const v = typeof (value as unknown) === 'string' ? value.trim() : value;
  if (!isOneOf(ROLES, v)) return fail(field, `unknown role "${printable(String(v))}" (expected one of: ${ROLES.join(', ')})`);
  return ok(v);
}

export function validStatus(value: string, field = 'status'): Result<UserStatus> {
  const v = typeof (value as unknown) === 'string' ? value.trim() : value;
  if (!isOneOf(USER_STATUSES, v)) return fail(field, `unknown status "${printable(String(v))}" (expected one of: ${USER_STATUSES.join(', ')})`);
  return ok(v);
}

/** A yes/no value from a flag (boolean) or a CSV cell (true/false, yes/no, 1/0). */
export function validBoolean(value: boolean | string, field: string): Result<boolean> {
  if (typeof value === 'boolean') return ok(value);
  const v = typeof (value as unknown) === 'string' ? value.trim().toLowerCase() : '';
  if (['true', 'yes', '1'].includes(v)) return ok(true);
  if (['false', 'no', '0'].includes(v)) return ok(false);
  return fail(field, `"${printable(String(value))}" is not a yes/no value (true, false, yes, no, 1, 0)`);
}

let zoneNames: Map<string, string> | undefined;

/**
 * IANA zone names only, in their canonical spelling: a name Intl lists is stored as
 * listed whatever its case (Europe/berlin → Europe/Berlin); a valid link Intl does not
 * list (America/Argentina/Buenos_Aires, Europe/Kyiv) is kept as named, since ICU would
 * "resolve" some of them to older names. Offsets (+02:00) and abbreviations (EST, CEST)
 * are refused: only names with a "/" and UTC pass the shape check.
 */
export function validTimezone(value: string, field = 'timezone'): Result<string> {
  const r = validTextShape(value, field);
  if (!r.ok) return r;
  const tz = r.value;
  const bad = fail(field, `"${printable(tz)}" is not an IANA time zone name (e.g. Europe/Berlin, America/New_York, UTC)`);
  const shaped = /^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+)+$/.test(tz) || tz.toUpperCase() === 'UTC';
  if (tz.length > TIMEZONE_MAX || !shaped) return bad;
  zoneNames ??= new Map([...Intl.supportedValuesOf('timeZone'), 'UTC', 'Etc/UTC'].map((z) => [z.toLowerCase(), z]));
  const listed = zoneNames.get(tz.toLowerCase());
  if (listed !== undefined) return ok(listed);
  let resolved: string;
  try {
    resolved = new Intl.DateTimeFormat('en-US', { timeZone: tz }).resolvedOptions().timeZone;
  } catch {
    return bad;
  }
  if (!resolved || !(resolved.includes('/') || resolved === 'UTC')) return bad;
  // Same name in another case: Intl's spelling.
  if (resolved.toLowerCase() === tz.toLowerCase()) return ok(resolved);
  // A link to another zone typed in one case (ASIA/KOLKATA, europe/kyiv): IANA's usual
  // spelling, if Intl reads it as the same zone; a mixed-case name (US/Eastern) is kept.
  if (tz !== tz.toLowerCase() && tz !== tz.toUpperCase()) return ok(tz);
  const spelled = tz.split('/').map((part) => part.toLowerCase().replace(/(^|[_-])([a-z])/g, (_, sep: string, c: string) => sep + c.toUpperCase())).join('/');
  try {
    if (new Intl.DateTimeFormat('en-US', { timeZone: spelled }).resolvedOptions().timeZone === resolved) return ok(spelled);
  } catch {
    /* keep it as named */
  }
  return ok(tz);
}

/** BCP 47 language tags (en, de-CH, pt-BR, zh-Hant), canonicalised. */
export function validLanguage(value: string, field = 'language'): Result<string> {
  const r = validTextShape(value, field);
  if (!r.ok) return r;
  const tag = r.value;
  const bad = fail(field, `"${printable(tag)}" is not a language tag (e.g. en, de-CH)`);
  if (tag.length > LANGUAGE_MAX || !/^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$/.test(tag)) return bad;
  try {
    const canonical = Intl.getCanonicalLocales(tag)[0];
    return canonical ? ok(canonical) : bad;
  } catch {
    return bad;
  }
}

export function validPhone(value: string, field = 'phone'): Result<string> {
  const r = validTextShape(value, field);
  if (!r.ok) return r;
  const p = r.value;
  if (p.length > PHONE_MAX || !/^\+?[0-9][0-9 ().\-/]{2,}$/.test(p)) {
    return fail(field, `"${printable(p)}" is not a phone number (at most ${PHONE_MAX} of digits, spaces, + ( ) . - /)`);
  }
  return ok(p);
}

/** True when brackets outside strings nest deeper than `max` (checked before JSON.parse recurses). */
function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

/** A message for the first string (key or value) in a parsed document that is unsafe, else null. */
function unsafeStringIn(value: unknown): string | null {
  const check = (s: string): string | null => {
    if (!isWellFormedText(s)) return NOT_UTF8;
    if (hasControlChars(s.replace(/[\t\r\n]/g, ''))) return 'must not contain control characters (other than tab and newline)';
    if (hasBidiControls(s)) return 'must not contain bidirectional control characters';
    return null;
  };
  if (typeof value === 'string') return check(value);
  if (Array.isArray(value)) {
    for (const v of value) {
      const m = unsafeStringIn(v);
      if (m) return m;
    }
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const m = check(k) ?? unsafeStringIn(v);
      if (m) return m;
    }
  }
  return null;
}

/** A JSON object of at most 16 KiB (UTF-8) and 20 levels; '' clears it ('{}'). Returns compact JSON. */
export function validPreferences(value: string, field = 'preferences'): Result<string> {
  if (typeof (value as unknown) !== 'string') return fail(field, 'must be JSON text');
  const tooBig = fail(field, `is larger than 16 KiB (${PREFERENCES_MAX_BYTES} bytes of UTF-8)`);
  if (Buffer.byteLength(value, 'utf8') > PREFERENCES_MAX_BYTES) return tooBig;
  if (!isWellFormedText(value)) return fail(field, NOT_UTF8);
  const text = value.trim();
  if (text === '') return ok('{}');
  if (nestsDeeperThan(text, PREFERENCES_MAX_DEPTH)) return fail(field, `is nested deeper than ${PREFERENCES_MAX_DEPTH} levels`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return fail(field, `is not valid JSON: ${printable((err as Error).message)}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return fail(field, 'must be a JSON object');
  const unsafe = unsafeStringIn(parsed);
  if (unsafe) return fail(field, unsafe);
  const out = JSON.stringify(parsed);
  if (Buffer.byteLength(out, 'utf8') > PREFERENCES_MAX_BYTES) return tooBig;
  return ok(out);
}

/** A `--search` needle: at most 200 characters, no controls. */
export function validSearch(value: string, field = 'search'): Result<string> {
  // Two UTF-16 units per character at most: a longer string is refused before any work.
  if (typeof (value as unknown) === 'string' && value.length > SEARCH_MAX * 2) return fail(field, `is longer than ${SEARCH_MAX} characters`);
  return validText(value, field, SEARCH_MAX);
}

/** A `--reason` for the audit log: one line of at most 1000 characters. */
export function validReason(value: string, field = 'reason'): Result<string> {
  return validText(value, field, REASON_MAX);
}

/**
 * The shape of a password: well-formed text without control characters. Not trimmed or
 * normalised (it is hashed as given); the length policy lives in security/passwords.ts.
 */
export function validPasswordShape(value: string, field = 'password'): Result<string> {
  if (typeof (value as unknown) !== 'string') return fail(field, 'must be text');
  if (!isWellFormedText(value)) return fail(field, NOT_UTF8);
  if (hasControlChars(value)) return fail(field, 'must not contain control characters');
  return ok(value);
}

/** The actor's IP for the audit log: the value when it is an IP address, else 'invalid'. Never an error. */
export function validActorIp(value: string | null | undefined): string {
  return typeof value === 'string' && isIpAddress(value) ? value : 'invalid';
}

const IPV4 = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/**
 * An IPv4 or IPv6 address, as node:net's isIP says, without loading node:net (2 ms of
 * every start-up): IPv6 through the URL parser, with an optional zone (fe80::1%eth0).
 */
export function isIpAddress(value: string): boolean {
  if (IPV4.test(value)) return true;
  if (!value.includes(':') || !/^[0-9A-Fa-f:.]+(?:%[0-9A-Za-z_.~-]+)?$/.test(value)) return false;
  try {
    new URL(`http://[${value.replace(/%.*$/, '')}]/`);
    return true;
  } catch {
    return false;
  }
}
