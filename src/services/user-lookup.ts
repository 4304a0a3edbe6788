import type { Kysely } from 'kysely';
import type { DB, UserRow } from '../db/types.js';
import { NotFoundError } from '../errors.js';
import { normalizeEmail, printable } from './validate.js';

/**
 * Resolves a <user> argument to its row (internal: rows carry secrets; the library
 * exports views only). A numeric id, a public id (usr_…), an email (any case) or a
 * username (any case). Usernames can't look like the other three (validate.ts).
 */
export async function findUserRow(db: Kysely<DB>, ref: string): Promise<UserRow | undefined> {
  const r = ref.trim();
  let q = db.selectFrom('users').selectAll();
  if (/^\d+$/.test(r)) {
    const id = Number(r);
    if (!Number.isSafeInteger(id)) return undefined;
    q = q.where('id', '=', id);
  } else if (/^usr_/i.test(r)) q = q.where('public_id', '=', r.toLowerCase());
  else if (r.includes('@')) q = q.where('email_normalized', '=', normalizeEmail(r));
  else q = q.where('username_normalized', '=', r.normalize('NFC').toLowerCase());
  return q.executeTakeFirst();
}

export async function getUserRow(db: Kysely<DB>, ref: string): Promise<UserRow> {
  const user = await findUserRow(db, ref);
  if (!user) throw new NotFoundError(`no user matches "${printable(ref)}" (give an id, usr_… public id, email or username)`, { field: 'user' });
  return user;
}
