// Bulk benchmarks (npm run bench:bulk). Not part of npm test: machines are noisy. Each
// figure is measured against its floor in the same run, and printed as a ratio:
//   1. user import of N users from CSV with password_hash (SQLite): rows/s and peak RSS,
//      against a bare better-sqlite3 prepared-statement loop inserting the same rows into
//      the same schema in one transaction. Targets: >= 70% of the floor; RSS < 250 MB.
//   2. plaintext import at bcrypt cost 12: hashes/s against cores / one hash's time (>= 90%).
//   3. PostgreSQL (ACCTCTL_BENCH_PG_URL set): the same import against a bare COPY (>= 60%).
//   4. cleanup of N expired sessions: rows/s against a bare batched delete (>= 80%), and
//      its longest single transaction (<= 100 ms).
// BENCH_ROWS="100000,1000000" (import sizes), BENCH_HASH_ROWS=48, BENCH_CLEANUP_ROWS=1000000.
import { spawnSync } from 'node:child_process';
import { copyFileSync, createWriteStream, existsSync, mkdirSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { availableParallelism } from 'node:os';
import { randomBytes, createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import bcrypt from 'bcrypt';
import { connect, makeContext, runCleanup, verifyAuditLog } from '../dist/index.js';
import { userSearchText } from '../dist/db/dialect.js';

const DIR = 'bench/data';
mkdirSync(DIR, { recursive: true });
const SIZES = (process.env.BENCH_ROWS ?? '100000,1000000').split(',').map(Number);
const HASH_ROWS = Number(process.env.BENCH_HASH_ROWS ?? 48);
const CLEANUP_ROWS = Number(process.env.BENCH_CLEANUP_ROWS ?? 1_000_000);
const PG = process.env.ACCTCTL_BENCH_PG_URL;
const HASH = bcrypt.hashSync('benchmark password', 4);
const results = [];
const fmt = (n) => Math.round(n).toLocaleString('en-US');

function acctctl(db, args, env = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, 'bin/acctctl.cjs', '--db', db, ...args], {
    env: { ...process.env, NO_COLOR: '1', ACCTCTL_ACTOR: '', ACCTCTL_BCRYPT_COST: '4', ...env }, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20,
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const err = String(r.stderr).trim().split('\n');
  if (r.status !== 0) throw new Error(`acctctl ${args.join(' ')} exited ${r.status}: ${err.slice(-5).join('\n')}`);
  return { ms, rssMb: Number(err.pop()) / 1024, stdout: String(r.stdout) };
}

function freshSqlite(name) {
  const path = `${DIR}/${name}.db`;
  for (const s of ['', '-wal', '-shm']) if (existsSync(path + s)) rmSync(path + s);
  rmSync(`${DIR}/acctctl.key`, { force: true });
  acctctl(path, ['init', '--admin-email', 'root@bench.test', '--generate-password']);
  return path;
}

/** The i-th row's values (no quotes needed in any cell). */
function row(i) {
  return {
    email: `user${i}@example${i % 97}.test`, username: i % 3 === 0 ? `user${i}` : '', name: `Person Number${i}`, role: i % 50 === 0 ? 'reseller' : 'user',
    status: i % 10 === 0 ? 'suspended' : 'active', timezone: ['Europe/Berlin', 'UTC', 'Asia/Tokyo'][i % 3], language: i % 2 ? 'en' : 'de',
  };
}

async function csv(n) {
  const path = `${DIR}/import-${n}.csv`;
  if (existsSync(path)) return path;
  const out = createWriteStream(path);
  out.write('email,username,name,role,status,timezone,language,password_hash\n');
  for (let i = 1; i <= n; i++) {
    const r = row(i);
    if (!out.write(`${r.email},${r.username},${r.name},${r.role},${r.status},${r.timezone},${r.language},${HASH}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return path;
}

/** The rows as the import writes them, prepared before the clock starts. */
function floorRows(n) {
  const now = new Date().toISOString();
  const fp = `h:${createHash('sha256').update(HASH).digest('hex')}`;
  const rows = new Array(n);
  for (let i = 1; i <= n; i++) {
    const r = row(i);
    const pid = `usr_${randomBytes(10).toString('base64url').toLowerCase().slice(0, 16)}`;
    rows[i - 1] = [pid, r.username || null, r.username || null, r.email, r.email, r.name, r.timezone, r.language, '{}', r.role, 0, r.status, HASH, now, fp, now, now,
      userSearchText([r.email, r.username || null, r.name, pid])];
  }
  return rows;
}

function sqliteFloor(n) {
  const path = freshSqlite(`floor-${n}`);
  const rows = floorRows(n);
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  const insert = db.prepare(`INSERT INTO users (public_id, username, username_normalized, email, email_normalized, display_name, timezone, language, preferences,
    role, super_admin, status, password_hash, password_changed_at, import_fingerprint, created_at, updated_at, search_text) VALUES (${new Array(18).fill('?').join(', ')})`);
  const t0 = process.hrtime.bigint();
  db.transaction(() => {
    for (const r of rows) insert.run(r);
  })();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  db.close();
  return ms;
}

// 1. SQLite import --------------------------------------------------------------------
for (const n of SIZES) {
  const file = await csv(n);
  const floorMs = sqliteFloor(n);
  const db = freshSqlite(`import-${n}`);
  const run = acctctl(db, ['user', 'import', file, '--yes', '-q']);
  const again = acctctl(db, ['user', 'import', file, '--yes', '-q']);
  const floorRate = n / (floorMs / 1000);
  const rate = n / (run.ms / 1000);
  const conn = await connect(db);
  const verify = await verifyAuditLog(makeContext(conn));
  await conn.close();
  results.push({ what: `SQLite import ${fmt(n)} rows`, value: `${fmt(rate)} rows/s (${(run.ms / 1000).toFixed(1)} s)`, floor: `${fmt(floorRate)} rows/s bare insert`, ratio: rate / floorRate, target: 0.7 });
  results.push({ what: `  peak RSS`, value: `${run.rssMb.toFixed(0)} MB`, floor: '', ratio: run.rssMb / 250, target: 1, lowerIsBetter: true });
  results.push({ what: `  re-run (changes nothing)`, value: `${(again.ms / 1000).toFixed(1)} s, peak RSS ${again.rssMb.toFixed(0)} MB`, floor: '', ratio: null });
  results.push({ what: `  audit verify after it`, value: verify.ok ? `intact, ${fmt(verify.checked ?? verify.entries ?? 0)} entries` : `BROKEN: ${JSON.stringify(verify).slice(0, 200)}`, floor: '', ratio: null });
  for (const s of ['', '-wal', '-shm']) rmSync(`${DIR}/floor-${n}.db${s}`, { force: true });
}

// 2. Plaintext hashing at cost 12 -------------------------------------------------------
{
  const cores = availableParallelism();
  await bcrypt.hash('warm up the pool', 12);
  const t0 = process.hrtime.bigint();
  await bcrypt.hash('one single hash, timed', 12);
  const oneMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const file = `${DIR}/plain-${HASH_ROWS}.csv`;
  const lines = ['email,password'];
  for (let i = 1; i <= HASH_ROWS; i++) lines.push(`plain${i}@example.test,${randomBytes(15).toString('base64url')}`);
  (await import('node:fs')).writeFileSync(file, lines.join('\n') + '\n');
  const db = freshSqlite('plain');
  const run = acctctl(db, ['user', 'import', file, '--yes', '-q'], { ACCTCTL_BCRYPT_COST: '12' });
  const rate = HASH_ROWS / (run.ms / 1000);
  const ideal = cores / (oneMs / 1000);
  results.push({ what: `plaintext import, cost 12, ${HASH_ROWS} rows`, value: `${rate.toFixed(2)} hashes/s`, floor: `${ideal.toFixed(2)} hashes/s = ${cores} cores / ${oneMs.toFixed(0)} ms`, ratio: rate / ideal, target: 0.9 });
}

// 3. PostgreSQL import vs COPY -----------------------------------------------------------
if (PG) {
  const pg = (await import('pg')).default;
  const { from: copyFrom } = await import('pg-copy-streams');
  const n = SIZES[0];
  const file = await csv(n);
  const schemaUrl = (schema) => `${PG}${PG.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema},public`)}`;
  const admin = new pg.Client({ connectionString: PG });
  await admin.connect();
  // The trigram extension lives in public, where every schema's search_path finds it.
  for (const s of ['bench_floor', 'bench_import']) await admin.query(`DROP SCHEMA IF EXISTS ${s} CASCADE; CREATE SCHEMA ${s}`);
  await admin.query('CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public');
  await admin.end();
  acctctl(schemaUrl('bench_floor'), ['init', '--admin-email', 'root@bench.test', '--generate-password']);
  acctctl(schemaUrl('bench_import'), ['init', '--admin-email', 'root@bench.test', '--generate-password']);
  const rows = floorRows(n);
  const esc = (v) => (v === null ? '\\N' : String(v).replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n'));
  const client = new pg.Client({ connectionString: schemaUrl('bench_floor') });
  await client.connect();
  const t0 = process.hrtime.bigint();
  await client.query('BEGIN');
  const stream = client.query(copyFrom(`COPY users (public_id, username, username_normalized, email, email_normalized, display_name, timezone, language, preferences,
    role, super_admin, status, password_hash, password_changed_at, import_fingerprint, created_at, updated_at, search_text) FROM STDIN`));
  for (const r of rows) if (!stream.write(r.map(esc).join('\t') + '\n')) await once(stream, 'drain');
  stream.end();
  await once(stream, 'finish');
  await client.query('COMMIT');
  const floorMs = Number(process.hrtime.bigint() - t0) / 1e6;
  await client.end();
  const run = acctctl(schemaUrl('bench_import'), ['user', 'import', file, '--yes', '-q']);
  const floorRate = n / (floorMs / 1000);
  const rate = n / (run.ms / 1000);
  results.push({ what: `PostgreSQL import ${fmt(n)} rows`, value: `${fmt(rate)} rows/s`, floor: `${fmt(floorRate)} rows/s bare COPY`, ratio: rate / floorRate, target: 0.6 });
  const drop = new pg.Client({ connectionString: PG });
  await drop.connect();
  await drop.query('DROP SCHEMA bench_floor CASCADE; DROP SCHEMA bench_import CASCADE');
  await drop.end();
}

// 4. cleanup of expired sessions ------------------------------------------------------------
{
  const n = CLEANUP_ROWS;
  const base = freshSqlite('cleanup');
  const raw = new Database(base);
  raw.pragma('journal_mode = WAL');
  const uid = raw.prepare('SELECT id FROM users LIMIT 1').get().id;
  const ins = raw.prepare('INSERT INTO sessions (token_hash, user_id, created_at, expires_at, revoked_at) VALUES (?, ?, ?, ?, ?)');
  const old = '2020-01-01T00:00:00.000Z';
  raw.transaction(() => {
    for (let i = 0; i < n; i++) ins.run(`h${i}`, uid, old, '2020-02-01T00:00:00.000Z', i % 2 ? old : null);
  })();
  raw.pragma('wal_checkpoint(TRUNCATE)');
  raw.close();
  const copy = `${DIR}/cleanup-floor.db`;
  copyFileSync(base, copy);
  if (existsSync(`${base}-wal`)) copyFileSync(`${base}-wal`, `${copy}-wal`);
  // the floor: the same batched delete, bare
  const f = new Database(copy);
  f.pragma('journal_mode = WAL');
  const cutoff = new Date(Date.now() - 30 * 86400_000).toISOString();
  const del = f.prepare('DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE id > ? AND (revoked_at < ? OR expires_at < ?) ORDER BY id LIMIT 2000) RETURNING id');
  let after = 0;
  let longestFloor = 0;
  const t0 = process.hrtime.bigint();
  for (;;) {
    const b0 = performance.now();
    const ids = f.transaction(() => del.all(after, cutoff, cutoff))();
    longestFloor = Math.max(longestFloor, performance.now() - b0);
    if (ids.length === 0) break;
    after = Math.max(...ids.map((r) => r.id));
  }
  const floorMs = Number(process.hrtime.bigint() - t0) / 1e6;
  f.close();
  const conn = await connect(base);
  const t1 = process.hrtime.bigint();
  const r = await runCleanup(makeContext(conn, { actor: { kind: 'operator', label: 'bench' } }), { kinds: ['sessions'] });
  const ms = Number(process.hrtime.bigint() - t1) / 1e6;
  await conn.close();
  if (r.sessions !== n) throw new Error(`cleanup deleted ${r.sessions} of ${n}`);
  const floorRate = n / (floorMs / 1000);
  const rate = n / (ms / 1000);
  results.push({ what: `cleanup ${fmt(n)} expired sessions`, value: `${fmt(rate)} rows/s`, floor: `${fmt(floorRate)} rows/s bare batched delete`, ratio: rate / floorRate, target: 0.8 });
  results.push({ what: `  longest transaction`, value: `${r.longest_batch_ms.toFixed(1)} ms`, floor: `${longestFloor.toFixed(1)} ms bare`, ratio: r.longest_batch_ms / 100, target: 1, lowerIsBetter: true });
  for (const p of [base, copy]) for (const s of ['', '-wal', '-shm']) rmSync(p + s, { force: true });
}

console.log('\nbench:bulk');
for (const r of results) {
  const verdict = r.ratio === null || r.target === undefined ? '' : r.lowerIsBetter ? (r.ratio <= r.target ? 'ok' : 'OVER') : r.ratio >= r.target ? 'ok' : 'UNDER';
  const ratio = r.ratio === null ? '' : r.lowerIsBetter ? `${(r.ratio * 100).toFixed(0)}% of limit` : `${(r.ratio * 100).toFixed(0)}% (target ${r.target * 100}%)`;
  console.log(`${r.what.padEnd(38)} ${r.value.padEnd(34)} ${r.floor.padEnd(44)} ${ratio.padEnd(24)} ${verdict}`);
}

