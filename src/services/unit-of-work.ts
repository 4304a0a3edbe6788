/**
 * The unit of work: one write transaction holding the write lock, the actor resolved
 * inside it, and the audit writer. Services compose inside it: every mutation has a
 * `…Tx(uow, …)` form that checks, writes and records its own audit entry, and the
 * public `fn(ctx, input)` is `mutate(ctx, action, (uow) => fnTx(uow, input))`.
 *
 * A mutate() called while another is running on the same database (in the same async
 * flow) joins it instead of opening a second transaction, which on SQLite would wait for
 * ever on the one connection its own caller holds.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Kysely, Transaction } from 'kysely';
import type { DB, AuditRow } from '../db/types.js';
import type { Database } from '../db/connect.js';
import { withWriteTx } from '../db/dialect.js';
import { RefusedError } from '../errors.js';
import { appendAudit, appendAuditMany, auditView, type AuditEntryView, type AuditTarget, type Changes } from './audit.js';
import type { ServiceContext, ActorSpec } from './context.js';
import { assertActorActive, resolveActor, type Actor } from './permissions.js';

export class UnitOfWork {
  /** Entries written in this unit, in order. */
  readonly entries: AuditRow[] = [];
  #target: AuditTarget | undefined;

  constructor(
    readonly trx: Transaction<DB>,
    readonly actor: Actor,
    readonly ctx: ServiceContext,
  ) {}

  /** Names what the current step is about as soon as it is known (for a refusal entry). */
  about(target: AuditTarget): void {
    this.#target = target;
  }

  get target(): AuditTarget | undefined {
    return this.#target;
  }

  /** Appends one 'ok' entry: its own link of the chain. */
  async record(action: string, target: AuditTarget, changes: Changes): Promise<AuditRow> {
    this.#target = target;
    const row = await appendAudit(this.trx, this.ctx, { actor: this.actor, action, target, outcome: 'ok', changes });
    this.entries.push(row);
    return row;
  }

  /**
   * Appends one 'ok' entry per change, in order, in one go (a bulk batch). The entries
   * are not kept in `entries`: a batch of thousands has no single outcome to report.
   */
  async recordMany(entries: readonly { action: string; target: AuditTarget; changes: Changes }[]): Promise<void> {
    await appendAuditMany(this.trx, this.ctx, this.actor, entries);
    this.recordedInBulk += entries.length;
  }

  /** Entries written through recordMany. */
  recordedInBulk = 0;
}

/** What one step did: the entry it wrote (none when nothing needed to change). */
export interface StepResult<T> {
  result: T;
  target: AuditTarget;
  changes: Changes;
  changed: boolean;
}

export interface MutationOutcome<T> extends StepResult<T> {
  dryRun: boolean;
  /** The entry of this mutation, as `audit list` shows it (null when nothing changed). */
  audit: AuditEntryView | null;
}

interface Active {
  db: Database;
  uow: UnitOfWork;
}

const active = new AsyncLocalStorage<Active>();

/** The unit of work running on this database in this async flow, if any. */
export function currentUnit(db: Database): UnitOfWork | undefined {
  const a = active.getStore();
  return a && a.db === baseDb(db) ? a.uow : undefined;
}

/**
 * Where a service reads: the open transaction when it runs inside a unit of work
 * (a read on the pool would wait for the connection the unit holds), else the database.
 */
export function reader(ctx: ServiceContext): Kysely<DB> {
  return currentUnit(ctx.db)?.trx ?? baseDb(ctx.db).kysely;
}

const BASE = Symbol('acctctl.baseDb');

/**
 * Wraps a database so that using `ctx.db.kysely` directly inside a unit of work fails at
 * once instead of hanging (services read through reader(ctx)).
 */
export function guardDb(db: Database): Database {
  if ((db as { [BASE]?: Database })[BASE]) return db;
  return {
    get kysely() {
      if (active.getStore()?.db === db) {
        throw new Error('ctx.db.kysely used inside a unit of work: it would wait for the transaction it runs in (use reader(ctx) or uow.trx)');
      }
      return db.kysely;
    },
    get dialect() {
      return db.dialect;
    },
    get displayUrl() {
      return db.displayUrl;
    },
    get readOnly() {
      return db.readOnly;
    },
    writer: () => db.writer(),
    close: () => db.close(),
    [BASE]: db,
  } as Database;
}

export function baseDb(db: Database): Database {
  return (db as { [BASE]?: Database })[BASE] ?? db;
}

class DryRunRollback extends Error {
  constructor(readonly outcome: MutationOutcome<unknown>) {
    super('dry run');
  }
}

export interface MutateOptions {
  /** Audit a refusal even on a dry run (a preview before a real attempt). */
  auditRefusalInDryRun?: boolean;
}

