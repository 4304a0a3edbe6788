import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { homedir } from 'node:os';
import {
  Kysely,
  PostgresDialect,
  SqliteDialect,
  SqliteDriver,
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
} from 'kysely';
import type { DB } from './types.js';
import { UsageError } from '../errors.js';

export type DialectName = 'sqlite' | 'postgres';

export interface Database {
  readonly kysely: Kysely<DB>;
  readonly dialect: DialectName;
  /** The location with any password removed, safe to print. */
  readonly displayUrl: string;
  close(): Promise<void>;
}

export interface Target {
  dialect: DialectName;
  /** SQLite: the file path (or ':memory:'); PostgreSQL: the connection string. */
  location: string;
}

/** The default database: $XDG_DATA_HOME/acctctl/acctctl.db. */
export function defaultDbPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_DATA_HOME && env.XDG_DATA_HOME.trim() !== '' ? env.XDG_DATA_HOME : resolve(homedir(), '.local', 'share');
  return resolve(base, 'acctctl', 'acctctl.db');
}

/** Parses `--db`: a file path, `sqlite:PATH`, or `postgres://…` / `postgresql://…`. */
export function parseDbUrl(url: string): Target {
  const trimmed = url.trim();
  if (trimmed === '') throw new UsageError('--db: empty database location', { field: 'db' });
  if (/^postgres(ql)?:\/\//i.test(trimmed)) return { dialect: 'postgres', location: trimmed };
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

export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*):[^@/]*@/i, '$1:***@');
}

/** SQLite writers take the write lock at BEGIN, so a read-check-write rule cannot race. */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  readonly #config: ConstructorParameters<typeof SqliteDialect>[0];
  constructor(config: ConstructorParameters<typeof SqliteDialect>[0]) {
    super(config);
    this.#config = config;
  }
  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config);
  }
}

const BUSY_TIMEOUT_MS = 15_000;

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

export async function connect(url: string): Promise<Database> {
  const target = parseDbUrl(url);
  return target.dialect === 'sqlite' ? connectSqlite(target.location) : connectPostgres(target.location);
}

async function connectSqlite(path: string): Promise<Database> {
  const { default: BetterSqlite3 } = await import('better-sqlite3');
  let raw;
  try {
    if (path !== ':memory:') makeParents(dirname(resolve(path)));
    raw = new BetterSqlite3(path, { timeout: BUSY_TIMEOUT_MS });
  } catch (err) {
    throw new UsageError(`--db: cannot open SQLite database ${path}: ${(err as Error).message}`, { field: 'db', cause: err });
  }
  raw.pragma('journal_mode = WAL');
  raw.pragma('synchronous = NORMAL');
  raw.pragma('foreign_keys = ON');
  raw.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  const kysely = new Kysely<DB>({ dialect: new ImmediateSqliteDialect({ database: raw }) });
  return {
    kysely,
    dialect: 'sqlite',
    displayUrl: path,
    close: () => kysely.destroy(),
  };
}

async function connectPostgres(url: string): Promise<Database> {
  const pg = (await import('pg')).default;
  // BIGINT ids and COUNT(*) arrive as strings by default; every value we keep fits a double.
  const types = {
    getTypeParser: (oid: number, format?: 'text' | 'binary') =>
      oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text'),
  };
  const pool = new pg.Pool({ connectionString: url, max: 4, types: types as never });
  // An idle client's error (e.g. server restart) must not crash the process.
  pool.on('error', () => {});
  const kysely = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  return {
    kysely,
    dialect: 'postgres',
    displayUrl: redactUrl(url),
    close: () => kysely.destroy(),
  };
}
