/** Output formats, escaping and CSV neutralising. */
import { beforeEach, describe, expect, it } from 'vitest';
import { useCommandDb } from './harness.js';

const cli = useCommandDb({ migrated: true });
const { run, init } = cli;

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
    const r = await run(['user', 'list', '--all', '-o', 'ndjson']);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(6);
  });

  it('escapes control characters and escape sequences in tables', async () => {
    await run(['user', 'create', '--email', 'evil@example.com']);
    // hostile data can arrive other ways (imports, another tool): write it directly
    const { connect } = await import('../../src/db/connect.js');
    const db = await connect(cli.url);
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

  it('shows invisible characters escaped, so a look-alike email cannot pass for another', async () => {
    // such data can only arrive around acctctl (input refuses it): write it directly
    const { connect } = await import('../../src/db/connect.js');
    const db = await connect(cli.url);
    await db.kysely.updateTable('users').set({ email: 'ro\u200bot@example.com' }).where('email', '=', 'root@example.com').execute();
    await db.close();
    const r = await run(['user', 'list']);
    expect(r.stdout).toContain('ro\\u{200b}ot@example.com');
    expect(r.stdout).not.toContain('\u200b');
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

describe('streamed lists and refusals', () => {
  it('a refused --all listing writes nothing on stdout, not even a header', async () => {
    await init();
    await run(['user', 'create', '--email', 'plain@example.com', '--generate-password']);
    for (const format of ['csv', 'json', 'ndjson']) {
      const r = await run(['--actor', 'plain@example.com', 'user', 'list', '--all', '-o', format]);
      expect(r.code).toBe(4);
      expect(r.stdout).toBe('');
    }
    expect((await run(['user', 'list', '--all', '-o', 'csv', '--search', 'nobody-at-all'])).stdout).toMatch(/^id,public_id,email,/);
    expect(JSON.parse((await run(['user', 'list', '--all', '-o', 'json', '--search', 'nobody-at-all'])).stdout)).toEqual({ items: [], next_cursor: null });
  });
});
