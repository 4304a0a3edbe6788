/**
 * How the schema evolves: a newer database is refused, and a CHECK-constrained enum
 * gains a value (a table rebuild on SQLite, DROP/ADD CONSTRAINT on PostgreSQL) with every
 * row, session, index and trigger intact. Data goes in with raw Kysely, not the services.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { dirname, join } from 'node:path';
import { sql } from 'kysely';
import { DIALECTS, freshDb, type DialectName, type TestDb } from '../setup.js';
import { connect, type Database } from '../../src/db/connect.js';
import { latestVersion, migrate, parseSchema, schemaVersions } from '../../src/db/migrate.js';
import { rebuildSqliteTable } from '../../src/db/rebuild.js';
import { userSearchMatches, userSearchText } from '../../src/db/dialect.js';
import { SchemaError } from '../../src/errors.js';
import type { NewUserRow } from '../../src/db/types.js';

const USERS = 300;
const ROLES = ['admin', 'reseller', 'user'] as const;
const STATUSES = ['pending', 'active', 'suspended', 'deactivated'] as const;

function userRow(i: number, role: string = ROLES[i % ROLES.length]!): NewUserRow {
  const email = `Person${i}@Example.com`;
  const username = i % 5 === 0 ? null : `person${i}`;
  const displayName = i % 7 === 0 ? null : `Person Nummer ${i}`;
  const publicId = `usr_evo${String(i).padStart(5, '0')}`;
  const at = new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString();
  return {
    public_id: publicId,
    username,
    username_normalized: username,
    email,
    email_normalized: email.toLowerCase(),
    display_name: displayName,
    phone: i % 3 === 0 ? `+41 44 000 ${String(i).padStart(4, '0')}` : null,
    address: null,
    timezone: 'Europe/Zurich',
    language: 'de',
    preferences: JSON.stringify({ theme: i % 2 ? 'dark' : 'light' }),
    role: role as NewUserRow['role'],
    super_admin: role === 'admin' && i % 2 === 0 ? 1 : 0,
    status: STATUSES[i % STATUSES.length]!,
    status_reason: null,
    email_verified_at: i % 4 === 0 ? null : at,
    password_hash: `$2b$04$fakehash${i}`,
    password_changed_at: at,
    two_factor_secret: null,
    two_factor_enabled_at: null,
    failed_login_count: i % 3,
    locked_until: null,
    last_login_at: i % 6 === 0 ? null : at,
    last_login_ip: '192.0.2.1',
    created_at: at,
    updated_at: at,
    search_text: userSearchText([email, username, displayName, publicId]),
  };
}

/** Users 1..USERS, two sessions each (one impersonated by user 1), and the last user deleted. */
async function populate(db: Database): Promise<void> {
  for (let start = 1; start <= USERS; start += 100) {
    const rows = Array.from({ length: Math.min(100, USERS - start + 1) }, (_, k) => userRow(start + k));
    await db.kysely.insertInto('users').values(rows).execute();
  }
  const users = await db.kysely.selectFrom('users').select('id').orderBy('id').execute();
  const first = users[0]!.id;
  const sessions = users.flatMap((u, k) => [
    { token_hash: `tok_${u.id}_a`, user_id: u.id, kind: 'web' as const, impersonator_id: null, ip: '192.0.2.9', user_agent: 'test', created_at: '2026-02-01T00:00:00.000Z', last_seen_at: null, expires_at: '2026-03-01T00:00:00.000Z', revoked_at: null },
    { token_hash: `tok_${u.id}_b`, user_id: u.id, kind: k % 2 ? ('impersonation' as const) : ('api' as const), impersonator_id: k % 2 ? first : null, ip: null, user_agent: null, created_at: '2026-02-02T00:00:00.000Z', last_seen_at: '2026-02-03T00:00:00.000Z', expires_at: '2026-03-02T00:00:00.000Z', revoked_at: k % 3 ? null : '2026-02-04T00:00:00.000Z' },
  ]);
  for (let i = 0; i < sessions.length; i += 200) await db.kysely.insertInto('sessions').values(sessions.slice(i, i + 200)).execute();
  // The highest id is gone: the rebuild must not hand it out again.
  await db.kysely.deleteFrom('users').where('id', '=', users[users.length - 1]!.id).execute();
}

