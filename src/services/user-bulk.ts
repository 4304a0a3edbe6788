/**
 * `user bulk set-role|set-status|set-timezone|revoke-sessions|reset-2fa|delete`: one
 * change to many accounts, picked by a CSV file (an identifier column and a value
 * column) or by filters ("narrow, verify, apply" in one command), through the bulk
 * engine. Each account's change is the single verb's, with its rules and its entry.
 */
import type { Readable } from 'node:stream';
import type { Kysely } from 'kysely';
import type { DB, UserRow } from '../db/types.js';
import { userSearchMatches } from '../db/dialect.js';
import { PermissionError, RefusedError, UsageError } from '../errors.js';
import * as v from '../domain/validate.js';
import type { Role } from '../domain/enums.js';
import { csvSource, type CsvRow } from '../bulk/csv.js';
import { runBulk, type ApplyResult, type BulkHooks, type BulkJob, type BulkOptions, type BulkPlan, type BulkSource, type BulkSummary, type PlanItem, type RefusedRow, type SourceRow } from '../bulk/engine.js';
import type { RowError } from '../bulk/rows.js';
import { parseTimeBound } from './audit.js';
import { isoNow, type ServiceContext } from './context.js';
import { assertCan, type Actor } from './permissions.js';
import { revokeSessionsTx } from './sessions.js';
import { resetTwoFactorTx } from './two-factor.js';
import { authorizeRead, reader, type UnitOfWork } from './unit-of-work.js';
import { AdminTally, accessOf, rowVersion, staleTargets } from './bulk-rules.js';
import { deleteUserTx, editUserTx, setUserRoleTx, setUserStatusTx, type StatusVerb } from './users.js';
import { normalizeEmail, printable } from './validate.js';

export const BULK_VERBS = ['set-role', 'set-status', 'set-timezone', 'revoke-sessions', 'reset-2fa', 'delete'] as const;
export type BulkVerb = (typeof BULK_VERBS)[number];

/** The value column a verb's file carries (none for the verbs without a value). */
export const BULK_VALUE_COLUMN: Record<BulkVerb, string | null> = {
  'set-role': 'role', 'set-status': 'status', 'set-timezone': 'timezone', 'revoke-sessions': null, 'reset-2fa': null, delete: null,
};
export const BULK_ID_COLUMNS = ['id', 'public_id', 'email', 'username'] as const;
type IdColumn = (typeof BULK_ID_COLUMNS)[number];

/** set-status takes the status a verb leads to. */
const STATUS_VERB: Record<string, StatusVerb> = { active: 'activate', suspended: 'suspend', deactivated: 'deactivate' };

export interface BulkFilter {
  role?: string | undefined;
  status?: string | undefined;
  lastLoginBefore?: string | undefined;
  createdBefore?: string | undefined;
  search?: string | undefined;
  twoFactor?: string | undefined;
}

interface Row {
  by: IdColumn;
  ref: string;
  value: string | null;
}

function checkValue(verb: BulkVerb, value: string, field: string): v.Result<string> {
  switch (verb) {
    case 'set-role':
      return v.validRole(value, field);
    case 'set-status':
      return value in STATUS_VERB ? { ok: true, value } : { ok: false, field, message: `"${printable(value)}" is not a status bulk can set (active, suspended or deactivated)` };
    case 'set-timezone':
      return v.validTimezone(value, field);
    default:
      return { ok: true, value };
  }
}

function lookup(db: Kysely<DB>, by: IdColumn, refs: string[]) {
  const q = db.selectFrom('users').selectAll();
  switch (by) {
    case 'id':
      return q.where('id', 'in', refs.map(Number)).execute();
    case 'public_id':
      return q.where('public_id', 'in', refs.map((r) => r.toLowerCase())).execute();
    case 'email':
      return q.where('email_normalized', 'in', refs.map(normalizeEmail)).execute();
    case 'username':
      return q.where('username_normalized', 'in', refs.map((r) => r.normalize('NFC').toLowerCase())).execute();
  }
}

function keyOf(by: IdColumn, ref: string): string {
  return by === 'email' ? normalizeEmail(ref) : by === 'username' ? ref.normalize('NFC').toLowerCase() : ref.toLowerCase();
}

function rowKey(by: IdColumn, u: UserRow): string {
  return by === 'id' ? String(u.id) : by === 'public_id' ? u.public_id : by === 'email' ? u.email_normalized : u.username_normalized ?? '';
}

