/**
 * Invitations: an email invited with an intended role. The link's token (256 random
 * bits) is stored only as its hash, works once, and expires; the invitation email is
 * queued in the outbox with the change (sealed) and sent after the commit. Accepting
 * creates the account with the intended role and its email verified (the link proved
 * it), and signs nothing in.
 */
import type { Kysely } from 'kysely';
import type { DB, InvitationRow } from '../db/types.js';
import { NotFoundError, RefusedError, UsageError, ConflictError } from '../errors.js';
import { INVITATION_STATUSES, type InvitationStatus, type Role } from '../domain/enums.js';
import * as v from '../domain/validate.js';
import { checkNewPassword, hashPassword } from '../security/passwords.js';
import { hashToken, newPublicId, newToken } from '../security/tokens.js';
import type { AuditTarget } from './audit.js';
import { isoNow, type ServiceContext } from './context.js';
import { assertCan } from './permissions.js';
import { checkLimit, decodeCursor, encodeCursor, iterateBatches, pageOf, type Page } from './paging.js';
import { passwordPolicyOf, policyOf } from './policy.js';
import { queueMailTx } from './mail.js';
import { invitationMail } from './mail-templates.js';
import { authorizeRead, mutate, reader, type MutationOutcome, type UnitOfWork } from './unit-of-work.js';
import { createUserTx, type UserView } from './users.js';
import { normalizeEmail, printable, validateUserInputOrThrow } from './validate.js';

export interface InvitationView {
  invitation_id: string;
  email: string;
  role: Role;
  /** 'expired' for a pending invitation past its expiry. */
  status: InvitationStatus;
  invited_by: string;
  created_at: string;
  expires_at: string;
  accepted_at: string | null;
  revoked_at: string | null;
  user_public_id: string | null;
  mail_id: number | null;
}

function stateOf(r: Pick<InvitationRow, 'status' | 'expires_at'>, now: string): InvitationStatus {
  return r.status === 'pending' && r.expires_at <= now ? 'expired' : r.status;
}

function view(r: InvitationRow & { user_public_id?: string | null }, now: string): InvitationView {
  return {
    invitation_id: r.public_id, email: r.email, role: r.role, status: stateOf(r, now), invited_by: r.invited_by, created_at: r.created_at, expires_at: r.expires_at,
    accepted_at: r.accepted_at, revoked_at: r.revoked_at, user_public_id: r.user_public_id ?? null, mail_id: r.mail_id === null ? null : Number(r.mail_id),
  };
}

function target(r: Pick<InvitationRow, 'public_id' | 'email'>): AuditTarget {
  return { type: 'invitation', id: r.public_id, label: r.email };
}

/** An invitation with its one-time token and link (shown or mailed once). */
export interface IssuedInvitation {
  invitation: InvitationView;
  token: string;
  link: string | null;
}

export interface InviteInput {
  email: string;
  role?: string | undefined;
  /** Seconds; default invitation.lifetime. */
  ttlSeconds?: number | undefined;
  /** An email that has a pending invitation gets a new one (the old token stops working). */
  resend?: boolean | undefined;
  /** Queue the invitation email (needs app.base_url). */
  sendEmail?: boolean | undefined;
  /** Accepted once plans and customers exist (later issues); refused until then. */
  plan?: string | undefined;
  customer?: string | undefined;
  memberRole?: string | undefined;
}

function linkOf(base: string | null, token: string): string | null {
  return base === null ? null : `${base.replace(/\/$/, '')}/accept-invitation?token=${token}`;
}

async function issueTx(uow: UnitOfWork, row: Pick<InvitationRow, 'id' | 'public_id' | 'email'>, ttl: number, sendEmail: boolean): Promise<{ token: string; expires: string; mail_id: number | null; link: string | null }> {
  const { ctx } = uow;
  const policy = await policyOf(ctx);
  const token = newToken();
  const expires = new Date(ctx.now().getTime() + ttl * 1000).toISOString();
  const link = linkOf(policy.get('app.base_url'), token);
  let mailId: number | null = null;
  if (sendEmail) {
    mailId = await queueMailTx(uow, { kind: 'invitation', to: row.email, content: invitationMail({ name: policy.get('app.name') }, link!, expires, uow.actor.label), secret: true });
  }
  await uow.trx.updateTable('invitations').set({ token_hash: hashToken(token), expires_at: expires, mail_id: mailId }).where('id', '=', row.id).execute();
  return { token, expires, mail_id: mailId, link };
}

