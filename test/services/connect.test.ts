import { afterEach, describe, expect, it } from 'vitest';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import net from 'node:net';
import { sql } from 'kysely';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { DIALECTS, freshDb, type TestDb } from '../setup.js';
import { connect, defaultDbPath, DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_LOCK_TIMEOUT_MS, type Database } from '../../src/db/connect.js';
import { describeDbError, redactUrl, urlSecrets } from '../../src/db/errors.js';
import { withWriteTx } from '../../src/db/dialect.js';
import { migrate } from '../../src/db/migrate.js';
import { makeContext } from '../../src/services/context.js';
import { makeUser, userCount } from '../helpers.js';

const dirs: string[] = [];
const open: Database[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'acctctl-connect-'));
  dirs.push(d);
  return d;
}
async function track(db: Promise<Database>): Promise<Database> {
  const d = await db;
  open.push(d);
  return d;
}
afterEach(async () => {
  for (const d of open.splice(0)) await d.close();
  for (const d of dirs.splice(0)) {
    chmodSync(d, 0o700);
    rmSync(d, { recursive: true, force: true });
  }
});

/** A migrated SQLite database with one user, closed; returns its path. */
async function sqliteWithUser(): Promise<string> {
  const path = join(tempDir(), 'acct.db');
  const db = await connect(path);
  await migrate(db);
  await makeUser(makeContext(db, { actor: { kind: 'operator', label: 'test@host' }, passwordPolicy: { minLength: 12, bcryptCost: 4 } }));
  await db.close();
  return path;
}

/** The header's read/write format bytes are 2 in WAL mode, 1 in rollback-journal mode. */
function journalFormat(path: string): number[] {
  const header = readFileSync(path).subarray(18, 20);
  return [header[0]!, header[1]!];
}