export class UserBulkJob implements BulkJob<Row> {
  readonly action: string;
  readonly idle = ['noop'] as const;
  readonly options: Record<string, unknown>;
  readonly #tally = new AdminTally();
  readonly #seen = new Set<number>();

  constructor(
    readonly ctx: ServiceContext,
    readonly verb: BulkVerb,
  ) {
    this.action = `user.bulk.${verb}`;
    this.options = { verb };
  }

  async resolve(db: Kysely<DB>, actor: Actor, rows: { line: number | null; value: Row }[]): Promise<(PlanItem | RefusedRow)[]> {
    const found = new Map<string, UserRow>();
    for (const by of BULK_ID_COLUMNS) {
      const refs = rows.filter((r) => r.value.by === by).map((r) => r.value.ref);
      for (let i = 0; i < refs.length; i += 500) for (const u of await lookup(db, by, refs.slice(i, i + 500))) found.set(`${by}:${rowKey(by, u)}`, u);
    }
    const live = this.verb === 'revoke-sessions' ? await liveSessions(db, [...found.values()].map((u) => Number(u.id)), isoNow(this.ctx)) : new Map<number, number>();
    return rows.map(({ line, value: r }) => {
      const u = found.get(`${r.by}:${keyOf(r.by, r.ref)}`);
      const refuse = (reason: string): RefusedRow => ({ line, column: r.by, target: r.ref, reason });
      if (!u) return refuse(`no user matches ${r.by} "${printable(r.ref)}"`);
      if (this.#seen.has(Number(u.id))) return refuse(`${printable(u.email)} is named twice`);
      this.#seen.add(Number(u.id));
      return this.#plan(actor, line, u, r.value, live, refuse);
    });
  }

  #plan(actor: Actor, line: number | null, u: UserRow, value: string | null, live: Map<number, number>, refuse: (r: string) => RefusedRow): PlanItem | RefusedRow {
    const target = { public_id: u.public_id, label: u.email, updated_at: u.updated_at, version: rowVersion(u) };
    const item = (op: string, summary?: string): PlanItem => ({ line, op, target, data: value === null ? {} : { value }, ...(summary ? { summary } : {}) });
    try {
      assertCan(actor, this.verb === 'revoke-sessions' ? 'session.manage' : 'user.manage', { superAdmin: Number(u.super_admin) === 1, label: u.email });
    } catch (err) {
      if (err instanceof PermissionError) return refuse(err.message);
      throw err;
    }
    const before = accessOf(u);
    switch (this.verb) {
      case 'set-role': {
        const role = value as Role;
        if (role === u.role) return item('noop');
        this.#tally.observe(before, { ...before, role, super_admin: role === 'admin' ? before.super_admin : 0 });
        return item('set-role', `${u.role} → ${role}`);
      }
      case 'set-status': {
        const status = value as 'active' | 'suspended' | 'deactivated';
        if (status === u.status) return item('noop');
        if (status === 'active' && u.password_hash === null) return refuse(`cannot activate ${printable(u.email)}: it has no way to sign in yet (set a password first)`);
        this.#tally.observe(before, { ...before, status });
        return item(STATUS_VERB[status]!, `${u.status} → ${status}`);
      }
      case 'set-timezone':
        return value === u.timezone ? item('noop') : item('set-timezone', `${u.timezone ?? '∅'} → ${value}`);
      case 'revoke-sessions': {
        const n = live.get(Number(u.id)) ?? 0;
        return n === 0 ? item('noop') : item('revoke-sessions', `${n} live session${n === 1 ? '' : 's'}`);
      }
      case 'reset-2fa':
        return u.two_factor_enabled_at === null && u.two_factor_secret === null ? item('noop') : item('reset-2fa');
      case 'delete':
        if (actor.userId === Number(u.id)) return refuse(`cannot delete ${printable(u.email)}: an actor cannot delete itself`);
        this.#tally.observe(before, null);
        return item('delete', `${u.role}, ${u.status}`);
    }
  }

  violations(db: Kysely<DB>): Promise<string[]> {
    return this.#tally.violations(db);
  }

