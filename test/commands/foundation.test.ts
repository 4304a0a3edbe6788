/** The CLI side of issue 6's defects, in-process on SQLite. */
import { describe, expect, it, beforeEach } from 'vitest';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { sql } from 'kysely';
import { dirname, join } from 'node:path';
import { runAt, useCommandDb, type CommandDb, type RunOptions } from './harness.js';
import { connect } from '../../src/db/connect.js';
import { schemaVersions } from '../../src/db/migrate.js';

/** Runs at the handle's database, or at `db` when given (null: no --db at all). */
function runner(cli: CommandDb) {
  return (args: string[], opts: RunOptions & { db?: string | null } = {}) => runAt(opts.db === undefined ? cli.url : opts.db, args, opts);
}

async function usersAt(url: string): Promise<string[]> {
  const db = await connect(url);
  const rows = await db.kysely.selectFrom('users').select('email').orderBy('id').execute();
  await db.close();
  return rows.map((r) => r.email);
}

function initWith(run: ReturnType<typeof runner>) {
  return async () => {
    const r = await run(['init', '--admin-email', 'root@example.com', '--admin-password-stdin'], { stdin: 'a long enough password\n' });
    expect(r.code).toBe(0);
  };
}

// Most groups share one migrated database, emptied before each test.
const shared = useCommandDb({ migrated: true });
const run = runner(shared);
const users = () => usersAt(shared.url);
const init = initWith(run);

describe('one-time secrets', () => {
  it('user create --generate-password with stdout closed fails and creates no user', async () => {
    await init();
    for (const format of ['table', 'json']) {
      const r = await run(['user', 'create', '--email', `lost-${format}@example.com`, '--generate-password', '-o', format], { stdoutClosed: true });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/generated password could not be written/);
    }
    expect(await users()).toEqual(['root@example.com']);
    // with stdout open it works, and the password is on stdout
    const ok = await run(['user', 'create', '--email', 'kept@example.com', '--generate-password']);
    expect(ok.code).toBe(0);
    expect(ok.stdout.trim()).toMatch(/^\S{20}$/);
  });

  it('a closed stdout on a plain listing is not an error', async () => {
    await init();
    expect((await run(['user', 'list', '-o', 'ndjson'], { stdoutClosed: true })).code).toBe(0);
  });
});

