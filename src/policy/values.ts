/**
 * Pure parsing and formatting of setting values, from a command line ('text') or an
 * exported JSON document ('json'). Errors name the key (the Result's field), the value
 * and what is allowed; a secret's value is never echoed in a message.
 */
import { domainToASCII } from 'node:url';
import { printable } from '../domain/text.js';
import { DOMAIN_LABEL_MAX, DOMAIN_MAX, DISPLAY_NAME_MAX, fail, ok, validEmail, validPasswordShape, validText, validTextShape, type Result } from '../domain/validate.js';
import { SETTINGS, type SettingSpec, type SettingValue } from './registry.js';

export const STRING_MAX = 200;
export const URL_MAX = 2048;
export const SECRET_MAX_BYTES = 4096;
export const LIST_MAX_ITEMS = 500;
/** Values are shown in messages cut to this many characters. */
const SHOWN_MAX = 80;
const MASK = '••••';

export type SettingSource = 'text' | 'json';
export type SettingJson = boolean | number | string | string[] | null;

const UNITS: readonly [string, number][] = [['d', 86_400], ['h', 3600], ['m', 60], ['s', 1]];

/** Seconds in the largest exact unit: 86400 → 1d, 5400 → 90m, 0 → 0. */
export function formatDuration(seconds: number): string {
  if (seconds === 0) return '0';
  for (const [unit, size] of UNITS) if (seconds % size === 0) return `${seconds / size}${unit}`;
  return `${seconds}s`;
}

/** `90s`, `30m`, `12h`, `7d` or `0` → seconds; undefined when malformed (range not checked). */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d{1,9})([smhd])?$/i.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  if (m[2] === undefined) return n === 0 ? 0 : undefined; // a bare number has no unit
  return n * UNITS.find(([u]) => u === m[2]!.toLowerCase())![1];
}

/** `••••` plus the last 2 characters, or only `••••` for a secret shorter than 8 characters. */
export function maskSecret(plain: string): string {
  const chars = [...plain];
  return chars.length < 8 ? MASK : MASK + chars.slice(-2).join('');
}

/** True for a value maskSecret made (an export without --include-secrets): never a secret to store. */
export function isMaskedSecret(value: unknown): boolean {
  return typeof value === 'string' && value.startsWith(MASK);
}

/** What a setting accepts, for messages and help. */
export function describeAllowed(spec: SettingSpec): string {
  switch (spec.type) {
    case 'boolean':
      return 'true or false (also yes/no, on/off, 1/0)';
    case 'integer':
      return `a whole number ${range(spec, String)}`;
    case 'duration':
      return `a duration (90s, 30m, 12h, 7d) ${range(spec, formatDuration)}`;
    case 'enum':
      return `one of: ${(spec.values ?? []).join(', ')}`;
    case 'list':
      return spec.items === 'domain'
        ? 'a comma-separated list of domain names such as acme.example, mail.acme.example'
        : `a comma-separated list of texts of at most ${STRING_MAX} characters`;
    case 'url':
      return `an http(s) URL with a host and no user or password, at most ${URL_MAX} characters`;
    case 'email':
      return 'an email address, optionally with a display name (Acme <no-reply@acme.example>)';
    case 'string':
      return `text of at most ${STRING_MAX} characters`;
    case 'secret':
      return `non-empty text of at most ${SECRET_MAX_BYTES} bytes without control characters`;
  }
}

function range(spec: SettingSpec, show: (n: number) => string): string {
  const min = spec.min ?? 0;
  const max = spec.max ?? Number.MAX_SAFE_INTEGER;
  const span = min === max ? `of exactly ${show(min)}` : `from ${show(min)} to ${show(max)}`;
  if (spec.zeroMeans === undefined) return span;
  return min <= 0 ? `${span} (0 = ${spec.zeroMeans})` : `${span}, or 0 (${spec.zeroMeans})`;
}

function inRange(spec: SettingSpec, n: number): boolean {
  if (n === 0 && spec.zeroMeans !== undefined) return true;
  return n >= (spec.min ?? 0) && n <= (spec.max ?? Number.MAX_SAFE_INTEGER);
}