describe('connect options', () => {
  it('defaults to creating, 10 s to connect and 15 s to wait for a lock', async () => {
    expect(DEFAULT_CONNECT_TIMEOUT_MS).toBe(10_000);
    expect(DEFAULT_LOCK_TIMEOUT_MS).toBe(15_000);
    const path = join(tempDir(), 'a', 'b', 'acct.db');
    const db = await track(connect(path));
    expect(db.readOnly).toBe(false);
    expect(await db.writer()).toBe(db);
    expect(existsSync(path)).toBe(true);
    const mode = await sql<{ journal_mode: string }>`PRAGMA journal_mode`.execute(db.kysely);
    expect(mode.rows[0]!.journal_mode).toBe('wal');
    const busy = await sql<{ timeout: number }>`PRAGMA busy_timeout`.execute(db.kysely);
    expect(busy.rows[0]!.timeout).toBe(15_000);
  });

  it.each(['write', 'read'] as const)('%s mode refuses a missing file with exit 1 and creates nothing', async (mode) => {
    const dir = tempDir();
    for (const path of [join(dir, 'acct.db'), join(dir, 'sub', 'acct.db')]) {
      const err = await connect(path, { mode }).catch((e: unknown) => e);
      expect(err).toMatchObject({ exitCode: 1, code: 'database_missing' });
      expect((err as Error).message).toBe(`database ${path} does not exist: run \`acctctl init\` (or check --db / ACCTCTL_DB)`);
    }
    expect(readdirSync(dir)).toEqual([]);
  });

  it('read mode opens a read-only rollback-journal backup without changing a byte', async () => {
    const path = await sqliteWithUser();
    const setup = new BetterSqlite3(path);
    setup.pragma('journal_mode = DELETE');
    setup.close();
    chmodSync(path, 0o444);
    const before = readFileSync(path);
    expect(journalFormat(path)).toEqual([1, 1]);

    const db = await track(connect(path, { mode: 'read' }));
    expect(db.readOnly).toBe(true);
    expect(await userCount(db)).toBe(1);
    const mode = await sql<{ journal_mode: string }>`PRAGMA journal_mode`.execute(db.kysely);
    expect(mode.rows[0]!.journal_mode).toBe('delete');
    await db.close();

    expect(readFileSync(path).equals(before)).toBe(true);
    expect(journalFormat(path)).toEqual([1, 1]);
    expect(readdirSync(join(path, '..'))).toEqual(['acct.db']);
  });

  it('read mode refuses a write even as root, and describeDbError names the file', async () => {
    const path = await sqliteWithUser();
    const before = readFileSync(path);
    const db = await track(connect(path, { mode: 'read' }));
    const err = await withWriteTx(db, (trx) => trx.deleteFrom('users').execute()).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: expect.stringMatching(/^SQLITE_READONLY/) });
    expect(describeDbError(err)).toBe(`cannot write to ${path}: the database file or its folder is read-only`);
    expect(await userCount(db)).toBe(1);
    await db.close();
    expect(readFileSync(path).equals(before)).toBe(true);
  });

  it('writer() of a read-only connection opens one writable connection, closed with it', async () => {
    const path = await sqliteWithUser();
    const db = await connect(path, { mode: 'read' });
    const w = await db.writer();
    expect(w).not.toBe(db);
    expect(w.readOnly).toBe(false);
    expect(await db.writer()).toBe(w);
    await withWriteTx(w, (trx) => trx.updateTable('users').set({ display_name: 'Written' }).execute());
    await db.close();
    await expect(w.kysely.selectFrom('users').selectAll().execute()).rejects.toThrow();
    const check = await track(connect(path, { mode: 'read' }));
    expect((await check.kysely.selectFrom('users').select('display_name').executeTakeFirstOrThrow()).display_name).toBe('Written');
  });

  it.each(['create', 'write', 'read'] as const)('%s mode names a file that is not a database, and leaves it alone', async (mode) => {
    const path = join(tempDir(), 'notes.txt');
    const junk = 'just some text, not a database\n'.repeat(200);
    writeFileSync(path, junk);
    const err = await (async () => {
      const db = await track(connect(path, { mode }));
      await sql`SELECT count(*) FROM sqlite_master`.execute(db.kysely);
    })().catch((e: unknown) => e);
    expect(describeDbError(err)).toBe(`${path} is not an SQLite database`);
    expect(readFileSync(path, 'utf8')).toBe(junk);
  });

  it('read mode says why a WAL database whose -shm file cannot be made cannot be read', async () => {
    // A live WAL (copied while a writer holds it open) needs the -shm; a dangling symlink stops even root.
    const source = join(tempDir(), 'live.db');
    const writer = await track(connect(source));
    await migrate(writer);
    const dir = tempDir();
    const path = join(dir, 'acct.db');
    copyFileSync(source, path);
    copyFileSync(`${source}-wal`, `${path}-wal`);
    symlinkSync(join(dir, 'missing-folder', 'x'), `${path}-shm`);
    const err = await connect(path, { mode: 'read' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ exitCode: 2, field: 'db' });
    expect((err as Error).message).toContain(`${path}-shm`);
    expect((err as Error).message).toMatch(/WAL mode/);
  });
});

