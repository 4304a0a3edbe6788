/**
 * Verbs run in-process: argv in, stdout / stderr / exit code out, on a real SQLite
 * database, with in-memory streams, a pinned clock and a scripted prompter.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../src/main.js';
import { testIO } from '../../src/io/iostreams.js';
import { scriptedPrompter } from '../../src/io/prompter.js';
import { freshUrl } from '../setup.js';

let url: string;
let drop: () => Promise<void>;

beforeEach(async () => {
  ({ url, drop } = await freshUrl('sqlite'));
});
afterEach(async () => drop());

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  asked: string[];
}

async function run(args: string[], opts: { stdin?: string; tty?: boolean; answers?: boolean[]; env?: Record<string, string> } = {}): Promise<RunResult> {
  const t = testIO({ stdin: opts.stdin, tty: opts.tty });
  const prompter = scriptedPrompter(opts.answers ?? []);
  const code = await main(['--db', url, ...args], {
    io: t.io,
    env: { ACCTCTL_BCRYPT_COST: '4', ...opts.env },
    prompter,
    clock: () => new Date('2026-11-24T12:00:00.000Z'),
  });
  return { code, stdout: t.stdout(), stderr: t.stderr(), asked: prompter.asked };
}

async function init() {
  const r = await run(['init', '--admin-email', 'root@example.com', '--generate-password']);
  expect(r.code).toBe(0);
  return r;
}

describe('init and db', () => {
  it('migrates, creates the first super admin and prints its password once on stdout', async () => {
    const r = await init();
    const password = r.stdout.trim();
    expect(password).toMatch(/^\S{20}$/);
    expect(r.stderr).toContain('shown once');
    const audit = await run(['audit', 'list', '-o', 'json']);
    expect(audit.stdout).not.toContain(password);
    const again = await run(['init', '--admin-email', 'second@example.com', '--generate-password']);
    expect(again.code).toBe(4);
    expect(again.stderr).toContain('super admin already exists');
  });

  it('reads the admin password from stdin and reports JSON', async () => {
    const r = await run(['init', '--admin-email', 'root@example.com', '--admin-password-stdin', '-o', 'json'], { stdin: 'a long enough password\n' });
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ dialect: 'sqlite', schema_version: 1, applied_versions: [1], admin: { email: 'root@example.com', role: 'admin', super_admin: true } });
    expect(doc.generated_password).toBeUndefined();
  });

  it('refuses to work on a database that was never initialised (exit 1, says what to run)', async () => {
    const r = await run(['user', 'list']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('acctctl init');
    const status = await run(['db', 'status', '-o', 'json']);
    expect(JSON.parse(status.stdout)).toMatchObject({ schema_version: 0, pending_versions: [1], up_to_date: false });
  });

  it('db migrate --dry-run changes nothing; db migrate is idempotent', async () => {
    const dry = await run(['db', 'migrate', '--dry-run', '-o', 'json']);
    expect(JSON.parse(dry.stdout)).toMatchObject({ applied_versions: [], pending_versions: [1], dry_run: true });
    expect(JSON.parse((await run(['db', 'migrate', '-o', 'json'])).stdout).applied_versions).toEqual([1]);
    expect(JSON.parse((await run(['db', 'migrate', '-o', 'json'])).stdout).applied_versions).toEqual([]);
  });
});

describe('output', () => {
  beforeEach(init);

  it('keeps stdout for data: JSON parses, messages go to stderr', async () => {
    const r = await run(['user', 'create', '--email', 'a@example.com', '--name', 'A', '-o', 'json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ email: 'a@example.com', display_name: 'A', status: 'pending' });
    expect(r.stderr).toContain('Created user');
    const list = await run(['user', 'list', '--json']);
    const doc = JSON.parse(list.stdout);
    expect(doc.items.map((u: { email: string }) => u.email)).toEqual(['a@example.com', 'root@example.com']);
    expect(doc.next_cursor).toBeNull();
    const q = await run(['-q', 'user', 'create', '--email', 'b@example.com']);
    expect(q.stderr).toBe('');
  });

  it('prints [] equivalent for no results and pages with a cursor on stderr for tables', async () => {
    for (let i = 0; i < 3; i++) await run(['user', 'create', '--email', `p${i}@example.com`]);
    const none = await run(['user', 'list', '--search', 'nobody', '-o', 'json']);
    expect(JSON.parse(none.stdout)).toEqual({ items: [], next_cursor: null });
    const page = await run(['user', 'list', '--limit', '2']);
    const m = /--cursor (\S+)/.exec(page.stderr);
    expect(m).not.toBeNull();
    expect(page.stdout).not.toContain('--cursor');
    const next = await run(['user', 'list', '--limit', '2', '--cursor', m![1]!, '-o', 'json']);
    expect(JSON.parse(next.stdout).items).toHaveLength(2);
  });

  it('streams every user as NDJSON with --all', async () => {
    for (let i = 0; i < 5; i++) await run(['user', 'create', '--email', `s${i}@example.com`]);
    const r = await run(['user', 'list', '--all', '--limit', '1', '-o', 'ndjson']);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(6);
  });

  it('escapes control characters and escape sequences in tables', async () => {
    await run(['user', 'create', '--email', 'evil@example.com']);
    // hostile data can arrive other ways (imports, another tool): write it directly
    const { connect } = await import('../../src/db/connect.js');
    const db = await connect(url);
    await db.kysely.updateTable('users').set({ display_name: 'Eve\u001b[2J\u001b]0;owned\u0007\r\nX\u202e' }).where('email', '=', 'evil@example.com').execute();
    await db.close();
    const r = await run(['user', 'list']);
    expect(r.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f\u202e]/);
    expect(r.stdout).toContain('Eve\\e[2J\\e]0;owned\\u{07}\\r\\nX\\u{202e}');
    const show = await run(['user', 'show', 'evil@example.com']);
    expect(show.stdout).not.toContain('\u001b');
    // JSON carries the data as it is, safely encoded
    expect(JSON.parse((await run(['user', 'show', 'evil@example.com', '--json'])).stdout).display_name).toContain('\u001b[2J');
  });

  it('neutralises CSV cells that a spreadsheet would run as a formula', async () => {
    await run(['user', 'create', '--email', 'f@example.com', '--name', '=HYPERLINK("http://x","y")']);
    await run(['user', 'create', '--email', 'g@example.com', '--name', '+1 (555) call me, maybe']);
    await run(['user', 'create', '--email', 'h@example.com', '--name', '@SUM(A1)']);
    await run(['user', 'create', '--email', 'i@example.com', '--name', '-2+3']);
    const r = await run(['user', 'list', '-o', 'csv']);
    expect(r.stdout).toContain(`"'=HYPERLINK(""http://x"",""y"")"`);
    expect(r.stdout).toContain(`"'+1 (555) call me, maybe"`);
    expect(r.stdout).toContain(`'@SUM(A1)`);
    expect(r.stdout).toContain(`'-2+3`);
    expect(r.stdout.split('\r\n')[0]).toMatch(/^id,public_id,email,/);
  });

  it('rejects an unknown output format with exit 2', async () => {
    const r = await run(['user', 'list', '-o', 'yaml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown format');
    expect(r.stdout).toBe('');
  });
});

describe('errors and exit codes', () => {
  beforeEach(init);

  it('writes JSON errors on stderr with -o json, with the exit code', async () => {
    const r = await run(['user', 'show', 'ghost@example.com', '-o', 'json']);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(JSON.parse(r.stderr)).toEqual({ error: { code: 'not_found', exit_code: 3, field: 'user', message: expect.stringContaining('ghost@example.com') } });
    const bad = await run(['user', 'create', '--email', 'nope', '--json']);
    expect(bad.code).toBe(2);
    expect(JSON.parse(bad.stderr).error).toMatchObject({ code: 'invalid_input', field: 'email' });
    const usage = await run(['user', 'create', '--json']);
    expect(usage.code).toBe(2);
    expect(JSON.parse(usage.stderr).error.message).toContain('--email');
  });

  it('maps refusals to exit 4 and records them', async () => {
    const r = await run(['user', 'suspend', 'root@example.com']);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('last active admin');
    const audit = JSON.parse((await run(['audit', 'list', '--json', '--limit', '1'])).stdout);
    expect(audit.items[0]).toMatchObject({ action: 'user.suspend', outcome: 'refused' });
  });

  it('refuses a reseller actor given with --actor or ACCTCTL_ACTOR', async () => {
    await run(['user', 'create', '--email', 'rs@example.com', '--role', 'reseller', '--generate-password']);
    expect((await run(['--actor', 'rs@example.com', 'user', 'list'])).code).toBe(4);
    expect((await run(['user', 'list'], { env: { ACCTCTL_ACTOR: 'rs@example.com' } })).code).toBe(4);
    expect((await run(['user', 'list', '--actor', 'rs@example.com'])).code).toBe(4);
    // audit list's own --actor filters; the acting actor goes before the group
    const filtered = JSON.parse((await run(['audit', 'list', '--actor', 'rs@example.com', '--json'])).stdout);
    expect(filtered.items.every((e: { actor: string }) => e.actor === 'rs@example.com')).toBe(true);
    expect(filtered.items.length).toBeGreaterThan(0);
  });

  it('records the SSH client address as the actor IP', async () => {
    await run(['user', 'create', '--email', 'ip@example.com'], { env: { SSH_CLIENT: '203.0.113.9 52114 22' } });
    const audit = JSON.parse((await run(['audit', 'list', '--json', '--limit', '1'])).stdout);
    expect(audit.items[0].actor_ip).toBe('203.0.113.9');
  });
});

describe('confirmation', () => {
  beforeEach(async () => {
    await init();
    await run(['user', 'create', '--email', 'victim@example.com']);
  });

  const exists = async () => (await run(['user', 'show', 'victim@example.com'])).code === 0;

  it('refuses with exit 5 without a terminal and without --yes, changing nothing', async () => {
    const r = await run(['user', 'delete', 'victim@example.com']);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('--yes');
    expect(r.asked).toEqual([]);
    expect(await exists()).toBe(true);
  });

  it('asks on a terminal; "no" is exit 5 and nothing changes', async () => {
    const r = await run(['user', 'delete', 'victim@example.com'], { tty: true, answers: [false] });
    expect(r.code).toBe(5);
    expect(r.asked[0]).toContain('victim@example.com');
    expect(await exists()).toBe(true);
  });

  it('deletes after "yes" on a terminal, or with --yes', async () => {
    expect((await run(['user', 'delete', 'victim@example.com'], { tty: true, answers: [true] })).code).toBe(0);
    expect(await exists()).toBe(false);
  });

  it('--dry-run reports the deletion without asking or deleting', async () => {
    const r = await run(['user', 'delete', 'victim@example.com', '--dry-run', '-o', 'json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ dry_run: true, email: 'victim@example.com', changes: { email: { before: 'victim@example.com' } } });
    expect(await exists()).toBe(true);
  });

  it('asks nothing and refuses (exit 4) before confirming a delete that a rule forbids', async () => {
    const r = await run(['user', 'delete', 'root@example.com'], { tty: true, answers: [] });
    expect(r.code).toBe(4);
    expect(r.asked).toEqual([]);
  });
});

describe('every mutation verb supports --dry-run', () => {
  beforeEach(async () => {
    await init();
    await run(['user', 'create', '--email', 'd@example.com', '--generate-password']);
  });

  it.each([
    [['user', 'create', '--email', 'new@example.com']],
    [['user', 'edit', 'd@example.com', '--name', 'Changed']],
    [['user', 'role', 'd@example.com', 'admin']],
    [['user', 'suspend', 'd@example.com']],
    [['user', 'deactivate', 'd@example.com']],
    [['user', 'delete', 'd@example.com']],
  ])('%j changes nothing and says so', async (args) => {
    const before = (await run(['user', 'list', '--json'])).stdout;
    const audits = (await run(['audit', 'list', '--json'])).stdout;
    const r = await run([...args, '--dry-run']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('Dry run');
    expect((await run(['user', 'list', '--json'])).stdout).toBe(before);
    expect((await run(['audit', 'list', '--json'])).stdout).toBe(audits);
  });
});

describe('help', () => {
  it.each([
    ['init'], ['db', 'migrate'], ['db', 'status'], ['audit', 'list'], ['audit', 'verify'], ['user', 'create'], ['user', 'list'], ['user', 'show'],
    ['user', 'edit'], ['user', 'role'], ['user', 'suspend'], ['user', 'activate'], ['user', 'deactivate'], ['user', 'delete'],
  ])('%s %s --help shows an example', async (...path) => {
    const r = await run([...path.filter(Boolean), '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Examples?:\n\s+\$ acctctl /);
  });
});
