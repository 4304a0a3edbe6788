/**
 * The bulk engine, shared by every bulk verb (user import and user bulk now; customers,
 * invitations and billing later). A run is:
 *
 * 1. **Plan**: the source (a CSV file, or a filter) yields validated rows; every row is
 *    checked before anything changes, then resolved in batches against the database
 *    (read-only) to a plan item: the kind of change ("op"), its target (public id and
 *    `updated_at` as seen) and what the apply needs. Items are spooled to a file, not
 *    held in memory, so a run of millions of rows stays in constant memory. The plan
 *    holds the counts per op, a sample of each, the rows that would be refused, and the
 *    rules the whole plan would break (say, no active admin left).
 * 2. **Confirm**: the caller shows the plan and asks (the engine never talks to a person).
 * 3. **Apply**: the spooled items, in transactions of bounded size. Each item's target
 *    is checked again inside the transaction (unchanged since the plan), so what runs is
 *    what was shown; a killed run leaves whole batches only, and re-running the same
 *    input completes the job (rows already applied resolve to no-ops).
 *
 * A saved plan (`--plan-out`) is the spool with its header: `acctctl apply PLAN.json`
 * checks every target first and applies exactly that plan.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, readdirSync, rmSync, statSync, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Kysely } from 'kysely';
import type { DB } from '../db/types.js';
import { AcctError, ExitCode, RefusedError, UsageError } from '../errors.js';
import { newPublicId } from '../security/tokens.js';
import { isoNow, type ServiceContext } from '../services/context.js';
import { resolveActor, type Actor } from '../services/permissions.js';
import { mutate, reader, type UnitOfWork } from '../services/unit-of-work.js';
import { RowErrors, DEFAULT_MAX_ERRORS, type RowError } from './rows.js';

export const DEFAULT_BATCH_SIZE = 1000;
const SAMPLE_SIZE = 5;
const PLAN_FORMAT = 1;

export interface PlanTarget {
  /** null for an account the plan creates. */
  public_id: string | null;
  label: string;
  /** As seen when planned: the apply refuses the item if it changed since. */
  updated_at: string | null;
  /** A digest of the target as seen (a change within the same millisecond as the plan). */
  version?: string | undefined;
}

export interface PlanItem {
  /** The file line the row came from (null for a filter-selected target). */
  line: number | null;
  /** The kind of change: create, update, noop, skip, set-role, delete… */
  op: string;
  target: PlanTarget;
  /** What the apply needs; JSON. Secrets never in clear (see BulkRun.seal). */
  data?: Record<string, unknown>;
  /** Before → after, for the plan's samples and the errors file. */
  summary?: string;
}

/** A row that will not (or did not) apply, for the plan and the errors file. */
export interface RefusedRow {
  line: number | null;
  column?: string | undefined;
  target?: string | undefined;
  reason: string;
}

export type SourceRow<V> = { line: number | null; ok: true; value: V } | { line: number | null; ok: false; errors: RowError[] };

/** Where rows come from: a CSV file (with its SHA-256) or a filter. */
export interface BulkSource<V> {
  rows(): AsyncIterable<SourceRow<V>>;
  /** After rows() is exhausted: the file's SHA-256 (null for a filter). */
  digest(): string | null;
  /** What the plan says about the source: the file's name, or the filters. */
  describe: Record<string, unknown>;
}

/** What a job sees of the run: the saved plan needs secrets hashed, a spool only sealed. */
export interface BulkRun {
  /** The plan outlives the process (`--plan-out`): nothing may be sealed with the run key. */
  persistent: boolean;
  /** Seals a secret with a key that exists only in this process (spool files only). */
  seal(text: string): string;
  unseal(text: string): string;
}

export type ApplyResult = { ok: true; changed: boolean } | { ok: false; reason: string };