function cut(s: string): string {
  const chars = [...s];
  return printable(chars.length > SHOWN_MAX ? `${chars.slice(0, SHOWN_MAX - 1).join('')}…` : s);
}

/** The value as the user gave it, for a message: quoted text, or JSON for anything else. */
function shown(input: unknown): string {
  if (typeof input === 'string') return `"${cut(input)}"`;
  let json: string | undefined;
  try {
    json = JSON.stringify(input);
  } catch {
    /* a cycle or a BigInt: fall through */
  }
  return cut(json ?? String(input));
}

const JSON_SHAPE: Record<SettingSpec['type'], string> = {
  boolean: 'true or false',
  integer: 'a number',
  duration: 'a string such as "7d"',
  enum: 'a string',
  list: 'an array of strings',
  string: 'a string',
  url: 'a string',
  email: 'a string',
  secret: 'a string',
};

/**
 * Parses and normalises one value. Text: booleans also yes/no/on/off/1/0, lists
 * comma-separated, '' unsets a setting whose default is unset. JSON: typed values,
 * durations in their text form, null unsets.
 */
export function parseSetting(spec: SettingSpec, input: string | unknown, from: SettingSource): Result<SettingValue> {
  const key = spec.key;
  const nullable = spec.default === null;
  const refuse = (value: unknown = input, detail = ''): Result<never> =>
    fail(key, `${spec.secret ? 'the value' : shown(value)} is not ${describeAllowed(spec)}${detail}`);

  if (from === 'json') {
    if (input === null) return nullable ? ok(null) : fail(key, `must not be null (expected ${describeAllowed(spec)})`);
    const expected = JSON_SHAPE[spec.type];
    const wrongType = () => refuse(input, ` (in JSON: ${expected})`);
    switch (spec.type) {
      case 'boolean':
        return typeof input === 'boolean' ? ok(input) : wrongType();
      case 'integer':
        if (typeof input !== 'number' || !Number.isSafeInteger(input)) return wrongType();
        return inRange(spec, input) ? ok(input === 0 ? 0 : input) : refuse(); // no -0
      case 'list':
        if (!Array.isArray(input) || input.some((i) => typeof i !== 'string')) return wrongType();
        return parseList(spec, input as string[]);
      default:
        if (typeof input !== 'string') return wrongType();
    }
  } else if (typeof input !== 'string') {
    return fail(key, 'must be text');
  }
  const raw = input as string;

  if (spec.type === 'secret') return parseSecret(spec, raw, from);
  const shape = validTextShape(raw, key, { identifier: spec.type === 'url' || spec.type === 'email' || spec.type === 'list' });
  if (!shape.ok) return fail(key, `${shown(raw)} ${shape.message}`); // printable() shows the bad characters escaped
  const t = shape.value;
  if (t === '' && nullable) return ok(null);

  switch (spec.type) {
    case 'boolean': {
      const v = t.toLowerCase();
      if (['true', 'yes', 'on', '1'].includes(v)) return ok(true);
      if (['false', 'no', 'off', '0'].includes(v)) return ok(false);
      return refuse();
    }
    case 'integer': {
      if (!/^-?\d{1,15}$/.test(t)) return refuse();
      const n = Number(t);
      return inRange(spec, n) ? ok(n === 0 ? 0 : n) : refuse();
    }
    case 'duration': {
      const n = parseDuration(t);
      return n !== undefined && inRange(spec, n) ? ok(n) : refuse();
    }
    case 'enum':
      return (spec.values ?? []).includes(t) ? ok(t) : refuse();
    case 'list':
      return parseList(spec, t.split(',').map((i) => i.trim()).filter((i) => i !== ''));
    case 'url':
      return parseUrl(spec, t);
    case 'email':
      return parseFrom(spec, t);
    case 'string': {
      if (t === '') return fail(key, `must not be empty (expected ${describeAllowed(spec)})`);
      const r = validText(t, key, STRING_MAX);
      if (!r.ok) return refuse();
      if (key === 'smtp.host' && !/^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])$/.test(r.value)) {
        return fail(key, `"${cut(t)}" is not a host name or [IP address]`);
      }
      return r;
    }
  }
}

