/**
 * Self-service registration, for the platform's sign-up page: register() and
 * verifyEmail(). Every refusal is a RegistrationError carrying a machine-readable
 * `reason` (registration_closed, domain_not_allowed, plus_alias,
 * human_verification_failed, email_taken, username_taken, invalid_input, invalid_token),
 * so the page can say what went wrong; a refusal creates nothing.
 *
 * The rules come from the policy: registration.public and registration.email (both on
 * for email registration), registration.allowed_domains (exact, or *.domain for its
 * subdomains; compared in ASCII form, any case), registration.block_plus_alias,
 * registration.email_verification (the account stays pending until the emailed link is
 * used), and Turnstile human verification when its keys are set (the token is posted to
 * registration.turnstile_verify_url with the secret and the IP; 5 s, then refused).
 */
import { domainToASCII } from 'node:url';
import { AcctError, ExitCode, RefusedError, UsageError, ValidationError } from '../errors.js';
import { checkNewPassword, hashPassword } from '../security/passwords.js';
import { hashToken, newToken } from '../security/tokens.js';
import { isoNow, type ServiceContext } from './context.js';
import { passwordPolicyOf, policyOf, revealSetting, type Policy } from './policy.js';
import { queueMailTx, sendQueued, type SendResult } from './mail.js';
import { verificationMail } from './mail-templates.js';
import { mutate, type MutationOutcome, type UnitOfWork } from './unit-of-work.js';
import { createUserTx, userTarget, userView, type UserView } from './users.js';
import { getUserRow } from './user-lookup.js';
import { assertCan } from './permissions.js';
import { killTokensTx } from './credentials.js';
import { normalizeEmail, validateUserInputOrThrow } from './validate.js';
import { isIpAddress } from '../domain/validate.js';

export const REGISTRATION_REASONS = [
  'registration_closed', 'domain_not_allowed', 'plus_alias', 'human_verification_failed', 'email_taken', 'username_taken', 'invalid_input', 'invalid_token',
] as const;
export type RegistrationReason = (typeof REGISTRATION_REASONS)[number];

/** Exit 4 (exit 2 for invalid input): a refused registration or verification, with its reason. */
export class RegistrationError extends AcctError {
  override readonly code = 'registration_refused';
  override readonly exitCode: number;
  constructor(readonly reason: RegistrationReason, message: string, field?: string) {
    super(message, field === undefined ? undefined : { field });
    this.exitCode = reason === 'invalid_input' ? ExitCode.usage : ExitCode.refused;
  }
}

export interface RegisterInput {
  email: string;
  password: string;
  name?: string | undefined;
  username?: string | undefined;
  /** The Turnstile widget's response, when human verification is on. */
  turnstile_token?: string | undefined;
  /** The registering client's IP (passed to Turnstile). */
  ip?: string | undefined;
}

export interface Registered {
  user: UserView;
  /** The account is pending until verifyEmail(token) (the link is emailed). */
  verification_required: boolean;
  /** The verification email (sent by register after the commit when SMTP is configured). */
  mail: SendResult | null;
}

function domainAllowed(domain: string, allowed: readonly string[]): boolean {
  if (allowed.length === 0) return true;
  const d = domainToASCII(domain.toLowerCase()) || domain.toLowerCase();
  return allowed.some((a) => (a.startsWith('*.') ? d.endsWith(a.slice(1)) && d.length > a.length - 1 : d === a));
}

/** Turnstile's siteverify: success, or a refusal (a failure, an error or 5 s without an answer). */
async function verifyHuman(ctx: ServiceContext, policy: Policy, token: string | undefined, ip: string | undefined): Promise<void> {
  if (policy.get('registration.turnstile_site_key') === null) return;
  const secret = await revealSetting(ctx, 'registration.turnstile_secret');
  if (secret === null) throw new UsageError('registration.turnstile_site_key is set but registration.turnstile_secret is not: human verification cannot work', { field: 'registration.turnstile_secret' });
  if (!token) throw new RegistrationError('human_verification_failed', 'human verification is required: no Turnstile token was given');
  const body = new URLSearchParams({ secret, response: token });
  if (ip) body.set('remoteip', ip);
  let ok = false;
  try {
    const res = await fetch(policy.get('registration.turnstile_verify_url'), { method: 'POST', body, signal: AbortSignal.timeout(5000) });
    const json = (await res.json()) as { success?: unknown };
    ok = res.ok && json.success === true;
  } catch {
    ok = false; // an unreachable verifier refuses: it never lets a bot through
  }
  if (!ok) throw new RegistrationError('human_verification_failed', 'human verification failed');
}