/** One kind of bulk change: resolution, whole-plan rules and the apply, per batch. */
export interface BulkJob<V> {
  /** The audit action of its entries' run ('user.import', 'user.bulk.set-role'). */
  action: string;
  /** Options that change what the plan means (kept in a saved plan). */
  options: Record<string, unknown>;
  /** Ops that change nothing (not applied, not counted as changes). */
  idle: readonly string[];
  /** Read-only: each row to a plan item or a refusal. */
  resolve(db: Kysely<DB>, actor: Actor, rows: { line: number | null; value: V }[], run: BulkRun): Promise<(PlanItem | RefusedRow)[]>;
  /** After every item was resolved: rules the whole plan would break. */
  violations?(db: Kysely<DB>): Promise<string[]>;
  /** Outside any transaction, before a batch is applied: slow work such as hashing. */
  prepare?(items: PlanItem[], run: BulkRun, tick: (n: number) => void): Promise<void>;
  /** Inside the batch's transaction: checks each target again, applies, audits. */
  apply(uow: UnitOfWork, items: PlanItem[], run: BulkRun): Promise<ApplyResult[]>;
  /** Checks, before a saved plan is applied, that its targets are as planned. */
  stale(db: Kysely<DB>, items: PlanItem[]): Promise<RefusedRow[]>;
}

export interface BulkOptions {
  batchSize?: number | undefined;
  maxErrors?: number | undefined;
  /** Apply what can be applied; report the rest (exit 6) instead of refusing everything. */
  continueOnError?: boolean | undefined;
  /** Write the plan here and stop. */
  planOut?: string | undefined;
}

export interface BulkPlan {
  id: string;
  action: string;
  created_at: string;
  source: Record<string, unknown> & { sha256: string | null };
  options: Record<string, unknown>;
  /** Data rows read (valid or not). */
  rows: number;
  counts: Record<string, number>;
  /** Items that change something. */
  changes: number;
  samples: Record<string, { line: number | null; target: string; summary?: string | undefined }[]>;
  /** Rows refused by validation or by a rule, up to --max-errors of them. */
  refused: RefusedRow[];
  /** How many were refused in all (refused[] may be cut short). */
  refused_count: number;
  violations: string[];
}

export interface BulkSummary {
  plan_id: string;
  action: string;
  rows: number;
  applied: number;
  unchanged: number;
  refused: number;
  counts: Record<string, number>;
  dry_run: boolean;
  seconds: number;
  errors_file?: string | undefined;
  plan_file?: string | undefined;
}

export interface BulkHooks {
  /** Shows the plan (stderr); called before confirm and for a dry run. */
  showPlan?(plan: BulkPlan): Promise<void>;
  /** Throws ConfirmationError to stop (nothing changed). */
  confirm?(plan: BulkPlan): Promise<void>;
  /** Rows applied so far of the total to apply. */
  progress?(done: number, total: number): void;
  /** Each refused row as it is known (the errors file). */
  refused?(row: RefusedRow): Promise<void>;
}

/** Exit 6: a --continue-on-error run that left rows out. */
export class PartialError extends AcctError {
  override readonly exitCode = ExitCode.partial;
  override readonly code = 'partial';
  constructor(message: string, readonly summary: BulkSummary) {
    super(message);
  }
}

/** The plan's items on disk, one JSON per line, and what the run needs to read them back. */
interface Spool {
  dir: string;
  path: string;
  count: number;
  digest: string;
}

/**
 * A run that was killed leaves its spool behind (hashes, sealed secrets whose key died with
 * it): a later run removes those more than a day old.
 */
function sweepSpools(nowMs: number): void {
  try {
    for (const name of readdirSync(tmpdir())) {
      if (!name.startsWith('acctctl-bulk-')) continue;
      const path = join(tmpdir(), name);
      const st = statSync(path);
      if (st.isDirectory() && nowMs - st.mtimeMs > 86_400_000 && st.uid === process.getuid?.()) rmSync(path, { recursive: true, force: true });
    }
  } catch {
    // best effort: a spool left behind is only disk space
  }
}

function isRefused(x: PlanItem | RefusedRow): x is RefusedRow {
  return 'reason' in x && !('op' in x);
}

function checkSizes(opts: BulkOptions): { batchSize: number; maxErrors: number } {
  const batchSize = opts.batchSize ?? DEFAULT_BATCH_SIZE;
  const maxErrors = opts.maxErrors ?? DEFAULT_MAX_ERRORS;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1 || batchSize > 100_000) throw new UsageError('batch-size: must be a whole number from 1 to 100000', { field: 'batch-size' });
  if (!Number.isSafeInteger(maxErrors) || maxErrors < 1) throw new UsageError('max-errors: must be a whole number of at least 1', { field: 'max-errors' });
  return { batchSize, maxErrors };
}

