import { createHash } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { DB, AuditRow } from '../db/types.js';
import { withWriteTx } from '../db/dialect.js';
import type { Database } from '../db/connect.js';
import { RefusedError, IntegrityError, PermissionError, NotFoundError, UsageError } from '../errors.js';
import { isoNow, type ServiceContext, type ActorSpec } from './context.js';

export interface AuditTarget {
  type: string;
  id: string;
  label: string;
}

/** Before/after of each changed field; never a secret. */
export type Changes = Record<string, { before?: unknown; after?: unknown }>;

/** The acting principal, resolved inside the transaction. */
export interface Actor {
  kind: 'operator' | 'user';
  label: string;
  publicId: string | null;
  userId: number | null;
  /** null for the local operator, who has every right. */
  role: 'admin' | 'reseller' | 'user' | null;
  superAdmin: boolean;
  status: string;
}

export async function resolveActor(trx: Transaction<DB> | import('kysely').Kysely<DB>, spec: ActorSpec): Promise<Actor> {
  if (spec.kind === 'operator') {
    return { kind: 'operator', label: spec.label, publicId: null, userId: null, role: null, superAdmin: true, status: 'active' };
  }
  const { findUser } = await import('./user-lookup.js');
  const user = await findUser(trx, spec.ref);
  if (!user) throw new NotFoundError(`--actor: no user matches "${spec.ref}"`, { field: 'actor' });
  return {
    kind: 'user',
    label: user.email,
    publicId: user.public_id,
    userId: user.id,
    role: user.role,
    superAdmin: user.super_admin === 1,
    status: user.status,
  };
}

/** An actor that is a platform user must be active to act at all. */
export function assertActorActive(actor: Actor): void {
  if (actor.kind === 'user' && actor.status !== 'active') {
    throw new PermissionError(`actor ${actor.label} is ${actor.status} and may not act`);
  }
}

/** The canonical text that is hashed: field order fixed, changes as stored. */
function entryDigest(prevHash: string, e: Omit<AuditRow, 'id' | 'hash' | 'prev_hash'>): string {
  const canonical = JSON.stringify([
    e.seq, e.at, e.actor, e.actor_id, e.actor_ip, e.action, e.target_type, e.target_id, e.target, e.outcome, e.reason, e.changes,
  ]);
  return createHash('sha256').update(prevHash).update('\n').update(canonical).digest('hex');
}

export interface AppendInput {
  actor: Pick<Actor, 'label' | 'publicId'>;
  action: string;
  target?: AuditTarget | undefined;
  outcome: 'ok' | 'refused';
  changes: Changes | Record<string, unknown>;
}

/** Appends one entry to the chain. Must run in a write transaction (which holds the write lock). */
export async function appendAudit(trx: Transaction<DB>, ctx: ServiceContext, input: AppendInput): Promise<AuditRow> {
  const head = await trx.selectFrom('audit_head').select(['last_seq', 'last_hash']).where('id', '=', 1).executeTakeFirstOrThrow();
  const entry = {
    seq: Number(head.last_seq) + 1,
    at: isoNow(ctx),
    actor: input.actor.label,
    actor_id: input.actor.publicId,
    actor_ip: ctx.actorIp,
    action: input.action,
    target_type: input.target?.type ?? null,
    target_id: input.target?.id ?? null,
    target: input.target?.label ?? null,
    outcome: input.outcome,
    reason: ctx.reason ?? null,
    changes: JSON.stringify(input.changes),
  };
  const hash = entryDigest(head.last_hash, entry);
  const row = await trx
    .insertInto('audit_log')
    .values({ ...entry, prev_hash: head.last_hash, hash })
    .returningAll()
    .executeTakeFirstOrThrow();
  await trx.updateTable('audit_head').set({ last_seq: entry.seq, last_hash: hash }).where('id', '=', 1).execute();
  return row;
}

/** What a mutation computed: its result, its target and its changes. */
export interface MutationBody<T> {
  result: T;
  target: AuditTarget;
  changes: Changes;
  /** false when nothing needed to change (no audit entry is written). */
  changed?: boolean;
}

export interface MutationOutcome<T> {
  result: T;
  target: AuditTarget;
  changes: Changes;
  changed: boolean;
  dryRun: boolean;
  audit: AuditRow | null;
}

