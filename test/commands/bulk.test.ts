/** The bulk verbs' command side: confirmation rules, errors file, JSON, progress, help. */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useCommandDb } from './harness.js';
import { connect } from '../../src/db/connect.js';
import { snapshot } from '../helpers.js';

const cli = useCommandDb({ migrated: true });
const { run, init } = cli;

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'acctctl-bulkcmd-'));
}

async function dbSnapshot(): Promise<string> {
  const db = await connect(cli.url);
  try {
    return await snapshot(db);
  } finally {
    await db.close();
  }
}

const CSV = 'email,name,role\nann@example.com,Ann,user\nbob@example.com,Bob,reseller\n';

describe('user import (command)', () => {
  it('shows the plan on stderr and needs a confirmation: no terminal and no --yes is exit 5; a "no" is exit 5; nothing changes', async () => {
    await init();
    const d = tmp();
    writeFileSync(join(d, 'u.csv'), CSV);
    const before = await dbSnapshot();
    const r = await run(['user', 'import', join(d, 'u.csv')]);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('created');
    expect(r.stderr).toContain('line 2: ann@example.com');
    const no = await run(['user', 'import', join(d, 'u.csv')], { tty: true, answers: [false] });
    expect(no.code).toBe(5);
    expect(no.asked).toEqual(['Apply 2 changes?']);
    expect(await dbSnapshot()).toBe(before);
    const yes = await run(['user', 'import', join(d, 'u.csv')], { tty: true, answers: [true] });
    expect(yes.code).toBe(0);
    expect(yes.stderr).toMatch(/2 created in \d/);
    expect(yes.stderr).toContain('rows/s'); // the progress bar on a terminal
    // the same file again: nothing to confirm, nothing changed, exit 0 (CI seeding)
    const again = await run(['user', 'import', join(d, 'u.csv'), '-o', 'json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ applied: 0, unchanged: 2, refused: 0, dry_run: false });
    rmSync(d, { recursive: true, force: true });
  });

  it('--dry-run -o json prints the plan and changes nothing; bad rows are exit 2 naming line and column', async () => {
    await init();
    const d = tmp();
    writeFileSync(join(d, 'u.csv'), CSV);
    const before = await dbSnapshot();
    const r = await run(['--dry-run', 'user', 'import', join(d, 'u.csv'), '-o', 'json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ action: 'user.import', counts: { create: 2 }, dry_run: true, rows: 2 });
    writeFileSync(join(d, 'bad.csv'), 'email,role\nok@example.com,user\nbad,chief\n');
    const bad = await run(['user', 'import', join(d, 'bad.csv'), '--yes']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('line 3, column email');
    expect(bad.stderr).toContain('line 3, column role');
    const missing = await run(['user', 'import', join(d, 'nope.csv'), '--yes']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no such file');
    expect(await dbSnapshot()).toBe(before);
    rmSync(d, { recursive: true, force: true });
  });

  it('reads - from stdin; a file of invalid UTF-8 or bidi tricks is refused by line with nothing changed', async () => {
    await init();
    const r = await run(['user', 'import', '-', '--yes'], { stdin: CSV });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('2 created');
    const before = await dbSnapshot();
    const latin1 = Buffer.concat([Buffer.from('email,name\nz@example.com,Z\nl@example.com,Ren'), Buffer.from([0xe9]), Buffer.from('\n')]);
    const bad = await run(['user', 'import', '-', '--yes'], { stdin: latin1 });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('line 3: the file is not valid UTF-8');
    const bidi = await run(['user', 'import', '-', '--yes'], { stdin: 'email,name\nq@example.com,\u202egnp.exe\n' });
    expect(bidi.code).toBe(2);
    expect(bidi.stderr).toContain('line 2, column name');
    expect(await dbSnapshot()).toBe(before);
  });

  it('--continue-on-error writes the refused rows to --errors and exits 6; it needs --errors', async () => {
    await init();
    const d = tmp();
    writeFileSync(join(d, 'u.csv'), 'email,role\nok@example.com,user\n=bad,user\nok2@example.com,chief\n');
    const no = await run(['user', 'import', join(d, 'u.csv'), '--yes', '--continue-on-error']);
    expect(no.code).toBe(2);
    const errors = join(d, 'errors.csv');
    const r = await run(['user', 'import', join(d, 'u.csv'), '--yes', '--continue-on-error', '--errors', errors, '-o', 'json']);
    expect(r.code).toBe(6);
    expect(JSON.parse(r.stdout)).toMatchObject({ applied: 1, refused: 2, errors_file: errors });
    const lines = readFileSync(errors, 'utf8').trim().split('\r\n');
    expect(lines[0]).toBe('line,column,target,reason');
    expect(lines[1]).toMatch(/^3,email,,/);
    expect(lines[2]).toMatch(/^4,role,,/);
    rmSync(d, { recursive: true, force: true });
  });

  it('--plan-out writes a plan and changes nothing; apply runs it; a plan file is never overwritten', async () => {
    await init();
    const d = tmp();
    writeFileSync(join(d, 'u.csv'), CSV);
    const plan = join(d, 'plan.json');
    const before = await dbSnapshot();
    const saved = await run(['user', 'import', join(d, 'u.csv'), '--plan-out', plan]);
    expect(saved.code).toBe(0);
    expect(saved.stderr).toContain(`acctctl apply ${plan}`);
    expect(await dbSnapshot()).toBe(before);
    expect((await run(['user', 'import', join(d, 'u.csv'), '--plan-out', plan])).code).toBe(2);
    const applied = await run(['apply', plan, '--yes']);
    expect(applied.code).toBe(0);
    expect(applied.stderr).toContain('2 created');
    expect(existsSync(plan)).toBe(true);
    rmSync(d, { recursive: true, force: true });
  });
});

describe('user import keeps passwords secret', () => {
  it('a plaintext password is in no byte of the database, the audit log, the output, the errors file or a saved plan', async () => {
    await init();
    const d = tmp();
    const secret = 'Zebra-Quartz-Import-Secret-1';
    const other = 'Other-Refused-Secret-Pass-2';
    writeFileSync(join(d, 'u.csv'), `email,role,password\nsec@example.com,user,${secret}\nsec2@example.com,chief,${other}\n`);
    const errors = join(d, 'errors.csv');
    const plan = join(d, 'plan.json');
    const outputs: string[] = [];
    for (const args of [['--plan-out', plan], ['--yes', '--continue-on-error', '--errors', errors, '-o', 'json'], ['--yes', '--continue-on-error', '--errors', errors]]) {
      const r = await run(['user', 'import', join(d, 'u.csv'), ...args]);
      outputs.push(r.stdout, r.stderr);
    }
    const audit = await run(['audit', 'list', '--all', '-o', 'json']);
    outputs.push(audit.stdout);
    const files = [cli.url, `${cli.url}-wal`, errors, plan].filter(existsSync).map((f) => readFileSync(f).toString('latin1'));
    for (const text of [...outputs, ...files]) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(other);
    }
    expect(audit.stdout).toContain('sec@example.com');
    rmSync(d, { recursive: true, force: true });
  });
});

describe('user bulk (command)', () => {
  async function seed() {
    await init();
    for (const email of ['a@example.com', 'b@example.com', 'c@example.com']) expect((await run(['user', 'create', '--email', email, '--generate-password'])).code).toBe(0);
  }

  it('bulk delete wants the count typed back: --yes is not enough without a terminal, a wrong count is exit 5, the right one deletes', async () => {
    await seed();
    const before = await dbSnapshot();
    const yes = await run(['user', 'bulk', 'delete', '--where-role', 'user', '--yes']);
    expect(yes.code).toBe(5);
    expect(yes.stderr).toContain('--confirm-delete 3');
    expect((await run(['user', 'bulk', 'delete', '--where-role', 'user', '--confirm-delete', '2'])).code).toBe(5);
    const typedWrong = await run(['user', 'bulk', 'delete', '--where-role', 'user'], { tty: true, answers: ['y'] });
    expect(typedWrong.code).toBe(5);
    expect(typedWrong.asked[0]).toContain('Type 3 to confirm');
    expect(await dbSnapshot()).toBe(before);
    const typed = await run(['user', 'bulk', 'delete', '--where-role', 'user'], { tty: true, answers: ['3'] });
    expect(typed.code).toBe(0);
    expect(typed.stderr).toContain('3 deleted');
    expect((await run(['user', 'list', '-o', 'json'])).stdout).not.toContain('a@example.com');
  });

  it('a file and filters together, or neither, is exit 2; the verb\'s value goes with filters, not with a file', async () => {
    await seed();
    const d = tmp();
    writeFileSync(join(d, 's.csv'), 'email,status\na@example.com,suspended\n');
    expect((await run(['user', 'bulk', 'set-status', '--file', join(d, 's.csv'), '--where-role', 'user', '--yes'])).code).toBe(2);
    expect((await run(['user', 'bulk', 'set-status', 'suspended', '--yes'])).code).toBe(2);
    expect((await run(['user', 'bulk', 'set-status', 'suspended', '--file', join(d, 's.csv'), '--yes'])).code).toBe(2);
    expect((await run(['user', 'bulk', 'set-status', '--where-role', 'user', '--delimiter', ';', 'suspended', '--yes'])).code).toBe(2);
    const ok = await run(['user', 'bulk', 'set-status', '--file', join(d, 's.csv'), '--yes', '-o', 'json']);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ action: 'user.bulk.set-status', counts: { suspend: 1 } });
    rmSync(d, { recursive: true, force: true });
  });
});
