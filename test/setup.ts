/**
 * Every service test on every database (Kysely's own test setup): DIALECTS has SQLite
 * always and PostgreSQL when ACCTCTL_TEST_PG_URL is set. useTestDb() gives a describe
 * block one migrated database per dialect, emptied between tests (truncateAll), so a test
 * pays for a few DELETEs, not a migration; freshDb() / freshUrl() make a new one for the
 * few tests that need an empty, unmigrated or otherwise unusual database.
 */
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { connect, type Database } from '../src/db/connect.js';
import { migrate } from '../src/db/migrate.js';
import { truncateAll } from '../src/db/truncate.js';
import { makeContext, type ServiceContext } from '../src/services/context.js';

export type DialectName = 'sqlite' | 'postgres';
export const DIALECTS: DialectName[] = process.env.ACCTCTL_TEST_PG_URL ? ['sqlite', 'postgres'] : ['sqlite'];

export const TEST_POLICY = { bcryptCost: 4 };

export interface TestDb {
  db: Database;
  /** The --db value that reaches this same database (for commands and other processes). */
  url: string;
  ctx(overrides?: Partial<Omit<ServiceContext, 'db'>>): ServiceContext;
  /** A second, independent connection (pool) to the same database. */
  reconnect(): Promise<Database>;
  cleanup(): Promise<void>;
}

export async function freshUrl(dialect: DialectName): Promise<{ url: string; drop: () => Promise<void> }> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'acctctl-test-'));
    return { url: join(dir, 'test.db'), drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const base = process.env.ACCTCTL_TEST_PG_URL!;
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const admin = await connect(base);
  const { sql } = await import('kysely');
  await sql.raw(`CREATE SCHEMA ${schema}`).execute(admin.kysely);
  await admin.close();
  const url = `${base}${base.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema},public`)}`;
  return {
    url,
    drop: async () => {
      const a = await connect(base);
      await sql.raw(`DROP SCHEMA ${schema} CASCADE`).execute(a.kysely);
      await a.close();
    },
  };
}

export async function freshDb(dialect: DialectName, opts: { migrate?: boolean } = {}): Promise<TestDb> {
  const { url, drop } = await freshUrl(dialect);
  const db = await connect(url);
  if (opts.migrate !== false) await migrate(db);
  const extra: Database[] = [];
  return {
    db,
    url,
    ctx: (overrides = {}) =>
      makeContext(db, { actor: { kind: 'operator', label: 'test@host' }, passwordPolicy: TEST_POLICY, ...overrides }),
    reconnect: async () => {
      const d = await connect(url);
      extra.push(d);
      return d;
    },
    cleanup: async () => {
      for (const d of extra) await d.close();
      extra.length = 0;
      await db.close();
      await drop();
    },
  };
}

/**
 * One migrated database for the calling describe block (or file), emptied before each
 * test and dropped after the last. Call it inside a describe; its fields are there from
 * the first test on. Connections from reconnect() are closed after each test.
 */
export function useTestDb(dialect: DialectName): TestDb {
  let t: TestDb | undefined;
  const extra: Database[] = [];
  const get = (): TestDb => {
    if (!t) throw new Error('useTestDb: the database is ready only inside tests');
    return t;
  };
  beforeAll(async () => {
    t = await freshDb(dialect);
  });
  beforeEach(async () => truncateAll(get().db));
  afterEach(async () => {
    for (const d of extra.splice(0)) await d.close();
  });
  afterAll(async () => t?.cleanup());
  return {
    get db() {
      return get().db;
    },
    get url() {
      return get().url;
    },
    ctx: (overrides) => get().ctx(overrides),
    reconnect: async () => {
      const d = await connect(get().url);
      extra.push(d);
      return d;
    },
    cleanup: () => get().cleanup(),
  };
}