class DryRunRollback<T> extends Error {
  constructor(readonly outcome: MutationOutcome<T>) {
    super('dry run');
  }
}

/** Lets the body name its target as soon as it knows it, for the refusal entry. */
export interface MutationScope {
  target?: AuditTarget;
  actor?: Actor;
}

/**
 * The one way to change data: one write transaction holding the write lock, the actor
 * resolved inside it, the body's checks and writes, and exactly one audit entry. A
 * refusal (exit 4) rolls everything back and is then audited as refused. With
 * ctx.dryRun everything runs and is rolled back, and the outcome says what would change.
 */
export async function mutate<T>(
  ctx: ServiceContext,
  action: string,
  body: (trx: Transaction<DB>, actor: Actor, scope: MutationScope) => Promise<MutationBody<T>>,
  opts: { auditRefusalInDryRun?: boolean } = {},
): Promise<MutationOutcome<T>> {
  const scope: MutationScope = {};
  try {
    return await withWriteTx(ctx.db, async (trx) => {
      const actor = await resolveActor(trx, ctx.actor);
      scope.actor = actor;
      assertActorActive(actor);
      const out = await body(trx, actor, scope);
      const changed = out.changed ?? true;
      const audit = changed ? await appendAudit(trx, ctx, { actor, action, target: out.target, outcome: 'ok', changes: out.changes }) : null;
      const outcome: MutationOutcome<T> = { result: out.result, target: out.target, changes: out.changes, changed, dryRun: ctx.dryRun, audit };
      if (ctx.dryRun) throw new DryRunRollback(outcome);
      return outcome;
    });
  } catch (err) {
    if (err instanceof DryRunRollback) return err.outcome as MutationOutcome<T>;
    if (err instanceof RefusedError && (!ctx.dryRun || opts.auditRefusalInDryRun)) await recordRefusal(ctx, action, scope, err);
    throw err;
  }
}

async function recordRefusal(ctx: ServiceContext, action: string, scope: MutationScope, err: RefusedError): Promise<void> {
  const actor = scope.actor ?? actorLabelOnly(ctx.actor);
  await withWriteTx(ctx.db, (trx) =>
    appendAudit(trx, ctx, { actor, action, target: scope.target, outcome: 'refused', changes: { refused: err.message } }),
  );
}

function actorLabelOnly(spec: ActorSpec): Pick<Actor, 'label' | 'publicId'> {
  return spec.kind === 'operator' ? { label: spec.label, publicId: null } : { label: spec.ref, publicId: null };
}

/**
 * Read-side permission check: resolves the actor and runs the check; a refusal is
 * audited as refused (a denied look is worth knowing about), then rethrown.
 */
export async function authorizeRead(ctx: ServiceContext, action: string, check: (actor: Actor) => void): Promise<Actor> {
  const actor = await resolveActor(ctx.db.kysely, ctx.actor);
  try {
    assertActorActive(actor);
    check(actor);
  } catch (err) {
    if (err instanceof RefusedError) await recordRefusal(ctx, action, { actor }, err);
    throw err;
  }
  return actor;
}

// ---------------------------------------------------------------------------------
// Reading and verifying the log

export interface AuditFilter {
  actor?: string | undefined;
  action?: string | undefined;
  target?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
  limit?: number | undefined;
  cursor?: string | undefined;
}

/** An entry as shown: the stored row without its internal id and link, changes parsed. */
export type AuditEntryView = Omit<AuditRow, 'id' | 'prev_hash' | 'changes'> & { changes: unknown };

export function auditView(row: AuditRow): AuditEntryView {
  const { id: _id, prev_hash: _prev, changes: text, ...rest } = row;
  let changes: unknown;
  try {
    changes = JSON.parse(text);
  } catch {
    changes = text;
  }
  return { ...rest, seq: Number(row.seq), changes };
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

/** Accepts an ISO date or date-time; returns the stored form for comparison. */
export function parseTimeBound(field: string, value: string): string {
  const ms = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(ms)) {
    throw new UsageError(`${field}: "${value}" is not an ISO-8601 date or time (e.g. 2026-11-24 or 2026-11-24T10:00:00Z)`, { field });
  }
  return new Date(ms).toISOString();
}

