/**
 * Setting a password (by an operator, or through a single-use reset token) and the
 * tokens themselves. A token is bound to one user and one purpose, stored as a hash,
 * consumed atomically, and killed by a newer token, a password change, a suspension or a
 * deactivation.
 */
import type { Transaction } from 'kysely';
import type { DB } from '../db/types.js';
import { RefusedError, UsageError } from '../errors.js';
import type { TokenPurpose } from '../domain/enums.js';
import { checkNewPassword, generatePassword, hashPassword, verifyPassword } from '../security/passwords.js';
import { hashToken, newToken } from '../security/tokens.js';
import { isoNow, type ServiceContext } from './context.js';
import { assertCan, assertCanManageOrSelf } from './permissions.js';
import { passwordPolicyOf, policyOf } from './policy.js';
import { revokeUserSessionsTx } from './sessions.js';
import { mutate, reader, type MutationOutcome, type UnitOfWork } from './unit-of-work.js';
import { getUserRow } from './user-lookup.js';
import { userTarget } from './users.js';
import type { Changes } from './audit.js';
import { queueMailTx } from './mail.js';
import { resetPasswordMail } from './mail-templates.js';

/** Kills a user's outstanding tokens (of one purpose, or all); returns how many. */
export async function killTokensTx(trx: Transaction<DB>, ctx: ServiceContext, userId: number, purpose?: TokenPurpose): Promise<number> {
  let q = trx.updateTable('tokens').set({ consumed_at: isoNow(ctx) }).where('user_id', '=', userId).where('consumed_at', 'is', null);
  if (purpose) q = q.where('purpose', '=', purpose);
  return Number((await q.executeTakeFirst()).numUpdatedRows);
}

export interface SetPasswordInput {
  password?: string | undefined;
  generate?: boolean | undefined;
  /** The next sign-in must set a new password. */
  mustChange?: boolean | undefined;
  /** Keep the user's sessions (by default a new password signs them out everywhere). */
  keepSessions?: boolean | undefined;
}

export interface PasswordSet {
  user: string;
  /** Only when generated: shown once. */
  generated_password?: string;
  sessions_revoked: number;
}

async function writePassword(uow: UnitOfWork, userId: number, hash: string, opts: { mustChange: boolean; keepSessions: boolean }): Promise<{ revoked: number; killed: number; activated: boolean }> {
  const now = isoNow(uow.ctx);
  const before = await uow.trx.selectFrom('users').select('status').where('id', '=', userId).executeTakeFirstOrThrow();
  // A pending user was waiting for exactly this: a way to sign in.
  const activated = before.status === 'pending';
  await uow.trx.updateTable('users').set({
    password_hash: hash, password_changed_at: now, must_change_password: opts.mustChange ? 1 : 0, failed_login_count: 0, locked_until: null, updated_at: now,
    ...(activated ? { status: 'active' as const, status_reason: null } : {}),
  }).where('id', '=', userId).execute();
  const killed = await killTokensTx(uow.trx, uow.ctx, userId, 'password_reset');
  const revoked = opts.keepSessions ? 0 : await revokeUserSessionsTx(uow, userId);
  return { revoked, killed, activated };
}

/** `user reset-password --generate | --password-stdin`: by an admin (or the operator). */
export async function setPassword(ctx: ServiceContext, ref: string, input: SetPasswordInput): Promise<MutationOutcome<PasswordSet>> {
  if ((input.password === undefined) === !input.generate) throw new UsageError('give either a password or generate one', { field: 'password' });
  const password = input.generate ? generatePassword() : input.password!;
  const policy = await passwordPolicyOf(ctx);
  await checkNewPassword(password, policy);
  const hash = await hashPassword(password, policy.bcryptCost);
  return mutate(ctx, 'user.password_set', async (uow) => {
    const user = await getUserRow(uow.trx, ref);
    uow.about(userTarget(user));
    assertCan(uow.actor, 'user.manage', { superAdmin: Number(user.super_admin) === 1, label: user.email });
    const { revoked, killed, activated } = await writePassword(uow, Number(user.id), hash, { mustChange: Boolean(input.mustChange), keepSessions: Boolean(input.keepSessions) });
    await uow.record('user.password_set', userTarget(user), {
      password: { after: input.generate ? 'generated' : 'changed' }, must_change_password: { after: Boolean(input.mustChange) },
      sessions_revoked: { after: revoked }, reset_tokens_killed: { after: killed }, ...(activated ? { status: { before: 'pending', after: 'active' } } : {}),
    });
    const out: PasswordSet = { user: user.public_id, sessions_revoked: revoked };
    if (input.generate) out.generated_password = password;
    return out;
  });
}

export interface ResetLink {
  user: string;
  /** Shown once (or mailed); only its hash is stored. */
  token: string;
  /** app.base_url + /reset-password?token=…, or null when app.base_url is unset. */
  link: string | null;
  expires_at: string;
  /** With sendEmail: the outbox message carrying the link (send it with sendQueued). */
  mail_id?: number;
}

/**
 * A single-use reset token; older ones die. With sendEmail the link is also queued in the
 * outbox in the same transaction (its body sealed); the caller sends it after the commit.
 */