  async apply(uow: UnitOfWork, items: PlanItem[]): Promise<ApplyResult[]> {
    const stale = new Map((await this.stale(uow.trx, items)).map((r) => [r.target, r.reason]));
    const results: ApplyResult[] = [];
    for (const item of items) {
      const why = stale.get(item.target.label);
      if (why !== undefined) {
        results.push({ ok: false, reason: why });
        continue;
      }
      const id = item.target.public_id!;
      const value = (item.data as { value?: string } | undefined)?.value ?? '';
      try {
        switch (this.verb) {
          case 'set-role':
            await setUserRoleTx(uow, id, value as Role);
            break;
          case 'set-status':
            await setUserStatusTx(uow, id, STATUS_VERB[value]!);
            break;
          case 'set-timezone':
            await editUserTx(uow, id, { timezone: value });
            break;
          case 'revoke-sessions':
            await revokeSessionsTx(uow, id);
            break;
          case 'reset-2fa':
            await resetTwoFactorTx(uow, id);
            break;
          case 'delete':
            await deleteUserTx(uow, id);
            break;
        }
        results.push({ ok: true, changed: true });
      } catch (err) {
        if (!(err instanceof RefusedError)) throw err;
        results.push({ ok: false, reason: err.message });
      }
    }
    return results;
  }

  stale(db: Kysely<DB>, items: PlanItem[]): Promise<RefusedRow[]> {
    return staleTargets(db, items);
  }
}

async function liveSessions(db: Kysely<DB>, ids: number[], now: string): Promise<Map<number, number>> {
  const map = new Map<number, number>();
  for (let i = 0; i < ids.length; i += 500) {
    const part = ids.slice(i, i + 500);
    if (part.length === 0) continue;
    const rows = await db.selectFrom('sessions').select(['user_id', (eb) => eb.fn.countAll<number>().as('n')])
      .where('user_id', 'in', part).where('revoked_at', 'is', null).where('expires_at', '>', now).groupBy('user_id').execute();
    for (const r of rows) map.set(Number(r.user_id), Number(r.n));
  }
  return map;
}

/** A file's rows: exactly one identifier column, and the verb's value column. */
function fileValidator(verb: BulkVerb): (row: CsvRow) => { ok: true; value: Row } | { ok: false; errors: RowError[] } {
  const valueColumn = BULK_VALUE_COLUMN[verb];
  return (row) => {
    const ids = BULK_ID_COLUMNS.filter((c) => (row.values[c] ?? '') !== '');
    const errors: RowError[] = [];
    if (ids.length !== 1) errors.push({ line: row.line, column: BULK_ID_COLUMNS.filter((c) => c in row.values).join('/') || 'id', message: ids.length === 0 ? 'names no account (give id, public_id, email or username)' : `names the account ${ids.length} ways (${ids.join(', ')}): give one` });
    const by = ids[0];
    if (by === 'id' && !/^\d+$/.test(row.values.id!.trim())) errors.push({ line: row.line, column: 'id', message: `"${printable(row.values.id!)}" is not a numeric id` });
    let value: string | null = null;
    if (valueColumn !== null) {
      const cell = row.values[valueColumn] ?? '';
      const r = cell === '' ? ({ ok: false, field: valueColumn, message: 'is empty' } as const) : checkValue(verb, cell, valueColumn);
      if (!r.ok) errors.push({ line: row.line, column: valueColumn, message: r.message });
      else value = r.value;
    }
    if (errors.length > 0 || by === undefined) return { ok: false, errors };
    return { ok: true, value: { by, ref: row.values[by]!.trim(), value } };
  };
}

