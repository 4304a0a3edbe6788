// Sign-in benchmark (npm run bench:auth). Not part of npm test: machines are noisy.
//   - one bcrypt comparison at cost 12, median of RUNS
//   - authenticate() with the right password (cost 12), median of RUNS, interleaved with
//     the comparisons so drift hits both alike; target: < 5% over one comparison
//   - `acctctl auth check <user>` start-up against `node -e 0`; target <= 2x
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, migrate, makeContext, createUser } from '../dist/index.js';
import { authenticate } from '../dist/services/auth.js';
import { hashPassword, verifyPassword } from '../dist/security/passwords.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 50);
const dir = mkdtempSync(join(tmpdir(), 'acctctl-bench-auth-'));
const path = join(dir, 'auth.db');
const db = await connect(path);
await migrate(db);
const ctx = makeContext(db, { actor: { kind: 'operator', label: 'bench' } });
const password = 'a benchmark passphrase 42';
await createUser(ctx, { email: 'bench@example.com', username: 'bench', password, emailVerified: true });
const hash = await hashPassword(password, 12);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const time = async (fn) => {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
};
const compare = [];
const auth = [];
await verifyPassword(password, hash);
for (let i = 0; i < RUNS; i++) {
  compare.push(await time(() => verifyPassword(password, hash)));
  auth.push(await time(async () => {
    const r = await authenticate(ctx, { identifier: 'bench', password, ip: '192.0.2.1' });
    if (!r.ok) throw new Error(`sign-in failed: ${r.reason}`);
  }));
}
await db.close();
const c = median(compare);
const a = median(auth);
console.log(`median of ${RUNS} runs`);
console.log(`bcrypt comparison, cost 12   ${c.toFixed(1).padStart(7)} ms`);
console.log(`authenticate, right password ${a.toFixed(1).padStart(7)} ms  +${(((a - c) / c) * 100).toFixed(1)}%  ${a / c < 1.05 ? 'ok' : 'OVER'} (target < +5%)`);

const env = { ...process.env, ACCTCTL_DB: path, NO_COLOR: '1' };
delete env.ACCTCTL_ACTOR;
const run = (args) => {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0 && r.status !== 4) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return Number(process.hrtime.bigint() - t0) / 1e6;
};
const base = [];
const check = [];
run(['bin/acctctl', 'auth', 'check', 'bench']);
for (let i = 0; i < 21; i++) {
  base.push(run(['-e', '0']));
  check.push(run(['bin/acctctl', 'auth', 'check', 'bench']));
}
const b = median(base);
const k = median(check);
console.log(`node -e 0                    ${b.toFixed(1).padStart(7)} ms`);
console.log(`acctctl auth check <user>    ${k.toFixed(1).padStart(7)} ms  ${(k / b).toFixed(2)}x  ${k / b <= 2 ? 'ok' : 'OVER'} (target <= 2x)`);
rmSync(dir, { recursive: true, force: true });
