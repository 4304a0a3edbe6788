/**
 * Impersonation: an admin (or the local operator) opens a short session as another user,
 * to see what they see. The session is of kind 'impersonation', names who impersonates,
 * lasts at most security.impersonation_max_ttl, and is audited; its token is returned
 * once and only its hash is stored.
 */
import { isIpAddress } from '../domain/validate.js';
import { RefusedError, UsageError } from '../errors.js';
import { formatDuration } from '../policy/values.js';
import { hashToken, newPublicId, newToken } from '../security/tokens.js';
import type { ServiceContext } from './context.js';
import { assertCan } from './permissions.js';
import { policyOf } from './policy.js';
import { getUserRow } from './user-lookup.js';
import { mutate, type MutationOutcome, type UnitOfWork } from './unit-of-work.js';

export interface ImpersonateInput {
  /** How long the session lasts; default and cap: security.impersonation_max_ttl. */
  ttlSeconds?: number | undefined;
}

export interface Impersonation {
  /** Returned once; only its SHA-256 is stored. */
  token: string;
  session_id: string;
  user_public_id: string;
  user_email: string;
  impersonator: string;
  created_at: string;
  expires_at: string;
  ttl_seconds: number;
}

/** The session's lifetime: the asked ttl within the cap (exit 2 naming the cap), or the cap. */
function ttlWithin(input: ImpersonateInput, cap: number): number {
  const ttl = input.ttlSeconds;
  if (ttl === undefined) return cap;
  if (!Number.isSafeInteger(ttl) || ttl < 1) throw new UsageError('ttl: must be a duration of at least 1 second', { field: 'ttl' });
  if (ttl > cap) {
    throw new UsageError(`ttl: ${formatDuration(ttl)} is longer than the policy allows (security.impersonation_max_ttl is ${formatDuration(cap)})`, { field: 'ttl' });
  }
  return ttl;
}

export async function impersonateTx(uow: UnitOfWork, userRef: string, ttlSeconds: number): Promise<Impersonation> {
  const { trx, actor, ctx } = uow;
  const user = await getUserRow(trx, userRef);
  const target = { type: 'user', id: user.public_id, label: user.email };
  uow.about(target);
  assertCan(actor, user.role === 'admin' ? 'user.impersonate_admin' : 'user.impersonate', { superAdmin: Number(user.super_admin) === 1, label: user.email });
  if (actor.userId === Number(user.id)) throw new RefusedError(`cannot impersonate ${user.email}: that is the actor itself`);
  if (user.status !== 'active') throw new RefusedError(`cannot impersonate ${user.email}: the user is ${user.status} (only active users can be impersonated)`);

  const now = ctx.now();
  const createdAt = now.toISOString();
  const expiresAt = new Date(now.getTime() + ttlSeconds * 1000).toISOString();
  const token = newToken();
  const sessionId = newPublicId('ses');
  const ip = isIpAddress(ctx.actorIp) ? ctx.actorIp : null;
  await trx.insertInto('sessions').values({
    public_id: sessionId, token_hash: hashToken(token), user_id: Number(user.id), kind: 'impersonation',
    // The label is kept too: it still names the impersonator after that admin is deleted.
    impersonator_id: actor.userId, impersonator: actor.label,
    ip, user_agent: 'acctctl user impersonate', created_at: createdAt, last_seen_at: null, expires_at: expiresAt, revoked_at: null,
  }).execute();
  // The user's own sign-in history shows that someone else came in as them, and who.
  await trx.insertInto('login_history').values({
    user_id: Number(user.id), identifier: user.email, at: createdAt, ip, user_agent: 'acctctl user impersonate',
    method: 'impersonation', success: 1, reason: `impersonated by ${actor.label}`,
  }).execute();
  await uow.record('user.impersonate', target, {
    impersonated: { after: user.email }, until: { after: expiresAt }, session_id: { after: sessionId },
  });
  return {
    token, session_id: sessionId, user_public_id: user.public_id, user_email: user.email, impersonator: actor.label,
    created_at: createdAt, expires_at: expiresAt, ttl_seconds: ttlSeconds,
  };
}

/**
 * Opens an impersonation session as `userRef`. Refused (exit 4) for a user who is not
 * active, for an admin unless the actor is a super admin (the operator counts as one),
 * and for the actor itself; a ttl over the cap is exit 2.
 */
export async function impersonate(ctx: ServiceContext, userRef: string, input: ImpersonateInput = {}): Promise<MutationOutcome<Impersonation>> {
  const cap = (await policyOf(ctx)).get('security.impersonation_max_ttl');
  const ttl = ttlWithin(input, cap);
  return mutate(ctx, 'user.impersonate', (uow) => impersonateTx(uow, userRef, ttl));
}
