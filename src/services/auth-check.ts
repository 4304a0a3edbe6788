/**
 * `auth check`: every sign-in check for one user, explained line by line, without side
 * effects (nothing is counted, consumed or recorded) unless a session is asked for.
 */
import { verifyPassword } from '../security/passwords.js';
import { verifyTotp } from '../security/totp.js';
import { matchRecoveryCode } from '../security/recovery-codes.js';
import { authenticate, twoFactorEnforced } from './auth.js';
import { isoNow, type ServiceContext } from './context.js';
import { assertCan } from './permissions.js';
import { policyOf } from './policy.js';
import { authorizeRead, reader } from './unit-of-work.js';
import { getUserRow } from './user-lookup.js';

export interface Check {
  check: string;
  ok: boolean;
  detail: string;
}

export interface SignInVerdict {
  user: string;
  allowed: boolean;
  checks: Check[];
  /** Only with createSession and an allowed sign-in: shown once. */
  session_token?: string;
  session_id?: string;
}

export interface CheckInput {
  password?: string | undefined;
  totp?: string | undefined;
  recovery_code?: string | undefined;
  ip?: string | undefined;
  createSession?: boolean | undefined;
}

export async function explainSignIn(ctx: ServiceContext, ref: string, input: CheckInput = {}): Promise<SignInVerdict> {
  await authorizeRead(ctx, 'auth.check', (a) => assertCan(a, 'user.read'));
  const db = reader(ctx);
  const policy = await policyOf(ctx);
  const user = await getUserRow(db, ref);
  const now = isoNow(ctx);
  const checks: Check[] = [];
  const add = (check: string, ok: boolean, detail: string) => checks.push({ check, ok, detail });

  const byEmail = policy.get('signin.email');
  const byUsername = policy.get('signin.username') && user.username !== null;
  add('sign-in method', byEmail || byUsername,
    byEmail && byUsername ? 'by email or username' : byEmail ? `by email${user.username ? '; password sign-in by username is disabled (signin.username)' : ''}` : byUsername ? 'by username; password sign-in by email is disabled (signin.email)' : 'password sign-in is disabled for this user (signin.email, signin.username)');

  if (user.status === 'active') add('status', true, 'active');
  else {
    const last = await db.selectFrom('audit_log').select(['at', 'actor', 'reason']).where('target_id', '=', user.public_id)
      .where('action', 'in', ['user.suspend', 'user.deactivate']).where('outcome', '=', 'ok').orderBy('seq', 'desc').limit(1).executeTakeFirst();
    const since = last ? ` since ${last.at} by ${last.actor}${last.reason ? `: ${last.reason}` : ''}` : user.status_reason ? `: ${user.status_reason}` : '';
    add('status', false, user.status === 'pending' ? 'pending: no way to sign in has been set up yet' : `${user.status}${since}`);
  }

  const verify = policy.get('registration.email_verification');
  add('email verified', user.email_verified_at !== null || !verify,
    user.email_verified_at !== null ? `since ${user.email_verified_at}` : verify ? 'not verified, and registration.email_verification requires it (acctctl user verify-email, or user send-verification)' : 'not verified (not required: registration.email_verification is off)');

  add('password', user.password_hash !== null, user.password_hash !== null ? 'set' : 'none (identity-provider only, or never set)');

  if (user.locked_until !== null && user.locked_until > now) {
    const lastFail = await db.selectFrom('login_history').select(['ip', 'at']).where('user_id', '=', user.id).where('success', '=', 0).orderBy('id', 'desc').limit(1).executeTakeFirst();
    add('lockout', false, `locked until ${user.locked_until} after ${user.failed_login_count} failures${lastFail?.ip ? ` (last from ${lastFail.ip})` : ''}`);
  } else {
    const threshold = policy.get('security.lockout_threshold');
    add('lockout', true, threshold === 0 ? 'lockout is off (security.lockout_threshold 0)' : `not locked (${user.failed_login_count} of ${threshold} failures)`);
  }

  if (input.password !== undefined) {
    const good = user.password_hash !== null && (await verifyPassword(input.password, user.password_hash));
    add('password check', good, good ? 'the password given is right' : 'the password given is wrong');
  }

  const enrolled = user.two_factor_enabled_at !== null;
  if (enrolled) {
    if (input.recovery_code !== undefined) {
      const codes = await db.selectFrom('recovery_codes').select('code_hash').where('user_id', '=', user.id).where('used_at', 'is', null).execute();
      const ok = matchRecoveryCode(input.recovery_code, codes.map((c) => c.code_hash)) >= 0;
      add('2FA', ok, ok ? 'the recovery code is unused and right' : 'the recovery code is wrong or used');
    } else if (input.totp !== undefined) {
      const secret = ctx.secretBox ? ctx.secretBox().open(user.two_factor_secret!, 'users.two_factor_secret') : undefined;
      const r = secret === undefined ? null : verifyTotp({ secret, code: input.totp, atMs: ctx.now().getTime(), lastUsedStep: user.totp_last_step === null ? undefined : Number(user.totp_last_step) });
      add('2FA', r?.ok === true, r === null ? 'cannot check the code: no secret key' : r.ok ? 'the code is right' : r.reason === 'replayed' ? 'the code was already used' : 'the code is wrong (check the device\'s clock)');
    } else add('2FA', false, `enrolled since ${user.two_factor_enabled_at}: a code is required (--totp or --recovery-code)`);
  } else if (twoFactorEnforced(policy, user)) {
    const by = policy.get('security.enforce_2fa') ? 'security.enforce_2fa' : 'security.enforce_admin_2fa';
    add('2FA', true, `not enrolled: enrolment required by policy ${by} (the session may only enrol)`);
  } else add('2FA', true, 'not enrolled, not required');

  if (Number(user.must_change_password) === 1) add('password change', true, 'must set a new password at this sign-in');

  const allowed = checks.every((c) => c.ok);
  const verdict: SignInVerdict = { user: user.public_id, allowed, checks };
  if (input.createSession && allowed && input.password !== undefined) {
    const identifier = byEmail ? user.email : user.username!;
    const r = await authenticate(ctx, { identifier, password: input.password, totp: input.totp, recovery_code: input.recovery_code, ip: input.ip, user_agent: 'acctctl auth check' });
    if (r.ok) {
      verdict.session_token = r.session_token;
      verdict.session_id = r.session_id;
    } else {
      verdict.allowed = false;
      checks.push({ check: 'sign-in', ok: false, detail: `refused: ${r.reason}` });
    }
  }
  return verdict;
}
