/**
 * The sign-in core a platform imports: authenticate() and validateSession(). Attempts
 * and their outcome go to login_history (not the audit log, which records changes made
 * by operators). The failed-login counter is taken atomically BEFORE the slow hash
 * comparison, so parallel guesses cannot run more comparisons than the threshold allows.
 */
import type { Kysely } from 'kysely';
import type { DB, UserRow } from '../db/types.js';
import { withWriteTx } from '../db/dialect.js';
import type { LoginMethod } from '../domain/enums.js';
import { hasControlChars, isWellFormedText, printable } from '../domain/text.js';
import { validActorIp } from '../domain/validate.js';
import { bcryptCostOf, dummyVerify, hashPassword, verifyPassword } from '../security/passwords.js';
import { hashToken, newPublicId, newToken } from '../security/tokens.js';
import { isoNow, type ServiceContext } from './context.js';
import { baseDb, reader } from './unit-of-work.js';
import { passwordPolicyOf, policyOf, type Policy } from './policy.js';
import { normalizeEmail } from './validate.js';
import { verifySecondFactor } from './two-factor.js';

export interface AuthenticateInput {
  identifier: string;
  password: string;
  totp?: string | undefined;
  recovery_code?: string | undefined;
  ip?: string | undefined;
  user_agent?: string | undefined;
}

/** Why a sign-in failed: for login history and the operator; callers show one generic message. */
export type FailureReason =
  | 'unknown_identifier' | 'method_disabled' | 'pending' | 'suspended' | 'deactivated' | 'email_unverified' | 'no_password' | 'locked'
  | 'bad_password' | 'totp_required' | 'bad_totp' | 'totp_replayed' | 'bad_recovery_code' | 'changed_during_sign_in';

export type AuthResult =
  | {
      ok: true;
      /** Returned once; only its SHA-256 is stored. */
      session_token: string;
      session_id: string;
      expires_at: string;
      user: { public_id: string; email: string; role: string };
      /** 'full', or the one step this session may take ('enrol_2fa', 'change_password'). */
      scope: 'full' | 'enrol_2fa' | 'change_password';
      /** The platform must make the user set a new password first. */
      must_change_password: boolean;
      /** Policy requires 2FA and the user has none: the session may only enrol. */
      must_enrol_2fa: boolean;
    }
  | { ok: false; reason: FailureReason };

const MAX_TEXT = 512;
const clip = (s: unknown) => (typeof s !== 'string' ? null : printable(s).slice(0, MAX_TEXT));

function addSeconds(now: Date, seconds: number): string {
  return new Date(now.getTime() + seconds * 1000).toISOString();
}

/** The user an identifier names, if that sign-in method is on. */
async function findForSignIn(db: Kysely<DB>, policy: Policy, identifier: string): Promise<{ user?: UserRow; disabled?: boolean }> {
  // Anything that cannot be an identifier is simply not one (no query with a NUL in it).
  if (typeof identifier !== 'string' || identifier.length > 320 || !isWellFormedText(identifier) || hasControlChars(identifier)) return {};
  const id = identifier.trim().normalize('NFC');
  const byEmail = id.includes('@');
  if (byEmail ? !policy.get('signin.email') : !policy.get('signin.username')) return { disabled: true };
  let q = db.selectFrom('users').selectAll();
  q = byEmail ? q.where('email_normalized', '=', normalizeEmail(id)) : q.where('username_normalized', '=', id.toLowerCase());
  const user = await q.executeTakeFirst();
  return user ? { user } : {};
}

async function recordAttempt(db: Kysely<DB>, ctx: ServiceContext, input: AuthenticateInput, userId: number | null, method: LoginMethod, reason: FailureReason | null): Promise<void> {
  await db.insertInto('login_history').values({
    user_id: userId, identifier: clip(typeof input.identifier === 'string' ? input.identifier : '') ?? '', at: isoNow(ctx), ip: input.ip === undefined ? null : validActorIp(input.ip),
    user_agent: clip(input.user_agent), method, success: reason === null ? 1 : 0, reason,
  }).execute();
}

/** Whether 2FA is required of this user by policy. */
export function twoFactorEnforced(policy: Policy, user: Pick<UserRow, 'role'>): boolean {
  return policy.get('security.enforce_2fa') || (user.role === 'admin' && policy.get('security.enforce_admin_2fa'));
}

/**
 * Signs a user in. Refusals give only the reason code (the caller shows one generic
 * message); an unknown identifier costs one dummy comparison, like a known one.
 */