export async function createResetToken(ctx: ServiceContext, ref: string, opts: { sendEmail?: boolean | undefined } = {}): Promise<MutationOutcome<ResetLink>> {
  const policy = await policyOf(ctx);
  const base = policy.get('app.base_url');
  if (opts.sendEmail && base === null) throw new UsageError('app.base_url is unset, so an email could carry no link: set it first (acctctl policy set app.base_url https://…)', { field: 'app.base_url' });
  return mutate(ctx, 'user.password_reset_link', async (uow) => {
    const user = await getUserRow(uow.trx, ref);
    uow.about(userTarget(user));
    assertCan(uow.actor, 'user.manage', { superAdmin: Number(user.super_admin) === 1, label: user.email });
    if (user.status === 'suspended' || user.status === 'deactivated') throw new RefusedError(`${user.email} is ${user.status}: no reset link for it`);
    await killTokensTx(uow.trx, ctx, Number(user.id), 'password_reset');
    const token = newToken();
    const expires = new Date(ctx.now().getTime() + policy.get('token.reset_lifetime') * 1000).toISOString();
    await uow.trx.insertInto('tokens').values({ user_id: Number(user.id), purpose: 'password_reset', token_hash: hashToken(token), created_at: isoNow(ctx), expires_at: expires, consumed_at: null, created_by: uow.actor.label }).execute();
    const link = base === null ? null : `${String(base).replace(/\/$/, '')}/reset-password?token=${token}`;
    const out: ResetLink = { user: user.public_id, token, link, expires_at: expires };
    const changes: Changes = { reset_link: { after: 'issued' }, expires_at: { after: expires } };
    if (opts.sendEmail) {
      out.mail_id = await queueMailTx(uow, { kind: 'password_reset', to: user.email, content: resetPasswordMail({ name: policy.get('app.name') }, link!, expires), secret: true, userId: Number(user.id) });
      changes.mail = { after: out.mail_id };
    }
    await uow.record('user.password_reset_link', userTarget(user), changes);
    return out;
  });
}

/** The platform's "choose a new password" step: the token is consumed atomically, once. */
export async function redeemResetToken(ctx: ServiceContext, token: string, newPassword: string): Promise<MutationOutcome<PasswordSet>> {
  const policy = await passwordPolicyOf(ctx);
  await checkNewPassword(newPassword, policy);
  const hash = await hashPassword(newPassword, policy.bcryptCost);
  return mutate(ctx, 'user.password_reset', async (uow) => {
    const now = isoNow(ctx);
    const consumed = await uow.trx.updateTable('tokens').set({ consumed_at: now }).where('token_hash', '=', hashToken(token))
      .where('purpose', '=', 'password_reset').where('consumed_at', 'is', null).where('expires_at', '>', now).returning(['user_id']).executeTakeFirst();
    if (!consumed) throw new RefusedError('this reset link is unknown, used or expired');
    const user = await uow.trx.selectFrom('users').selectAll().where('id', '=', consumed.user_id).executeTakeFirstOrThrow();
    uow.about(userTarget(user));
    if (user.status === 'suspended' || user.status === 'deactivated') throw new RefusedError(`${user.email} is ${user.status}`);
    const { revoked, activated } = await writePassword(uow, Number(user.id), hash, { mustChange: false, keepSessions: false });
    await uow.record('user.password_reset', userTarget(user), {
      password: { after: 'changed' }, via: { after: 'reset link' }, sessions_revoked: { after: revoked }, ...(activated ? { status: { before: 'pending', after: 'active' } } : {}),
    });
    return { user: user.public_id, sessions_revoked: revoked };
  });
}

/**
 * A user changing their own password (the platform's "change password" page, and the
 * step a change_password session owes): the current password proves it, the other
 * sessions stay, and the sessions that owed this step may do everything.
 */
export async function changeOwnPassword(ctx: ServiceContext, ref: string, input: { current: string; next: string }): Promise<MutationOutcome<PasswordSet>> {
  const policy = await passwordPolicyOf(ctx);
  await checkNewPassword(input.next, policy, 'next');
  const hash = await hashPassword(input.next, policy.bcryptCost);
  const before = await getUserRow(reader(ctx), ref);
  // The slow comparison outside the lock; the unit checks the hash did not change meanwhile.
  if (before.password_hash === null || !(await verifyPassword(input.current, before.password_hash))) throw new RefusedError('the current password is wrong', { field: 'current' });
  return mutate(ctx, 'user.password_change', async (uow) => {
    const user = await getUserRow(uow.trx, ref);
    uow.about(userTarget(user));
    assertCanManageOrSelf(uow.actor, user);
    if (user.password_hash !== before.password_hash) throw new RefusedError('the password changed meanwhile: try again');
    const { killed } = await writePassword(uow, Number(user.id), hash, { mustChange: false, keepSessions: true });
    await uow.trx.updateTable('sessions').set({ scope: 'full' }).where('user_id', '=', user.id).where('scope', '=', 'change_password').where('revoked_at', 'is', null).execute();
    await uow.record('user.password_change', userTarget(user), { password: { after: 'changed' }, by: { after: 'the user' }, reset_tokens_killed: { after: killed } });
    return { user: user.public_id, sessions_revoked: 0 };
  });
}
