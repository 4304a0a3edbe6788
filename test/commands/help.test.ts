/** Every verb, found by walking the whole program (so a new verb cannot be missed), has --help with an example. */
import { describe, expect, it } from 'vitest';
import type { Command } from 'commander';
import { buildProgram } from '../../src/main.js';
import { testIO } from '../../src/io/iostreams.js';
import { runAt } from './harness.js';

function verbs(cmd: Command, path: string[] = []): string[][] {
  return cmd.commands.flatMap((c) => {
    const p = [...path, c.name()];
    return c.commands.length > 0 ? verbs(c, p) : [p];
  });
}

const all = verbs(buildProgram(testIO().io, () => { throw new Error('no factory in this test'); }, [], true));

describe('help', () => {
  it('finds every verb', () => {
    expect(all.length).toBeGreaterThanOrEqual(15);
    expect(all).toContainEqual(['audit', 'anchor']);
  });

  it.each(all.map((p) => [p.join(' '), p]))('%s --help shows an example', async (_name, path) => {
    const r = await runAt(null, [...(path as string[]), '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Examples?:\n\s+\$ acctctl /);
  });
});

describe('help for secrets on stdin', () => {
  it.each([['user', 'create'], ['init']])('%s %s --help says one trailing newline is stripped', async (...path) => {
    const r = await runAt(null, [...path.filter(Boolean), '--help']);
    expect(r.stdout).toMatch(/One trailing newline/);
  });
});