async function issueVerificationTx(uow: UnitOfWork, user: { id: number; email: string }, policy: Policy): Promise<{ mail_id: number; expires_at: string; link: string }> {
  const base = policy.get('app.base_url');
  if (base === null) throw new UsageError('app.base_url is unset, so a verification email could carry no link: set it first', { field: 'app.base_url' });
  await killTokensTx(uow.trx, uow.ctx, user.id, 'email_verification');
  const token = newToken();
  const expires = new Date(uow.ctx.now().getTime() + policy.get('token.verification_lifetime') * 1000).toISOString();
  await uow.trx.insertInto('tokens').values({ user_id: user.id, purpose: 'email_verification', token_hash: hashToken(token), created_at: isoNow(uow.ctx), expires_at: expires, consumed_at: null, created_by: uow.actor.label }).execute();
  const link = `${String(base).replace(/\/$/, '')}/verify-email?token=${token}`;
  const mailId = await queueMailTx(uow, { kind: 'email_verification', to: user.email, content: verificationMail({ name: policy.get('app.name') }, link, expires), secret: true, userId: user.id });
  return { mail_id: mailId, expires_at: expires, link };
}

/** Registers an account from the sign-up page; every refusal carries its reason and creates nothing. */
export async function register(ctx: ServiceContext, input: RegisterInput): Promise<MutationOutcome<Registered>> {
  const policy = await policyOf(ctx);
  if (!policy.get('registration.public') || !policy.get('registration.email')) throw new RegistrationError('registration_closed', 'registration is closed (registration.public and registration.email must both be on)');
  let fields;
  try {
    fields = validateUserInputOrThrow({ email: input.email, displayName: input.name, username: input.username }, 'create');
    await checkNewPassword(input.password, await passwordPolicyOf(ctx));
  } catch (err) {
    if (err instanceof ValidationError) throw new RegistrationError('invalid_input', err.message, err.field);
    throw err;
  }
  if (input.ip !== undefined && !isIpAddress(input.ip)) throw new RegistrationError('invalid_input', 'ip: is not an IPv4 or IPv6 address', 'ip');
  const email = fields.email!;
  const at = email.lastIndexOf('@');
  if (!domainAllowed(email.slice(at + 1), policy.get('registration.allowed_domains'))) throw new RegistrationError('domain_not_allowed', `addresses at ${email.slice(at + 1)} may not register here`, 'email');
  if (policy.get('registration.block_plus_alias') && email.slice(0, at).includes('+')) throw new RegistrationError('plus_alias', 'plus-addressed emails (name+tag@…) may not register here', 'email');
  await verifyHuman(ctx, policy, input.turnstile_token, input.ip);
  const verify = policy.get('registration.email_verification');
  const hash = await hashPassword(input.password, (await passwordPolicyOf(ctx)).bcryptCost);
  const outcome = await mutate(ctx, 'user.register', async (uow) => {
    const taken = await uow.trx.selectFrom('users').select(['id', 'username_normalized', 'email_normalized']).where((eb) => eb.or([
      eb('email_normalized', '=', normalizeEmail(email)), ...(fields.username ? [eb('username_normalized', '=', fields.username.toLowerCase())] : []),
    ])).execute();
    if (taken.some((u) => u.email_normalized === normalizeEmail(email))) throw new RegistrationError('email_taken', 'an account with this email exists already', 'email');
    if (taken.length > 0) throw new RegistrationError('username_taken', 'this username is taken', 'username');
    const created = await createUserTx(uow, {
      fields: { ...fields, email, role: 'user', super_admin: 0 }, passwordHash: hash, passwordSource: 'set',
      // Pending (no sign-in) until the emailed link proves the address.
      status: verify ? 'pending' : 'active', auditAction: 'user.register',
      extraChanges: { verification: { after: verify ? 'emailed' : 'not required' }, ...(input.ip ? { ip: { after: input.ip } } : {}) },
    });
    const row = await getUserRow(uow.trx, created.user.public_id);
    const mailId = verify ? (await issueVerificationTx(uow, { id: Number(row.id), email }, policy)).mail_id : null;
    const user = userView(await getUserRow(uow.trx, row.public_id));
    return { user, verification_required: verify, mail: mailId === null ? null : ({ id: mailId, to: email, status: 'skipped', reply: null, error: null } as SendResult) };
  });
  if (outcome.dryRun || outcome.result.mail === null) return outcome;
  const [sent] = await sendQueued(ctx, [outcome.result.mail.id]);
  return { ...outcome, result: { ...outcome.result, mail: sent ?? outcome.result.mail } };
}

