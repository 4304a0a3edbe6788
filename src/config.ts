/**
 * Every environment variable acctctl reads, read and checked once. A bad value is kept
 * as its error and thrown only when that setting is used, so `--help` never fails on
 * an unrelated variable.
 */
import { UsageError } from './errors.js';
import { validActorIp } from './domain/validate.js';

export interface Config {
  /** ACCTCTL_DB (empty = unset). */
  readonly db: string | undefined;
  /** ACCTCTL_ACTOR (empty = unset). */
  readonly actor: string | undefined;
  /** ACCTCTL_BCRYPT_COST, when set. */
  readonly bcryptCost: number | undefined;
  /** ACCTCTL_CONNECT_TIMEOUT / ACCTCTL_LOCK_TIMEOUT, in milliseconds, when set. */
  readonly connectTimeoutMs: number | undefined;
  readonly lockTimeoutMs: number | undefined;
  /** ACCTCTL_DEBUG=1: stack traces for unexpected errors. */
  readonly debug: boolean;
  /** NO_COLOR set and not empty, or TERM=dumb. */
  readonly noColor: boolean;
  /** The actor's address: the first field of SSH_CLIENT if it is an IP address, 'invalid' if it is not, else 'local'. */
  readonly actorIp: string;
  /** For the default database location. */
  readonly home: string | undefined;
  readonly xdgDataHome: string | undefined;
  /** $USER, used when the OS has no passwd entry for us. */
  readonly user: string | undefined;
  /** ACCTCTL_SECRET_KEY (base64, 32 bytes) and ACCTCTL_SECRET_KEY_FILE: the key for secrets at rest. */
  readonly secretKey: string | undefined;
  readonly secretKeyFile: string | undefined;
  /** A variable named by the operator (`policy set KEY --from-env VAR`); empty = unset. */
  variable(name: string): string | undefined;
}

/** Reads `90`, `90s`, `500ms`, `2m` into milliseconds. */
export function parseDuration(name: string, raw: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$/.exec(raw);
  const ms = m ? Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 'm' ? 60_000 : 1000) : NaN;
  if (!Number.isFinite(ms) || ms < 1 || ms > 3_600_000) {
    throw new UsageError(`${name}: "${raw.slice(0, 40)}" is not a duration from 1ms to 60m (e.g. 10s, 500ms)`, { field: name });
  }
  return Math.round(ms);
}

function parseCost(raw: string): number {
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || n < 4 || n > 31) throw new UsageError(`ACCTCTL_BCRYPT_COST: "${raw.slice(0, 40)}" must be a whole number from 4 to 31`, { field: 'ACCTCTL_BCRYPT_COST' });
  return n;
}

/** SSH_CLIENT is "client-ip client-port server-port"; anything but an IP address is stored as 'invalid'. */
export function actorIpFrom(sshClient: string | undefined): string {
  const first = sshClient?.trim().split(/\s+/)[0];
  return first === undefined || first === '' ? 'local' : validActorIp(first);
}

const nonEmpty = (v: string | undefined) => (v === undefined || v === '' ? undefined : v);

/** A setting that failed its check throws when read. */
function lazy<T>(raw: string | undefined, parse: (raw: string) => T): () => T | undefined {
  if (raw === undefined) return () => undefined;
  try {
    const value = parse(raw);
    return () => value;
  } catch (err) {
    return () => {
      throw err;
    };
  }
}

export function loadConfig(env: Readonly<Record<string, string | undefined>>): Config {
  const cost = lazy(nonEmpty(env.ACCTCTL_BCRYPT_COST), parseCost);
  const connect = lazy(nonEmpty(env.ACCTCTL_CONNECT_TIMEOUT), (r) => parseDuration('ACCTCTL_CONNECT_TIMEOUT', r));
  const lock = lazy(nonEmpty(env.ACCTCTL_LOCK_TIMEOUT), (r) => parseDuration('ACCTCTL_LOCK_TIMEOUT', r));
  return Object.freeze({
    db: nonEmpty(env.ACCTCTL_DB),
    actor: nonEmpty(env.ACCTCTL_ACTOR),
    get bcryptCost() {
      return cost();
    },
    get connectTimeoutMs() {
      return connect();
    },
    get lockTimeoutMs() {
      return lock();
    },
    debug: env.ACCTCTL_DEBUG === '1',
    noColor: nonEmpty(env.NO_COLOR) !== undefined || env.TERM === 'dumb',
    actorIp: actorIpFrom(env.SSH_CLIENT),
    home: env.HOME,
    xdgDataHome: env.XDG_DATA_HOME,
    user: nonEmpty(env.USER),
    secretKey: nonEmpty(env.ACCTCTL_SECRET_KEY),
    secretKeyFile: nonEmpty(env.ACCTCTL_SECRET_KEY_FILE),
    variable: (name: string) => nonEmpty(env[name]),
  });
}