describe('PostgreSQL connect timeout', () => {
  it('gives up on a server that accepts the connection and never answers', async () => {
    const sockets: net.Socket[] = [];
    const server = net.createServer((s) => void sockets.push(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as net.AddressInfo;
    try {
      const db = await track(connect(`postgres://acct:se%2Fcret@127.0.0.1:${port}/acct`, { connectTimeoutMs: 400 }));
      const started = Date.now();
      const err = await sql`SELECT 1`.execute(db.kysely).catch((e: unknown) => e);
      const elapsed = Date.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(350);
      expect(elapsed).toBeLessThan(3_000);
      expect(describeDbError(err)).toBe(
        `cannot connect to the database: the server at postgres://acct:***@127.0.0.1:${port}/acct did not answer within 0.4 s (set ACCTCTL_CONNECT_TIMEOUT to wait longer)`,
      );
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    }
  });
});

describe.each(DIALECTS)('lock timeout on %s', (dialect) => {
  let t: TestDb | undefined;
  afterEach(async () => {
    await t?.cleanup();
    t = undefined;
  });

  it('a write waiting for another session\'s lock gives up after lockTimeoutMs', async () => {
    t = await freshDb(dialect);
    let release: () => Promise<void>;
    if (dialect === 'sqlite') {
      const holder = new BetterSqlite3(t.url);
      holder.exec('BEGIN IMMEDIATE');
      release = async () => {
        holder.exec('ROLLBACK');
        holder.close();
      };
    } else {
      const holder = new pg.Client({ connectionString: t.url });
      await holder.connect();
      await holder.query('BEGIN');
      await holder.query('SELECT last_seq FROM audit_head WHERE id = 1 FOR UPDATE');
      release = async () => {
        await holder.query('ROLLBACK');
        await holder.end();
      };
    }
    try {
      const other = await track(connect(t.url, { lockTimeoutMs: 300 }));
      if (dialect === 'postgres') {
        const shown = await sql<{ lock_timeout: string }>`SHOW lock_timeout`.execute(other.kysely);
        expect(shown.rows[0]!.lock_timeout).toBe('300ms');
      }
      const started = Date.now();
      const err = await withWriteTx(other, (trx) => trx.deleteFrom('users').execute()).catch((e: unknown) => e);
      const elapsed = Date.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(250);
      expect(elapsed).toBeLessThan(5_000);
      expect(describeDbError(err)).toBe('gave up waiting for a lock held by another session after 0.3 s (ACCTCTL_LOCK_TIMEOUT)');
    } finally {
      await release();
    }
  });
});

describe.skipIf(!DIALECTS.includes('postgres'))('PostgreSQL connection failures', () => {
  const base = process.env.ACCTCTL_TEST_PG_URL ?? '';

  it('names a bad password without printing it', async () => {
    const url = base.replace(/:\/\/([^:/@]+)(:[^@]*)?@/, '://$1:wr%40ng-pass@');
    const db = await track(connect(url));
    const err = await sql`SELECT 1`.execute(db.kysely).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: '28P01' });
    const message = describeDbError(err, url)!;
    expect(message).toMatch(/^cannot connect to the database: password authentication failed/);
    expect(message).not.toMatch(/wr@ng|wr%40ng/);
  });

  it('names a database that does not exist', async () => {
    const url = base.replace(/\/[^/?]*(\?|$)/, '/acctctl_no_such_db$1');
    const db = await track(connect(url));
    const err = await sql`SELECT 1`.execute(db.kysely).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: '3D000' });
    expect(describeDbError(err)).toMatch(/^cannot connect to the database: database "acctctl_no_such_db" does not exist/);
  });
});

describe('describeDbError', () => {
  it('describes connection failures by code and scrubs the credentials', () => {
    const refused = Object.assign(new AggregateError([Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })], ''), { code: 'ECONNREFUSED' });
    expect(describeDbError(refused, 'postgres://acct:s3cret@db/acct')).toBe(
      'cannot connect to the database: connect ECONNREFUSED 127.0.0.1:5432 (at postgres://acct:***@db/acct)',
    );
    const notFound = Object.assign(new Error('getaddrinfo ENOTFOUND s3cret'), { code: 'ENOTFOUND' });
    expect(describeDbError(notFound, 'postgres://acct:s3cret@db/acct')).not.toContain('s3cret');
    expect(describeDbError(Object.assign(new Error('x'), { code: '55P03' }))).toBe('gave up waiting for a lock held by another session (ACCTCTL_LOCK_TIMEOUT)');
    expect(describeDbError(Object.assign(new Error('file is not a database'), { code: 'SQLITE_NOTADB' }), '/srv/a.db')).toBe('/srv/a.db is not an SQLite database');
    expect(describeDbError(Object.assign(new Error('unable to open database file'), { code: 'SQLITE_CANTOPEN' }), '/srv/a.db')).toContain('/srv/a.db');
  });

  it('leaves other errors to the caller', () => {
    expect(describeDbError(new Error('boom'))).toBeUndefined();
    expect(describeDbError(Object.assign(new Error('duplicate key'), { code: '23505' }))).toBeUndefined();
    expect(describeDbError('text')).toBeUndefined();
    expect(describeDbError(undefined)).toBeUndefined();
  });
});

