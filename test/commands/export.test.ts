/** user export: the import's format, streamed, re-read exactly (formula cells included). */
import { describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { useCommandDb } from './harness.js';
import { connect } from '../../src/db/connect.js';
import { readCsv } from '../../src/bulk/csv.js';
import { USER_IMPORT_COLUMNS, validateAll, validateUserRow, type ValidUserRow } from '../../src/bulk/rows.js';

const cli = useCommandDb({ migrated: true });
const { run, init } = cli;

describe('user export', () => {
  it('writes the import format and reads back to the same values', async () => {
    await init();
    await run(['user', 'create', '--email', 'f@example.com', '--username', 'formula', '--name', '=HYPERLINK("x")', '--timezone', 'Europe/Berlin', '--preferences', '{"a":[1,2]}', '--generate-password']);
    await run(['user', 'create', '--email', 'g@example.com', '--name', 'Quote "this", comma', '--role', 'reseller']);
    const r = await run(['user', 'export']);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\r\n')[0]).toBe('email,username,name,role,super_admin,status,phone,address,timezone,language,preferences,password_hash,email_verified_at');
    expect(r.stdout).toContain(`"'=HYPERLINK(""x"")"`);
    const kept: ValidUserRow[] = [];
    await validateAll(readCsv(Readable.from([Buffer.from(r.stdout)]), { known: USER_IMPORT_COLUMNS, required: ['email'] }), validateUserRow, { keep: (v) => kept.push(v) });
    const db = await connect(cli.url);
    const users = await db.kysely.selectFrom('users').selectAll().orderBy('id', 'desc').execute();
    await db.close();
    expect(kept.map((k) => [k.fields.email, k.fields.display_name ?? null, k.fields.role, k.status, k.password_hash ?? null, k.fields.timezone ?? null])).toEqual(
      users.map((u) => [u.email, u.display_name, u.role, u.status, u.password_hash, u.timezone]),
    );
    const nd = (await run(['user', 'export', '--role', 'reseller', '-o', 'ndjson'])).stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(nd.map((u: { email: string }) => u.email)).toEqual(['g@example.com']);
  });

  it('is for super admins only: it carries password hashes', async () => {
    await init();
    await run(['user', 'create', '--email', 'adm@example.com', '--role', 'admin', '--generate-password']);
    const r = await run(['--actor', 'adm@example.com', 'user', 'export']);
    expect(r.code).toBe(4);
    expect(r.stdout).toBe('');
  });
});
