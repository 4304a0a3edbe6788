// `user list` on a million users (npm run bench:list). Not part of npm test: machines are
// noisy. Target of issue 9: on SQLite, the whole command
//   acctctl user list -o json --limit 50 --sort <sort> [<filter>]
// for every sort crossed with every filter takes <= 2 x `node -e 0` (median, same run).
//
// BENCH_RUNS   runs of each case (default 11), interleaved so drift hits every case alike
// BENCH_DB     the database (default bench/data/users-1m.db, seeded and kept up to date here;
//              one you name is seeded only if missing, and otherwise used as it is)
// BENCH_USERS  users to seed (default 1,000,000)
// BENCH_SEARCH the --search needle (default number5: about one user in nine, by name)
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

const RUNS = Number(process.env.BENCH_RUNS ?? 11);
const USERS = Number(process.env.BENCH_USERS ?? 1_000_000);
const DB = process.env.BENCH_DB ?? 'bench/data/users-1m.db';
const NEEDLE = process.env.BENCH_SEARCH ?? 'number5';
const TARGET = 2;

if (!existsSync('dist/index.js') || !existsSync('dist/bundle')) {
  console.error('bench/list.mjs runs the built acctctl and seeds through dist/: run `npm run build` first');
  process.exit(1);
}

// The default database is rebuilt whenever the schema or the seed changed since it was
// made: an older one would lack indexes (a version already applied is not re-run) or
// hold differently spread data, and measure plans the current code no longer makes.
const stampFile = `${DB}.stamp`;
const stamp = createHash('sha256').update(readFileSync('schema.sql')).update(readFileSync('bench/seed.mjs')).update(String(USERS)).digest('hex');
const stale = !existsSync(DB) || (process.env.BENCH_DB === undefined && (!existsSync(stampFile) || readFileSync(stampFile, 'utf8') !== stamp));
if (stale) {
  mkdirSync(dirname(DB), { recursive: true });
  process.stderr.write(`seeding ${USERS.toLocaleString('en')} users into ${DB} (a few minutes)\n`);
  const seeded = spawnSync(process.execPath, ['bench/seed.mjs', DB, String(USERS)], { stdio: 'inherit' });
  if (seeded.status !== 0) process.exit(1);
  writeFileSync(stampFile, stamp);
}

const env = { ...process.env, ACCTCTL_DB: DB, NO_COLOR: '1' };
delete env.ACCTCTL_ACTOR;

const sorts = ['newest', 'last-login', 'updated', 'name'];
const filters = { '(none)': [], '--status suspended': ['--status', 'suspended'], '--role admin': ['--role', 'admin'], [`--search ${NEEDLE}`]: ['--search', NEEDLE] };
const baseline = ['-e', '0'];
const cases = [];
for (const sort of sorts) {
  for (const [filter, args] of Object.entries(filters)) {
    cases.push({ sort, filter, args: ['bin/acctctl', 'user', 'list', '-o', 'json', '--limit', '50', '--sort', sort, ...args], samples: [] });
  }
}

function run(args) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 26 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return { ms, stdout: r.stdout };
}

// The first run of each case warms the page cache, and checks that a filter lists a full
// page: one that matched nothing would be fast for the wrong reason. A search may find
// fewer (BENCH_SEARCH=number99999 measures a selective needle, 11 users).
let found;
for (const c of cases) {
  const { items } = JSON.parse(String(run(c.args).stdout));
  if (c.filter.startsWith('--search')) found = items.length;
  else if (items.length !== 50) throw new Error(`${c.args.slice(1).join(' ')} listed ${items.length} users, not a full page of 50: reseed (delete ${DB})`);
}
const base = [];
for (let i = 0; i < RUNS; i++) {
  base.push(run(baseline).ms);
  for (const c of cases) c.samples.push(run(c.args).ms);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
const baseMs = median(base);
const width = 24;
const cell = (ms) => {
  const ratio = ms / baseMs;
  return `${ms.toFixed(1)} ms (${ratio.toFixed(2)}x)${ratio > TARGET ? ' OVER' : ''}`;
};
console.log(`user list -o json --limit 50: median of ${RUNS} runs, ${USERS.toLocaleString('en')} users in ${DB}`);
console.log(`node -e 0: ${baseMs.toFixed(1)} ms; target <= ${TARGET}x (${(TARGET * baseMs).toFixed(1)} ms); --search ${NEEDLE} fills ${found} of 50 on a page\n`);
console.log(['sort \\ filter'.padEnd(12), ...Object.keys(filters).map((f) => f.padEnd(width))].join(' '));
for (const sort of sorts) {
  const row = cases.filter((c) => c.sort === sort).map((c) => cell(median(c.samples)).padEnd(width));
  console.log([sort.padEnd(12), ...row].join(' '));
}
const over = cases.filter((c) => median(c.samples) / baseMs > TARGET);
console.log(over.length === 0 ? '\nevery combination within target' : `\n${over.length} of ${cases.length} combinations over target`);