/** A run key: secrets in a spool are sealed with it and die with the process. */
function runSealer(persistent: boolean): BulkRun {
  const key = randomBytes(32);
  return {
    persistent,
    seal(text) {
      if (persistent) throw new Error('a saved plan cannot hold a sealed secret: hash it');
      const iv = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([c.update(text, 'utf8'), c.final()]);
      return Buffer.concat([iv, c.getAuthTag(), body]).toString('base64');
    },
    unseal(text) {
      const raw = Buffer.from(text, 'base64');
      const d = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
      d.setAuthTag(raw.subarray(12, 28));
      return Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString('utf8');
    },
  };
}

async function write(out: WriteStream, text: string): Promise<void> {
  if (!out.write(text)) await once(out, 'drain');
}

async function closeStream(out: WriteStream): Promise<void> {
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
}

/**
 * Pass 1: validate every row, resolve them in batches, spool the items, count. Throws
 * RowErrors (exit 2) for invalid rows and RefusedError (exit 4) for refused ones and
 * for broken whole-plan rules, unless continueOnError (then they are in plan.refused).
 */
export async function planBulk<V>(ctx: ServiceContext, job: BulkJob<V>, source: BulkSource<V>, opts: BulkOptions, run: BulkRun, hooks: BulkHooks = {}): Promise<{ plan: BulkPlan; spool: Spool }> {
  const { batchSize, maxErrors } = checkSizes(opts);
  const db = reader(ctx);
  const actor = await resolveActor(db, ctx.actor);
  sweepSpools(Date.now()); // file times are the real clock, not the context's
  const dir = mkdtempSync(join(tmpdir(), 'acctctl-bulk-'));
  const path = join(dir, 'items.ndjson');
  const out = createWriteStream(path, { mode: 0o600 });
  const hash = createHash('sha256');
  const plan: BulkPlan = {
    id: newPublicId('pln'), action: job.action, created_at: isoNow(ctx), source: { ...source.describe, sha256: null }, options: job.options,
    rows: 0, counts: {}, changes: 0, samples: {}, refused: [], refused_count: 0, violations: [],
  };
  const invalid: RowError[] = [];
  let count = 0;
  const refuse = async (r: RefusedRow) => {
    plan.refused_count++;
    if (plan.refused.length < maxErrors) plan.refused.push(r);
    await hooks.refused?.(r);
  };
  const flush = async (batch: { line: number | null; value: V }[]) => {
    if (batch.length === 0) return;
    for (const x of await job.resolve(db, actor, batch, run)) {
      if (isRefused(x)) {
        await refuse(x);
        continue;
      }
      plan.counts[x.op] = (plan.counts[x.op] ?? 0) + 1;
      const sample = (plan.samples[x.op] ??= []);
      if (sample.length < SAMPLE_SIZE) sample.push({ line: x.line, target: x.target.label, summary: x.summary });
      if (job.idle.includes(x.op)) continue;
      plan.changes++;
      const text = JSON.stringify(x);
      hash.update(text).update('\n');
      await write(out, text + '\n');
      count++;
    }
  };
  // One batch is resolved while the next is read: on PostgreSQL the reading overlaps the
  // server's work. At most one in flight, so memory stays at two batches.
  let pending: Promise<void> = Promise.resolve();
  const resolveNext = async (batch: { line: number | null; value: V }[]) => {
    await pending;
    pending = flush(batch);
    pending.catch(() => undefined); // seen when awaited; not an unhandled rejection meanwhile
  };
  try {
    let batch: { line: number | null; value: V }[] = [];
    for await (const row of source.rows()) {
      plan.rows++;
      if (!row.ok) {
        for (const e of row.errors) {
          if (opts.continueOnError) await refuse({ line: e.line, column: e.column, reason: e.message });
          else if (invalid.length < maxErrors) invalid.push(e);
        }
        // Stop reading at the limit: the file is refused anyway.
        if (!opts.continueOnError && invalid.length >= maxErrors) break;
        continue;
      }
      if (invalid.length > 0) continue; // refused anyway: only look for more errors
      batch.push({ line: row.line, value: row.value });
      if (batch.length >= batchSize) {
        await resolveNext(batch);
        batch = [];
      }
    }
    await pending;
    if (invalid.length > 0) throw new RowErrors(invalid, invalid.length >= maxErrors);
    await flush(batch);
    await closeStream(out);
    plan.source.sha256 = source.digest();
    plan.violations = (await job.violations?.(db)) ?? [];
    if (plan.violations.length > 0) throw new RefusedError(`the plan is refused as a whole, nothing changed: ${plan.violations.join('; ')}`);
    if (plan.refused_count > 0 && !opts.continueOnError) throw refusedRowsError(plan.refused, plan.refused_count);
  } catch (err) {
    await pending.catch(() => undefined);
    // Ended, not destroyed: a write still queued behind the file's opening would throw.
    await closeStream(out).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return { plan, spool: { dir, path, count, digest: hash.digest('hex') } };
}

function where(r: RefusedRow): string {
  const at = r.line === null ? r.target ?? 'a target' : `line ${r.line}${r.column ? `, column ${r.column}` : ''}`;
  return `${at}: ${r.reason}`;
}

function refusedRowsError(rows: RefusedRow[], total: number): RefusedError {
  const shown = rows.slice(0, 10).map(where).join('; ');
  const more = total > 10 ? `; and ${total - 10} more` : '';
  return new RefusedError(`${total} row${total === 1 ? '' : 's'} would be refused, nothing changed: ${shown}${more} (--continue-on-error applies the rest)`);
}

/** The next batch is read (and parsed) while the caller works on this one. */
async function* readAhead<T>(items: AsyncIterable<T>): AsyncGenerator<T> {
  const it = items[Symbol.asyncIterator]();
  let next = it.next();
  for (;;) {
    const r = await next;
    if (r.done) return;
    next = it.next();
    next.catch(() => undefined); // seen when awaited
    yield r.value;
  }
}

/** Reads spooled items back in batches. */
async function* readItems(path: string, batchSize: number, skipHeader: boolean): AsyncGenerator<PlanItem[]> {
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  let batch: PlanItem[] = [];
  let first = true;
  for await (const raw of lines) {
    if (first && skipHeader) {
      first = false;
      continue;
    }
    first = false;
    if (raw.startsWith(']')) break; // a saved plan's trailer
    const text = raw.startsWith(',') ? raw.slice(1) : raw;
    if (text === '') continue;
    batch.push(JSON.parse(text) as PlanItem);
    if (batch.length >= batchSize) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

/**
 * Pass 2: the items in batches, each batch one transaction (prepared outside it). A
 * refused item rolls its batch back and stops the run (exit 4), unless continueOnError.
 * One bulk.run entry closes a run that changed something.
 */
async function applyItems<V>(ctx: ServiceContext, job: BulkJob<V>, plan: BulkPlan, items: AsyncIterable<PlanItem[]>, total: number, opts: BulkOptions, run: BulkRun, hooks: BulkHooks): Promise<BulkSummary> {
  const started = Date.now();
  const summary: BulkSummary = {
    plan_id: plan.id, action: plan.action, rows: plan.rows, applied: 0, unchanged: 0, refused: plan.refused_count, counts: {}, dry_run: false, seconds: 0,
  };
  let done = 0;
  let batches = 0;
  hooks.progress?.(0, total);
  for await (const batch of readAhead(items)) {
    await job.prepare?.(batch, run, (n) => hooks.progress?.(done + n, total));
    const refusedHere: RefusedRow[] = [];
    let changedHere = 0;
    const counts: Record<string, number> = {};
    await mutate(ctx, plan.action, async (uow) => {
      const results = await job.apply(uow, batch, run);
      results.forEach((r, i) => {
        const item = batch[i]!;
        if (!r.ok) refusedHere.push({ line: item.line, target: item.target.label, reason: r.reason });
        else if (r.changed) {
          changedHere++;
          counts[item.op] = (counts[item.op] ?? 0) + 1;
        }
      });
      if (refusedHere.length > 0 && !opts.continueOnError) {
        const applied = batches === 0 ? 'nothing was applied' : `${summary.applied} change${summary.applied === 1 ? '' : 's'} in ${batches} earlier batch${batches === 1 ? '' : 'es'} stay applied; re-running the same input completes the job`;
        throw new RefusedError(`${where(refusedHere[0]!)} (refused when applying; this batch was rolled back, ${applied})`);
      }
    });
    for (const r of refusedHere) await hooks.refused?.(r);
    batches++;
    summary.applied += changedHere;
    summary.unchanged += batch.length - changedHere - refusedHere.length;
    summary.refused += refusedHere.length;
    for (const [op, n] of Object.entries(counts)) summary.counts[op] = (summary.counts[op] ?? 0) + n;
    done += batch.length;
    hooks.progress?.(done, total);
  }
  for (const op of job.idle) if (plan.counts[op]) summary.unchanged += plan.counts[op]!;
  summary.seconds = (Date.now() - started) / 1000;
  if (summary.applied > 0) {
    await mutate(ctx, 'bulk.run', (uow) =>
      uow.record('bulk.run', { type: 'bulk', id: plan.id, label: plan.action }, {
        sha256: { after: plan.source.sha256 }, source: { after: plan.source.file ?? plan.source.filters ?? null },
        rows: { after: plan.rows }, applied: { after: summary.applied }, unchanged: { after: summary.unchanged }, refused: { after: summary.refused }, counts: { after: summary.counts },
      }),
    );
  }
  return summary;
}

function dryRunSummary(plan: BulkPlan): BulkSummary {
  const idle = Object.entries(plan.counts).filter(([op]) => op === 'noop' || op === 'skip').reduce((n, [, c]) => n + c, 0);
  return { plan_id: plan.id, action: plan.action, rows: plan.rows, applied: 0, unchanged: idle, refused: plan.refused_count, counts: {}, dry_run: true, seconds: 0 };
}

/** Plan, show, confirm, apply (or save the plan, or stop at a dry run). */
export async function runBulk<V>(ctx: ServiceContext, job: BulkJob<V>, source: BulkSource<V>, opts: BulkOptions, hooks: BulkHooks = {}): Promise<{ plan: BulkPlan; summary: BulkSummary }> {
  const { batchSize } = checkSizes(opts);
  const run = runSealer(opts.planOut !== undefined);
  const { plan, spool } = await planBulk(ctx, job, source, opts, run, hooks);
  try {
    if (opts.planOut !== undefined) {
      await savePlan(plan, spool, opts.planOut);
      await hooks.showPlan?.(plan);
      return { plan, summary: { ...dryRunSummary(plan), plan_file: opts.planOut } };
    }
    await hooks.showPlan?.(plan);
    if (ctx.dryRun) return { plan, summary: dryRunSummary(plan) };
    // Nothing to change (a re-run) needs no confirmation: CI can seed without --yes.
    if (plan.changes > 0) await hooks.confirm?.(plan);
    const summary = await applyItems(ctx, job, plan, readItems(spool.path, batchSize, false), spool.count, opts, run, hooks);
    return { plan, summary: finish(summary) };
  } finally {
    rmSync(spool.dir, { recursive: true, force: true });
  }
}

function finish(summary: BulkSummary): BulkSummary {
  if (summary.refused > 0) {
    throw new PartialError(`${summary.applied} applied, ${summary.unchanged} unchanged, ${summary.refused} refused`, summary);
  }
  return summary;
}

// ---------------------------------------------------------------------------------
// Saved plans

interface PlanHeader extends BulkPlan {
  acctctl_plan: number;
  items: [];
}

/**
 * A saved plan is JSON, written a line at a time so it can be read back a line at a
 * time: the header ends with `"items":[`, then one item per line, then the trailer with
 * the SHA-256 of the header and items (which catches a truncated or hand-edited file; it
 * is a checksum, not a signature: whoever may write the plan may recompute it).
 */
async function savePlan(plan: BulkPlan, spool: Spool, path: string): Promise<void> {
  const out = createWriteStream(path, { mode: 0o600, flags: 'wx' });
  try {
    await once(out, 'open');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new UsageError(`plan-out: cannot create ${path}: ${e.code === 'EEXIST' ? 'the file exists (choose a new name)' : e.message}`, { field: 'plan-out' });
  }
  const head = JSON.stringify({ acctctl_plan: PLAN_FORMAT, ...plan, items: [] }).slice(0, -2); // ends with "items":[
  // The checksum covers the header (its options change what the items mean) and every item.
  const hash = createHash('sha256').update(head).update('\n');
  await write(out, head + '\n');
  let first = true;
  for await (const batch of readItems(spool.path, 1000, false)) {
    for (const item of batch) {
      const text = JSON.stringify(item);
      hash.update(text).update('\n');
      await write(out, (first ? '' : ',') + text + '\n');
      first = false;
    }
  }
  await write(out, `],"plan_sha256":"${hash.digest('hex')}"}\n`);
  await closeStream(out);
}

/** Reads a saved plan's header and checks the whole file (format, checksum). */
async function readPlanHeader(path: string): Promise<{ header: PlanHeader; count: number }> {
  let lines;
  try {
    lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  } catch (err) {
    throw new UsageError(`plan: cannot read ${path}: ${(err as Error).message}`, { field: 'plan' });
  }
  const bad = (why: string) => new UsageError(`plan: ${path} is not a plan acctctl wrote (${why})`, { field: 'plan' });
  let header: PlanHeader | undefined;
  const hash = createHash('sha256');
  let count = 0;
  let trailer: string | undefined;
  try {
    for await (const raw of lines) {
      if (header === undefined) {
        try {
          header = JSON.parse(raw + ']}') as PlanHeader;
        } catch {
          throw bad('its first line is not a plan header');
        }
        if (header.acctctl_plan !== PLAN_FORMAT) throw bad(`format ${String(header.acctctl_plan)}, expected ${PLAN_FORMAT}`);
        hash.update(raw).update('\n');
        continue;
      }
      if (trailer !== undefined) {
        if (raw.trim() !== '') throw bad('text after its end');
        continue;
      }
      if (raw.startsWith(']')) {
        trailer = raw;
        continue;
      }
      hash.update(raw.startsWith(',') ? raw.slice(1) : raw).update('\n');
      count++;
    }
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`plan: cannot read ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`, { field: 'plan' });
  }
  if (header === undefined) throw bad('it is empty');
  const m = trailer === undefined ? null : /^\],"plan_sha256":"([0-9a-f]{64})"\}$/.exec(trailer.trim());
  if (!m) throw bad('it is cut short: no trailer');
  if (m[1] !== hash.digest('hex')) throw bad('it does not match its checksum: damaged or edited');
  return { header, count };
}