function parseSecret(spec: SettingSpec, raw: string, from: SettingSource): Result<SettingValue> {
  // Not trimmed or normalised (used as given); stdin's final line ending is not part of it.
  const value = from === 'text' ? raw.replace(/\r?\n$/, '') : raw;
  if (value === '' && spec.default === null) return ok(null);
  const shape = validPasswordShape(value, spec.key);
  if (!shape.ok) return shape;
  if (value.trim() === '') return fail(spec.key, 'must not be only spaces');
  if (Buffer.byteLength(value, 'utf8') > SECRET_MAX_BYTES) return fail(spec.key, `is longer than ${SECRET_MAX_BYTES} bytes`);
  if (isMaskedSecret(value)) return fail(spec.key, 'is a masked value (export with --include-secrets to get the secret itself)');
  return ok(value);
}

function parseList(spec: SettingSpec, items: string[]): Result<SettingValue> {
  if (items.length > LIST_MAX_ITEMS) return fail(spec.key, `has more than ${LIST_MAX_ITEMS} items`);
  const out: string[] = [];
  for (const item of items) {
    // A domain item may be a wildcard for its subdomains: *.example.com.
    const wild = spec.items === 'domain' && item.trim().startsWith('*.');
    const d = spec.items === 'domain' ? validDomain(wild ? item.trim().slice(2) : item) : undefined;
    const r = spec.items === 'domain' ? (d === undefined ? undefined : wild ? `*.${d}` : d) : validListText(item);
    const what = spec.items === 'domain' ? 'a domain name' : `an item of at most ${STRING_MAX} characters without commas`;
    if (r === undefined) return fail(spec.key, `"${cut(item)}" is not ${what} (expected ${describeAllowed(spec)})`);
    if (out.includes(r)) return fail(spec.key, `lists "${cut(r)}" twice (each item once)`);
    out.push(r);
  }
  return ok(out);
}

function validListText(item: string): string | undefined {
  const r = validText(item, 'item', STRING_MAX);
  return r.ok && r.value !== '' && !r.value.includes(',') ? r.value : undefined;
}

/** A DNS name of two or more labels: IDNA (punycode), lower case; undefined if not one. */
export function validDomain(text: string): string | undefined {
  const shape = validTextShape(text, 'domain', { identifier: true });
  if (!shape.ok) return undefined;
  // IDNA's other full stops (。．｡) are dots, as in validEmail.
  const t = shape.value.replace(/[\u3002\uff0e\uff61]/gu, '.').toLowerCase();
  if (t === '' || /[\s@/:]/u.test(t)) return undefined;
  const ascii = domainToASCII(t);
  if (ascii === '' || ascii.length > DOMAIN_MAX) return undefined;
  const labels = ascii.split('.');
  if (labels.length < 2) return undefined;
  const LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
  if (labels.some((l) => l.length > DOMAIN_LABEL_MAX || !LABEL.test(l))) return undefined;
  if (/^\d+$/.test(labels[labels.length - 1]!)) return undefined; // an IP address, not a domain
  return ascii;
}