export async function authenticate(ctx: ServiceContext, input: AuthenticateInput): Promise<AuthResult> {
  const db = baseDb(ctx.db);
  const policy = await policyOf(ctx);
  const pwPolicy = await passwordPolicyOf(ctx);
  const threshold = policy.get('security.lockout_threshold');
  const lockFor = policy.get('security.lockout_duration');
  const now = ctx.now();
  const nowIso = now.toISOString();
  // Locks when the count (not this attempt's view of it) reached the threshold: a success
  // that finished meanwhile reset the count, and then nothing is locked.
  const lockIfDue = async (trx: Kysely<DB>, userId: number) => {
    if (threshold > 0) await trx.updateTable('users').set({ locked_until: addSeconds(now, lockFor) }).where('id', '=', userId).where('failed_login_count', '>=', threshold).execute();
  };
  const fail = async (userId: number | null, reason: FailureReason, method: LoginMethod = 'password'): Promise<AuthResult> => {
    await withWriteTx(db, (trx) => recordAttempt(trx, ctx, input, userId, method, reason));
    return { ok: false, reason };
  };

  // 1. Under the write lock: find the user and take an attempt slot (counter + 1).
  const slot = await withWriteTx(db, async (trx) => {
    const { user, disabled } = await findForSignIn(trx, policy, input.identifier);
    if (disabled) return { reason: 'method_disabled' as const };
    if (!user) return { reason: 'unknown_identifier' as const };
    if (user.status !== 'active') return { user, reason: user.status as 'pending' | 'suspended' | 'deactivated' };
    // While verification is required, an address nobody proved is no way in (issue 10).
    if (user.email_verified_at === null && policy.get('registration.email_verification')) return { user, reason: 'email_unverified' as const };
    if (user.password_hash === null) return { user, reason: 'no_password' as const };
    if (user.locked_until !== null && user.locked_until > nowIso) return { user, reason: 'locked' as const };
    // A lock that has run out starts the count again.
    const expired = user.locked_until !== null;
    const row = await trx.updateTable('users').set((eb) => (expired ? { failed_login_count: 1, locked_until: null } : { failed_login_count: eb('failed_login_count', '+', 1) }))
      .where('id', '=', user.id).returning(['failed_login_count']).executeTakeFirstOrThrow();
    const attempts = Number(row.failed_login_count);
    if (threshold > 0 && attempts > threshold) {
      // Over the threshold: locked, and no comparison is spent on this guess.
      await trx.updateTable('users').set({ locked_until: addSeconds(now, lockFor), failed_login_count: threshold }).where('id', '=', user.id).execute();
      return { user, reason: 'locked' as const };
    }
    return { user };
  });
  if ('reason' in slot && slot.reason !== undefined) {
    // Same cost as a real comparison (locked included), so timing tells nothing about accounts.
    await dummyVerify(pwPolicy.bcryptCost);
    return fail(slot.user ? Number(slot.user.id) : null, slot.reason);
  }
  const { user } = slot as { user: UserRow };

  // 2. The slow comparison, outside any lock.
  const good = typeof input.password === 'string' && (await verifyPassword(input.password, user.password_hash!));
  if (!good) {
    await withWriteTx(db, async (trx) => {
      await lockIfDue(trx, Number(user.id));
      await recordAttempt(trx, ctx, input, Number(user.id), 'password', 'bad_password');
    });
    return { ok: false, reason: 'bad_password' };
  }

  // 3. Second factor, when enrolled.
  let method: LoginMethod = 'password';
  const enrolled = user.two_factor_enabled_at !== null;
  if (enrolled) {
    const second = await verifySecondFactor(ctx, user, { totp: input.totp, recovery_code: input.recovery_code });
    if (!second.ok) {
      if (second.reason === 'totp_required') {
        // The password was right: this attempt does not count against the account.
        await withWriteTx(db, (trx) => trx.updateTable('users').set((eb) => ({ failed_login_count: eb('failed_login_count', '-', 1) })).where('id', '=', user.id).where('failed_login_count', '>', 0).execute());
      } else {
        await withWriteTx(db, (trx) => lockIfDue(trx, Number(user.id)));
      }
      return fail(Number(user.id), second.reason, second.method);
    }
    method = second.method;
  }

  // 4. Success: a new hash if the stored one is below the policy's cost, then the session.
  const cost = bcryptCostOf(user.password_hash!);
  const rehash = cost !== undefined && cost < pwPolicy.bcryptCost ? await hashPassword(input.password, pwPolicy.bcryptCost) : null;
  const token = newToken();
  const publicId = newPublicId('ses');
  const mustEnrol = !enrolled && twoFactorEnforced(policy, user);
  const mustChange = Number(user.must_change_password) === 1;
  // A session that owes a step may only take that step (the platform checks scope).
  const scope = mustEnrol ? 'enrol_2fa' : mustChange ? 'change_password' : 'full';
  const expires = addSeconds(now, policy.get('security.session_lifetime'));
  const changed = await withWriteTx(db, async (trx) => {
    // The account as it is now: a password set, a 2FA reset or a suspension that landed
    // during the comparison wins, and this sign-in (with the old state) gets nothing.
    const current = await trx.selectFrom('users').select(['password_hash', 'status', 'two_factor_enabled_at', 'two_factor_secret']).where('id', '=', user.id).executeTakeFirst();
    if (!current || current.password_hash !== user.password_hash || current.status !== 'active' || current.two_factor_enabled_at !== user.two_factor_enabled_at || current.two_factor_secret !== user.two_factor_secret) {
      await recordAttempt(trx, ctx, input, current ? Number(user.id) : null, method, 'changed_during_sign_in');
      return true;
    }
    await trx.updateTable('users').set({
      failed_login_count: 0, locked_until: null, last_login_at: nowIso, last_login_ip: input.ip === undefined ? null : validActorIp(input.ip),
      ...(rehash ? { password_hash: rehash } : {}),
    }).where('id', '=', user.id).where('password_hash', '=', user.password_hash!).execute();
    await trx.insertInto('sessions').values({
      public_id: publicId, token_hash: hashToken(token), user_id: Number(user.id), kind: 'web', scope, impersonator_id: null, impersonator: null,
      ip: input.ip === undefined ? null : validActorIp(input.ip), user_agent: clip(input.user_agent), created_at: nowIso, last_seen_at: nowIso, expires_at: expires, revoked_at: null,
    }).execute();
    await recordAttempt(trx, ctx, input, Number(user.id), method, null);
    return false;
  });
  if (changed) return { ok: false, reason: 'changed_during_sign_in' };
  return {
    ok: true, session_token: token, session_id: publicId, expires_at: expires,
    user: { public_id: user.public_id, email: user.email, role: user.role },
    scope,
    must_change_password: mustChange,
    must_enrol_2fa: mustEnrol,
  };
}

