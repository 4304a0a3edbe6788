/**
 * Database errors in words: every engine-specific error code lives here. Dependency-free,
 * so the CLI can describe an error (and redact a URL) without loading a driver.
 */
import { AcctError } from '../errors.js';

/** What connect() knew when an error arose; attached to the error, never printed. */
export interface DbErrorContext {
  /** The location, already redacted. */
  location: string;
  connectTimeoutMs?: number;
  lockTimeoutMs?: number;
  /** Credentials of the URL, scrubbed from any message. */
  secrets?: string[];
  /** The connection attempt ran out of time. */
  timedOut?: boolean;
}

const CONTEXT = Symbol.for('acctctl.dbErrorContext');

/** Attaches the connection's context to an error (the innermost connection wins). */
export function tagDbError<T>(err: T, context: DbErrorContext): T {
  if (typeof err === 'object' && err !== null && !(CONTEXT in err) && Object.isExtensible(err)) {
    Object.defineProperty(err, CONTEXT, { value: context, enumerable: false });
  }
  return err;
}

function contextOf(err: unknown): DbErrorContext | undefined {
  return typeof err === 'object' && err !== null ? (err as { [CONTEXT]?: DbErrorContext })[CONTEXT] : undefined;
}

/** pg's wording when a connection (or a wait for one) runs out of time. */
export function isConnectTimeoutMessage(message: string): boolean {
  return /connection timeout|timeout exceeded when trying to connect|^timeout expired$/i.test(message);
}

const CONNECT_CODES = new Set([
  'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT',
  '28P01', // invalid_password
  '28000', // invalid_authorization_specification (e.g. no pg_hba.conf entry)
  '3D000', // invalid_catalog_name: no such database
]);

/** err, its causes and an AggregateError's members, outermost first. */
function chain(err: unknown): unknown[] {
  const out: unknown[] = [];
  const queue = [err];
  while (queue.length > 0 && out.length < 10) {
    const e = queue.shift();
    if (typeof e !== 'object' || e === null || out.includes(e)) continue;
    out.push(e);
    const { cause, errors } = e as { cause?: unknown; errors?: unknown };
    if (cause !== undefined) queue.push(cause);
    if (Array.isArray(errors)) queue.push(...errors);
  }
  return out;
}

function seconds(ms: number): string {
  return String(Number((ms / 1000).toFixed(3)));
}

/**
 * One line for a database error, or undefined when it is not one we know. location (a
 * path or URL, redacted here) defaults to the one connect() tagged the error with.
 */
export function describeDbError(err: unknown, location?: string): string | undefined {
  // Our own errors already say what happened (even when a driver error is their cause).
  if (err instanceof AcctError) return undefined;
  const errors = chain(err);
  if (errors.length === 0) return undefined;
  const ctx = errors.map(contextOf).find((c) => c !== undefined);
  const where = location !== undefined && location !== '' ? redactUrl(location) : ctx?.location;
  const secrets = [...(ctx?.secrets ?? []), ...(location ? urlSecrets(location) : [])].sort((a, b) => b.length - a.length);
  const scrub = (text: string): string => scrubSecrets(text, secrets);
  const codes = errors.map((e) => (e as { code?: unknown }).code).filter((c): c is string => typeof c === 'string');
  const messages = errors.map((e) => String((e as { message?: unknown }).message ?? '')).filter((m) => m !== '');

  if (ctx?.timedOut || messages.some(isConnectTimeoutMessage)) {
    const within = ctx?.connectTimeoutMs !== undefined ? ` within ${seconds(ctx.connectTimeoutMs)} s` : ' in time';
    return scrub(`cannot connect to the database: the server at ${where ?? 'the database location'} did not answer${within} (set ACCTCTL_CONNECT_TIMEOUT to wait longer)`);
  }
  const connectCode = codes.find((c) => CONNECT_CODES.has(c));
  if (connectCode !== undefined) {
    const detail = messages[0] ?? connectCode;
    return scrub(`cannot connect to the database: ${detail}${where ? ` (at ${where})` : ''}`);
  }
  // 55P03 lock_not_available: lock_timeout ran out; SQLITE_BUSY: the busy timeout did.
  if (codes.some((c) => c === '55P03' || c.startsWith('SQLITE_BUSY'))) {
    const after = ctx?.lockTimeoutMs !== undefined ? ` after ${seconds(ctx.lockTimeoutMs)} s` : '';
    return `gave up waiting for a lock held by another session${after} (ACCTCTL_LOCK_TIMEOUT)`;
  }
  const file = where ?? 'the database file';
  if (codes.some((c) => c.startsWith('SQLITE_NOTADB'))) return scrub(`${file} is not an SQLite database`);
  if (codes.some((c) => c.startsWith('SQLITE_READONLY'))) {
    return scrub(`cannot write to ${file}: the database file or its folder is read-only`);
  }
  if (codes.some((c) => c.startsWith('SQLITE_CANTOPEN'))) {
    return scrub(`cannot open the SQLite database ${file}: ${messages[0] ?? 'unable to open database file'}`);
  }
  return undefined;
}

