/**
 * Secrets at rest, across tables: rotation re-seals every sealed value under a new key
 * in one transaction. (TOTP secrets and identity-provider client secrets join the list
 * of sealed columns when their issues add them.)
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/connect.js';
import { tableExists } from '../db/dialect.js';
import type { DB } from '../db/types.js';
import { SecretKeyError, reseal, sealedKeyId, type SecretBox } from '../security/secrets.js';
import type { ServiceContext } from './context.js';
import { assertCan } from './permissions.js';
import { afterChange } from './policy.js';
import { mutate, type MutationOutcome } from './unit-of-work.js';

export interface RotationResult {
  old_key_id: string;
  new_key_id: string;
  resealed: number;
}

/**
 * Re-seals every secret under `next`. `ctx.beforeCommit` is where the caller stores the
 * new key (a key file, or the one-time display): if that fails, nothing is re-sealed.
 */
export async function rotateSecrets(ctx: ServiceContext, next: SecretBox): Promise<MutationOutcome<RotationResult>> {
  if (!ctx.secretBox) throw new SecretKeyError('no secret key is configured: nothing to rotate from');
  const current = ctx.secretBox();
  return afterChange(ctx, mutate(ctx, 'secrets.rotate', async (uow) => {
    const target = { type: 'secret-key', id: current.keyId, label: 'secret key' };
    uow.about(target);
    assertCan(uow.actor, 'policy.write');
    const check = (what: string, sealed: string) => {
      // A secret sealed under another key is named, and the rotation refused.
      if (sealedKeyId(sealed) !== current.keyId) throw new SecretKeyError(`${what} is sealed with key ${sealedKeyId(sealed)}, not the current key ${current.keyId}: rotation would lose it`);
    };
    let count = 0;
    const settings = await uow.trx.selectFrom('settings').select(['key', 'sealed']).where('sealed', 'is not', null).execute();
    for (const row of settings) {
      check(row.key, row.sealed!);
      await uow.trx.updateTable('settings').set({ sealed: reseal(row.sealed!, row.key, current, next) }).where('key', '=', row.key).execute();
      count++;
    }
    const totp = await uow.trx.selectFrom('users').select(['id', 'email', 'two_factor_secret']).where('two_factor_secret', 'is not', null).execute();
    for (const row of totp) {
      check(`the 2FA secret of ${row.email}`, row.two_factor_secret!);
      await uow.trx.updateTable('users').set({ two_factor_secret: reseal(row.two_factor_secret!, 'users.two_factor_secret', current, next) }).where('id', '=', row.id).execute();
      count++;
    }
    const mail = await uow.trx.selectFrom('outbox').select(['id', 'body_sealed']).where('body_sealed', 'is not', null).execute();
    for (const row of mail) {
      check(`outbox message ${row.id}`, row.body_sealed!);
      await uow.trx.updateTable('outbox').set({ body_sealed: reseal(row.body_sealed!, 'outbox.body', current, next) }).where('id', '=', row.id).execute();
      count++;
    }
    await uow.record('secrets.rotate', target, { key_id: { before: current.keyId, after: next.keyId }, resealed: { after: count } });
    return { old_key_id: current.keyId, new_key_id: next.keyId, resealed: count };
  }));
}

/** Whether any secret is stored sealed (then a missing key is an error, never a new key). */
export async function hasSealedSecrets(db: Database): Promise<boolean> {
  for (const [table, column] of SEALED_COLUMNS) {
    if (!(await tableExists(db, table))) continue;
    const row = await db.kysely.selectFrom(table as 'settings').select(sql<number>`count(*)`.as('n')).where(sql.ref(column), 'is not', null).executeTakeFirst();
    if (Number(row?.n ?? 0) > 0) return true;
  }
  return false;
}

/** Every column that holds sealed secrets: rotation and the key checks cover them all. */
export const SEALED_COLUMNS: readonly [table: string, column: string][] = [['settings', 'sealed'], ['users', 'two_factor_secret'], ['outbox', 'body_sealed']];

/** Refuses to seal under a key other than the one the stored secrets use (they would become unreadable). */
export async function assertSameKey(trx: Kysely<DB>, box: SecretBox): Promise<void> {
  for (const [table, column] of SEALED_COLUMNS) {
    const rows = await trx.selectFrom(table as 'settings').select(sql<string>`${sql.ref(column)}`.as('v')).where(sql.ref(column), 'is not', null).limit(1).execute();
    for (const { v } of rows) {
      if (sealedKeyId(v) !== box.keyId) {
        throw new SecretKeyError(`the stored secrets are sealed with key ${sealedKeyId(v)}, but the key in use is ${box.keyId}${box.source ? ` (from ${box.source.description})` : ''}: use the key they were sealed with (or rotate it with \`acctctl secrets rotate-key\`)`);
      }
    }
  }
}
