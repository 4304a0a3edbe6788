/**
 * The audit log as a hash chain: append (inside the writer's transaction), list,
 * verify, and anchors. Each entry's hash covers the previous hash and the entry's
 * contents, so an edited, removed or reordered entry breaks every later link.
 * The chain uses no secret: anyone who can write the database can rewrite it and
 * recompute the hashes. An anchor (the head's seq and hash, kept elsewhere) closes that
 * gap for everything up to it: `verify --anchor` fails if the history was rewritten.
 */
import { createHash } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { DB, AuditRow } from '../db/types.js';
import { insertMany } from '../db/bulk-insert.js';
import { IntegrityError, UsageError } from '../errors.js';
import { isoNow, type ServiceContext } from './context.js';
import { assertCan, type Actor } from './permissions.js';
import { checkLimit, decodeCursor, encodeCursor, iterateBatches, pageOf, type Page } from './paging.js';
import { authorizeRead, reader } from './unit-of-work.js';
import { assertValid, printable } from './validate.js';
import { validText } from '../domain/validate.js';

export interface AuditTarget {
  type: string;
  id: string;
  label: string;
}

/** Before/after of each changed field; never a secret. */
export type Changes = Record<string, { before?: unknown; after?: unknown }>;

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
  const head = await trx.selectFrom('audit_head').select(['last_seq', 'last_hash']).where('id', '=', 1).executeTakeFirst();
  if (!head) throw new IntegrityError('the audit chain head (audit_head) is missing: the log was tampered with; run `acctctl audit verify`');
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

const AUDIT_COLUMNS = {
  seq: 'int', at: 'text', actor: 'text', actor_id: 'text', actor_ip: 'text', action: 'text', target_type: 'text', target_id: 'text', target: 'text',
  outcome: 'text', reason: 'text', changes: 'text', prev_hash: 'text', hash: 'text',
} as const;

/**
 * Appends many 'ok' entries in one go (a bulk run's batch): the head is read once, each
 * link is computed in order, the rows go in multi-row inserts and the head moves once.
 * The chain is the same as appending them one by one.
 */
export async function appendAuditMany(trx: Transaction<DB>, ctx: ServiceContext, actor: AppendInput['actor'], inputs: readonly Omit<AppendInput, 'actor' | 'outcome'>[]): Promise<void> {
  if (inputs.length === 0) return;
  const head = await trx.selectFrom('audit_head').select(['last_seq', 'last_hash']).where('id', '=', 1).executeTakeFirst();
  if (!head) throw new IntegrityError('the audit chain head (audit_head) is missing: the log was tampered with; run `acctctl audit verify`');
  let seq = Number(head.last_seq);
  let prev = head.last_hash;
  const at = isoNow(ctx);
  const rows = inputs.map((input) => {
    const entry = {
      seq: ++seq, at, actor: actor.label, actor_id: actor.publicId, actor_ip: ctx.actorIp, action: input.action,
      target_type: input.target?.type ?? null, target_id: input.target?.id ?? null, target: input.target?.label ?? null,
      outcome: 'ok' as const, reason: ctx.reason ?? null, changes: JSON.stringify(input.changes),
    };
    const hash = entryDigest(prev, entry);
    const row = { ...entry, prev_hash: prev, hash };
    prev = hash;
    return row;
  });
  await insertMany(trx, ctx.db.dialect, 'audit_log', AUDIT_COLUMNS, rows);
  await trx.updateTable('audit_head').set({ last_seq: seq, last_hash: prev }).where('id', '=', 1).execute();
}

// ---------------------------------------------------------------------------------
// Reading

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

/** Accepts an ISO date or date-time; returns the stored form for comparison. */
export function parseTimeBound(field: string, value: string): string {
  const ms = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(ms)) {
    throw new UsageError(`${field}: "${printable(value)}" is not an ISO-8601 date or time (e.g. 2026-11-24 or 2026-11-24T10:00:00Z)`, { field: field.replace(/^--/, '') });
  }
  return new Date(ms).toISOString();
}

const LIST = 'audit';
type AuditCursor = { seq: number };

