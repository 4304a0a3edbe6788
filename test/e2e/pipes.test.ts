/** The real binary with real pipes: a one-time secret is never lost silently; `| head` is not an error. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const BIN = resolve(__dirname, '../../bin/acctctl');
let dir: string;
let env: NodeJS.ProcessEnv;

function sh(script: string) {
  return spawnSync('bash', ['-c', `set -o pipefail; ${script}`], { env, encoding: 'utf8' });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'acctctl-pipes-'));
  env = { ...process.env, ACCTCTL_DB: join(dir, 'p.db'), ACCTCTL_BCRYPT_COST: '4', NO_COLOR: '1', ACCTCTL_ACTOR: '', ACCTCTL: BIN };
  expect(sh('printf "a very good password" | "$ACCTCTL" init --admin-email root@example.com --admin-password-stdin').status).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('pipes', () => {
  it('user create --generate-password | true fails and creates nothing; >&- too', () => {
    const piped = sh('"$ACCTCTL" user create --email lost@example.com --generate-password | true');
    expect(piped.status).toBe(1);
    expect(piped.stderr).toMatch(/could not be written/);
    for (const redirect of ['>&-', '>/dev/null']) {
      const closed = sh(`"$ACCTCTL" user create --email closed@example.com --generate-password ${redirect}`);
      expect(closed.status).toBe(1);
      expect(closed.stderr).toMatch(/dev\/null/);
    }
    const list = sh('"$ACCTCTL" user list -o json');
    expect(JSON.parse(list.stdout).items.map((u: { email: string }) => u.email)).toEqual(['root@example.com']);
  });

  it('a listing cut short by head exits 0 without an error', () => {
    for (let i = 0; i < 3; i++) sh(`"$ACCTCTL" user create --email u${i}@example.com`);
    const r = sh('"$ACCTCTL" user list --all -o ndjson | head -n 1');
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toBe('');
  });

  it('a reset link goes to stderr: stdout may be discarded, stderr may not', () => {
    sh('"$ACCTCTL" user create --email link@example.com --username link');
    expect(sh('"$ACCTCTL" policy set app.base_url https://app.example.com --yes').status).toBe(0);
    expect(sh('"$ACCTCTL" user reset-password link --send-email >/dev/null').status).toBe(0);
    const lost = sh('"$ACCTCTL" user reset-password link --send-email 2>/dev/null');
    expect(lost.status).toBe(1);
  });
});
