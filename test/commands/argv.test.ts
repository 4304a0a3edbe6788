/**
 * argv → options, with no database (gh's runF): each verb's run function is replaced,
 * so these tests see exactly what the parser hands a verb, and the usage rules that
 * hold before any verb runs.
 */
import { describe, expect, it } from 'vitest';
import { main } from '../../src/main.js';
import { testIO } from '../../src/io/iostreams.js';
import { scriptedPrompter } from '../../src/io/prompter.js';

async function parse(args: string[], env: Record<string, string> = {}) {
  const t = testIO();
  const calls: { command: string; options: object }[] = [];
  const code = await main(args, {
    io: t.io,
    env: { ACCTCTL_DB: '/nonexistent/never-opened.db', ...env },
    prompter: scriptedPrompter([]),
    runF: async (command, options) => {
      calls.push({ command, options });
    },
  });
  return { code, calls, stdout: t.stdout(), stderr: t.stderr() };
}

describe('argv → options', () => {
  it('hands each verb its typed options', async () => {
    expect((await parse(['user', 'create', '--email', 'a@example.com', '--role', 'admin', '--name', 'A'])).calls).toEqual([
      { command: 'user create', options: { email: 'a@example.com', role: 'admin', name: 'A' } },
    ]);
    expect((await parse(['user', 'list', '--search', 'x', '--limit', '5'])).calls[0]).toEqual({
      command: 'user list', options: { search: 'x', sort: 'newest', limit: 5 },
    });
    expect((await parse(['user', 'suspend', 'bob'])).calls[0]).toEqual({ command: 'user suspend', options: { user: 'bob', verb: 'suspend' } });
    expect((await parse(['user', 'role', 'bob', 'admin', '--no-super-admin'])).calls[0]).toEqual({
      command: 'user role', options: { user: 'bob', role: 'admin', superAdmin: false },
    });
    expect((await parse(['audit', 'verify', '--anchor', '1:aa', '--anchor', '2:bb'])).calls[0]).toEqual({
      command: 'audit verify', options: { anchor: ['1:aa', '2:bb'] },
    });
  });

  it('takes global options before or after the verb', async () => {
    for (const args of [['-o', 'json', 'user', 'show', 'x'], ['user', 'show', 'x', '-o', 'json'], ['user', 'show', 'x', '--json']]) {
      expect((await parse(args)).code).toBe(0);
    }
  });

  it.each([
    [['--db', 'a.db', '--db', 'b.db', 'user', 'list'], /--db.*given twice/],
    [['user', 'create', '--email', 'a@example.com', '--email', 'b@example.com'], /--email.*given twice/],
    [['--json', 'user', 'list', '-o', 'csv'], /--json conflicts with -o csv/],
    [['-o', 'json', 'user', 'list', '-o', 'csv'], /--output given before and after the verb/],
    [['--db', 'a.db', 'user', 'list', '--db', 'b.db'], /--db given before and after the verb/],
    [['user', 'list', '--all', '--limit', '5'], /--all.*cannot be used with.*--limit|--limit.*--all/],
    [['user', 'list', '--limit', '0'], /--limit must be a whole number/],
  ])('refuses %j with exit 2', async (args, message) => {
    const r = await parse(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.calls).toEqual([]);
  });

  it('allows the same value twice', async () => {
    expect((await parse(['--db', 'a.db', 'user', 'list', '--db', 'a.db'])).code).toBe(0);
  });

  it('a group without its verb prints its help on stderr and exits 2', async () => {
    const r = await parse(['user']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('Usage: acctctl user');
  });
});