function auditQuery(ctx: ServiceContext, filter: AuditFilter, before: number | undefined, n: number) {
  let q = reader(ctx).selectFrom('audit_log').selectAll();
  if (filter.actor) q = q.where((eb) => eb.or([eb('actor', '=', filter.actor!), eb('actor_id', '=', filter.actor!)]));
  if (filter.action) {
    // "user" matches every user.* action; "user.create" matches exactly.
    const a = filter.action;
    q = a.includes('.') ? q.where('action', '=', a) : q.where((eb) => eb.or([eb('action', '=', a), eb('action', 'like', `${a}.%`)]));
  }
  if (filter.target) q = q.where((eb) => eb.or([eb('target_id', '=', filter.target!), eb('target', '=', filter.target!)]));
  if (filter.since) q = q.where('at', '>=', parseTimeBound('--since', filter.since));
  if (filter.until) q = q.where('at', '<', parseTimeBound('--until', filter.until));
  if (before !== undefined) q = q.where('seq', '<', before);
  return q.orderBy('seq', 'desc').limit(n).execute();
}

function checkFilter(filter: AuditFilter): void {
  for (const field of ['actor', 'action', 'target'] as const) {
    const v = filter[field];
    if (v !== undefined) assertValid(validText(v, field, 320));
  }
  if (filter.since) parseTimeBound('--since', filter.since);
  if (filter.until) parseTimeBound('--until', filter.until);
}

/** Newest first, keyset-paged by seq. */
export async function listAudit(ctx: ServiceContext, filter: AuditFilter = {}): Promise<Page<AuditEntryView>> {
  const limit = checkLimit(filter.limit);
  const cursor = decodeCursor<AuditCursor>(LIST, filter.cursor, { seq: 'int' });
  checkFilter(filter);
  await authorizeRead(ctx, 'audit.list', (a) => assertCan(a, 'audit.read'));
  const rows = await auditQuery(ctx, filter, cursor?.seq, limit + 1);
  return pageOf(rows, limit, auditView, (r) => encodeCursor(LIST, { seq: Number(r.seq) }));
}

/** Every matching entry, newest first, streamed in batches. */
export async function* iterateAudit(ctx: ServiceContext, filter: AuditFilter = {}): AsyncGenerator<AuditEntryView> {
  const cursor = decodeCursor<AuditCursor>(LIST, filter.cursor, { seq: 'int' });
  checkFilter(filter);
  await authorizeRead(ctx, 'audit.list', (a) => assertCan(a, 'audit.read'));
  for await (const row of iterateBatches((before: number | undefined, n) => auditQuery(ctx, filter, before, n), (r) => Number(r.seq), cursor?.seq)) {
    yield auditView(row);
  }
}

// ---------------------------------------------------------------------------------
// Verifying, and anchors

/** A chain position kept outside the database: `SEQ:HASH`. */
export interface Anchor {
  seq: number;
  hash: string;
}

export function parseAnchor(text: string, where = '--anchor'): Anchor {
  const m = /^\s*(\d{1,15}):([0-9a-f]{64})\s*$/.exec(text);
  if (!m || Number(m[1]) < 1) throw new UsageError(`${where}: "${printable(text)}" is not an anchor (SEQ:HASH as printed by \`acctctl audit anchor\`)`, { field: 'anchor' });
  return { seq: Number(m[1]), hash: m[2]! };
}

export interface AnchorView {
  seq: number;
  hash: string;
  at: string | null;
  anchor: string;
}

/** The head of the chain, to keep elsewhere (a ticket, a log shipper). */
export async function auditAnchor(ctx: ServiceContext): Promise<AnchorView> {
  await authorizeRead(ctx, 'audit.anchor', (a) => assertCan(a, 'audit.read'));
  const db = reader(ctx);
  const head = await db.selectFrom('audit_head').select(['last_seq', 'last_hash']).where('id', '=', 1).executeTakeFirst();
  if (!head) throw new IntegrityError('the audit chain head (audit_head) is missing: the log was tampered with');
  const seq = Number(head.last_seq);
  const last = seq > 0 ? await db.selectFrom('audit_log').select('at').where('seq', '=', seq).executeTakeFirst() : undefined;
  return { seq, hash: head.last_hash, at: last?.at ?? null, anchor: `${seq}:${head.last_hash}` };
}