function parseUrl(spec: SettingSpec, t: string): Result<SettingValue> {
  const key = spec.key;
  const allowed = describeAllowed(spec);
  if (t === '') return fail(key, `must not be empty (expected ${allowed})`);
  if (t.length > URL_MAX) return fail(key, `is longer than ${URL_MAX} characters (expected ${allowed})`);
  let url: URL;
  try {
    url = new URL(t);
  } catch {
    return fail(key, `"${cut(t)}" is not ${allowed}`);
  }
  if (url.username !== '' || url.password !== '' || /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*@/i.test(t)) {
    // The message must not repeat the user or password.
    return fail(key, `"${cut(`${url.protocol}//…@${url.host}${url.pathname}`)}" has a user or password in it (expected ${allowed})`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '' || /[\s\\]/u.test(t) || !/^https?:\/\//i.test(t)) {
    return fail(key, `"${cut(t)}" is not ${allowed}`);
  }
  // A base for links: no query or fragment to append to.
  if (url.search !== '' || url.hash !== '') return fail(key, `"${cut(t)}" has a query or fragment (expected ${allowed}, without ?… or #…)`);
  // Stored in the URL's own normal form: scheme and host lower case, IDNA host, no default port.
  return ok(url.href.replace(/\/$/, url.pathname === '/' && !t.endsWith('/') ? '' : '/'));
}

/** `addr@x.example`, `Name <addr@x.example>` or `"Name, Inc." <addr@x.example>`. */
function parseFrom(spec: SettingSpec, t: string): Result<SettingValue> {
  const key = spec.key;
  const bad = (why: string) => fail(key, `"${cut(t)}" is not ${describeAllowed(spec)}: ${why}`);
  if (t === '') return fail(key, `must not be empty (expected ${describeAllowed(spec)})`);
  const m = /^([^<>]*?)\s*<([^<>]*)>$/u.exec(t);
  if (!m && /[<>]/.test(t)) return bad('the address must be in <…> at the end');
  let name = m ? m[1]!.trim() : '';
  const address = m ? m[2]!.trim() : t;
  if (name.startsWith('"')) {
    if (name.length < 2 || !name.endsWith('"') || /["\\]/.test(name.slice(1, -1))) return bad('a quoted display name must not contain " or \\');
    if (name.slice(1, -1).trim() === '') name = '';
  } else if (/["\\(),;:@[\]]/.test(name)) {
    return bad('put a display name with " \\ ( ) , ; : @ [ ] in double quotes');
  }
  if ([...name].length > DISPLAY_NAME_MAX) return bad(`the display name is longer than ${DISPLAY_NAME_MAX} characters`);
  const r = validEmail(address, key);
  if (!r.ok) return bad(`the address ${r.message.replace(/^"[^"]*" /, '')}`);
  return ok(name === '' ? r.value : `${name} <${r.value}>`);
}

/** The text form (tables, `policy get`); it parses back to the same value. A secret comes back masked. */
export function formatSetting(spec: SettingSpec, value: SettingValue): string {
  if (value === null) return '';
  if (spec.secret) return maskSecret(String(value));
  if (Array.isArray(value)) return value.join(', ');
  if (spec.type === 'duration' && typeof value === 'number') return formatDuration(value);
  return String(value);
}

/** The export form: durations as text, the rest as JSON values. Secrets in clear: the caller masks. */
export function toJson(spec: SettingSpec, value: SettingValue): SettingJson {
  if (spec.type === 'duration' && typeof value === 'number') return formatDuration(value);
  return Array.isArray(value) ? [...value] : value;
}

/** Edit distance with adjacent transpositions (optimal string alignment). */
export function editDistance(a: string, b: string): number {
  const A = [...a];
  const B = [...b];
  const d: number[][] = Array.from({ length: A.length + 1 }, (_, i) => Array.from({ length: B.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= A.length; i++) {
    for (let j = 1; j <= B.length; j++) {
      const cost = A[i - 1] === B[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && A[i - 1] === B[j - 2] && A[i - 2] === B[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[A.length]![B.length]!;
}

/**
 * The known key closest to `unknown` (also matched against keys without their section:
 * min_length → password.min_length), or undefined when none is reasonably close.
 */
export function suggestKey(unknown: string): string | undefined {
  const u = unknown.trim().toLowerCase().replace(/-/g, '_');
  if (u === '' || u.length > 200) return undefined;
  const limit = Math.max(2, Math.floor([...u].length / 4));
  let best: { key: string; distance: number } | undefined;
  for (const s of SETTINGS) {
    // Without a dot, the name alone counts too; a short name needs a closer match (foo is not from).
    const targets = u.includes('.') ? [s.key] : [s.key, s.key.slice(s.section.length + 1)];
    for (const target of targets) {
      const distance = editDistance(u, target);
      if (distance > limit || distance * 2 >= [...target].length) continue;
      if (best === undefined || distance < best.distance) best = { key: s.key, distance };
    }
  }
  return best?.key;
}
