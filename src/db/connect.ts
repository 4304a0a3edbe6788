import { closeSync, existsSync, mkdirSync, openSync, readSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { userInfo } from 'node:os';
import {
  Kysely,
  PostgresDialect,
  SqliteDialect,
  SqliteDriver,
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  type QueryResult,
} from 'kysely';
import type { DB } from './types.js';
import { DatabaseMissingError, UsageError } from '../errors.js';
import { hasControlChars, isWellFormedText } from '../domain/text.js';
import { isConnectTimeoutMessage, redactUrl, tagDbError, urlSecrets, type DbErrorContext } from './errors.js';

export { redactUrl, urlSecrets } from './errors.js';

export type DialectName = 'sqlite' | 'postgres';

export interface Database {
  readonly kysely: Kysely<DB>;
  readonly dialect: DialectName;
  /** The location with any password removed, safe to print. */
  readonly displayUrl: string;
  /** Opened for reading only (SQLite 'read' mode): writes fail. */
  readonly readOnly: boolean;
  /** A connection that may write: this one, or (read-only SQLite) a second one opened once, closed by close(). */
  writer(): Promise<Database>;
  close(): Promise<void>;
}

export interface ConnectOptions {
  /** create: make the file (and folders) if missing; write: the file must exist; read: it must exist and is opened read-only. */
  mode?: 'create' | 'write' | 'read';
  connectTimeoutMs?: number;
  lockTimeoutMs?: number;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
export const DEFAULT_LOCK_TIMEOUT_MS = 15_000;

export interface Target {
  dialect: DialectName;
  /** SQLite: the file path (or ':memory:'); PostgreSQL: the connection string. */
  location: string;
}

/**
 * The default database: $XDG_DATA_HOME/acctctl/acctctl.db, else ~/.local/share/acctctl/acctctl.db.
 * A relative XDG_DATA_HOME is ignored (XDG spec), as is an empty or relative HOME.
 */
export function defaultDbPath(
  env: { HOME?: string | undefined; XDG_DATA_HOME?: string | undefined },
  passwdHome: () => string = () => userInfo().homedir,
): string {
  const xdg = env.XDG_DATA_HOME;
  if (xdg !== undefined && isAbsolute(xdg)) return resolve(xdg, 'acctctl', 'acctctl.db');
  let home = env.HOME;
  if (home === undefined || !isAbsolute(home)) {
    try {
      home = passwdHome();
    } catch {
      home = undefined; // no passwd entry
    }
  }
  if (home === undefined || !isAbsolute(home)) {
    throw new UsageError('no home directory for the default database: set --db or ACCTCTL_DB', { field: 'db' });
  }
  return resolve(home, '.local', 'share', 'acctctl', 'acctctl.db');
}

/** Parses `--db`: a file path, `sqlite:PATH`, or `postgres://…` / `postgresql://…`. */
export function parseDbUrl(url: string): Target {
  const trimmed = url.trim();
  if (trimmed === '') throw new UsageError('--db: empty database location', { field: 'db' });
  if (!isWellFormedText(trimmed) || hasControlChars(trimmed)) {
    throw new UsageError('--db: the location is not valid UTF-8 or holds control characters', { field: 'db' });
  }
  if (/^postgres(ql)?:\/\//i.test(trimmed)) {
    try {
      new URL(trimmed);
    } catch {
      throw new UsageError(
        `--db: "${redactUrl(trimmed)}" is not a valid PostgreSQL URL (percent-encode @ : / ? # in the user name and password, e.g. @ as %40)`,
        { field: 'db' },
      );
    }
    return { dialect: 'postgres', location: trimmed };
  }
  if (/^sqlite:/i.test(trimmed)) {
    const path = trimmed.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (path === '') throw new UsageError('--db: sqlite: needs a path', { field: 'db' });
    return { dialect: 'sqlite', location: path };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed)) {
    throw new UsageError(`--db: unsupported database URL scheme in "${redactUrl(trimmed)}" (use a file path, sqlite:PATH or postgres://…)`, { field: 'db' });
  }
  return { dialect: 'sqlite', location: trimmed };
}

/** Tags every query error with the connection's context (for describeDbError). */
function taggingConnection(inner: DatabaseConnection, context: DbErrorContext): DatabaseConnection {
  return {
    async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
      try {
        return await inner.executeQuery<R>(query);
      } catch (err) {
        throw tagDbError(err, context);
      }
    },
    async *streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
      try {
        yield* inner.streamQuery<R>(query, chunkSize);
      } catch (err) {
        throw tagDbError(err, context);
      }
    },
  };
}

/** SQLite writers take the write lock at BEGIN, so a read-check-write rule cannot race. */
class ImmediateSqliteDriver extends SqliteDriver {
  readonly #context: DbErrorContext;
  constructor(config: ConstructorParameters<typeof SqliteDriver>[0], context: DbErrorContext) {
    super(config);
    this.#context = context;
  }
  override async acquireConnection(): Promise<DatabaseConnection> {
    return taggingConnection(await super.acquireConnection(), this.#context);
  }
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  readonly #config: ConstructorParameters<typeof SqliteDialect>[0];
  readonly #context: DbErrorContext;
  constructor(config: ConstructorParameters<typeof SqliteDialect>[0], context: DbErrorContext) {
    super(config);
    this.#config = config;
    this.#context = context;
  }
  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config, this.#context);
  }
}

/**
 * Creates the missing folders above the database file one by one: Node's recursive
 * mkdirSync spins forever on some file systems (e.g. below /proc) instead of failing.
 */
function makeParents(dir: string): void {
  const missing: string[] = [];
  for (let d = dir; !existsSync(d); d = dirname(d)) {
    missing.unshift(d);
    if (dirname(d) === d) break;
  }
  for (const d of missing) mkdirSync(d);
}