/** The verification link's token: marks the email verified and a pending account active. */
export async function verifyEmail(ctx: ServiceContext, token: string): Promise<MutationOutcome<UserView>> {
  return mutate(ctx, 'user.email_verify', async (uow) => {
    const now = isoNow(ctx);
    const used = await uow.trx.updateTable('tokens').set({ consumed_at: now }).where('token_hash', '=', hashToken(token)).where('purpose', '=', 'email_verification')
      .where('consumed_at', 'is', null).where('expires_at', '>', now).returning(['user_id']).executeTakeFirst();
    if (!used) throw new RegistrationError('invalid_token', 'this verification link is unknown, used or expired');
    const user = await uow.trx.selectFrom('users').selectAll().where('id', '=', used.user_id).executeTakeFirstOrThrow();
    uow.about(userTarget(user));
    const activate = user.status === 'pending' && user.password_hash !== null;
    await uow.trx.updateTable('users').set({ email_verified_at: now, ...(activate ? { status: 'active' as const } : {}), updated_at: now }).where('id', '=', user.id).execute();
    await uow.record('user.email_verify', userTarget(user), { email_verified: { before: user.email_verified_at !== null, after: true }, ...(activate ? { status: { before: 'pending', after: 'active' } } : {}) });
    return userView(await getUserRow(uow.trx, user.public_id));
  });
}

/** `user verify-email`: an admin marks the address verified (audited). */
export async function markEmailVerified(ctx: ServiceContext, ref: string): Promise<MutationOutcome<UserView>> {
  return mutate(ctx, 'user.email_verify', async (uow) => {
    const user = await getUserRow(uow.trx, ref);
    uow.about(userTarget(user));
    assertCan(uow.actor, 'user.manage', { superAdmin: Number(user.super_admin) === 1, label: user.email });
    if (user.email_verified_at !== null) return userView(user);
    const now = isoNow(ctx);
    await uow.trx.updateTable('users').set({ email_verified_at: now, updated_at: now }).where('id', '=', user.id).execute();
    await killTokensTx(uow.trx, ctx, Number(user.id), 'email_verification');
    await uow.record('user.email_verify', userTarget(user), { email_verified: { before: false, after: true }, by: { after: 'admin' } });
    return userView(await getUserRow(uow.trx, user.public_id));
  });
}

/** `user send-verification`: a new verification link by email (older ones die). */
export async function sendVerification(ctx: ServiceContext, ref: string): Promise<MutationOutcome<{ user: string; mail_id: number; expires_at: string; link: string }>> {
  const policy = await policyOf(ctx);
  return mutate(ctx, 'user.verification_sent', async (uow) => {
    const user = await getUserRow(uow.trx, ref);
    uow.about(userTarget(user));
    assertCan(uow.actor, 'user.manage', { superAdmin: Number(user.super_admin) === 1, label: user.email });
    if (user.email_verified_at !== null) throw new RefusedError(`${user.email} is verified already`);
    const issued = await issueVerificationTx(uow, { id: Number(user.id), email: user.email }, policy);
    await uow.record('user.verification_sent', userTarget(user), { mail: { after: issued.mail_id }, expires_at: { after: issued.expires_at } });
    return { user: user.public_id, ...issued };
  });
}