/** Newest first, keyset-paged by seq. */
export async function listAudit(ctx: ServiceContext, filter: AuditFilter): Promise<Page<AuditEntryView>> {
  await authorizeRead(ctx, 'audit.list', requireAdmin);
  const limit = filter.limit ?? 50;
  let q = ctx.db.kysely.selectFrom('audit_log').selectAll();
  if (filter.actor) q = q.where((eb) => eb.or([eb('actor', '=', filter.actor!), eb('actor_id', '=', filter.actor!)]));
  if (filter.action) {
    // "user" matches every user.* action; "user.create" matches exactly.
    const a = filter.action;
    q = a.includes('.') ? q.where('action', '=', a) : q.where((eb) => eb.or([eb('action', '=', a), eb('action', 'like', `${a}.%`)]));
  }
  if (filter.target) q = q.where((eb) => eb.or([eb('target_id', '=', filter.target!), eb('target', '=', filter.target!)]));
  if (filter.since) q = q.where('at', '>=', parseTimeBound('--since', filter.since));
  if (filter.until) q = q.where('at', '<', parseTimeBound('--until', filter.until));
  if (filter.cursor) {
    const seq = Number(filter.cursor);
    if (!Number.isSafeInteger(seq) || seq < 1) throw new UsageError(`--cursor: "${filter.cursor}" is not a cursor from a previous page`, { field: 'cursor' });
    q = q.where('seq', '<', seq);
  }
  const rows = await q.orderBy('seq', 'desc').limit(limit + 1).execute();
  const more = rows.length > limit;
  const items = rows.slice(0, limit).map(auditView);
  return { items, next_cursor: more ? String(items[items.length - 1]!.seq) : null };
}

export function requireAdmin(actor: Actor): void {
  if (actor.kind === 'operator') return;
  if (actor.role !== 'admin') throw new PermissionError(`actor ${actor.label} has role ${actor.role}: only admins may do this`);
}

export interface VerifyResult {
  ok: boolean;
  entries: number;
  head_seq: number;
  /** The first entry that fails, and why. */
  first_bad_seq: number | null;
  problem: string | null;
}

/** Walks the whole chain in seq order, in batches, recomputing every hash. */
export async function verifyAudit(db: Database): Promise<VerifyResult> {
  const head = await db.kysely.selectFrom('audit_head').select(['last_seq', 'last_hash']).where('id', '=', 1).executeTakeFirstOrThrow();
  let prevHash = 'genesis';
  let expectedSeq = 1;
  let entries = 0;
  const fail = (seq: number, problem: string): VerifyResult => ({ ok: false, entries, head_seq: Number(head.last_seq), first_bad_seq: seq, problem });
  for (;;) {
    const batch = await db.kysely.selectFrom('audit_log').selectAll().where('seq', '>=', expectedSeq).orderBy('seq').limit(1000).execute();
    if (batch.length === 0) break;
    for (const row of batch) {
      const seq = Number(row.seq);
      if (seq !== expectedSeq) return fail(expectedSeq, `entry ${expectedSeq} is missing (next present is ${seq})`);
      if (row.prev_hash !== prevHash) return fail(seq, `entry ${seq} does not link to entry ${seq - 1} (removed or edited)`);
      const { id: _id, hash, prev_hash, ...rest } = row;
      if (entryDigest(prev_hash, { ...rest, seq }) !== hash) return fail(seq, `entry ${seq} was edited (its hash does not match its contents)`);
      prevHash = hash;
      expectedSeq++;
      entries++;
    }
  }
  if (Number(head.last_seq) !== expectedSeq - 1 || head.last_hash !== prevHash) {
    return fail(expectedSeq, `the log ends at entry ${expectedSeq - 1} but the chain head records entry ${head.last_seq}: newer entries were removed`);
  }
  return { ok: true, entries, head_seq: Number(head.last_seq), first_bad_seq: null, problem: null };
}

/** verifyAudit for an admin actor (or the operator). */
export async function verifyAuditLog(ctx: ServiceContext): Promise<VerifyResult> {
  await authorizeRead(ctx, 'audit.verify', requireAdmin);
  return verifyAudit(ctx.db);
}

export function assertVerified(result: VerifyResult): void {
  if (!result.ok) throw new IntegrityError(`audit log broken at entry ${result.first_bad_seq}: ${result.problem}`);
}