async function tableNames(db: Database): Promise<string[]> {
  const result =
    db.dialect === 'sqlite'
      ? await sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`.execute(db.kysely)
      : await sql<{ name: string }>`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1`.execute(db.kysely);
  return result.rows.map((r) => r.name);
}

/** Every index on users, the automatic ones for UNIQUE included. */
async function userIndexes(db: Database): Promise<string[]> {
  const result =
    db.dialect === 'sqlite'
      ? await sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'users' ORDER BY name`.execute(db.kysely)
      : await sql<{ name: string }>`SELECT indexname AS name FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'users' ORDER BY 1`.execute(db.kysely);
  return result.rows.map((r) => r.name);
}

async function userTriggers(db: Database): Promise<string[]> {
  const result = await sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'users' ORDER BY name`.execute(db.kysely);
  return result.rows.map((r) => r.name);
}

async function foreignKeysOn(db: Database): Promise<boolean> {
  const result = await sql<{ foreign_keys: number }>`PRAGMA foreign_keys`.execute(db.kysely);
  return Number(result.rows[0]!.foreign_keys) === 1;
}

async function searchIds(db: Database, needle: string): Promise<number[]> {
  const rows = await db.kysely.selectFrom('users').select('id').where(userSearchMatches(db.dialect, needle)).orderBy('id').execute();
  return rows.map((r) => r.id);
}

/** What an operator's next schema version would say to add the role 'auditor'. */
async function addAuditorVersion(db: Database, dialect: DialectName): Promise<string> {
  // SQLite: the users table as it stands (later versions may have added columns), plus the
  // value; PostgreSQL skips the rebuild, so the text from schema.sql is enough there.
  const current =
    dialect === 'sqlite'
      ? (await sql<{ sql: string }>`SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'users'`.execute(db.kysely)).rows[0]!.sql
      : schemaVersions()[0]!.statements.find((s) => /^CREATE TABLE users\s*\(/.test(s.sql))!.sql;
  const roles = "role IN ('admin', 'reseller', 'user')";
  const widened = "role IN ('admin', 'reseller', 'user', 'auditor')";
  expect(current).toContain(roles);
  return [
    `-- version: ${latestVersion() + 1}`,
    '-- rebuild: users',
    current.replace(roles, widened) + ';',
    '-- only: postgres',
    'ALTER TABLE users DROP CONSTRAINT users_role_check;',
    '-- only: postgres',
    `ALTER TABLE users ADD CONSTRAINT users_role_check CHECK (${widened});`,
    '',
  ].join('\n');
}

describe.each(DIALECTS)('schema evolution on %s', (dialect) => {
  let t: TestDb | undefined;
  let copy: Database | undefined;
  afterEach(async () => {
    await copy?.close();
    copy = undefined;
    await t?.cleanup();
    t = undefined;
  });

  it('refuses to migrate a database newer than this acctctl, changing nothing', async () => {
    t = await freshDb(dialect);
    const latest = latestVersion();
    await t.db.kysely.insertInto('schema_migrations').values({ version: latest + 2, applied_at: '2030-01-01T00:00:00.000Z' }).execute();
    const before = JSON.stringify([await t.db.kysely.selectFrom('schema_migrations').selectAll().orderBy('version').execute(), await tableNames(t.db)]);

    const refusal = migrate(t.db);
    await expect(refusal).rejects.toBeInstanceOf(SchemaError);
    await expect(refusal).rejects.toMatchObject({ exitCode: 1, message: expect.stringContaining('newer than this acctctl') });
    // Even a version this acctctl has and the database lacks stays unapplied.
    const pending = parseSchema(`-- version: ${latest + 1}\nCREATE TABLE evolution_never (x INTEGER);\n`);
    await expect(migrate(t.db, undefined, [...schemaVersions(), ...pending])).rejects.toThrow(/newer than this acctctl/);

    const after = JSON.stringify([await t.db.kysely.selectFrom('schema_migrations').selectAll().orderBy('version').execute(), await tableNames(t.db)]);
    expect(after).toBe(before);
  });

  it('adds an enum value to users.role keeping rows, ids, sessions, indexes, triggers and search', async () => {
    t = await freshDb(dialect);
    await populate(t.db);
    let db = t.db;
    if (dialect === 'sqlite') {
      // As an operator would: try the migration on a copy of the live database.
      const path = join(dirname(t.url), 'copy.db');
      await sql`VACUUM INTO ${path}`.execute(t.db.kysely);
      db = copy = await connect(path);
    }
    const users = await db.kysely.selectFrom('users').selectAll().orderBy('id').execute();
    const sessions = await db.kysely.selectFrom('sessions').selectAll().orderBy('id').execute();
    const indexes = await userIndexes(db);
    const deletedId = USERS; // ids started at 1 in a fresh database
    expect(users).toHaveLength(USERS - 1);
    expect(sessions).toHaveLength(2 * (USERS - 1));
    expect(Math.max(...users.map((u) => u.id))).toBe(deletedId - 1);
    expect(indexes).toEqual(expect.arrayContaining(['users_role_status', 'users_last_login_key', 'users_updated', 'users_name_key', 'users_status_name']));
    const old = users[41]!;
    expect(await searchIds(db, old.email.toLowerCase())).toEqual([old.id]);

    const applied = await migrate(db, undefined, [...schemaVersions(), ...parseSchema(await addAuditorVersion(db, dialect))]);
    expect(applied).toEqual([latestVersion() + 1]);

    expect(await db.kysely.selectFrom('users').selectAll().orderBy('id').execute()).toEqual(users);
    expect(await db.kysely.selectFrom('sessions').selectAll().orderBy('id').execute()).toEqual(sessions);
    expect(await userIndexes(db)).toEqual(indexes);
    if (dialect === 'sqlite') {
      expect(await userTriggers(db)).toEqual(['users_search_delete', 'users_search_insert', 'users_search_update']);
      expect(await foreignKeysOn(db)).toBe(true);
      expect((await sql`PRAGMA foreign_key_check`.execute(db.kysely)).rows).toEqual([]);
      // The external-content FTS index still matches the rows it points at.
      await sql`INSERT INTO users_search (users_search, rank) VALUES ('integrity-check', 1)`.execute(db.kysely);
    }

    // The new value is accepted, an unknown one still refused, uniqueness still enforced.
    const auditor = await db.kysely.insertInto('users').values(userRow(USERS + 1, 'auditor')).returning('id').executeTakeFirstOrThrow();
    expect(auditor.id).toBeGreaterThan(deletedId);
    await expect(db.kysely.insertInto('users').values(userRow(USERS + 2, 'bogus')).execute()).rejects.toThrow();
    await expect(db.kysely.insertInto('users').values({ ...userRow(USERS + 3), email_normalized: old.email_normalized }).execute()).rejects.toThrow();
    await expect(db.kysely.insertInto('users').values({ ...userRow(USERS + 4), super_admin: 1, role: 'user' }).execute()).rejects.toThrow();

    // Search finds an old row and the new one; an update is followed.
    expect(await searchIds(db, old.email.toLowerCase())).toEqual([old.id]);
    expect(await searchIds(db, `person${USERS + 1}@example`)).toEqual([auditor.id]);
    await db.kysely.updateTable('users').set({ search_text: 'renamed-after-rebuild' }).where('id', '=', old.id).execute();
    expect(await searchIds(db, 'renamed-after')).toEqual([old.id]);
    if (dialect === 'sqlite') {
      const fts = await sql<{ rowid: number }>`SELECT rowid FROM users_search WHERE search_text LIKE ${`%person${USERS + 1}@%`}`.execute(db.kysely);
      expect(fts.rows.map((r) => Number(r.rowid))).toEqual([auditor.id]);
      const oldFts = await sql<{ rowid: number }>`SELECT rowid FROM users_search WHERE search_text LIKE ${`%${users[7]!.public_id}%`}`.execute(db.kysely);
      expect(oldFts.rows.map((r) => Number(r.rowid))).toEqual([users[7]!.id]);
    }

    // Deleting a user still cascades to its sessions, and only to its own.
    await db.kysely.deleteFrom('users').where('id', '=', old.id).execute();
    const left = await db.kysely.selectFrom('sessions').select('user_id').execute();
    expect(left.filter((s) => s.user_id === old.id)).toEqual([]);
    expect(left).toHaveLength(sessions.length - 2);
  });
});

describe('rebuildSqliteTable', () => {
  let t: TestDb | undefined;
  afterEach(async () => {
    await t?.cleanup();
    t = undefined;
  });

  it('fails, naming the table, when the rebuilt table breaks a foreign key; the version is rolled back', async () => {
    t = await freshDb('sqlite');
    await populate(t.db);
    const sessionsSql = (await sql<{ sql: string }>`SELECT sql FROM sqlite_master WHERE name = 'sessions'`.execute(t.db.kysely)).rows[0]!.sql;
    // A foreign key no existing row satisfies (audit_log is empty).
    const broken = sessionsSql.replace(/(user_id\s+BIGINT NOT NULL REFERENCES) users \(id\)/, '$1 audit_log (id)');
    expect(broken).not.toBe(sessionsSql);
    const version = parseSchema(`-- version: ${latestVersion() + 1}\n-- rebuild: sessions\n${broken};\n`);
    const before = await t.db.kysely.selectFrom('sessions').selectAll().orderBy('id').execute();

    await expect(migrate(t.db, undefined, [...schemaVersions(), ...version])).rejects.toThrow(/rebuild of sessions breaks \d+ foreign key/);
    expect((await sql<{ sql: string }>`SELECT sql FROM sqlite_master WHERE name = 'sessions'`.execute(t.db.kysely)).rows[0]!.sql).toBe(sessionsSql);
    expect(await t.db.kysely.selectFrom('sessions').selectAll().orderBy('id').execute()).toEqual(before);
    expect(await tableNames(t.db)).not.toContain('sessions__new');
    expect(await foreignKeysOn(t.db)).toBe(true);
    expect((await t.db.kysely.selectFrom('schema_migrations').select((eb) => eb.fn.max('version').as('v')).executeTakeFirstOrThrow()).v).toBe(latestVersion());
  });

  it('keeps a view and another table\'s trigger that name the rebuilt table working', async () => {
    t = await freshDb('sqlite');
    await populate(t.db);
    await sql`CREATE VIEW active_users AS SELECT id, email FROM users WHERE status = 'active'`.execute(t.db.kysely);
    await sql`CREATE TRIGGER sessions_touch AFTER INSERT ON sessions BEGIN UPDATE users SET updated_at = new.created_at WHERE id = new.user_id; END`.execute(t.db.kysely);
    const usersSql = (await sql<{ sql: string }>`SELECT sql FROM sqlite_master WHERE name = 'users'`.execute(t.db.kysely)).rows[0]!.sql;
    const version = parseSchema(`-- version: ${latestVersion() + 1}\n-- rebuild: users\n${usersSql};\n`);
    await migrate(t.db, undefined, [...schemaVersions(), ...version]);
    const viewed = await sql<{ n: number }>`SELECT count(*) AS n FROM active_users`.execute(t.db.kysely);
    expect(Number(viewed.rows[0]!.n)).toBeGreaterThan(0);
    const user = await t.db.kysely.selectFrom('users').select('id').limit(1).executeTakeFirstOrThrow();
    await t.db.kysely.insertInto('sessions').values({ token_hash: 'after-rebuild', user_id: user.id, created_at: '2030-01-01T00:00:00.000Z', expires_at: '2031-01-01T00:00:00.000Z', impersonator_id: null, ip: null, user_agent: null, last_seen_at: null, revoked_at: null }).execute();
    const touched = await t.db.kysely.selectFrom('users').select('updated_at').where('id', '=', user.id).executeTakeFirstOrThrow();
    expect(touched.updated_at).toBe('2030-01-01T00:00:00.000Z');
  });

  it('refuses to run with foreign keys on, which would cascade the drop', async () => {
    t = await freshDb('sqlite');
    await populate(t.db);
    const usersSql = (await sql<{ sql: string }>`SELECT sql FROM sqlite_master WHERE name = 'users'`.execute(t.db.kysely)).rows[0]!.sql;
    await expect(t.db.kysely.transaction().execute((trx) => rebuildSqliteTable(trx, 'users', usersSql))).rejects.toThrow(/foreign keys must be off/);
    expect(await t.db.kysely.selectFrom('sessions').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).toEqual({ n: 2 * (USERS - 1) });
  });
});
