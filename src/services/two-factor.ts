/**
 * TOTP two-factor: enrol (a sealed 160-bit secret), confirm with a first code (2FA on,
 * 10 recovery codes returned once and stored hashed), verify at sign-in (a code for a
 * step newer than the last accepted one, so a code works once), reset.
 */
import type { DB, UserRow } from '../db/types.js';
import type { Kysely } from 'kysely';
import { withWriteTx } from '../db/dialect.js';
import { RefusedError, UsageError } from '../errors.js';
import type { LoginMethod } from '../domain/enums.js';
import { hashRecoveryCode, matchRecoveryCode, newRecoveryCodes } from '../security/recovery-codes.js';
import { newTotpSecret, otpauthUri, verifyTotp } from '../security/totp.js';
import { isoNow, type ServiceContext } from './context.js';
import { assertCan, assertCanManageOrSelf } from './permissions.js';
import { policyOf } from './policy.js';
import { revokeUserSessionsTx } from './sessions.js';
import { authorizeRead, baseDb, mutate, reader, type MutationOutcome, type UnitOfWork } from './unit-of-work.js';
import { getUserRow } from './user-lookup.js';
import { userTarget } from './users.js';
import { twoFactorEnforced } from './auth.js';

const CONTEXT = 'users.two_factor_secret';

function box(ctx: ServiceContext) {
  if (!ctx.secretBox) throw new UsageError('2FA secrets are stored encrypted and no secret key is configured (ACCTCTL_SECRET_KEY, --secret-key-file, or the key file beside the database)', { field: 'secret-key' });
  return ctx.secretBox();
}

export type SecondFactor = { ok: true; method: LoginMethod } | { ok: false; reason: 'totp_required' | 'bad_totp' | 'totp_replayed' | 'bad_recovery_code'; method: LoginMethod };

/** At sign-in, for an enrolled user: a fresh TOTP code, or an unused recovery code (each consumed atomically). */
export async function verifySecondFactor(ctx: ServiceContext, user: UserRow, given: { totp?: string | undefined; recovery_code?: string | undefined }): Promise<SecondFactor> {
  const db = baseDb(ctx.db);
  if (given.recovery_code !== undefined) {
    const codes = await db.kysely.selectFrom('recovery_codes').select(['id', 'code_hash']).where('user_id', '=', user.id).where('used_at', 'is', null).execute();
    const i = matchRecoveryCode(given.recovery_code, codes.map((c) => c.code_hash));
    if (i < 0) return { ok: false, reason: 'bad_recovery_code', method: 'recovery_code' };
    const used = await withWriteTx(db, (trx) => trx.updateTable('recovery_codes').set({ used_at: isoNow(ctx) }).where('id', '=', codes[i]!.id).where('used_at', 'is', null).executeTakeFirst());
    return Number(used.numUpdatedRows) === 1 ? { ok: true, method: 'recovery_code' } : { ok: false, reason: 'bad_recovery_code', method: 'recovery_code' };
  }
  if (given.totp === undefined) return { ok: false, reason: 'totp_required', method: 'totp' };
  const secret = box(ctx).open(user.two_factor_secret!, CONTEXT);
  const r = verifyTotp({ secret, code: given.totp, atMs: ctx.now().getTime(), lastUsedStep: user.totp_last_step === null ? undefined : Number(user.totp_last_step) });
  if (!r.ok) return { ok: false, reason: r.reason === 'replayed' ? 'totp_replayed' : 'bad_totp', method: 'totp' };
  // Accept the step once: a parallel sign-in with the same code loses here.
  const res = await withWriteTx(db, (trx) => trx.updateTable('users').set({ totp_last_step: r.step }).where('id', '=', user.id)
    .where((eb) => eb.or([eb('totp_last_step', 'is', null), eb('totp_last_step', '<', r.step)])).executeTakeFirst());
  return Number(res.numUpdatedRows) === 1 ? { ok: true, method: 'totp' } : { ok: false, reason: 'totp_replayed', method: 'totp' };
}

export interface Enrolment {
  user: string;
  /** Shown once. */
  secret: string;
  otpauth_uri: string;
}

/** Starts enrolment (or restarts one not yet confirmed): a new sealed secret. Refused while 2FA is on (reset it first). */
export async function enrollTotp(ctx: ServiceContext, ref: string): Promise<MutationOutcome<Enrolment>> {
  const policy = await policyOf(ctx);
  const b = box(ctx);
  return mutate(ctx, 'user.2fa_enroll', async (uow) => {
    const user = await getUserRow(uow.trx, ref);
    uow.about(userTarget(user));
    assertCanManageOrSelf(uow.actor, user);
    if (user.two_factor_enabled_at !== null) throw new RefusedError(`${user.email} already has 2FA: reset it first (acctctl user reset-2fa)`);
    const secret = newTotpSecret();
    await uow.trx.updateTable('users').set({ two_factor_secret: b.seal(secret, CONTEXT), totp_last_step: null, updated_at: isoNow(ctx) }).where('id', '=', user.id).execute();
    await uow.record('user.2fa_enroll', userTarget(user), { two_factor: { after: 'enrolment started' } });
    return { user: user.public_id, secret, otpauth_uri: otpauthUri({ secret, account: user.email, issuer: String(policy.get('app.name')) }) };
  });
}

