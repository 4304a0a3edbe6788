/** The CLI side of issue 6's defects, in-process on SQLite. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { sql } from 'kysely';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAt, type RunOptions } from './harness.js';
import { connect } from '../../src/db/connect.js';

let dir: string;
let url: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'acctctl-cmd-'));
  url = join(dir, 'test.db');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[], opts: RunOptions & { db?: string | null } = {}) {
  return runAt(opts.db === undefined ? url : opts.db, args, opts);
}

async function users(): Promise<string[]> {
  const db = await connect(url);
  const rows = await db.kysely.selectFrom('users').select('email').orderBy('id').execute();
  await db.close();
  return rows.map((r) => r.email);
}

async function init() {
  const r = await run(['init', '--admin-email', 'root@example.com', '--admin-password-stdin'], { stdin: 'a long enough password\n' });
  expect(r.code).toBe(0);
}

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

  it('init --generate-password with stdout closed creates no super admin', async () => {
    const r = await run(['init', '--admin-email', 'root@example.com', '--generate-password'], { stdoutClosed: true });
    expect(r.code).toBe(1);
    expect(await users()).toEqual([]);
    const again = await run(['init', '--admin-email', 'root@example.com', '--generate-password', '-o', 'json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout).generated_password).toMatch(/^\S{20}$/);
  });

  it('a closed stdout on a plain listing is not an error', async () => {
    await init();
    expect((await run(['user', 'list', '-o', 'ndjson'], { stdoutClosed: true })).code).toBe(0);
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
  it('only init and db migrate create a database; other commands and dry runs leave no trace', async () => {
    const missing = join(dir, 'no', 'such', 'folder', 'acct.db');
    for (const args of [['user', 'list'], ['db', 'status'], ['audit', 'verify'], ['--dry-run', 'user', 'create', '--email', 'x@example.com']]) {
      const r = await run(args, { db: missing });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('acctctl init');
    }
    const dryInit = await run(['--dry-run', 'init', '-o', 'json'], { db: missing });
    expect(dryInit.code).toBe(0);
    expect(JSON.parse(dryInit.stdout)).toMatchObject({ schema_version: 0, applied_versions: [1], dry_run: true });
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
    writeFileSync(join(dir, 'anchors.txt'), `# kept in the ticket\n${anchor}\n`);
    expect((await run(['audit', 'verify', '--anchor-file', join(dir, 'anchors.txt'), '-o', 'json'])).stdout).toContain('"anchors_checked": 1');
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
