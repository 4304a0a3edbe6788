/** init and db: on databases that do not exist yet. */
import { describe, expect, it } from 'vitest';
import { existsSync, writeFileSync } from 'node:fs';
import { useCommandDb } from './harness.js';
import { schemaVersions } from '../../src/db/migrate.js';

const ALL_VERSIONS = schemaVersions().map((v) => v.version);

const cli = useCommandDb({ migrated: false });
const { run, init } = cli;

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
    expect(doc).toMatchObject({ dialect: 'sqlite', schema_version: ALL_VERSIONS.length, applied_versions: ALL_VERSIONS, admin: { email: 'root@example.com', role: 'admin', super_admin: true } });
    expect(doc.generated_password).toBeUndefined();
  });

  it('refuses to work on a database that was never initialised (exit 1, says what to run)', async () => {
    const r = await run(['user', 'list']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('acctctl init');
    expect((await run(['db', 'status'])).code).toBe(1); // missing: nothing to report on, nothing created
    expect(existsSync(cli.url)).toBe(false);
    writeFileSync(cli.url, ''); // an empty database (as a new PostgreSQL database would be)
    const status = await run(['db', 'status', '-o', 'json']);
    expect(JSON.parse(status.stdout)).toMatchObject({ schema_version: 0, pending_versions: ALL_VERSIONS, up_to_date: false });
    const list = await run(['user', 'list']);
    expect(list.code).toBe(1);
    expect(list.stderr).toContain('not initialised: run `acctctl init`');
  });

  it('db migrate --dry-run changes nothing; db migrate is idempotent', async () => {
    const dry = await run(['db', 'migrate', '--dry-run', '-o', 'json']);
    expect(JSON.parse(dry.stdout)).toMatchObject({ applied_versions: [], pending_versions: ALL_VERSIONS, dry_run: true });
    expect(JSON.parse((await run(['db', 'migrate', '-o', 'json'])).stdout).applied_versions).toEqual(ALL_VERSIONS);
    expect(JSON.parse((await run(['db', 'migrate', '-o', 'json'])).stdout).applied_versions).toEqual([]);
  });
});