/** The accounts the filters select, oldest first, in keyset batches. */
function filterSource(ctx: ServiceContext, f: BulkFilter, value: string | null): BulkSource<Row> {
  const describe: Record<string, unknown> = { filters: Object.fromEntries(Object.entries(f).filter(([, x]) => x !== undefined)) };
  const conds = {
    role: f.role === undefined ? undefined : assert(v.validRole(f.role, 'where-role')),
    status: f.status === undefined ? undefined : assert(v.validStatus(f.status, 'where-status')),
    lastLogin: f.lastLoginBefore === undefined ? undefined : parseTimeBound('--last-login-before', f.lastLoginBefore),
    created: f.createdBefore === undefined ? undefined : parseTimeBound('--created-before', f.createdBefore),
    search: f.search === undefined ? undefined : assert(v.validSearch(f.search, 'search')).trim(),
    twoFactor: f.twoFactor === undefined ? undefined : f.twoFactor === 'on' ? true : f.twoFactor === 'off' ? false : badTwoFactor(f.twoFactor),
  };
  return {
    describe,
    digest: () => null,
    async *rows(): AsyncGenerator<SourceRow<Row>> {
      let after = 0;
      for (;;) {
        let q = reader(ctx).selectFrom('users').select(['id', 'public_id']).where('id', '>', after);
        if (conds.role) q = q.where('role', '=', conds.role);
        if (conds.status) q = q.where('status', '=', conds.status);
        if (conds.lastLogin) {
          const before = conds.lastLogin;
          q = q.where((eb) => eb.or([eb('last_login_at', 'is', null), eb('last_login_at', '<', before)]));
        }
        if (conds.created) q = q.where('created_at', '<', conds.created);
        if (conds.search) q = q.where(userSearchMatches(ctx.db.dialect, conds.search));
        if (conds.twoFactor !== undefined) q = q.where('two_factor_enabled_at', conds.twoFactor ? 'is not' : 'is', null);
        const page = await q.orderBy('id').limit(1000).execute();
        for (const u of page) yield { line: null, ok: true, value: { by: 'public_id', ref: u.public_id, value } };
        if (page.length < 1000) return;
        after = Number(page[page.length - 1]!.id);
      }
    },
  };
}

function assert<T>(r: v.Result<T>): T {
  if (!r.ok) throw new UsageError(`${r.field}: ${r.message}`, { field: r.field });
  return r.value;
}

function badTwoFactor(value: string): never {
  throw new UsageError(`2fa: "${printable(value)}" is not on or off`, { field: '2fa' });
}

export interface UserBulkInput {
  verb: BulkVerb;
  /** The new value (set-role, set-status, set-timezone) with filters. */
  value?: string | undefined;
  /** A CSV file instead of filters. */
  file?: { open: () => Readable; name: string; delimiter?: string | undefined; map?: Record<string, string> | undefined; ignoreUnknown?: boolean | undefined } | undefined;
  filter?: BulkFilter | undefined;
}

/** The job for a verb, as a saved plan rebuilds it. */
export function userBulkJob(ctx: ServiceContext, verb: string): UserBulkJob {
  if (!(BULK_VERBS as readonly string[]).includes(verb)) throw new UsageError(`"${printable(verb)}" is not a bulk verb (${BULK_VERBS.join(', ')})`);
  return new UserBulkJob(ctx, verb as BulkVerb);
}

/** One change to many accounts: from a file, or from filters. */
export async function bulkUpdateUsers(ctx: ServiceContext, input: UserBulkInput, opts: BulkOptions, hooks: BulkHooks = {}): Promise<{ plan: BulkPlan; summary: BulkSummary }> {
  const job = userBulkJob(ctx, input.verb);
  const valueColumn = BULK_VALUE_COLUMN[input.verb];
  const filterGiven = input.filter !== undefined && Object.values(input.filter).some((x) => x !== undefined);
  if (input.file && filterGiven) throw new UsageError('give --file or filters, not both');
  if (!input.file && !filterGiven) throw new UsageError('name the accounts: --file FILE.csv, or filters (--where-role, --where-status, --last-login-before, --created-before, --search, --2fa)');
  let source: BulkSource<Row>;
  if (input.file) {
    if (input.value !== undefined) throw new UsageError(valueColumn ? `with --file the new ${valueColumn} comes from the file's ${valueColumn} column; leave the argument out` : `${input.verb} takes no value`, { field: valueColumn ?? 'value' });
    const known = [...BULK_ID_COLUMNS, ...(valueColumn ? [valueColumn] : [])];
    source = csvSource(input.file.open, input.file.name, { known, required: valueColumn ? [valueColumn] : [], delimiter: input.file.delimiter, map: input.file.map, ignoreUnknown: input.file.ignoreUnknown }, fileValidator(input.verb));
  } else {
    let value: string | null = null;
    if (valueColumn !== null) {
      if (input.value === undefined) throw new UsageError(`give the new ${valueColumn}: acctctl user bulk ${input.verb} <${valueColumn}> [filters]`, { field: valueColumn });
      value = assert(checkValue(input.verb, input.value, valueColumn));
    } else if (input.value !== undefined) throw new UsageError(`${input.verb} takes no value`, { field: 'value' });
    source = filterSource(ctx, input.filter!, value);
  }
  await authorizeRead(ctx, job.action, (a) => assertCan(a, input.verb === 'revoke-sessions' ? 'session.manage' : 'user.manage'));
  return runBulk(ctx, job, source, opts, hooks);
}
