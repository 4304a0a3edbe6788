/** One home for configuration: every variable read and checked in src/config.ts, nowhere else. */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadConfig, parseDuration } from '../../src/config.js';
import { runAt } from './harness.js';

const SRC = resolve(__dirname, '../../src');
function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? files(join(dir, n)) : n.endsWith('.ts') ? [join(dir, n)] : []));
}

describe('config', () => {
  it('reads each variable once, with empty meaning unset', () => {
    const c = loadConfig({ ACCTCTL_DB: '', ACCTCTL_ACTOR: 'ops@example.com', ACCTCTL_BCRYPT_COST: '5', NO_COLOR: '1', SSH_CLIENT: '192.0.2.4 5555 22', ACCTCTL_LOCK_TIMEOUT: '500ms' });
    expect(c).toMatchObject({ db: undefined, actor: 'ops@example.com', bcryptCost: 5, noColor: true, actorIp: '192.0.2.4', lockTimeoutMs: 500, connectTimeoutMs: undefined });
    expect(loadConfig({ SSH_CLIENT: '\u001b]0;x\u0007 1 2' }).actorIp).toBe('invalid');
    expect(loadConfig({ TERM: 'dumb' }).noColor).toBe(true);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('keeps a bad value as its error, thrown only when used', () => {
    const c = loadConfig({ ACCTCTL_BCRYPT_COST: 'lots', ACCTCTL_CONNECT_TIMEOUT: '10x' });
    expect(() => c.bcryptCost).toThrow(expect.objectContaining({ exitCode: 2, field: 'ACCTCTL_BCRYPT_COST' }));
    expect(() => c.connectTimeoutMs).toThrow(/ACCTCTL_CONNECT_TIMEOUT/);
    expect(parseDuration('X', '2m')).toBe(120_000);
    expect(() => parseDuration('X', '0')).toThrow();
  });

  it('a bad variable does not break --help, and fails the command that uses it', async () => {
    expect((await runAt(null, ['--help'], { env: { ACCTCTL_BCRYPT_COST: 'lots' } })).code).toBe(0);
  });

  it('no code outside src/config.ts (and the entry that passes it in) reads process.env', () => {
    const readers = files(SRC).filter((f) => /process\.env/.test(readFileSync(f, 'utf8').replace(/^\s*(\/\/|\*).*$/gm, '')));
    expect(readers.map((f) => f.slice(SRC.length + 1)).sort()).toEqual(['cli.ts']);
  });
});
