/** The policy and secrets verbs on the command line (SQLite; the services run on both engines in test/services). */
import { describe, expect, it } from 'vitest';
import { existsSync, lstatSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { useCommandDb } from './harness.js';

const cli = useCommandDb({ migrated: false });
const { run, init } = cli;
const SECRET = 'Smtp-Pa55word-never-in-clear';

function dbFiles(): Buffer[] {
  return [cli.url, `${cli.url}-wal`].filter(existsSync).map((f) => readFileSync(f));
}

describe('policy commands', () => {
  it('init creates a 0600 key file beside the database; a secret goes in through stdin only and stays sealed', async () => {
    await init();
    const keyFile = join(dirname(cli.url), 'acctctl.key');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const argv = await run(['policy', 'set', 'smtp.password', SECRET]);
    expect(argv.code).toBe(2);
    expect(argv.stderr).toMatch(/never taken from the command line/);
    expect(argv.stderr).not.toContain(SECRET);
    const set = await run(['policy', 'set', 'smtp.password', '--stdin'], { stdin: `${SECRET}\n` });
    expect(set.code).toBe(0);
    const outputs = [set.stdout, set.stderr];
    for (const args of [['policy', 'show'], ['policy', 'show', '-o', 'json'], ['policy', 'get', 'smtp.password'], ['policy', 'export'], ['audit', 'list', '-o', 'json']]) {
      const r = await run(args);
      expect(r.code).toBe(0);
      outputs.push(r.stdout, r.stderr);
    }
    for (const o of outputs) expect(o).not.toContain(SECRET);
    expect((await run(['policy', 'get', 'smtp.password'])).stdout.trim()).toBe('••••ar');
    for (const file of dbFiles()) expect(file.includes(Buffer.from(SECRET))).toBe(false);
    // the key file rotates, and the secret is still readable (export --include-secrets decrypts it)
    const oldKey = readFileSync(keyFile, 'utf8');
    const rot = await run(['secrets', 'rotate-key']);
    expect(rot.code).toBe(0);
    expect(readFileSync(keyFile, 'utf8')).not.toBe(oldKey);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(JSON.parse((await run(['policy', 'export', '--include-secrets'])).stdout).settings['smtp.password']).toBe(SECRET);
    // a wrong key fails clearly, naming where it was looked for; other settings still read
    writeFileSync(keyFile, oldKey, { mode: 0o600 });
    const wrong = await run(['policy', 'export', '--include-secrets']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr, wrong.stderr).toMatch(/sealed with key .*acctctl\.key/);
    expect((await run(['policy', 'get', 'password.min_length'])).code).toBe(0);
  });

  it('takes a secret from an environment variable; ACCTCTL_SECRET_KEY rotation prints the new key once', async () => {
    await init();
    const key = Buffer.alloc(32, 7).toString('base64');
    const env = { ACCTCTL_SECRET_KEY: key, SMTP_PW: SECRET };
    expect((await run(['policy', 'set', 'smtp.password', '--from-env', 'SMTP_PW'], { env })).code).toBe(0);
    expect((await run(['policy', 'set', 'smtp.password', '--from-env', 'NOT_SET_ANYWHERE'], { env })).code).toBe(2);
    const rot = await run(['secrets', 'rotate-key'], { env });
    expect(rot.code).toBe(0);
    const newKey = rot.stdout.trim();
    expect(Buffer.from(newKey, 'base64')).toHaveLength(32);
    expect(rot.stderr).toMatch(/shown once/);
    const doc = await run(['policy', 'export', '--include-secrets'], { env: { ACCTCTL_SECRET_KEY: newKey } });
    expect(JSON.parse(doc.stdout).settings['smtp.password']).toBe(SECRET);
    expect((await run(['policy', 'export', '--include-secrets'], { env })).code).toBe(1);
  });

  it('set, get, unset; bad values and keys are exit 2 and change nothing', async () => {
    await init();
    expect((await run(['policy', 'set', 'password.min_length', '14', 'security.session_lifetime', '7d'])).code).toBe(0);
    expect((await run(['policy', 'get', 'security.session_lifetime'])).stdout.trim()).toBe('7d');
    const bad = await run(['policy', 'set', 'password.min_length', '200', 'password.min_lenght', '3', '-o', 'json']);
    expect(bad.code).toBe(2);
    const err = JSON.parse(bad.stderr).error;
    expect(err.errors.map((e: { field: string }) => e.field)).toEqual(['password.min_length', 'password.min_lenght']);
    expect(err.message).toContain('did you mean password.min_length');
    expect((await run(['policy', 'get', 'password.min_length'])).stdout.trim()).toBe('14');
    expect((await run(['policy', 'set', 'password.min_length'])).code).toBe(2); // a key without its value
    expect((await run(['policy', 'unset', 'password.min_length'])).code).toBe(0);
    expect((await run(['policy', 'get', 'password.min_length'])).stdout.trim()).toBe('12');
    const dry = await run(['--dry-run', 'policy', 'set', 'app.name', 'Acme']);
    expect(dry.stderr).toMatch(/Dry run: would set app.name/);
    expect((await run(['policy', 'get', 'app.name'])).stdout.trim()).toBe('acctctl');
  });

  it('asks before removing a sign-in path (exit 5 without a terminal and --yes) and refuses removing the last', async () => {
    await init();
    const noTty = await run(['policy', 'set', 'signin.username', 'false']);
    expect(noTty.code).toBe(5);
    expect((await run(['policy', 'get', 'signin.username'])).stdout.trim()).toBe('true');
    expect((await run(['policy', 'set', 'signin.username', 'false', '--yes'])).code).toBe(0);
    const last = await run(['policy', 'set', 'signin.email', 'false', '--yes']);
    expect(last.code).toBe(4);
    expect(last.stderr).toMatch(/no way to sign in would remain/);
  });

  it('export, diff and import: stable, checked as a whole, confirmed, and a no-op on its own export', async () => {
    await init();
    await run(['policy', 'set', 'password.min_length', '14']);
    const exported = (await run(['policy', 'export'])).stdout;
    expect((await run(['policy', 'export'])).stdout).toBe(exported);
    const file = join(dirname(cli.url), 'policy.json');
    writeFileSync(file, exported);
    const same = await run(['policy', 'diff', file, '-o', 'json']);
    expect(JSON.parse(same.stdout).items).toEqual([]);
    const audits = (await run(['audit', 'list', '-o', 'json'])).stdout;
    expect((await run(['policy', 'import', file])).code).toBe(0);
    expect((await run(['audit', 'list', '-o', 'json'])).stdout).toBe(audits);

    const doc = JSON.parse(exported);
    doc.settings['password.min_length'] = 16;
    doc.settings['app.name'] = 'Acme';
    writeFileSync(file, JSON.stringify(doc));
    const diff = await run(['policy', 'diff', file, '-o', 'json']);
    expect(diff.code).toBe(0);
    expect(JSON.parse(diff.stdout).items.map((c: { key: string }) => c.key)).toEqual(['app.name', 'password.min_length']);
    expect((await run(['policy', 'import', file])).code).toBe(5); // confirmation needed
    expect((await run(['policy', 'import', file, '--yes'])).code).toBe(0);
    expect((await run(['policy', 'get', 'app.name'])).stdout.trim()).toBe('Acme');

    doc.settings['smtp.port'] = 'lots';
    doc.settings['no.such'] = 1;
    writeFileSync(file, JSON.stringify(doc));
    const bad = await run(['policy', 'import', file, '--yes']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/smtp.port.*no\.such|no\.such.*smtp\.port/);
    writeFileSync(file, '{ not json');
    expect((await run(['policy', 'import', file, '--yes'])).code).toBe(2);
  });

  it('policy check: exit 0 with warnings on a fresh database, exit 4 with an error', async () => {
    await init();
    const fresh = await run(['policy', 'check', '-o', 'json']);
    expect(fresh.code).toBe(0);
    expect(JSON.parse(fresh.stdout).items.length).toBeGreaterThan(0);
    await run(['policy', 'set', 'registration.public', 'true', 'registration.email_verification', 'false']);
    const weak = await run(['policy', 'check']);
    expect(weak.code).toBe(4);
    expect(weak.stdout).toMatch(/error\s+public registration is open without email verification/);
  });

  it('only super admins change the policy; plain users do not read it', async () => {
    await init();
    await run(['user', 'create', '--email', 'admin@example.com', '--role', 'admin', '--generate-password']);
    await run(['user', 'create', '--email', 'plain@example.com', '--generate-password']);
    expect((await run(['--actor', 'admin@example.com', 'policy', 'show'])).code).toBe(0);
    expect((await run(['--actor', 'admin@example.com', 'policy', 'set', 'app.name', 'X'])).code).toBe(4);
    expect((await run(['--actor', 'plain@example.com', 'policy', 'show'])).code).toBe(4);
    expect((await run(['--actor', 'root@example.com', 'policy', 'set', 'app.name', 'X'])).code).toBe(0);
  });
});

describe('policy review findings', () => {
  it('never seals under a key other than the stored secrets\' key, and never makes a new key over stored secrets', async () => {
    await init();
    const keyFile = join(dirname(cli.url), 'acctctl.key');
    expect((await run(['policy', 'set', 'smtp.password', '--stdin'], { stdin: SECRET })).code).toBe(0);
    const other = Buffer.alloc(32, 9).toString('base64');
    const wrong = await run(['policy', 'set', 'registration.turnstile_secret', '--stdin'], { stdin: 'Turnstile-S3cret', env: { ACCTCTL_SECRET_KEY: other } });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/stored secrets are sealed with key/);
    expect((await run(['policy', 'get', 'smtp.password'], { env: { ACCTCTL_SECRET_KEY: other } })).code).toBe(1);
    // the key file lost: db migrate and init do not quietly make a new one
    const saved = readFileSync(keyFile, 'utf8');
    rmSync(keyFile);
    expect((await run(['db', 'migrate'])).code).toBe(0);
    expect((await run(['init'])).code).toBe(0);
    expect(existsSync(keyFile)).toBe(false);
    expect((await run(['policy', 'export', '--include-secrets'])).code).toBe(1);
    writeFileSync(keyFile, saved, { mode: 0o600 });
    expect(JSON.parse((await run(['policy', 'export', '--include-secrets'])).stdout).settings['smtp.password']).toBe(SECRET);
  });

  it('refuses an empty secret from the environment, KEY=VALUE and dash-leading secrets without echoing them', async () => {
    await init();
    expect((await run(['policy', 'set', 'smtp.password', '--from-env', 'SP'], { env: { SP: '\n' } })).code).toBe(2);
    for (const args of [['policy', 'set', 'smtp.password=Hidden-Value-1'], ['policy', 'set', 'smtp.password', '-Hidden-Value-1']]) {
      const r = await run(args);
      expect(r.code).toBe(2);
      expect(r.stderr).not.toContain('Hidden-Value-1');
    }
  });

  it('checks a change\'s permission before asking, auditing the refusal as that change', async () => {
    await init();
    await run(['user', 'create', '--email', 'admin@example.com', '--role', 'admin', '--generate-password']);
    const r = await run(['--actor', 'admin@example.com', 'policy', 'set', 'signin.username', 'false']);
    expect(r.code).toBe(4);
    const last = JSON.parse((await run(['audit', 'list', '--limit', '1', '-o', 'json'])).stdout).items[0];
    expect(last).toMatchObject({ action: 'policy.set', outcome: 'refused' });
  });

  it('rotates a symlinked key file where it points; stores URLs in normal form; checks smtp.host; refuses absurd import files', async () => {
    await init();
    const dir = dirname(cli.url);
    const real = join(dir, 'real.key');
    renameSync(join(dir, 'acctctl.key'), real);
    symlinkSync(real, join(dir, 'acctctl.key'));
    const before = readFileSync(real, 'utf8');
    expect((await run(['secrets', 'rotate-key'])).code).toBe(0);
    expect(lstatSync(join(dir, 'acctctl.key')).isSymbolicLink()).toBe(true);
    expect(readFileSync(real, 'utf8')).not.toBe(before);
    expect(existsSync(`${real}.previous`)).toBe(false);

    expect((await run(['policy', 'set', 'app.base_url', 'HTTPS://ACCOUNTS.Example.COM'])).code).toBe(0);
    expect((await run(['policy', 'get', 'app.base_url'])).stdout.trim()).toBe('https://accounts.example.com');
    expect((await run(['policy', 'set', 'app.base_url', 'https://a.example/x?y=1'])).code).toBe(2);
    expect((await run(['policy', 'set', 'smtp.host', 'mail.example.com; rm -rf /'])).code).toBe(2);
    expect((await run(['policy', 'set', 'smtp.host', 'mail.example.com'])).code).toBe(0);

    const deep = join(dir, 'deep.json');
    writeFileSync(deep, '['.repeat(200_000) + ']'.repeat(200_000));
    expect((await run(['policy', 'import', deep, '--yes'])).code).toBe(2);
    const many = join(dir, 'many.json');
    writeFileSync(many, JSON.stringify(Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`k${i}.x`, 1]))));
    expect((await run(['policy', 'diff', many])).code).toBe(2);
  });
});