/** What a saved plan needs to be applied: the job it was made by, rebuilt from its header. */
export type JobFactory = (action: string, options: Record<string, unknown>) => Promise<BulkJob<unknown>>;

/**
 * Applies a saved plan: every target is checked first (exit 4, nothing changed, if one
 * changed since the plan was made), then the plan is shown, confirmed and applied.
 */
export async function applySavedPlan(ctx: ServiceContext, path: string, jobFor: JobFactory, opts: BulkOptions, hooks: BulkHooks = {}): Promise<{ plan: BulkPlan; summary: BulkSummary }> {
  const { batchSize } = checkSizes(opts);
  const { header, count } = await readPlanHeader(path);
  const { acctctl_plan: _f, items: _i, ...plan } = header;
  const job = await jobFor(plan.action, plan.options);
  const db = reader(ctx);
  await resolveActor(db, ctx.actor);
  const stale: RefusedRow[] = [];
  for await (const batch of readItems(path, batchSize, true)) stale.push(...(await job.stale(db, batch)));
  if (stale.length > 0) {
    const shown = stale.slice(0, 10).map(where).join('; ');
    throw new RefusedError(`the plan is out of date, nothing changed: ${stale.length} target${stale.length === 1 ? '' : 's'} changed since it was made (${shown}${stale.length > 10 ? '; …' : ''}); make a new plan`);
  }
  await hooks.showPlan?.(plan);
  if (ctx.dryRun) return { plan, summary: dryRunSummary(plan) };
  if (plan.changes > 0) await hooks.confirm?.(plan);
  const summary = await applyItems(ctx, job, plan, readItems(path, batchSize, true), count, opts, runSealer(true), hooks);
  return { plan, summary: finish(summary) };
}