describe('one-time secrets on a new database', () => {
  const fresh = useCommandDb({ migrated: false });
  const runFresh = runner(fresh);

  it('init --generate-password with stdout closed creates no super admin', async () => {
    const r = await runFresh(['init', '--admin-email', 'root@example.com', '--generate-password'], { stdoutClosed: true });
    expect(r.code).toBe(1);
    expect(await usersAt(fresh.url)).toEqual([]);
    const again = await runFresh(['init', '--admin-email', 'root@example.com', '--generate-password', '-o', 'json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout).generated_password).toMatch(/^\S{20}$/);
  });
});

describe('actor, reason and actor IP', () => {
  beforeEach(init);

  it('an empty --actor is exit 2; an empty ACCTCTL_ACTOR means unset', async () => {
    for (const actor of ['', '  ']) {
      const r = await run(['--actor', actor, 'user', 'create', '--email', 'x@example.com']);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('--actor');
    }
    expect((await run(['user', 'create', '--email', 'y@example.com'], { env: { ACCTCTL_ACTOR: '' } })).code).toBe(0);
    expect(await users()).toEqual(['root@example.com', 'y@example.com']);
  });

  it('checks --reason like any text field, changing nothing when it is bad', async () => {
    for (const reason of ['r'.repeat(100_000), 'evil\u001b]0;x\u0007', 'bad \ufffd']) {
      const r = await run(['--reason', reason, 'user', 'create', '--email', 'x@example.com']);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('reason');
    }
    expect(await users()).toEqual(['root@example.com']);
  });

  it('stores an actor IP that is not an IP address as "invalid"', async () => {
    await run(['user', 'create', '--email', 'a@example.com'], { env: { SSH_CLIENT: '\u001b]0;pwned\u0007 22 22' } });
    await run(['user', 'create', '--email', 'b@example.com'], { env: { SSH_CLIENT: '2001:db8::7 5022 22' } });
    const list = JSON.parse((await run(['audit', 'list', '--action', 'user.create', '-o', 'json'])).stdout);
    expect(list.items.map((e: { actor_ip: string }) => e.actor_ip)).toEqual(['2001:db8::7', 'invalid', 'local']);
  });
});

describe('input', () => {
  beforeEach(init);

  it('refuses a password on stdin that is not UTF-8, naming the field', async () => {
    for (const bytes of [[0xff, 0xfe], [0x80, 0x81]]) {
      const stdin = Buffer.concat([Buffer.from('a long enough password'), Buffer.from(bytes)]);
      const r = await run(['user', 'create', '--email', 'u@example.com', '--password-stdin'], { stdin });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/password: is not valid UTF-8/);
    }
    expect(await users()).toEqual(['root@example.com']);
  });

  it('clears preferences with "" and says what a dry run would do in plain words', async () => {
    await run(['user', 'create', '--email', 'p@example.com', '--preferences', '{"a":1}']);
    const r = await run(['user', 'edit', 'p@example.com', '--preferences', '']);
    expect(r.code).toBe(0);
    const dry = await run(['--dry-run', 'user', 'create', '--email', 'd@example.com']);
    expect(dry.stderr).toMatch(/^Dry run: would create user d@example\.com/m);
    const del = await run(['--dry-run', 'user', 'delete', 'p@example.com']);
    expect(del.stderr).toMatch(/^Dry run: would delete user p@example\.com/m);
  });
});

describe('databases', () => {
  // Each test needs a database of its own: missing, read-only, not a database, or too new.
  const fresh = useCommandDb({ migrated: false });
  const run = runner(fresh);
  const users = () => usersAt(fresh.url);
  const init = initWith(run);
  let dir: string;
  let url: string;
  beforeEach(() => {
    url = fresh.url;
    dir = dirname(url);
  });

  it('only init and db migrate create a database; other commands and dry runs leave no trace', async () => {
    const missing = join(dir, 'no', 'such', 'folder', 'acct.db');
    for (const args of [['user', 'list'], ['db', 'status'], ['audit', 'verify'], ['--dry-run', 'user', 'create', '--email', 'x@example.com']]) {
      const r = await run(args, { db: missing });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('acctctl init');
    }
    const dryInit = await run(['--dry-run', 'init', '-o', 'json'], { db: missing });
    expect(dryInit.code).toBe(0);
    expect(JSON.parse(dryInit.stdout)).toMatchObject({ schema_version: 0, applied_versions: schemaVersions().map((v) => v.version), dry_run: true });
    expect((await run(['--dry-run', 'db', 'migrate'], { db: missing })).code).toBe(0);
    expect(existsSync(join(dir, 'no'))).toBe(false);
    expect((await run(['db', 'migrate'], { db: missing })).code).toBe(0);
    expect(existsSync(missing)).toBe(true);
  });

  it('refuses init and db migrate on a schema newer than this acctctl, creating no admin', async () => {
    await run(['init']);
    const db = await connect(url);
    await db.kysely.insertInto('schema_migrations').values({ version: 99, applied_at: '2030-01-01T00:00:00.000Z' }).execute();
    await db.close();
    for (const args of [['init', '--admin-email', 'root@example.com', '--generate-password'], ['db', 'migrate'], ['user', 'list']]) {
      const r = await run(args);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('newer than this acctctl');
    }
    expect(await users()).toEqual([]);
  });

  it('reads a read-only backup (rollback journal, mode 444) without writing a byte', async () => {
    await init();
    await run(['user', 'create', '--email', 'ro\u00e9@example.com']);
    const db = await connect(url);
    await sql`PRAGMA journal_mode = DELETE`.execute(db.kysely);
    await db.close();
    chmodSync(url, 0o444);
    const before = readFileSync(url);
    for (const args of [['user', 'list'], ['user', 'show', 'root@example.com'], ['db', 'status'], ['audit', 'verify'], ['audit', 'list'], ['audit', 'anchor']]) {
      const r = await run(args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    }
    expect(readFileSync(url).equals(before)).toBe(true);
    expect(existsSync(`${url}-wal`)).toBe(false);
  });

  it('names the path of a file that is not a database', async () => {
    writeFileSync(url, 'this is not sqlite, just some text that is long enough to have a header '.repeat(20));
    const r = await run(['user', 'list']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(url);
  });

  it('never prints a PostgreSQL password, however it is written', async () => {
    const secrets = ['p@ss:w/rd', 'qs-s3cret'];
    const pg = `postgres://acct:${encodeURIComponent('x')}${'@'}ignored@127.0.0.1:1/acct`; // an unencoded @ in the password
    for (const db of [`postgres://acct:p@ss:w/rd@127.0.0.1:1/acct`, `postgres://acct@127.0.0.1:1/acct?password=qs-s3cret`, pg]) {
      for (const format of ['table', 'json']) {
        const r = await run(['user', 'list', '-o', format], { db, env: { ACCTCTL_CONNECT_TIMEOUT: '2s' } });
        expect([1, 2]).toContain(r.code);
        for (const s of [...secrets, 'x@ignored']) expect(r.stderr).not.toContain(s);
        expect(r.stderr).toMatch(/connect|not a valid PostgreSQL URL/);
      }
    }
  });
});

describe('audit anchors on the command line', () => {
  beforeEach(init);

  it('prints the head and verifies against it, from options or a file', async () => {
    const anchor = (await run(['audit', 'anchor', '-q'])).stdout.trim();
    expect(anchor).toMatch(/^1:[0-9a-f]{64}$/);
    expect((await run(['audit', 'verify', '--anchor', anchor])).code).toBe(0);
    const anchors = join(dirname(shared.url), 'anchors.txt');
    writeFileSync(anchors, `# kept in the ticket\n${anchor}\n`);
    expect((await run(['audit', 'verify', '--anchor-file', anchors, '-o', 'json'])).stdout).toContain('"anchors_checked": 1');
    const bad = await run(['audit', 'verify', '--anchor', `1:${'0'.repeat(64)}`]);
    expect(bad.code).toBe(4);
    const beyond = await run(['audit', 'verify', '--anchor', `7:${'0'.repeat(64)}`]);
    expect(beyond.code).toBe(4);
    expect(beyond.stderr).toMatch(/before anchored entry 7/);
    expect((await run(['audit', 'verify', '--anchor', 'nonsense'])).code).toBe(2);
    const json = JSON.parse((await run(['audit', 'anchor', '-o', 'json'])).stdout);
    expect(json).toMatchObject({ seq: 1, anchor });
  });

  it('audit list streams every entry with --all and refuses a bad cursor', async () => {
    for (let i = 0; i < 3; i++) await run(['user', 'create', '--email', `a${i}@example.com`]);
    const lines = (await run(['audit', 'list', '--all', '-o', 'ndjson'])).stdout.trim().split('\n');
    expect(lines.map((l) => JSON.parse(l).seq)).toEqual([4, 3, 2, 1]);
    for (const cursor of ['', '0x10']) expect((await run(['audit', 'list', '--cursor', cursor])).code).toBe(2);
  });
});

describe('review findings', () => {
  const dir = () => dirname(shared.url);

  it('an anchor file without anchors is exit 2, not a passed check', async () => {
    await init();
    writeFileSync(join(dir(), 'empty.txt'), '# nothing yet\n\n');
    const r = await run(['audit', 'verify', '--anchor-file', join(dir(), 'empty.txt')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no anchors');
  });

  it('checks --actor, the audit filters and --db like any other input', async () => {
    await init();
    const long = await run(['--actor', 'a'.repeat(60_000), 'user', 'list']);
    expect(long.code).toBe(2);
    expect(long.stderr.length).toBeLessThan(1000);
    for (const filter of ['--actor', '--action', '--target']) {
      expect((await run(['audit', 'list', filter, 'x'.repeat(60_000)])).code).toBe(2);
      expect((await run(['audit', 'list', filter, 'bad \ufffd'])).code).toBe(2);
    }
    const badDb = join(dir(), 'bad\ufffd.db');
    expect((await run(['init'], { db: badDb })).code).toBe(2);
    expect(existsSync(badDb)).toBe(false);
  });

  it('prints the changed record for every output format but tables, and lists every bad field in JSON errors', async () => {
    await init();
    const csv = await run(['user', 'create', '--email', 'c@example.com', '-o', 'csv']);
    expect(csv.stdout.split('\r\n')[0]).toMatch(/^id,public_id,/);
    const nd = await run(['user', 'create', '--email', 'n@example.com', '-o', 'ndjson']);
    expect(JSON.parse(nd.stdout).email).toBe('n@example.com');
    const bad = await run(['user', 'create', '--email', 'nope', '--timezone', 'Mars/Base', '--language', 'not a tag', '-o', 'json']);
    expect(bad.code).toBe(2);
    const err = JSON.parse(bad.stderr).error;
    expect(err.errors.map((e: { field: string }) => e.field)).toEqual(['email', 'timezone', 'language']);
  });
});

describe('review findings on a new database', () => {
  const fresh = useCommandDb({ migrated: false });
  const run = runner(fresh);
  const init = initWith(run);

  it('init --dry-run and db migrate --dry-run run the real checks', async () => {
    const missing = join(dirname(fresh.url), 'new.db');
    expect((await run(['--dry-run', 'init', '--admin-email', 'not an email', '--generate-password'], { db: missing })).code).toBe(2);
    expect((await run(['--dry-run', 'init', '--admin-email', 'root@example.com', '--admin-password-stdin'], { db: missing, stdin: 'short' })).code).toBe(2);
    expect(existsSync(missing)).toBe(false);
    await init();
    const again = await run(['--dry-run', 'init', '--admin-email', 'second@example.com', '--generate-password']);
    expect(again.code).toBe(4);
    const db = await connect(fresh.url);
    await db.kysely.insertInto('schema_migrations').values({ version: 99, applied_at: '2030-01-01T00:00:00.000Z' }).execute();
    await db.close();
    for (const args of [['--dry-run', 'db', 'migrate'], ['--dry-run', 'init']]) expect((await run(args)).code).toBe(1);
  });
});
