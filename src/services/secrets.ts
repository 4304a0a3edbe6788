/**
 * Secrets at rest, across tables: rotation re-seals every sealed value under a new key
 * in one transaction. (TOTP secrets and identity-provider client secrets join the list
 * of sealed columns when their issues add them.)
 */
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
    const rows = await uow.trx.selectFrom('settings').select(['key', 'sealed']).where('sealed', 'is not', null).execute();
    for (const row of rows) {
      const sealed = row.sealed!;
      // A secret sealed under neither key is named, and the rotation refused.
      if (sealedKeyId(sealed) !== current.keyId) {
        throw new SecretKeyError(`${row.key} is sealed with key ${sealedKeyId(sealed)}, not the current key ${current.keyId}: rotation would lose it`);
      }
      await uow.trx.updateTable('settings').set({ sealed: reseal(sealed, row.key, current, next) }).where('key', '=', row.key).execute();
    }
    await uow.record('secrets.rotate', target, { key_id: { before: current.keyId, after: next.keyId }, resealed: { after: rows.length } });
    return { old_key_id: current.keyId, new_key_id: next.keyId, resealed: rows.length };
  }));
}