export type SessionCheck =
  | { ok: true; session_id: string; kind: string; scope: string; expires_at: string; user: { public_id: string; email: string; role: string }; impersonator: string | null }
  | { ok: false; reason: 'unknown' | 'revoked' | 'expired' | 'user_inactive' | 'impersonator_inactive' };

/** The session a token names, if it is live; touches last_seen_at. */
export async function validateSession(ctx: ServiceContext, token: string): Promise<SessionCheck> {
  const db = reader(ctx);
  const row = await db.selectFrom('sessions').innerJoin('users', 'users.id', 'sessions.user_id')
    .leftJoin('users as imp', 'imp.id', 'sessions.impersonator_id')
    .select(['sessions.id', 'sessions.public_id', 'sessions.kind', 'sessions.scope', 'sessions.expires_at', 'sessions.revoked_at', 'sessions.last_seen_at', 'sessions.impersonator',
      'sessions.impersonator_id', 'users.public_id as user_public_id', 'users.email', 'users.role', 'users.status', 'imp.status as imp_status', 'imp.role as imp_role'])
    .where('sessions.token_hash', '=', typeof token === 'string' ? hashToken(token) : '').executeTakeFirst();
  if (!row) return { ok: false, reason: 'unknown' };
  if (row.revoked_at !== null) return { ok: false, reason: 'revoked' };
  const now = isoNow(ctx);
  if (row.expires_at <= now) return { ok: false, reason: 'expired' };
  if (row.status !== 'active') return { ok: false, reason: 'user_inactive' };
  // An impersonation lasts only while its impersonator is an active admin (an operator's has none).
  if (row.kind === 'impersonation' && row.impersonator_id !== null && (row.imp_status !== 'active' || row.imp_role !== 'admin')) return { ok: false, reason: 'impersonator_inactive' };
  // Touched at most once a minute, as a plain update: checking a session must not queue
  // behind the write lock every change takes.
  if (row.last_seen_at === null || Date.parse(now) - Date.parse(row.last_seen_at) >= 60_000) {
    await baseDb(ctx.db).kysely.updateTable('sessions').set({ last_seen_at: now }).where('id', '=', row.id).execute();
  }
  return {
    ok: true, session_id: row.public_id ?? String(row.id), kind: row.kind, scope: row.scope, expires_at: row.expires_at,
    user: { public_id: row.user_public_id, email: row.email, role: row.role }, impersonator: row.impersonator,
  };
}