describe('redactUrl and urlSecrets', () => {
  it.each([
    ['postgres://acct:s3cret@db/acct', 'postgres://acct:***@db/acct'],
    ['postgres://acct:p@ss@host/db', 'postgres://acct:***@host/db'],
    ['postgres://acct:p:ss/w@rd@host:5433/db?sslmode=require', 'postgres://acct:***@host:5433/db?sslmode=require'],
    ['postgres://acct:pa?ss@host/db', 'postgres://acct:***@host/db'],
    // an @ in the query: ambiguous with an unencoded @ in the password, so more is masked, never less
    ['postgres://acct:s3cret@host/db?application_name=me@box', 'postgres://acct:***@box'],
    ['postgres://u:123?xSECRET@host/db', 'postgres://u:***@host/db'],
    ['postgres://rev_odd:p@ss:w/o?rd#%x@127.0.0.1:5432/review_x', 'postgres://rev_odd:***@127.0.0.1:5432/review_x'],
    ['postgres://acct@host/db', 'postgres://acct@host/db'],
    ['postgres://host/db?user=acct&password=s3cret&sslPassword=k3y&options=-c%20x%3Dy', 'postgres://host/db?user=acct&password=***&sslPassword=***&options=-c%20x%3Dy'],
    ['postgresql://host:5432?PASSWORD=s3cret', 'postgresql://host:5432?PASSWORD=***'],
    ['/var/lib/acct.db', '/var/lib/acct.db'],
  ])('%s', (url, redacted) => {
    expect(redactUrl(url)).toBe(redacted);
    for (const secret of urlSecrets(url)) expect(redacted).not.toContain(secret);
  });

  it('lists every credential, raw and decoded', () => {
    expect(urlSecrets('postgres://acct:p%40ss@host/db?sslpassword=a+b%21')).toEqual(['p%40ss', 'p@ss', 'a+b%21', 'a+b!', 'a b!']);
    expect(urlSecrets('postgres://acct@host/db')).toEqual([]);
    expect(urlSecrets('/var/lib/acct.db')).toEqual([]);
  });
});

describe('defaultDbPath', () => {
  it('uses an absolute XDG_DATA_HOME, else HOME', () => {
    expect(defaultDbPath({ HOME: '/home/ann', XDG_DATA_HOME: '/data' })).toBe('/data/acctctl/acctctl.db');
    expect(defaultDbPath({ HOME: '/home/ann' })).toBe('/home/ann/.local/share/acctctl/acctctl.db');
  });

  it('ignores a relative XDG_DATA_HOME and an empty or relative HOME', () => {
    expect(defaultDbPath({ HOME: '/home/ann', XDG_DATA_HOME: 'data' })).toBe('/home/ann/.local/share/acctctl/acctctl.db');
    const fromPasswd = resolve(userInfo().homedir, '.local', 'share', 'acctctl', 'acctctl.db');
    expect(defaultDbPath({ HOME: '' })).toBe(fromPasswd);
    expect(defaultDbPath({ HOME: 'relative/home', XDG_DATA_HOME: '' })).toBe(fromPasswd);
  });

  it('asks for --db when there is no home at all', () => {
    const noPasswdEntry = () => {
      throw new Error('ENOENT: no such file or directory, uv_os_get_passwd');
    };
    expect(() => defaultDbPath({ HOME: '' }, noPasswdEntry)).toThrow(expect.objectContaining({ exitCode: 2, field: 'db', message: 'no home directory for the default database: set --db or ACCTCTL_DB' }));
    expect(defaultDbPath({ XDG_DATA_HOME: '/data' }, noPasswdEntry)).toBe('/data/acctctl/acctctl.db');
  });
});
