/**
 * What happened to one user: their sign-in attempts (login_history) and the audit
 * entries by them or about them ("recent actions"). Read-only, admins only, keyset-paged
 * newest first like every list.
 */
import type { LoginHistoryTable } from '../db/types.js';
import type { Selectable } from 'kysely';
import type { LoginMethod } from '../domain/enums.js';
import { auditView, parseTimeBound, type AuditEntryView } from './audit.js';
import type { ServiceContext } from './context.js';
import { checkLimit, decodeCursor, encodeCursor, iterateBatches, pageOf, type Page } from './paging.js';
import { assertCan } from './permissions.js';
import { getUserRow } from './user-lookup.js';
import { authorizeRead, reader } from './unit-of-work.js';

// ---------------------------------------------------------------------------------
// Sign-in history

export interface LoginHistoryFilter {
  /** Only failed attempts. */
  failed?: boolean | undefined;
  /** At or after this ISO date or time. */
  since?: string | undefined;
  limit?: number | undefined;
  cursor?: string | undefined;
}

/** One sign-in attempt as shown: what was typed, from where, how, and what came of it. */
export interface LoginHistoryView {
  at: string;
  ip: string | null;
  method: LoginMethod;
  result: 'success' | 'failure';
  /** Why it failed (bad_password, locked, suspended, …), or who impersonated. */
  reason: string | null;
  user_agent: string | null;
  identifier: string;
}

type LoginHistoryRow = Selectable<LoginHistoryTable>;
type HistoryCursor = { at: string; id: number };

const HISTORY = 'login_history';

function historyView(row: LoginHistoryRow): LoginHistoryView {
  return {
    at: row.at,
    ip: row.ip,
    method: row.method,
    result: Number(row.success) === 1 ? 'success' : 'failure',
    reason: row.reason,
    user_agent: row.user_agent,
    identifier: row.identifier,
  };
}

function historyQuery(ctx: ServiceContext, userId: number, filter: { failed: boolean; since: string | undefined }, after: HistoryCursor | undefined, n: number) {
  let q = reader(ctx).selectFrom('login_history').selectAll().where('user_id', '=', userId);
  if (filter.failed) q = q.where('success', '=', 0);
  if (filter.since !== undefined) q = q.where('at', '>=', filter.since);
  if (after) q = q.where((eb) => eb.or([eb('at', '<', after.at), eb.and([eb('at', '=', after.at), eb('id', '<', after.id)])]));
  return q.orderBy('at', 'desc').orderBy('id', 'desc').limit(n).execute();
}

async function historyStart(ctx: ServiceContext, userRef: string, filter: LoginHistoryFilter) {
  const since = filter.since === undefined ? undefined : parseTimeBound('--since', filter.since);
  const cursor = decodeCursor<HistoryCursor>(HISTORY, filter.cursor, { at: 'string', id: 'int' });
  await authorizeRead(ctx, 'user.history', (a) => assertCan(a, 'user.read'));
  const user = await getUserRow(reader(ctx), userRef);
  return { userId: Number(user.id), f: { failed: filter.failed === true, since }, cursor };
}

const historyCursor = (r: LoginHistoryRow): HistoryCursor => ({ at: r.at, id: Number(r.id) });

/** A user's sign-in attempts, newest first. */
export async function listLoginHistory(ctx: ServiceContext, userRef: string, filter: LoginHistoryFilter = {}): Promise<Page<LoginHistoryView>> {
  const limit = checkLimit(filter.limit);
  const { userId, f, cursor } = await historyStart(ctx, userRef, filter);
  const rows = await historyQuery(ctx, userId, f, cursor, limit + 1);
  return pageOf(rows, limit, historyView, (r) => encodeCursor(HISTORY, historyCursor(r)));
}

export async function* iterateLoginHistory(ctx: ServiceContext, userRef: string, filter: LoginHistoryFilter = {}, batchSize = 500): AsyncGenerator<LoginHistoryView> {
  const { userId, f, cursor } = await historyStart(ctx, userRef, filter);
  for await (const row of iterateBatches((after: HistoryCursor | undefined, n) => historyQuery(ctx, userId, f, after, n), historyCursor, cursor, batchSize)) {
    yield historyView(row);
  }
}

// ---------------------------------------------------------------------------------
// Activity: audit entries by and about a user

export interface ActivityFilter {
  limit?: number | undefined;
  cursor?: string | undefined;
}

const ACTIVITY = 'activity';

/** Entries the user wrote (actor_id) or that are about them (target_id), newest first by seq. */
function activityQuery(ctx: ServiceContext, publicId: string, before: number | undefined, n: number) {
  let q = reader(ctx).selectFrom('audit_log').selectAll().where((eb) => eb.or([eb('actor_id', '=', publicId), eb('target_id', '=', publicId)]));
  if (before !== undefined) q = q.where('seq', '<', before);
  return q.orderBy('seq', 'desc').limit(n).execute();
}

async function activityStart(ctx: ServiceContext, userRef: string, filter: ActivityFilter) {
  const cursor = decodeCursor<{ seq: number }>(ACTIVITY, filter.cursor, { seq: 'int' });
  await authorizeRead(ctx, 'user.activity', (a) => assertCan(a, 'audit.read'));
  const user = await getUserRow(reader(ctx), userRef);
  return { publicId: user.public_id, cursor };
}

/** What a user did and what was done to them (the audit log's view of one user). */
export async function listUserActivity(ctx: ServiceContext, userRef: string, filter: ActivityFilter = {}): Promise<Page<AuditEntryView>> {
  const limit = checkLimit(filter.limit);
  const { publicId, cursor } = await activityStart(ctx, userRef, filter);
  const rows = await activityQuery(ctx, publicId, cursor?.seq, limit + 1);
  return pageOf(rows, limit, auditView, (r) => encodeCursor(ACTIVITY, { seq: Number(r.seq) }));
}

export async function* iterateUserActivity(ctx: ServiceContext, userRef: string, filter: ActivityFilter = {}, batchSize = 500): AsyncGenerator<AuditEntryView> {
  const { publicId, cursor } = await activityStart(ctx, userRef, filter);
  for await (const row of iterateBatches((before: number | undefined, n) => activityQuery(ctx, publicId, before, n), (r) => Number(r.seq), cursor?.seq, batchSize)) {
    yield auditView(row);
  }
}