/** The header's read/write format bytes are 2 in WAL mode. */
function isWalFile(path: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const header = Buffer.alloc(20);
    return readSync(fd, header, 0, 20, 0) === 20 && header[18] === 2 && header[19] === 2;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export async function connect(url: string, opts: ConnectOptions = {}): Promise<Database> {
  const target = parseDbUrl(url);
  const full: Required<ConnectOptions> = {
    mode: opts.mode ?? 'create',
    connectTimeoutMs: opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    lockTimeoutMs: opts.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS,
  };
  return target.dialect === 'sqlite' ? connectSqlite(target.location, full) : connectPostgres(target.location, full);
}

async function connectSqlite(path: string, opts: Required<ConnectOptions>): Promise<Database> {
  const { default: BetterSqlite3 } = await import('better-sqlite3');
  const context: DbErrorContext = { location: path, lockTimeoutMs: opts.lockTimeoutMs };
  // Nothing to open in memory: every mode creates it.
  const mode = path === ':memory:' ? 'create' : opts.mode;
  const readOnly = mode === 'read';
  let raw;
  try {
    if (mode === 'create' && path !== ':memory:') makeParents(dirname(resolve(path)));
    raw = new BetterSqlite3(path, { timeout: opts.lockTimeoutMs, readonly: readOnly, fileMustExist: mode !== 'create' });
  } catch (err) {
    if (mode !== 'create' && !existsSync(path)) {
      throw new DatabaseMissingError(`database ${path} does not exist: run \`acctctl init\` (or check --db / ACCTCTL_DB)`, { cause: err });
    }
    throw new UsageError(`--db: cannot open SQLite database ${path}: ${(err as Error).message}`, { field: 'db', cause: err });
  }
  try {
    if (readOnly) {
      // Reads the header (and in WAL mode maps the -shm) now, so a failure names the file.
      raw.prepare('SELECT count(*) FROM sqlite_master').get();
    } else {
      raw.pragma('journal_mode = WAL');
      raw.pragma('synchronous = NORMAL');
      raw.pragma(`busy_timeout = ${opts.lockTimeoutMs}`);
    }
    raw.pragma('foreign_keys = ON');
  } catch (err) {
    raw.close();
    const code = String((err as { code?: unknown }).code ?? '');
    // better-sqlite3 cannot open `file:…?immutable=1` per connection (URIs are a process-wide switch).
    if (readOnly && /^SQLITE_(CANTOPEN|READONLY)/.test(code) && isWalFile(path)) {
      throw new UsageError(
        `--db: cannot read SQLite database ${path}: it is in WAL mode and its ${path}-shm file cannot be created (make the folder writable, or copy the database to a writable folder)`,
        { field: 'db', cause: err },
      );
    }
    throw tagDbError(err, context);
  }
  const kysely = new Kysely<DB>({ dialect: new ImmediateSqliteDialect({ database: raw }, context) });
  let writer: Promise<Database> | undefined;
  const db: Database = {
    kysely,
    dialect: 'sqlite',
    displayUrl: path,
    readOnly,
    writer: () => {
      if (!readOnly) return Promise.resolve(db);
      writer ??= connectSqlite(path, { ...opts, mode: 'write' }).catch((err: unknown) => {
        writer = undefined;
        throw err;
      });
      return writer;
    },
    close: async () => {
      try {
        const w = writer && (await writer.catch(() => undefined));
        writer = undefined;
        await w?.close();
      } finally {
        await kysely.destroy();
      }
    },
  };
  return db;
}

async function connectPostgres(url: string, opts: Required<ConnectOptions>): Promise<Database> {
  const pg = (await import('pg')).default;
  const context: DbErrorContext = {
    location: redactUrl(url),
    connectTimeoutMs: opts.connectTimeoutMs,
    lockTimeoutMs: opts.lockTimeoutMs,
    secrets: urlSecrets(url),
  };
  // BIGINT ids and COUNT(*) arrive as strings by default; every value we keep fits a double.
  const types = {
    getTypeParser: (oid: number, format?: 'text' | 'binary') =>
      oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text'),
  };
  // Query errors carry the context (lock timeout, location) for describeDbError.
  class TaggingClient extends pg.Client {}
  const query = pg.Client.prototype.query as (...args: unknown[]) => unknown;
  Object.defineProperty(TaggingClient.prototype, 'query', {
    value: function (this: InstanceType<typeof pg.Client>, ...args: unknown[]) {
      const result = query.apply(this, args);
      return result instanceof Promise ? result.catch((err: unknown) => Promise.reject(tagDbError(err, context))) : result;
    },
  });
  const pool = new pg.Pool({
    connectionString: url,
    max: 4,
    types: types as never,
    Client: TaggingClient,
    // Covers a server that accepts the connection and never answers, too.
    connectionTimeoutMillis: opts.connectTimeoutMs,
    // A startup parameter, so it holds on every connection whatever options= the URL sets.
    lock_timeout: opts.lockTimeoutMs,
  });
  // An idle client's error (e.g. server restart) must not crash the process.
  pool.on('error', () => {});
  const kysely = new Kysely<DB>({
    dialect: new PostgresDialect({
      pool: {
        connect: async () => {
          try {
            return await pool.connect();
          } catch (err) {
            const timedOut = err instanceof Error && isConnectTimeoutMessage(err.message);
            throw tagDbError(err, timedOut ? { ...context, timedOut } : context);
          }
        },
        end: () => pool.end(),
      },
    }),
  });
  const db: Database = {
    kysely,
    dialect: 'postgres',
    displayUrl: context.location,
    readOnly: false,
    writer: () => Promise.resolve(db),
    close: () => kysely.destroy(),
  };
  return db;
}
