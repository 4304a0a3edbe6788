/**
 * Sessions for operators: list, show, revoke (one, or every session of a user, inside
 * another change or on its own), purge ended ones, and counts. Operators name a session
 * by its public id (ses_…); the token is never stored and its hash never leaves here.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../db/types.js';
import { SESSION_KINDS, type SessionKind, type SessionScope } from '../domain/enums.js';
import { NotFoundError, UsageError } from '../errors.js';
import { formatDuration, parseDuration } from '../policy/values.js';
import type { AuditTarget } from './audit.js';
import { isoNow } from './context.js';
import type { ServiceContext } from './context.js';
import { checkLimit, decodeCursor, encodeCursor, iterateBatches, pageOf, type Page } from './paging.js';
import { assertCan } from './permissions.js';
import { policyOf } from './policy.js';
import { getUserRow } from './user-lookup.js';
import { authorizeRead, mutate, reader, type MutationOutcome, type UnitOfWork } from './unit-of-work.js';
import { printable } from './validate.js';

export { SESSION_KINDS };

/**
 * Revokes every live session of a user inside the caller's unit, and every session the
 * user opened as an impersonator (they end with the impersonator's access); no entry of
 * its own.
 */
export async function revokeUserSessionsTx(uow: UnitOfWork, userId: number): Promise<number> {
  const res = await uow.trx
    .updateTable('sessions')
    .set({ revoked_at: isoNow(uow.ctx) })
    .where((eb) => eb.or([eb('user_id', '=', userId), eb('impersonator_id', '=', userId)]))
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(res.numUpdatedRows);
}

/** Ends the impersonations a user opened (when they stop being an admin, or go). */
export async function revokeImpersonationsByTx(uow: UnitOfWork, userId: number): Promise<number> {
  const res = await uow.trx.updateTable('sessions').set({ revoked_at: isoNow(uow.ctx) })
    .where('impersonator_id', '=', userId).where('revoked_at', 'is', null).executeTakeFirst();
  return Number(res.numUpdatedRows);
}

export interface RevokedSessions {
  user: string;
  revoked: number;
}

/** Signs a user out everywhere: one audit entry (session.revoke), even when none was live. */
export async function revokeSessionsTx(uow: UnitOfWork, userRef: string): Promise<RevokedSessions> {
  const user = await getUserRow(uow.trx, userRef);
  const target = { type: 'user', id: user.public_id, label: user.email };
  uow.about(target);
  assertCan(uow.actor, 'session.manage', { superAdmin: Number(user.super_admin) === 1, label: user.email });
  const revoked = await revokeUserSessionsTx(uow, Number(user.id));
  await uow.record('session.revoke', target, { sessions_revoked: { after: revoked } });
  return { user: user.public_id, revoked };
}

