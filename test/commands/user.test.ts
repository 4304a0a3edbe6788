/** User verbs: confirmation and --dry-run. */
import { beforeEach, describe, expect, it } from 'vitest';
import { useCommandDb } from './harness.js';

const cli = useCommandDb({ migrated: true });
const { run, init } = cli;

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