export interface Confirmed {
  user: string;
  /** Shown once; stored hashed. */
  recovery_codes: string[];
}

/** Confirms enrolment with a first code: 2FA on, recovery codes returned once. */
export async function confirmTotp(ctx: ServiceContext, ref: string, code: string): Promise<MutationOutcome<Confirmed>> {
  const b = box(ctx);
  return mutate(ctx, 'user.2fa_confirm', async (uow) => {
    const user = await getUserRow(uow.trx, ref);
    uow.about(userTarget(user));
    assertCanManageOrSelf(uow.actor, user);
    if (user.two_factor_enabled_at !== null) throw new RefusedError(`${user.email} already has 2FA`);
    if (user.two_factor_secret === null) throw new RefusedError(`${user.email} has no enrolment to confirm: run acctctl user 2fa enroll first`);
    const r = verifyTotp({ secret: b.open(user.two_factor_secret, CONTEXT), code, atMs: ctx.now().getTime(), lastUsedStep: undefined });
    if (!r.ok) throw new UsageError('--code: not the current code of the enrolled secret (check the device\'s clock)', { field: 'code' });
    const codes = newRecoveryCodes(10);
    const now = isoNow(ctx);
    await uow.trx.updateTable('users').set({ two_factor_enabled_at: now, totp_last_step: r.step, updated_at: now }).where('id', '=', user.id).execute();
    await uow.trx.deleteFrom('recovery_codes').where('user_id', '=', user.id).execute();
    await uow.trx.insertInto('recovery_codes').values(codes.map((c) => ({ user_id: Number(user.id), code_hash: hashRecoveryCode(c), used_at: null }))).execute();
    // A session that was only allowed to enrol may now do what is left (a password change, or everything).
    const next = Number(user.must_change_password) === 1 ? 'change_password' : 'full';
    await uow.trx.updateTable('sessions').set({ scope: next }).where('user_id', '=', user.id).where('scope', '=', 'enrol_2fa').where('revoked_at', 'is', null).execute();
    await uow.record('user.2fa_confirm', userTarget(user), { two_factor: { before: false, after: true }, recovery_codes: { after: codes.length } });
    return { user: user.public_id, recovery_codes: codes };
  });
}

/** Clears the secret and the recovery codes and revokes every session. */
export async function resetTwoFactorTx(uow: UnitOfWork, ref: string): Promise<{ user: string; sessions_revoked: number }> {
  const { ctx } = uow;
  const user = await getUserRow(uow.trx, ref);
  uow.about(userTarget(user));
  assertCan(uow.actor, 'user.manage', { superAdmin: Number(user.super_admin) === 1, label: user.email });
  const codes = await uow.trx.deleteFrom('recovery_codes').where('user_id', '=', user.id).executeTakeFirst();
  await uow.trx.updateTable('users').set({ two_factor_secret: null, two_factor_enabled_at: null, totp_last_step: null, updated_at: isoNow(ctx) }).where('id', '=', user.id).execute();
  const revoked = await revokeUserSessionsTx(uow, Number(user.id));
  await uow.record('user.2fa_reset', userTarget(user), {
    two_factor: { before: user.two_factor_enabled_at !== null, after: false }, recovery_codes_deleted: { after: Number(codes.numDeletedRows) }, sessions_revoked: { after: revoked },
  });
  return { user: user.public_id, sessions_revoked: revoked };
}

export async function resetTwoFactor(ctx: ServiceContext, ref: string): Promise<MutationOutcome<{ user: string; sessions_revoked: number }>> {
  return mutate(ctx, 'user.2fa_reset', (uow) => resetTwoFactorTx(uow, ref));
}

export interface TwoFactorStatus {
  user: string;
  enabled: boolean;
  enabled_at: string | null;
  enrolment_pending: boolean;
  recovery_codes_left: number;
  required_by_policy: boolean;
}

export async function twoFactorStatus(ctx: ServiceContext, ref: string): Promise<TwoFactorStatus> {
  await authorizeRead(ctx, 'user.2fa_status', (a) => assertCan(a, 'user.read'));
  const db: Kysely<DB> = reader(ctx);
  const user = await getUserRow(db, ref);
  const left = await db.selectFrom('recovery_codes').select((eb) => eb.fn.countAll<number>().as('n')).where('user_id', '=', user.id).where('used_at', 'is', null).executeTakeFirstOrThrow();
  return {
    user: user.public_id, enabled: user.two_factor_enabled_at !== null, enabled_at: user.two_factor_enabled_at,
    enrolment_pending: user.two_factor_enabled_at === null && user.two_factor_secret !== null, recovery_codes_left: Number(left.n),
    required_by_policy: twoFactorEnforced(await policyOf(ctx), user),
  };
}