export async function revokeSessions(ctx: ServiceContext, userRef: string): Promise<MutationOutcome<RevokedSessions>> {
  return mutate(ctx, 'session.revoke', (uow) => revokeSessionsTx(uow, userRef));
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

// ---------------------------------------------------------------------------------
// Views

export const SESSION_STATES = ['active', 'revoked', 'expired', 'any'] as const;
export type SessionStateFilter = (typeof SESSION_STATES)[number];
export type SessionState = Exclude<SessionStateFilter, 'any'>;

/** A session as operators see it: never the token, never its hash. */
export interface SessionView {
  /** ses_…, or ses_legacy_<id> for a session created before schema version 3. */
  session_id: string;
  user_public_id: string;
  user_email: string;
  kind: SessionKind;
  /** full, or the one step the session may take (enrol_2fa, change_password). */
  scope: SessionScope;
  state: SessionState;
  created_at: string;
  last_seen_at: string | null;
  expires_at: string;
  revoked_at: string | null;
  ip: string | null;
  user_agent: string | null;
  /** Who impersonates the user (an admin's email or the operator's label); null for the user's own session. */
  impersonator: string | null;
  /** The impersonating admin's public id (null for the operator, or once that admin is deleted). */
  impersonator_public_id: string | null;
}

const LEGACY_PREFIX = 'ses_legacy_';

function sessionIdOf(publicId: string | null, id: number): string {
  return publicId ?? `${LEGACY_PREFIX}${id}`;
}

/** A session id from the command line: the row it names (by public id, or by id for a legacy one). */
type SessionKey = { publicId: string } | { legacyId: number };

function parseSessionRef(ref: string): SessionKey {
  const r = ref.trim().toLowerCase();
  const legacy = /^ses_legacy_(\d{1,15})$/.exec(r);
  if (legacy) return { legacyId: Number(legacy[1]) };
  if (/^ses_[a-z2-7]{16}$/.test(r)) return { publicId: r };
  throw new UsageError(`"${printable(ref).slice(0, 80)}" is not a session id (ses_… as \`acctctl session list\` shows it)`, { field: 'session' });
}

function sessionRows(db: Kysely<DB>) {
  return db
    .selectFrom('sessions')
    .innerJoin('users as u', 'u.id', 'sessions.user_id')
    .leftJoin('users as imp', 'imp.id', 'sessions.impersonator_id')
    .select([
      'sessions.id', 'sessions.public_id', 'sessions.user_id', 'sessions.kind', 'sessions.scope', 'sessions.created_at', 'sessions.last_seen_at', 'sessions.expires_at',
      'sessions.revoked_at', 'sessions.ip', 'sessions.user_agent', 'sessions.impersonator', 'u.public_id as user_public_id', 'u.email as user_email',
      'u.super_admin as user_super_admin', 'imp.public_id as impersonator_public_id', 'imp.email as impersonator_email',
    ]);
}

type SessionRow = Awaited<ReturnType<ReturnType<typeof sessionRows>['executeTakeFirstOrThrow']>>;

function stateOf(row: Pick<SessionRow, 'revoked_at' | 'expires_at'>, now: string): SessionState {
  if (row.revoked_at !== null) return 'revoked';
  return row.expires_at <= now ? 'expired' : 'active';
}

function sessionView(row: SessionRow, now: string): SessionView {
  return {
    session_id: sessionIdOf(row.public_id, Number(row.id)),
    user_public_id: row.user_public_id,
    user_email: row.user_email,
    kind: row.kind,
    scope: row.scope,
    state: stateOf(row, now),
    created_at: row.created_at,
    last_seen_at: row.last_seen_at,
    expires_at: row.expires_at,
    revoked_at: row.revoked_at,
    ip: row.ip,
    user_agent: row.user_agent,
    impersonator: row.impersonator ?? row.impersonator_email ?? (row.kind === 'impersonation' ? 'a deleted user' : null),
    impersonator_public_id: row.impersonator_public_id ?? null,
  };
}

async function findSession(db: Kysely<DB>, ref: string): Promise<SessionRow> {
  const key = parseSessionRef(ref);
  const q = sessionRows(db);
  const row = await ('publicId' in key ? q.where('sessions.public_id', '=', key.publicId) : q.where('sessions.id', '=', key.legacyId).where('sessions.public_id', 'is', null)).executeTakeFirst();
  if (!row) throw new NotFoundError(`no session ${printable(ref).slice(0, 80)} (it may have been purged)`, { field: 'session' });
  return row;
}

// ---------------------------------------------------------------------------------
// List and show

export interface SessionFilter {
  /** Only this user's sessions (id, usr_…, email or username). */
  user?: string | undefined;
  /** active (default), revoked, expired or any. */
  state?: string | undefined;
  kind?: string | undefined;
  limit?: number | undefined;
  cursor?: string | undefined;
}

interface CheckedSessionFilter {
  user?: string | undefined;
  state: SessionStateFilter;
  kind?: SessionKind | undefined;
}

const LIST = 'session';

function checkSessionFilter(filter: SessionFilter): CheckedSessionFilter {
  const state = (filter.state ?? 'active') as SessionStateFilter;
  if (!SESSION_STATES.includes(state)) throw new UsageError(`state: unknown state "${printable(String(state))}" (expected one of: ${SESSION_STATES.join(', ')})`, { field: 'state' });
  const kind = filter.kind as SessionKind | undefined;
  if (kind !== undefined && !SESSION_KINDS.includes(kind)) throw new UsageError(`kind: unknown kind "${printable(String(kind))}" (expected one of: ${SESSION_KINDS.join(', ')})`, { field: 'kind' });
  return { user: filter.user, state, kind };
}

function sessionQuery(ctx: ServiceContext, f: CheckedSessionFilter, userId: number | undefined, now: string, before: number | undefined, n: number) {
  let q = sessionRows(reader(ctx));
  if (userId !== undefined) q = q.where('sessions.user_id', '=', userId);
  if (f.kind) q = q.where('sessions.kind', '=', f.kind);
  if (f.state === 'active') q = q.where('sessions.revoked_at', 'is', null).where('sessions.expires_at', '>', now);
  else if (f.state === 'revoked') q = q.where('sessions.revoked_at', 'is not', null);
  else if (f.state === 'expired') q = q.where('sessions.revoked_at', 'is', null).where('sessions.expires_at', '<=', now);
  if (before !== undefined) q = q.where('sessions.id', '<', before);
  return q.orderBy('sessions.id', 'desc').limit(n).execute();
}

async function sessionListStart(ctx: ServiceContext, filter: SessionFilter) {
  const f = checkSessionFilter(filter);
  const cursor = decodeCursor<{ id: number }>(LIST, filter.cursor, { id: 'int' });
  await authorizeRead(ctx, 'session.list', (a) => assertCan(a, 'session.read'));
  const userId = f.user === undefined ? undefined : Number((await getUserRow(reader(ctx), f.user)).id);
  return { f, cursor, userId, now: isoNow(ctx) };
}

/** Newest first, keyset-paged; active sessions unless `state` says otherwise. */
export async function listSessions(ctx: ServiceContext, filter: SessionFilter = {}): Promise<Page<SessionView>> {
  const limit = checkLimit(filter.limit);
  const { f, cursor, userId, now } = await sessionListStart(ctx, filter);
  const rows = await sessionQuery(ctx, f, userId, now, cursor?.id, limit + 1);
  return pageOf(rows, limit, (r) => sessionView(r, now), (r) => encodeCursor(LIST, { id: Number(r.id) }));
}

/** Every matching session, newest first, in keyset batches. */
export async function* iterateSessions(ctx: ServiceContext, filter: SessionFilter = {}, batchSize = 500): AsyncGenerator<SessionView> {
  const { f, cursor, userId, now } = await sessionListStart(ctx, filter);
  for await (const row of iterateBatches((before: number | undefined, n) => sessionQuery(ctx, f, userId, now, before, n), (r) => Number(r.id), cursor?.id, batchSize)) {
    yield sessionView(row, now);
  }
}

export async function showSession(ctx: ServiceContext, sessionRef: string): Promise<SessionView> {
  parseSessionRef(sessionRef);
  await authorizeRead(ctx, 'session.show', (a) => assertCan(a, 'session.read'));
  return sessionView(await findSession(reader(ctx), sessionRef), isoNow(ctx));
}

// ---------------------------------------------------------------------------------
// Revoke one

/** Revokes one session. The entry is about its user (so `user activity` shows it); a session already revoked changes nothing. */
export async function revokeSessionTx(uow: UnitOfWork, sessionRef: string): Promise<SessionView> {
  const row = await findSession(uow.trx, sessionRef);
  const target: AuditTarget = { type: 'user', id: row.user_public_id, label: row.user_email };
  uow.about(target);
  assertCan(uow.actor, 'session.manage', { superAdmin: Number(row.user_super_admin) === 1, label: row.user_email });
  const now = isoNow(uow.ctx);
  if (row.revoked_at !== null) return sessionView(row, now);
  await uow.trx.updateTable('sessions').set({ revoked_at: now }).where('id', '=', row.id).where('revoked_at', 'is', null).execute();
  const view = sessionView({ ...row, revoked_at: now }, now);
  await uow.record('session.revoke', target, { session_id: { after: view.session_id }, revoked_at: { before: null, after: now } });
  return view;
}

export async function revokeSession(ctx: ServiceContext, sessionRef: string): Promise<MutationOutcome<SessionView>> {
  parseSessionRef(sessionRef);
  return mutate(ctx, 'session.revoke', (uow) => revokeSessionTx(uow, sessionRef));
}

// ---------------------------------------------------------------------------------
// Purge

/** A duration given on the command line (`90s`, `15m`, `12h`, `30d`) in seconds; exit 2 when malformed. */
export function parseDurationInput(field: string, text: string): number {
  const s = parseDuration(text);
  if (s === undefined) throw new UsageError(`${field}: "${printable(text).slice(0, 40)}" is not a duration (e.g. 90s, 15m, 12h, 30d)`, { field: field.replace(/^--/, '') });
  return s;
}

export interface PurgeInput {
  /** Purge what ended more than this long ago; default: the policy's retention.revoked_sessions. */
  olderThanSeconds?: number | undefined;
}

export interface PurgedSessions {
  purged: number;
  /** Sessions that ended (revoked, or expired) before this time were deleted; null when the policy keeps them forever. */
  cutoff: string | null;
  older_than: string | null;
}

const PURGE_TARGET: AuditTarget = { type: 'session', id: '*', label: 'ended sessions' };

/**
 * Deletes sessions that ended — revoked, or expired — before the cutoff. A live session
 * is never touched: it has no revoked_at and expires after now, hence after the cutoff.
 */
export async function purgeSessionsTx(uow: UnitOfWork, olderThanSeconds: number | null): Promise<PurgedSessions> {
  uow.about(PURGE_TARGET);
  assertCan(uow.actor, 'session.manage');
  if (olderThanSeconds === null) return { purged: 0, cutoff: null, older_than: null };
  const cutoff = new Date(uow.ctx.now().getTime() - olderThanSeconds * 1000).toISOString();
  const res = await uow.trx
    .deleteFrom('sessions')
    .where((eb) => eb.or([eb('revoked_at', '<', cutoff), eb('expires_at', '<', cutoff)]))
    .executeTakeFirst();
  const purged = Number(res.numDeletedRows);
  const olderThan = formatDuration(olderThanSeconds);
  await uow.record('session.purge', PURGE_TARGET, { sessions_purged: { after: purged }, ended_before: { after: cutoff }, older_than: { after: olderThan } });
  return { purged, cutoff, older_than: olderThan };
}

async function purgeAge(ctx: ServiceContext, input: PurgeInput): Promise<number | null> {
  if (input.olderThanSeconds !== undefined) {
    const s = input.olderThanSeconds;
    if (!Number.isSafeInteger(s) || s < 0) throw new UsageError('older-than: must be a duration of 0 seconds or more', { field: 'older-than' });
    return s;
  }
  const keep = (await policyOf(ctx)).get('retention.revoked_sessions');
  // 0 = keep forever: nothing to purge unless the caller names an age.
  return keep === 0 ? null : keep;
}

/** Purges ended sessions: one entry with the count (none when the policy keeps them forever and no age is given). */
export async function purgeSessions(ctx: ServiceContext, input: PurgeInput = {}): Promise<MutationOutcome<PurgedSessions>> {
  const age = await purgeAge(ctx, input);
  return mutate(ctx, 'session.purge', (uow) => purgeSessionsTx(uow, age));
}

/** Runs a purge and rolls it back: the count to confirm, checks done (a refusal is audited unless the run is a dry run). */
export async function previewPurgeSessions(ctx: ServiceContext, input: PurgeInput = {}): Promise<MutationOutcome<PurgedSessions>> {
  const age = await purgeAge(ctx, input);
  return mutate({ ...ctx, dryRun: true, beforeCommit: undefined }, 'session.purge', (uow) => purgeSessionsTx(uow, age), { auditRefusalInDryRun: !ctx.dryRun });
}
