/**
 * A killed import (SIGKILL, mid-run) leaves whole batches only, with their audit entries
 * and the chain intact; re-running the same file completes the job. On every database.
 */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DIALECTS, freshUrl } from '../setup.js';
import { connect } from '../../src/db/connect.js';
import { makeContext } from '../../src/services/context.js';
import { verifyAuditLog } from '../../src/services/audit.js';

const BIN = resolve(__dirname, '../../bin/acctctl');
const ROWS = 15_000;
const BATCH = 500;
const HASH = '$2b$04$abcdefghijklmnopqrstuuQ9n1s4kM3C2p6Vq8v1I4q1sQ0rWq6yW';

function acctctl(url: string, args: string[]) {
  const child = spawn(process.execPath, [BIN, '--db', url, ...args], { env: { ...process.env, ACCTCTL_BCRYPT_COST: '4', NO_COLOR: '1', ACCTCTL_ACTOR: '' } });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.stdin.end('a very good password\n');
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((ok) => child.on('close', (code, signal) => ok({ code, signal, stderr })));
  return { child, done };
}

describe.each(DIALECTS)('a killed import on %s', (dialect) => {
  it('leaves whole batches; re-running the same file completes it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'acctctl-kill-'));
    const { url, drop } = await freshUrl(dialect);
    const db = await connect(url);
    try {
      expect((await acctctl(url, ['init', '--admin-email', 'root@example.com', '--admin-password-stdin']).done).code).toBe(0);
      const file = join(dir, 'users.csv');
      const out = createWriteStream(file);
      out.write('email,name,password_hash\n');
      for (let i = 1; i <= ROWS; i++) out.write(`k${i}@example.com,Killed ${i},${HASH}\n`);
      out.end();
      await once(out, 'finish');

      const users = async () => Number((await db.kysely.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
      const run = acctctl(url, ['user', 'import', file, '--yes', '--batch-size', String(BATCH)]);
      // Kill it once the first batches are in, well before the end.
      let seen = 1;
      while (seen <= 1) {
        await new Promise((r) => setTimeout(r, 5));
        seen = await users();
      }
      run.child.kill('SIGKILL');
      const killed = await run.done;
      expect(killed.signal).toBe('SIGKILL');
      const imported = (await users()) - 1;
      expect(imported).toBeGreaterThan(0);
      expect(imported).toBeLessThan(ROWS);
      expect(imported % BATCH).toBe(0); // whole batches only
      const creates = await db.kysely.selectFrom('audit_log').select((eb) => eb.fn.countAll<number>().as('n')).where('action', '=', 'user.create').executeTakeFirstOrThrow();
      expect(Number(creates.n)).toBe(imported + 1); // each account its entry (and root's)
      const ctx = makeContext(db);
      expect((await verifyAuditLog(ctx)).ok).toBe(true);

      const again = await acctctl(url, ['user', 'import', file, '--yes', '--batch-size', String(BATCH)]).done;
      expect(again.code).toBe(0);
      expect(await users()).toBe(ROWS + 1);
      expect(again.stderr).toContain(`${(ROWS - imported).toLocaleString('en-US')} created`);
      expect((await verifyAuditLog(ctx)).ok).toBe(true);
      const runs = await db.kysely.selectFrom('audit_log').select('changes').where('action', '=', 'bulk.run').execute();
      expect(runs).toHaveLength(1); // the killed run never got to its entry
    } finally {
      await db.close();
      await drop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
