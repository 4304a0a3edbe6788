/** End-to-end: spawn bin/acctctl (the built bundle) for exit codes, piping, processes and start-up. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const BIN = resolve(__dirname, '../../bin/acctctl');
let dir: string;
let db: string;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function acctctl(args: string[], opts: { stdin?: string; env?: Record<string, string>; shell?: string } = {}): Promise<Result> {
  return new Promise((done, fail) => {
    const env = { ...process.env, ACCTCTL_DB: db, ACCTCTL_BCRYPT_COST: '4', NO_COLOR: '1', ACCTCTL_ACTOR: '', ...opts.env };
    const child = opts.shell
      ? spawn('bash', ['-c', opts.shell], { env: { ...env, ACCTCTL: BIN } })
      : spawn(process.execPath, [BIN, ...args], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', fail);
    child.on('close', (code) => done({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(opts.stdin ?? '');
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'acctctl-e2e-'));
  db = join(dir, 'e2e.db');
  const r = await acctctl(['init', '--admin-email', 'root@example.com', '--admin-password-stdin'], { stdin: 'a very good password\n' });
  expect(r.code).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('acctctl binary', () => {
  it('prints help on stdout with exit 0, without loading the database, pg, bcrypt or inquirer', async () => {
    const trace = join(dir, 'trace.txt');
    const r = await acctctl(['--help'], { env: { NODE_OPTIONS: `--require=${resolve(__dirname, 'trace.cjs')}`, ACCTCTL_TRACE_FILE: trace } });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: acctctl');
    expect(r.stderr).toBe('');
    const loaded = readFileSync(trace, 'utf8');
    expect(loaded).toContain('dist/bundle/cli.cjs'); // the trace works
    expect(loaded).not.toMatch(/core\.cjs|kysely|better-sqlite3|^pg$|bcrypt|@inquirer|chalk|cli-table3|nodemailer|child_process/m);
  });

  it('separates data (stdout) from messages (stderr) and its JSON parses', async () => {
    const r = await acctctl(['user', 'create', '--email', 'e2e@example.com', '--generate-password', '-o', 'json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ email: 'e2e@example.com', status: 'active' });
    expect(doc.generated_password).toMatch(/^\S{20}$/);
    expect(r.stderr).toContain('Created user');
    const list = await acctctl(['user', 'list', '--json']);
    expect(JSON.parse(list.stdout).items).toHaveLength(2);
  });

  it('exits 3 for an unknown user, 2 for bad input, 4 for a refusal, 5 for a needed confirmation', async () => {
    const notFound = await acctctl(['user', 'show', 'ghost@example.com']);
    expect(notFound).toMatchObject({ code: 3, stdout: '' });
    expect(notFound.stderr).toMatch(/^acctctl: no user matches/);
    expect((await acctctl(['user', 'create', '--email', 'x@example.com', '--timezone', 'PST'])).code).toBe(2);
    expect((await acctctl(['user', 'nonsense'])).code).toBe(2);
    expect((await acctctl(['user', 'deactivate', 'root@example.com'])).code).toBe(4);
    expect((await acctctl(['user', 'delete', 'e2e@example.com'])).code).toBe(5);
    const json = await acctctl(['user', 'show', 'ghost@example.com', '-o', 'json']);
    expect(JSON.parse(json.stderr).error.exit_code).toBe(3);
  });

  it('exits 0 quietly when the reader of a pipe goes away', async () => {
    const r = await acctctl([], { shell: 'for i in 1 2 3; do "$ACCTCTL" user create --email "pipe$i@example.com" -q; done; "$ACCTCTL" user list --all -o ndjson | head -n 1; echo "status ${PIPESTATUS[0]}"' });
    expect(r.stdout).toMatch(/status 0\s*$/);
    expect(r.stderr).not.toContain('EPIPE');
  });

  it('lets several processes write the same SQLite file at once, keeping the audit chain linear', async () => {
    const workers = Array.from({ length: 4 }, (_, w) =>
      acctctl([], { shell: `for i in 1 2 3 4 5; do "$ACCTCTL" user create --email "w${w}-$i@example.com" -q || exit 1; "$ACCTCTL" user suspend "w${w}-$i@example.com" -q || exit 1; done` }),
    );
    const results = await Promise.all(workers);
    for (const r of results) {
      expect(r.stderr).not.toContain('locked');
      expect(r.code).toBe(0);
    }
    const verify = await acctctl(['audit', 'verify', '-o', 'json']);
    expect(verify.code).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true });
  });

  it.skipIf(!existsSync('/usr/bin/script'))('asks on a terminal before deleting: "n" keeps the user (exit 5), "y" deletes', async () => {
    await acctctl(['user', 'create', '--email', 'tty@example.com', '-q']);
    const answer = (key: string) =>
      new Promise<Result>((done, fail) => {
        // script(1) gives acctctl a pseudo-terminal; answer once the question shows.
        const child = spawn('script', ['-qec', `${process.execPath} ${BIN} user delete tty@example.com`, '/dev/null'], {
          env: { ...process.env, ACCTCTL_DB: db, ACCTCTL_BCRYPT_COST: '4', ACCTCTL_ACTOR: '' },
        });
        let stdout = '';
        let sent = false;
        child.stdout.on('data', (d) => {
          stdout += d;
          if (!sent && stdout.includes('(y/N)')) {
            sent = true;
            child.stdin.write(key);
          }
        });
        child.on('error', fail);
        child.on('close', (code) => done({ code: code ?? -1, stdout, stderr: '' }));
      });
    const no = await answer('n\r');
    expect(no.stdout).toContain('Delete user tty@example.com');
    expect(no.code).toBe(5);
    expect((await acctctl(['user', 'show', 'tty@example.com'])).code).toBe(0);
    const yes = await answer('y\r');
    expect(yes.code).toBe(0);
    expect((await acctctl(['user', 'show', 'tty@example.com'])).code).toBe(3);
  });

  it('audit verify exits 4 naming the first bad entry after an edit in the database', async () => {
    const Database = (await import('better-sqlite3')).default;
    const raw = new Database(db);
    raw.prepare("UPDATE audit_log SET reason = 'nothing to see' WHERE seq = 2").run();
    raw.close();
    const r = await acctctl(['audit', 'verify']);
    expect(r.code).toBe(4);
    expect(r.stdout).toContain('BROKEN');
    expect(r.stderr).toContain('entry 2');
  });
});
