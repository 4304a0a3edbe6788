import { createHash, randomBytes } from 'node:crypto';

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** CSPRNG bytes drawn 4 KiB at a time: an import makes a public id a row, and one
 *  randomBytes call each cost more than the rest of making it. */
let pool = Buffer.alloc(0);
let used = 0;

function random(n: number): Buffer {
  if (n > 1024) return randomBytes(n);
  if (used + n > pool.length) {
    pool = randomBytes(4096);
    used = 0;
  }
  const out = pool.subarray(used, used + n);
  used += n;
  return out;
}

/** Random lower-case base32 string of n characters (5 bits each). */
export function randomBase32(n: number): string {
  const bytes = random(n);
  let out = '';
  for (let i = 0; i < n; i++) out += BASE32[bytes[i]! & 31];
  return out;
}

/** A public id such as usr_k3q…: 16 base32 characters = 80 random bits, unguessable and unique in practice. */
export function newPublicId(prefix: string): string {
  return `${prefix}_${randomBase32(16)}`;
}

/** A secret token (≥128 bits) for links and sessions; only its hash is stored. */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