export interface VerifyResult {
  ok: boolean;
  entries: number;
  head_seq: number | null;
  /** The first entry that fails, and why. */
  first_bad_seq: number | null;
  problem: string | null;
  anchors_checked: number;
}

/** Walks the whole chain in seq order, in batches, recomputing every hash and checking each anchor. */
export async function verifyAuditLog(ctx: ServiceContext, opts: { anchors?: Anchor[] } = {}): Promise<VerifyResult> {
  await authorizeRead(ctx, 'audit.verify', (a) => assertCan(a, 'audit.read'));
  const db = reader(ctx);
  const anchors = new Map<number, string>();
  for (const a of opts.anchors ?? []) {
    if (anchors.has(a.seq) && anchors.get(a.seq) !== a.hash) throw new UsageError(`--anchor: two different hashes given for entry ${a.seq}`, { field: 'anchor' });
    anchors.set(a.seq, a.hash);
  }
  const head = await db.selectFrom('audit_head').select(['last_seq', 'last_hash']).where('id', '=', 1).executeTakeFirst();
  let prevHash = 'genesis';
  let expectedSeq = 1;
  let entries = 0;
  let anchorsChecked = 0;
  const fail = (seq: number | null, problem: string): VerifyResult => ({
    ok: false, entries, head_seq: head ? Number(head.last_seq) : null, first_bad_seq: seq, problem, anchors_checked: anchorsChecked,
  });
  if (!head) return fail(null, 'the chain head (audit_head) is missing: the log was tampered with');
  // The head is read first and only entries up to it are checked: writers append the
  // entry and move the head in one transaction, so everything up to the head we saw is
  // committed, and entries appended while we read are not mistaken for a broken chain.
  const headSeq = Number(head.last_seq);
  for (;;) {
    const batch = await db.selectFrom('audit_log').selectAll().where('seq', '>=', expectedSeq).where('seq', '<=', headSeq).orderBy('seq').limit(1000).execute();
    if (batch.length === 0) break;
    for (const row of batch) {
      const seq = Number(row.seq);
      if (seq !== expectedSeq) return fail(expectedSeq, `entry ${expectedSeq} is missing (next present is ${seq})`);
      if (row.prev_hash !== prevHash) return fail(seq, `entry ${seq} does not link to entry ${seq - 1} (removed or edited)`);
      const { id: _id, hash, prev_hash, ...rest } = row;
      if (entryDigest(prev_hash, { ...rest, seq }) !== hash) return fail(seq, `entry ${seq} was edited (its hash does not match its contents)`);
      const anchored = anchors.get(seq);
      if (anchored !== undefined) {
        if (anchored !== hash) return fail(seq, `entry ${seq} does not match its anchor: the history up to it was rewritten`);
        anchorsChecked++;
      }
      prevHash = hash;
      expectedSeq++;
      entries++;
    }
  }
  const lastSeq = expectedSeq - 1;
  if (Number(head.last_seq) !== lastSeq || head.last_hash !== prevHash) {
    return fail(expectedSeq, `the log ends at entry ${lastSeq} but the chain head records entry ${head.last_seq}: newer entries were removed`);
  }
  const beyond = [...anchors.keys()].filter((s) => s > lastSeq).sort((a, b) => a - b);
  if (beyond.length > 0) return fail(beyond[0]!, `the chain ends at entry ${lastSeq}, before anchored entry ${beyond[0]}: entries were removed`);
  return { ok: true, entries, head_seq: Number(head.last_seq), first_bad_seq: null, problem: null, anchors_checked: anchorsChecked };
}

export function assertVerified(result: VerifyResult): void {
  if (!result.ok) throw new IntegrityError(`audit log broken${result.first_bad_seq !== null ? ` at entry ${result.first_bad_seq}` : ''}: ${result.problem}`);
}
