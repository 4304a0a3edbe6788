// Builds a SQLite database with N users (default 100,000) for the benchmarks.
// Usage: node bench/seed.mjs [path] [count]
import { existsSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { connect, migrate } from '../dist/index.js';
import { hashPassword } from '../dist/security/passwords.js';
import { userSearchText } from '../dist/db/dialect.js';

const path = process.argv[2] ?? 'bench/data/users-100k.db';
const count = Number(process.argv[3] ?? 100_000);
for (const suffix of ['', '-wal', '-shm']) if (existsSync(path + suffix)) rmSync(path + suffix);

const db = await connect(path);
await migrate(db);
await db.close();

const hash = await hashPassword('benchmark password', 4);
const raw = new Database(path);
raw.pragma('journal_mode = WAL');
const insert = raw.prepare(`INSERT INTO users (public_id, username, username_normalized, email, email_normalized, display_name, timezone, language,
  role, super_admin, status, password_hash, last_login_at, created_at, updated_at, search_text)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
const first = ['Anna', 'Boris', 'Chloé', 'Dmitri', 'Eve', 'Fatima', 'Gustav', 'Hiro', 'Ines', 'Jamal'];
const zones = ['Europe/Berlin', 'America/New_York', 'Asia/Tokyo', 'UTC', null];
const statuses = ['active', 'active', 'active', 'suspended', 'deactivated', 'pending'];
const t0 = Date.now();
const start = Date.parse('2024-01-01T00:00:00Z');
const end = start + (count + 1440) * 60_000;
// A fixed-seed generator (mulberry32): the same database on every machine.
let state = 0x5eed;
const random = () => {
  state = (state + 0x6d2b79f5) | 0;
  let t = Math.imul(state ^ (state >>> 15), 1 | state);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
// Real accounts sign in, and get edited, at any time after they are created; and their
// names have nothing to do with the order they signed up in. So logins and edits fall
// at random, and a name's number is a permutation of i: a name search ("number5") does
// not select one block of consecutive ids, as it would with Number<i>.
const later = (created) => new Date(created + Math.floor(random() * (end - created))).toISOString();
const prime = 999_983; // a prime, so i -> i * prime mod count is a permutation unless it divides count
const nameNumber = (i) => (count % prime === 0 ? i : ((i * prime) % count) + 1);
raw.transaction(() => {
  for (let i = 1; i <= count; i++) {
    const id = randomBytes(10).toString('hex').slice(0, 16).replace(/[0189]/g, 'a');
    const createdMs = start + i * 60_000;
    const created = new Date(createdMs).toISOString();
    const login = i % 4 === 0 ? null : later(createdMs);
    const updated = random() < 0.3 ? later(createdMs) : created;
    const role = i === 1 || i % 500 === 0 ? 'admin' : i % 50 === 0 ? 'reseller' : 'user'; // 0.2% admins, 1.8% resellers
    const name = `${first[i % first.length]} Number${nameNumber(i)}`;
    const email = `user${i}@example${i % 97}.test`;
    const username = i % 3 === 0 ? `user${i}` : null;
    const search = userSearchText([email, username, name, `usr_${id}`]);
    insert.run(`usr_${id}`, username, username, email, email, name, zones[i % zones.length],
      i % 2 ? 'en' : 'de', role, i === 1 ? 1 : 0, i === 1 ? 'active' : statuses[i % statuses.length], hash, login, created, updated, search);
  }
})();
raw.close();
process.stderr.write(`seeded ${count} users into ${path} in ${Date.now() - t0} ms\n`);