function checkLater(input: InviteInput): void {
  for (const [key, value] of [['plan', input.plan], ['customer', input.customer], ['member-role', input.memberRole]] as const) {
    if (value !== undefined) throw new UsageError(`--${key}: not available yet (plans and customers come in a later release); leave it out`, { field: key });
  }
}

interface CheckedInvite {
  email: string;
  role: Role;
  ttl: number;
  resend: boolean;
  sendEmail: boolean;
}

async function checkInvite(ctx: ServiceContext, input: InviteInput): Promise<CheckedInvite> {
  checkLater(input);
  const fields = validateUserInputOrThrow({ email: input.email, role: input.role ?? 'user' }, 'create');
  const policy = await policyOf(ctx);
  const ttl = input.ttlSeconds ?? policy.get('invitation.lifetime');
  if (!(ttl >= 60 && ttl <= 90 * 86400)) throw new UsageError('ttl: must be from 1m to 90d', { field: 'ttl' });
  if (input.sendEmail && policy.get('app.base_url') === null) throw new UsageError('app.base_url is unset, so an invitation email could carry no link: set it first', { field: 'app.base_url' });
  return { email: fields.email!, role: fields.role ?? 'user', ttl, resend: Boolean(input.resend), sendEmail: Boolean(input.sendEmail) };
}

/** One invitation in the caller's unit (invite create, invite bulk): every rule, one entry. */
export async function createInvitationTx(uow: UnitOfWork, c: CheckedInvite): Promise<IssuedInvitation> {
  const { ctx } = uow;
  const { email, role } = c;
  const now = isoNow(ctx);
  const publicId = newPublicId('inv');
  uow.about({ type: 'invitation', id: publicId, label: email });
  assertCan(uow.actor, 'user.manage', { label: email });
  const normalized = normalizeEmail(email);
  const user = await uow.trx.selectFrom('users').select(['id', 'email']).where('email_normalized', '=', normalized).executeTakeFirst();
  if (user) throw new ConflictError(`${printable(email)} already has an account (user ${user.id}): no invitation needed`, { field: 'email' });
  // A pending one past its expiry is expired now: it does not block a new invitation.
  await uow.trx.updateTable('invitations').set({ status: 'expired' }).where('email_normalized', '=', normalized).where('status', '=', 'pending').where('expires_at', '<=', now).execute();
  const pending = await uow.trx.selectFrom('invitations').selectAll().where('email_normalized', '=', normalized).where('status', '=', 'pending').executeTakeFirst();
  if (pending && !c.resend) throw new ConflictError(`${printable(email)} has a pending invitation (${pending.public_id}, until ${pending.expires_at}); --resend issues a new link`, { field: 'email' });
  if (pending) await uow.trx.updateTable('invitations').set({ status: 'revoked', revoked_at: now }).where('id', '=', pending.id).execute();
  const row = await uow.trx.insertInto('invitations').values({
    public_id: publicId, email, email_normalized: normalized, role, token_hash: `pending:${publicId}`, invited_by: uow.actor.label, created_at: now, expires_at: now,
    accepted_at: null, revoked_at: null, user_id: null, mail_id: null,
  }).returning(['id', 'public_id', 'email']).executeTakeFirstOrThrow();
  const issued = await issueTx(uow, row, c.ttl, c.sendEmail);
  await uow.record('invite.create', target(row), {
    email: { after: email }, role: { after: role }, expires_at: { after: issued.expires }, ...(pending ? { replaced: { after: pending.public_id } } : {}), ...(issued.mail_id !== null ? { mail: { after: issued.mail_id } } : {}),
  });
  const stored = await uow.trx.selectFrom('invitations').selectAll().where('id', '=', row.id).executeTakeFirstOrThrow();
  return { invitation: view(stored, now), token: issued.token, link: issued.link };
}

/** invite create: refused (exit 4) for an email with an account, or with a pending invitation unless resend. */
export async function createInvitation(ctx: ServiceContext, input: InviteInput): Promise<MutationOutcome<IssuedInvitation>> {
  const c = await checkInvite(ctx, input);
  return mutate(ctx, 'invite.create', (uow) => createInvitationTx(uow, c));
}

async function findInvitation(db: Kysely<DB>, ref: string): Promise<InvitationRow> {
  const r = ref.trim().toLowerCase();
  const row = await db.selectFrom('invitations').selectAll().where(r.startsWith('inv_') ? 'public_id' : 'email_normalized', '=', r.startsWith('inv_') ? r : normalizeEmail(r))
    .orderBy('id', 'desc').executeTakeFirst();
  if (!row) throw new NotFoundError(`no invitation matches "${printable(ref)}" (give its inv_… id or the email)`, { field: 'invitation' });
  return row;
}

