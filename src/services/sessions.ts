/** Sessions: revocation (inside another change, or on its own with an audit entry) and counts. */
import type { Kysely } from 'kysely';
import type { DB } from '../db/types.js';
import { isoNow } from './context.js';
import type { ServiceContext } from './context.js';
import { assertCan } from './permissions.js';
import { getUserRow } from './user-lookup.js';
import { mutate, type MutationOutcome, type UnitOfWork } from './unit-of-work.js';

/** Revokes every live session of a user inside the caller's unit; no entry of its own. */
export async function revokeUserSessionsTx(uow: UnitOfWork, userId: number): Promise<number> {
  const res = await uow.trx
    .updateTable('sessions')
    .set({ revoked_at: isoNow(uow.ctx) })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(res.numUpdatedRows);
}

export interface RevokedSessions {
  user: string;
  revoked: number;
}

/** Signs a user out everywhere: one audit entry (session.revoke), even when none was live. */
export async function revokeSessions(ctx: ServiceContext, userRef: string): Promise<MutationOutcome<RevokedSessions>> {
  return mutate(ctx, 'session.revoke', async (uow) => {
    const user = await getUserRow(uow.trx, userRef);
    const target = { type: 'user', id: user.public_id, label: user.email };
    uow.about(target);
    assertCan(uow.actor, 'session.manage', { superAdmin: Number(user.super_admin) === 1, label: user.email });
    const revoked = await revokeUserSessionsTx(uow, Number(user.id));
    await uow.record('session.revoke', target, { sessions_revoked: { after: revoked } });
    return { user: user.public_id, revoked };
  });
}

export async function countActiveSessions(db: Kysely<DB>, userId: number, now: string): Promise<number> {
  const row = await db
    .selectFrom('sessions')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