interface UrlParts {
  /** `scheme://` */
  head: string;
  /** userinfo without the password, or undefined when there is no userinfo */
  user?: string;
  password?: string;
  /** host, path and query */
  rest: string;
}

/**
 * Where the userinfo ends: the LAST `@` of the URL, so a password may hold `@ : / ? #`
 * unencoded. An `@` further on (in the query) makes this mask more than the password,
 * never less.
 */
function userinfoEnd(body: string): number {
  return body.lastIndexOf('@');
}

function splitUrl(url: string): UrlParts | undefined {
  const m = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url);
  if (!m) return undefined;
  const body = url.slice(m[0].length);
  const at = userinfoEnd(body);
  if (at < 0) return { head: m[0], rest: body };
  const userinfo = body.slice(0, at);
  const colon = userinfo.indexOf(':');
  return {
    head: m[0],
    user: colon < 0 ? userinfo : userinfo.slice(0, colon),
    password: colon < 0 ? undefined : userinfo.slice(colon + 1),
    rest: body.slice(at + 1),
  };
}

const SECRET_PARAMS = new Set(['password', 'sslpassword']);

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The query's parameters as [raw key, raw value | undefined]. */
function queryParams(rest: string): { before: string; params: [string, string | undefined][] } | undefined {
  const q = rest.indexOf('?');
  if (q < 0) return undefined;
  const params = rest
    .slice(q + 1)
    .split('&')
    .map((p): [string, string | undefined] => {
      const eq = p.indexOf('=');
      return eq < 0 ? [p, undefined] : [p.slice(0, eq), p.slice(eq + 1)];
    });
  return { before: rest.slice(0, q), params };
}

function isSecretParam(key: string): boolean {
  return SECRET_PARAMS.has(safeDecode(key.replace(/\+/g, ' ')).toLowerCase());
}

/** The URL with every credential (userinfo password, password / sslpassword parameters) masked. */
export function redactUrl(url: string): string {
  const parts = splitUrl(url);
  if (!parts) return url;
  let rest = parts.rest;
  const query = queryParams(rest);
  if (query) {
    const params = query.params.map(([k, v]) => (v !== undefined && isSecretParam(k) ? `${k}=***` : v === undefined ? k : `${k}=${v}`));
    rest = `${query.before}?${params.join('&')}`;
  }
  if (parts.user === undefined) return parts.head + rest;
  const userinfo = parts.password === undefined ? parts.user : `${parts.user}:${parts.password === '' ? '' : '***'}`;
  return `${parts.head}${userinfo}@${rest}`;
}

/**
 * Replaces credentials found in a message. A short or plain-word password ('p',
 * 'postgres') is left alone: replacing it everywhere would mangle the message and, by
 * the pattern of stars, reveal it. Messages name URLs through redactUrl anyway.
 */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  const worth = secrets.filter((s) => s.length >= 12 || (s.length >= 6 && /[^A-Za-z]/.test(s)));
  return [...worth].sort((a, b) => b.length - a.length).reduce((t, s) => t.split(s).join('***'), text);
}

/** The literal credentials in a URL, raw and decoded, to scrub from any message. */
export function urlSecrets(url: string): string[] {
  const parts = splitUrl(url);
  if (!parts) return [];
  const found = new Set<string>();
  const add = (raw: string): void => {
    for (const s of [raw, safeDecode(raw), safeDecode(raw.replace(/\+/g, ' '))]) if (s !== '') found.add(s);
  };
  if (parts.password !== undefined) add(parts.password);
  for (const [k, v] of queryParams(parts.rest)?.params ?? []) if (v !== undefined && isSecretParam(k)) add(v);
  return [...found];
}