/**
 * The one way to change data. The body runs a step (`…Tx`) that records its entry; the
 * outcome is that entry's target and changes. A refusal (exit 4) rolls everything back
 * and is then audited as refused. With ctx.dryRun everything runs and is rolled back.
 * ctx.beforeCommit, when set, sees the outcome inside the transaction: if it throws
 * (a one-time secret could not be shown), nothing is committed.
 */
export async function mutate<T>(
  ctx: ServiceContext,
  action: string,
  body: (uow: UnitOfWork) => Promise<T>,
  opts: MutateOptions = {},
): Promise<MutationOutcome<T>> {
  const outer = currentUnit(ctx.db);
  if (outer) {
    // Joined: the outer unit commits, rolls back and audits refusals, as its actor.
    if (!sameActor(outer.ctx.actor, ctx.actor) || outer.ctx.dryRun !== ctx.dryRun) {
      throw new Error(`${action}: a nested mutation must act as the outer one (same actor, same dry run); call its Tx form with the outer unit`);
    }
    const before = outer.entries.length;
    const result = await body(outer);
    return outcomeOf(outer, before, action, result, outer.ctx.dryRun);
  }
  const db = baseDb(ctx.db);
  let unit: UnitOfWork | undefined;
  let actor: Actor | undefined;
  try {
    return await withWriteTx(db, async (trx) => {
      actor = await resolveActor(trx, ctx.actor);
      assertActorActive(actor);
      const uow = new UnitOfWork(trx, actor, ctx);
      unit = uow;
      const outcome = await active.run({ db, uow }, async () => {
        const result = await body(uow);
        const out = outcomeOf(uow, 0, action, result, ctx.dryRun);
        // inside the unit: a service the hook calls joins it instead of waiting for it
        if (ctx.beforeCommit) await ctx.beforeCommit(out);
        return out;
      });
      if (ctx.dryRun) throw new DryRunRollback(outcome);
      return outcome;
    });
  } catch (err) {
    if (err instanceof DryRunRollback) return err.outcome as MutationOutcome<T>;
    if (err instanceof RefusedError && (!ctx.dryRun || opts.auditRefusalInDryRun)) {
      await recordRefusal(ctx, action, actor, unit?.target, err);
    }
    throw err;
  }
}

function sameActor(a: ActorSpec, b: ActorSpec): boolean {
  return a.kind === b.kind && (a.kind === 'operator' ? a.label === (b as typeof a).label : a.ref === (b as typeof a).ref);
}

function outcomeOf<T>(uow: UnitOfWork, from: number, action: string, result: T, dryRun: boolean): MutationOutcome<T> {
  const mine = uow.entries.slice(from);
  const entry = mine.find((e) => e.action === action) ?? mine[0] ?? null;
  const target: AuditTarget = entry
    ? { type: entry.target_type ?? '', id: entry.target_id ?? '', label: entry.target ?? '' }
    : uow.target ?? { type: '', id: '', label: '' };
  const changes = entry ? (JSON.parse(entry.changes) as Changes) : {};
  return { result, target, changes, changed: entry !== null, dryRun, audit: entry ? auditView(entry) : null };
}

/** A refused attempt, written after the rollback in its own transaction. */
async function recordRefusal(ctx: ServiceContext, action: string, actor: Actor | undefined, target: AuditTarget | undefined, err: RefusedError): Promise<void> {
  let db = baseDb(ctx.db);
  if (db.readOnly) {
    try {
      db = await db.writer();
    } catch {
      return; // a read-only database (a backup) cannot hold the entry; the refusal stands
    }
  }
  const who = actor ?? actorLabelOnly(ctx.actor);
  await withWriteTx(db, (trx) => appendAudit(trx, ctx, { actor: who, action, target, outcome: 'refused', changes: { refused: err.message } }));
}

function actorLabelOnly(spec: ActorSpec): Pick<Actor, 'label' | 'publicId'> {
  return spec.kind === 'operator' ? { label: spec.label, publicId: null } : { label: spec.ref, publicId: null };
}

/**
 * Read-side permission check: resolves the actor and runs the check; a refusal is
 * audited as refused (a denied look is worth knowing about), then rethrown.
 */
export async function authorizeRead(ctx: ServiceContext, action: string, check: (actor: Actor) => void): Promise<Actor> {
  const actor = await resolveActor(reader(ctx), ctx.actor);
  try {
    assertActorActive(actor);
    check(actor);
  } catch (err) {
    // A dry run writes nothing at all, not even the refusal.
    if (err instanceof RefusedError && !currentUnit(ctx.db) && !ctx.dryRun) await recordRefusal(ctx, action, actor, undefined, err);
    throw err;
  }
  return actor;
}