/** invite resend: a new token and email; the old token stops working. */
export async function resendInvitation(ctx: ServiceContext, ref: string, opts: { ttlSeconds?: number | undefined; sendEmail?: boolean | undefined } = {}): Promise<MutationOutcome<IssuedInvitation>> {
  const policy = await policyOf(ctx);
  if (opts.sendEmail && policy.get('app.base_url') === null) throw new UsageError('app.base_url is unset, so an invitation email could carry no link: set it first', { field: 'app.base_url' });
  return mutate(ctx, 'invite.resend', async (uow) => {
    const row = await findInvitation(uow.trx, ref);
    uow.about(target(row));
    assertCan(uow.actor, 'user.manage', { label: row.email });
    if (row.status !== 'pending') throw new RefusedError(`invitation ${row.public_id} is ${row.status}: only a pending one can be resent (create a new one)`);
    const issued = await issueTx(uow, row, opts.ttlSeconds ?? policy.get('invitation.lifetime'), Boolean(opts.sendEmail));
    await uow.record('invite.resend', target(row), { expires_at: { before: row.expires_at, after: issued.expires }, ...(issued.mail_id !== null ? { mail: { after: issued.mail_id } } : {}) });
    const stored = await uow.trx.selectFrom('invitations').selectAll().where('id', '=', row.id).executeTakeFirstOrThrow();
    return { invitation: view(stored, isoNow(ctx)), token: issued.token, link: issued.link };
  });
}

export async function revokeInvitation(ctx: ServiceContext, ref: string): Promise<MutationOutcome<InvitationView>> {
  return mutate(ctx, 'invite.revoke', async (uow) => {
    const row = await findInvitation(uow.trx, ref);
    uow.about(target(row));
    assertCan(uow.actor, 'user.manage', { label: row.email });
    const now = isoNow(ctx);
    if (row.status !== 'pending') throw new RefusedError(`invitation ${row.public_id} is ${row.status}: nothing to revoke`);
    await uow.trx.updateTable('invitations').set({ status: 'revoked', revoked_at: now }).where('id', '=', row.id).execute();
    await uow.record('invite.revoke', target(row), { status: { before: stateOf(row, now), after: 'revoked' } });
    return view({ ...row, status: 'revoked', revoked_at: now }, now);
  });
}

export interface InvitationFilter {
  status?: string | undefined;
  email?: string | undefined;
  limit?: number | undefined;
  cursor?: string | undefined;
}

function checkInvitationFilter(filter: InvitationFilter): { status?: InvitationStatus | undefined; email?: string | undefined } {
  let status: InvitationStatus | undefined;
  if (filter.status !== undefined) {
    if (!(INVITATION_STATUSES as readonly string[]).includes(filter.status)) throw new UsageError(`status: "${printable(filter.status)}" is not one of ${INVITATION_STATUSES.join(', ')}`, { field: 'status' });
    status = filter.status as InvitationStatus;
  }
  const email = filter.email === undefined ? undefined : v.validSearch(filter.email, 'email');
  if (email !== undefined && !email.ok) throw new UsageError(`email: ${email.message}`, { field: 'email' });
  return { status, email: email?.ok ? email.value.toLowerCase() : undefined };
}

function invitationQuery(ctx: ServiceContext, f: ReturnType<typeof checkInvitationFilter>, after: number | undefined, n: number) {
  const now = isoNow(ctx);
  let q = reader(ctx).selectFrom('invitations').leftJoin('users', 'users.id', 'invitations.user_id').selectAll('invitations').select('users.public_id as user_public_id');
  if (f.status === 'pending') q = q.where('invitations.status', '=', 'pending').where('invitations.expires_at', '>', now);
  else if (f.status === 'expired') q = q.where((eb) => eb.or([eb('invitations.status', '=', 'expired'), eb.and([eb('invitations.status', '=', 'pending'), eb('invitations.expires_at', '<=', now)])]));
  else if (f.status) q = q.where('invitations.status', '=', f.status);
  if (f.email) q = q.where('invitations.email_normalized', 'like', `%${f.email.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
  if (after !== undefined) q = q.where('invitations.id', '<', after);
  return q.orderBy('invitations.id', 'desc').limit(n);
}

export async function listInvitations(ctx: ServiceContext, filter: InvitationFilter = {}): Promise<Page<InvitationView>> {
  const f = checkInvitationFilter(filter);
  const limit = checkLimit(filter.limit);
  const cursor = decodeCursor<{ id: number }>('invitation', filter.cursor, { id: 'int' });
  await authorizeRead(ctx, 'invite.list', (a) => assertCan(a, 'user.read'));
  const now = isoNow(ctx);
  const rows = await invitationQuery(ctx, f, cursor?.id, limit + 1).execute();
  return pageOf(rows, limit, (r) => view(r, now), (r) => encodeCursor('invitation', { id: Number(r.id) }));
}

export async function* iterateInvitations(ctx: ServiceContext, filter: InvitationFilter = {}): AsyncGenerator<InvitationView> {
  const f = checkInvitationFilter(filter);
  await authorizeRead(ctx, 'invite.list', (a) => assertCan(a, 'user.read'));
  const now = isoNow(ctx);
  for await (const r of iterateBatches((after: { id: number } | undefined, n) => invitationQuery(ctx, f, after?.id, n).execute(), (r) => ({ id: Number(r.id) }), undefined, 500)) yield view(r, now);
}

export async function showInvitation(ctx: ServiceContext, ref: string): Promise<InvitationView> {
  await authorizeRead(ctx, 'invite.show', (a) => assertCan(a, 'user.read'));
  const row = await findInvitation(reader(ctx), ref);
  const user = row.user_id === null ? undefined : await reader(ctx).selectFrom('users').select('public_id').where('id', '=', row.user_id).executeTakeFirst();
  return view({ ...row, user_public_id: user?.public_id ?? null }, isoNow(ctx));
}

export interface AcceptInput {
  name?: string | undefined;
  username?: string | undefined;
  password?: string | undefined;
}

export interface AcceptedInvitation {
  invitation: InvitationView;
  user: UserView;
}

/**
 * What the platform's registration page calls with the link's token: creates the account
 * with the intended role, its email verified, and signs nothing in. Works once; an
 * unknown, used, revoked or expired token is refused (exit 4) with nothing created.
 */
export async function acceptInvitation(ctx: ServiceContext, token: string, input: AcceptInput = {}): Promise<MutationOutcome<AcceptedInvitation>> {
  const policy = await passwordPolicyOf(ctx);
  if (input.password !== undefined) await checkNewPassword(input.password, policy);
  const fields = validateUserInputOrThrow({ email: 'placeholder@example.com', username: input.username, displayName: input.name }, 'create');
  const hash = input.password === undefined ? null : await hashPassword(input.password, policy.bcryptCost);
  return mutate(ctx, 'invite.accept', async (uow) => {
    const now = isoNow(ctx);
    const row = await uow.trx.selectFrom('invitations').selectAll().where('token_hash', '=', hashToken(token)).executeTakeFirst();
    if (!row) throw new RefusedError('this invitation link is unknown (or was replaced by a newer one)');
    uow.about(target(row));
    const state = stateOf(row, now);
    if (state !== 'pending') throw new RefusedError(`this invitation is ${state}${state === 'expired' ? ` (since ${row.expires_at}): ask for a new one` : ''}`);
    // Taken atomically: two accepts of one link create one account.
    const taken = await uow.trx.updateTable('invitations').set({ status: 'accepted', accepted_at: now }).where('id', '=', row.id).where('status', '=', 'pending').executeTakeFirst();
    if (Number(taken.numUpdatedRows) !== 1) throw new RefusedError('this invitation was accepted already');
    const created = await createUserTx(uow, {
      fields: { ...fields, email: row.email, role: row.role, super_admin: 0 }, passwordHash: hash, passwordSource: hash === null ? undefined : 'set', emailVerified: true,
    });
    const user = await uow.trx.selectFrom('users').select('id').where('public_id', '=', created.user.public_id).executeTakeFirstOrThrow();
    await uow.trx.updateTable('invitations').set({ user_id: user.id }).where('id', '=', row.id).execute();
    await uow.record('invite.accept', target(row), { status: { before: 'pending', after: 'accepted' }, user: { after: created.user.public_id }, email_verified: { after: true } });
    return { invitation: view({ ...row, status: 'accepted', accepted_at: now, user_id: Number(user.id), user_public_id: created.user.public_id }, now), user: created.user };
  });
}

/** cleanup --invites: pending invitations past their expiry become expired. */
export async function expireInvitationsTx(uow: UnitOfWork): Promise<number> {
  const r = await uow.trx.updateTable('invitations').set({ status: 'expired' }).where('status', '=', 'pending').where('expires_at', '<=', isoNow(uow.ctx)).executeTakeFirst();
  return Number(r.numUpdatedRows);
}
