/**
 * `user import`: accounts from CSV through the bulk engine. A row whose email exists
 * and whose values equal the account's is a no-op; one that differs is refused unless
 * --update-existing (only the columns present) or --skip-existing. Passwords are
 * compared with what the import set (a fingerprint kept on the account), so a password
 * changed or re-hashed since is neither a difference nor overwritten (unless
 * --reset-passwords): re-running the same file changes nothing and writes no entry.
 *
 * Creates go in multi-row inserts with their entries appended in one go; plaintext
 * passwords are hashed outside the transaction, in parallel on the thread pool.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Kysely } from 'kysely';
import type { DB, UserRow } from '../db/types.js';
import { insertMany } from '../db/bulk-insert.js';
import { PermissionError, RefusedError, UsageError } from '../errors.js';
import type { Role, UserStatus } from '../domain/enums.js';
import type { ValidatedUser } from '../domain/user-input.js';
import { hashPassword, validNewPassword, verifyPassword, type PasswordPolicy } from '../security/passwords.js';
import { newPublicId } from '../security/tokens.js';
import { csvSource, type CsvHeader } from '../bulk/csv.js';
import { LineSet } from '../bulk/line-set.js';
import { runBulk, type ApplyResult, type BulkHooks, type BulkJob, type BulkOptions, type BulkPlan, type BulkRun, type BulkSummary, type PlanItem, type RefusedRow } from '../bulk/engine.js';
import { USER_IMPORT_COLUMNS, validateUserRow, type RowError, type ValidUserRow } from '../bulk/rows.js';
import type { Changes } from './audit.js';
import { isoNow, type ServiceContext } from './context.js';
import { assertCan, type Actor } from './permissions.js';
import { passwordPolicyOf } from './policy.js';
import { authorizeRead, type UnitOfWork } from './unit-of-work.js';
import { AdminTally, accessOf, rowVersion, staleTargets } from './bulk-rules.js';
import { assertCanTouch, searchTextOf, updateUserTx, userTarget, type UserChange } from './users.js';
import { normalizeEmail, printable } from './validate.js';

export interface ImportOptions {
  /** Existing accounts that differ get the file's values (the columns present). */
  updateExisting?: boolean | undefined;
  /** Existing accounts that differ are left alone (counted as skipped). */
  skipExisting?: boolean | undefined;
  /** Passwords in the file replace the accounts' current ones, even if changed since. */
  resetPasswords?: boolean | undefined;
}

/** What an import remembers of a password it set: never the password, never a fast hash of it. */
export function passwordFingerprint(hash: string): string {
  return `h:${createHash('sha256').update(hash).digest('hex')}`;
}

/** The password the account has is not the one an import set (changed or re-hashed since). */
function changedSinceImport(u: Pick<UserRow, 'import_fingerprint' | 'password_hash'>): boolean {
  return u.import_fingerprint !== null && (u.password_hash === null || u.import_fingerprint !== passwordFingerprint(u.password_hash));
}

const FIELD_COLUMNS = ['username', 'display_name', 'phone', 'address', 'timezone', 'language', 'preferences'] as const;
const CSV_OF: Record<string, string> = { display_name: 'name' };

interface CreateData {
  fields: ValidatedUser & { email: string };
  role: Role;
  super_admin: 0 | 1;
  status: UserStatus;
  password_hash?: string | undefined;
  password_sealed?: string | undefined;
  /** 'set' (plaintext in the file) or 'imported' (a hash). */
  password_source?: 'set' | 'imported' | undefined;
  /** A time, or 'now'; absent: unverified. */
  email_verified_at?: string | null | undefined;
}

interface UpdateData {
  fields: ValidatedUser;
  role?: Role | undefined;
  super_admin?: 0 | 1 | undefined;
  status?: UserStatus | undefined;
  password_hash?: string | undefined;
  password_sealed?: string | undefined;
  email_verified_at?: string | null | undefined;
}

/**
 * Per-row validation for the import, on top of the schema's: the password policy for
 * plaintext passwords, and an email or username given twice in the file.
 */
function importValidator(policy: PasswordPolicy): (row: import('../bulk/csv.js').CsvRow) => Promise<{ ok: true; value: ValidUserRow } | { ok: false; errors: RowError[] }> {
  // Lines by key, compactly: a file of millions of rows must not hold millions of strings.
  const emails = new LineSet();
  const usernames = new LineSet();
  return async (row) => {
    const r = validateUserRow(row);
    const errors: RowError[] = r.ok ? [] : [...r.errors];
    const email = row.values.email;
    if (email) {
      const first = emails.firstLine(normalizeEmail(email), row.line);
      if (first !== undefined) errors.push({ line: row.line, column: 'email', message: `${printable(email)} is already on line ${first}` });
    }
    const username = row.values.username;
    if (username) {
      const first = usernames.firstLine(username.normalize('NFC').toLowerCase(), row.line);
      if (first !== undefined) errors.push({ line: row.line, column: 'username', message: `${printable(username)} is already on line ${first}` });
    }
    if (row.values.password) {
      const p = await validNewPassword(row.values.password, policy, 'password');
      if (!p.ok) errors.push({ line: row.line, column: 'password', message: p.message });
    }
    return errors.length > 0 || !r.ok ? { ok: false, errors } : r;
  };
}

function chunks<T>(xs: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}

async function usersByEmail(db: Kysely<DB>, emails: string[]): Promise<Map<string, UserRow>> {
  const map = new Map<string, UserRow>();
  for (const part of chunks(emails, 500)) {
    if (part.length === 0) continue;
    for (const u of await db.selectFrom('users').selectAll().where('email_normalized', 'in', part).execute()) map.set(u.email_normalized, u);
  }
  return map;
}

async function usernameOwners(db: Kysely<DB>, usernames: string[]): Promise<Map<string, { id: number; email_normalized: string }>> {
  const map = new Map<string, { id: number; email_normalized: string }>();
  for (const part of chunks(usernames, 500)) {
    if (part.length === 0) continue;
    const rows = await db.selectFrom('users').select(['id', 'username_normalized', 'email_normalized']).where('username_normalized', 'in', part).execute();
    for (const u of rows) map.set(u.username_normalized!, { id: Number(u.id), email_normalized: u.email_normalized });
  }
  return map;
}

const show = (v: unknown) => (v === null || v === undefined ? '∅' : typeof v === 'string' ? v.slice(0, 60) : JSON.stringify(v));

const USER_COLUMNS = {
  public_id: 'text', username: 'text', username_normalized: 'text', email: 'text', email_normalized: 'text', display_name: 'text', phone: 'text',
  address: 'text', timezone: 'text', language: 'text', preferences: 'text', role: 'text', super_admin: 'int', status: 'text', password_hash: 'text',
  password_changed_at: 'text', import_fingerprint: 'text', created_at: 'text', updated_at: 'text', search_text: 'text', email_verified_at: 'text',
} as const;

export class UserImportJob implements BulkJob<ValidUserRow> {
  readonly action = 'user.import';
  readonly idle = ['noop', 'skip'] as const;
  readonly options: Record<string, unknown>;
  readonly #tally = new AdminTally();

  constructor(
    readonly ctx: ServiceContext,
    readonly opts: ImportOptions,
    readonly policy: PasswordPolicy,
  ) {
    if (opts.updateExisting && opts.skipExisting) throw new UsageError('give --update-existing or --skip-existing, not both', { field: 'update-existing' });
    this.options = { update_existing: Boolean(opts.updateExisting), skip_existing: Boolean(opts.skipExisting), reset_passwords: Boolean(opts.resetPasswords) };
  }

  async resolve(db: Kysely<DB>, actor: Actor, rows: { line: number | null; value: ValidUserRow }[], run: BulkRun): Promise<(PlanItem | RefusedRow)[]> {
    const existing = await usersByEmail(db, rows.map((r) => normalizeEmail(r.value.fields.email)));
    const owners = await usernameOwners(db, rows.flatMap((r) => (r.value.fields.username ? [r.value.fields.username.toLowerCase()] : [])));
    // Plaintext compared with an existing account's hash: in parallel, on the thread pool.
    const matches = await Promise.all(rows.map(async ({ value: v }) => {
      const u = existing.get(normalizeEmail(v.fields.email));
      if (!u || v.password === undefined || u.password_hash === null || (changedSinceImport(u) && !this.opts.resetPasswords)) return undefined;
      return verifyPassword(v.password, u.password_hash);
    }));
    return Promise.all(rows.map(async ({ line, value: v }, i) => {
      const u = existing.get(normalizeEmail(v.fields.email));
      const refuse = (column: string, reason: string): RefusedRow => ({ line, column, target: v.fields.email, reason });
      const owner = v.fields.username ? owners.get(v.fields.username.toLowerCase()) : undefined;
      if (owner && owner.email_normalized !== normalizeEmail(v.fields.email)) return refuse('username', `${printable(v.fields.username!)} is already used by user ${owner.id}`);
      const item = u ? this.#resolveExisting(actor, line, v, u, matches[i], refuse) : this.#resolveNew(actor, line, v, refuse);
      if (!('op' in item) || v.password === undefined || (item.op !== 'create' && item.op !== 'update')) return item;
      const data = item.data as { password_hash?: string; password_sealed?: string };
      if (item.op === 'update' && data.password_sealed === undefined) return item;
      // A saved plan outlives the process: it holds the hash, never the password.
      if (run.persistent) {
        data.password_hash = await hashPassword(v.password, this.policy.bcryptCost);
        delete data.password_sealed;
      } else data.password_sealed = run.seal(v.password);
      return item;
    }));
  }

  #resolveNew(actor: Actor, line: number | null, v: ValidUserRow, refuse: (c: string, r: string) => RefusedRow): PlanItem | RefusedRow {
    const role = v.fields.role ?? 'user';
    const superAdmin = v.fields.super_admin === 1 ? 1 : 0;
    try {
      assertCanTouch(actor, { super_admin: superAdmin, email: v.fields.email });
    } catch (err) {
      if (err instanceof PermissionError) return refuse(superAdmin ? 'super_admin' : 'email', err.message);
      throw err;
    }
    const hasPassword = v.password !== undefined || v.password_hash !== undefined;
    const status = v.status ?? (hasPassword ? 'active' : 'pending');
    if (status === 'active' && !hasPassword) return refuse('status', 'an active account needs a password or password_hash');
    const data: CreateData = { fields: v.fields, role, super_admin: superAdmin, status, email_verified_at: v.email_verified_at ?? null };
    if (v.password_hash !== undefined) Object.assign(data, { password_hash: v.password_hash, password_source: 'imported' });
    if (v.password !== undefined) data.password_source = 'set'; // hashed or sealed by resolve()
    this.#tally.observe(null, { role, super_admin: superAdmin, status, usable: hasPassword });
    return { line, op: 'create', target: { public_id: null, label: v.fields.email, updated_at: null }, data: data as unknown as Record<string, unknown>, summary: `${role}${superAdmin ? ' (super admin)' : ''}, ${status}` };
  }

  #resolveExisting(actor: Actor, line: number | null, v: ValidUserRow, u: UserRow, match: boolean | undefined, refuse: (c: string, r: string) => RefusedRow): PlanItem | RefusedRow {
    const target = { public_id: u.public_id, label: u.email, updated_at: u.updated_at, version: rowVersion(u) };
    const diffs: { column: string; before: unknown; after: unknown }[] = [];
    const change: UpdateData = { fields: {} };
    const present = new Set(v.present);
    if (v.fields.email !== u.email) {
      diffs.push({ column: 'email', before: u.email, after: v.fields.email });
      change.fields.email = v.fields.email;
    }
    for (const col of FIELD_COLUMNS) {
      const csv = CSV_OF[col] ?? col;
      if (!present.has(csv)) continue;
      const next = v.fields[col] ?? null;
      const now = col === 'preferences' ? u.preferences : u[col];
      if (next !== now) {
        diffs.push({ column: csv, before: now, after: next });
        (change.fields as Record<string, unknown>)[col] = next;
      }
    }
    if (present.has('role') && v.fields.role !== u.role) {
      diffs.push({ column: 'role', before: u.role, after: v.fields.role });
      change.role = v.fields.role;
    }
    if (present.has('super_admin') && v.fields.super_admin !== Number(u.super_admin)) {
      diffs.push({ column: 'super_admin', before: Number(u.super_admin) === 1, after: v.fields.super_admin === 1 });
      change.super_admin = v.fields.super_admin;
    }
    if (v.status !== undefined && v.status !== u.status) {
      diffs.push({ column: 'status', before: u.status, after: v.status });
      change.status = v.status;
    }
    // Verified or not is what counts, not when: a re-import keeps its time.
    if (v.email_verified_at !== undefined && (v.email_verified_at !== null) !== (u.email_verified_at !== null)) {
      diffs.push({ column: 'email_verified_at', before: u.email_verified_at !== null, after: v.email_verified_at !== null });
      change.email_verified_at = v.email_verified_at;
    }
    const keep = changedSinceImport(u) && !this.opts.resetPasswords;
    if (!keep && v.password_hash !== undefined && v.password_hash !== u.password_hash) {
      diffs.push({ column: 'password_hash', before: u.password_hash ? 'a hash' : null, after: 'another hash' });
      change.password_hash = v.password_hash;
    }
    if (!keep && v.password !== undefined && match !== true) {
      diffs.push({ column: 'password', before: u.password_hash ? 'a password' : null, after: 'another password' });
      change.password_sealed = ''; // marks the change; resolve() seals the password or hashes it
    }
    if (diffs.length === 0) return { line, op: 'noop', target };
    const summary = diffs.map((d) => `${d.column}: ${show(d.before)} → ${show(d.after)}`).join(', ');
    if (this.opts.skipExisting) return { line, op: 'skip', target, summary };
    if (!this.opts.updateExisting) {
      return refuse(diffs[0]!.column, `${printable(u.email)} exists and differs (${summary}); --update-existing applies the file's values, --skip-existing leaves it`);
    }
    const role = change.role ?? u.role;
    const superAdmin = role !== 'admin' ? 0 : change.super_admin ?? Number(u.super_admin);
    try {
      assertCanTouch(actor, u, superAdmin === 1);
    } catch (err) {
      if (err instanceof PermissionError) return refuse(diffs[0]!.column, err.message);
      throw err;
    }
    const after = { role, super_admin: superAdmin, status: change.status ?? u.status, usable: u.password_hash !== null || change.password_hash !== undefined || change.password_sealed !== undefined };
    if (after.status === 'active' && !after.usable) return refuse('status', `cannot activate ${printable(u.email)}: it has no way to sign in yet (give a password)`);
    this.#tally.observe(accessOf(u), after);
    return { line, op: 'update', target, data: change as unknown as Record<string, unknown>, summary };
  }

  violations(db: Kysely<DB>): Promise<string[]> {
    return this.#tally.violations(db);
  }

  async prepare(items: PlanItem[], run: BulkRun, tick: (n: number) => void): Promise<void> {
    let done = 0;
    await Promise.all(items.map(async (item) => {
      const data = item.data as { password_sealed?: string; password_hash?: string } | undefined;
      if (data?.password_sealed === undefined) return;
      data.password_hash = await hashPassword(run.unseal(data.password_sealed), this.policy.bcryptCost);
      delete data.password_sealed;
      tick(++done);
    }));
  }

  async apply(uow: UnitOfWork, items: PlanItem[]): Promise<ApplyResult[]> {
    const results: ApplyResult[] = new Array<ApplyResult>(items.length);
    const stale = new Map((await this.stale(uow.trx, items)).map((r) => [r.line, r.reason]));
    const creates: { i: number; d: CreateData }[] = [];
    const updates: number[] = [];
    items.forEach((item, i) => {
      const why = stale.get(item.line);
      if (why !== undefined) results[i] = { ok: false, reason: why };
      else if (item.op === 'create') {
        const d = item.data as unknown as CreateData;
        try {
          assertCanTouch(uow.actor, { super_admin: d.super_admin, email: d.fields.email });
          creates.push({ i, d });
        } catch (err) {
          if (!(err instanceof PermissionError)) throw err;
          results[i] = { ok: false, reason: err.message };
        }
      } else updates.push(i);
    });
    await this.#insert(uow, creates.map((c) => c.d));
    for (const c of creates) results[c.i] = { ok: true, changed: true };
    if (updates.length > 0) {
      const rows = await uow.trx.selectFrom('users').selectAll().where('public_id', 'in', updates.map((i) => items[i]!.target.public_id!)).execute();
      const byId = new Map(rows.map((r) => [r.public_id, r]));
      for (const i of updates) {
        const d = items[i]!.data as unknown as UpdateData;
        const change: UserChange = {
          fields: d.fields, role: d.role, superAdmin: d.super_admin === undefined ? undefined : d.super_admin === 1, status: d.status,
          emailVerifiedAt: d.email_verified_at === 'now' ? isoNow(uow.ctx) : d.email_verified_at,
        };
        if (d.password_hash !== undefined) change.password = { hash: d.password_hash, fingerprint: passwordFingerprint(d.password_hash) };
        try {
          await updateUserTx(uow, byId.get(items[i]!.target.public_id!)!, change, 'user.update');
          results[i] = { ok: true, changed: true };
        } catch (err) {
          if (!(err instanceof RefusedError)) throw err;
          results[i] = { ok: false, reason: err.message };
        }
      }
    }
    return results;
  }

  /** Creates in multi-row inserts, their entries in one append. */
  async #insert(uow: UnitOfWork, creates: CreateData[]): Promise<void> {
    if (creates.length === 0) return;
    const now = isoNow(uow.ctx);
    const rows = creates.map((d) => {
      const f = d.fields;
      const publicId = newPublicId('usr');
      const hash = d.password_hash ?? null;
      return {
        public_id: publicId, username: f.username ?? null, username_normalized: f.username ? f.username.toLowerCase() : null,
        email: f.email, email_normalized: normalizeEmail(f.email), display_name: f.display_name ?? null, phone: f.phone ?? null,
        address: f.address ?? null, timezone: f.timezone ?? null, language: f.language ?? null, preferences: f.preferences ?? '{}',
        role: d.role, super_admin: d.super_admin, status: d.status, password_hash: hash, password_changed_at: hash ? now : null,
        import_fingerprint: hash ? passwordFingerprint(hash) : null, created_at: now, updated_at: now,
        email_verified_at: d.email_verified_at === 'now' ? now : d.email_verified_at ?? null,
        search_text: searchTextOf({ email: f.email, username: f.username ?? null, display_name: f.display_name ?? null, public_id: publicId }),
      };
    });
    await insertMany(uow.trx, uow.ctx.db.dialect, 'users', USER_COLUMNS, rows);
    await uow.recordMany(rows.map((r, i) => {
      const changes: Changes = {};
      for (const key of ['email', 'username', 'display_name', 'phone', 'address', 'timezone', 'language', 'role', 'super_admin', 'status'] as const) {
        const value = key === 'super_admin' ? r.super_admin === 1 : r[key];
        if (value !== null) changes[key] = { after: value };
      }
      const source = creates[i]!.password_source;
      if (source) changes.password = { after: source };
      if (r.email_verified_at !== null) changes.email_verified = { after: true };
      return { action: 'user.create', target: userTarget(r), changes };
    }));
  }

  /** Items whose target is not as planned: an update's account changed, a create's email or username taken. */
  async stale(db: Kysely<DB>, items: PlanItem[]): Promise<RefusedRow[]> {
    const out: RefusedRow[] = [];
    const creates = items.filter((x) => x.op === 'create');
    const updates = items.filter((x) => x.op !== 'create');
    if (creates.length > 0) {
      const taken = await usersByEmail(db, creates.map((x) => normalizeEmail(x.target.label)));
      const owners = await usernameOwners(db, creates.flatMap((x) => {
        const u = (x.data as unknown as CreateData).fields.username;
        return u ? [u.toLowerCase()] : [];
      }));
      for (const x of creates) {
        const u = (x.data as unknown as CreateData).fields.username;
        if (taken.has(normalizeEmail(x.target.label))) out.push({ line: x.line, target: x.target.label, reason: `${printable(x.target.label)} was created since the plan was made` });
        else if (u && owners.has(u.toLowerCase())) out.push({ line: x.line, column: 'username', target: x.target.label, reason: `username ${printable(u)} was taken since the plan was made` });
      }
    }
    out.push(...(await staleTargets(db, updates)));
    return out;
  }
}

export interface ImportInput extends ImportOptions {
  /** Opens the file (called once). */
  open: () => Readable;
  /** Its name, for the plan and the bulk.run entry. */
  name: string;
  delimiter?: string | undefined;
  map?: Record<string, string> | undefined;
  ignoreUnknown?: boolean | undefined;
  onHeader?: ((h: CsvHeader) => void) | undefined;
}

/** The import job as a saved plan rebuilds it. */
export async function userImportJob(ctx: ServiceContext, opts: ImportOptions): Promise<UserImportJob> {
  return new UserImportJob(ctx, opts, await passwordPolicyOf(ctx));
}

/** Imports users from CSV: plan, confirm (hooks), apply in batches. */
export async function importUsers(ctx: ServiceContext, input: ImportInput, opts: BulkOptions, hooks: BulkHooks = {}): Promise<{ plan: BulkPlan; summary: BulkSummary }> {
  await authorizeRead(ctx, 'user.import', (a) => assertCan(a, 'user.manage'));
  const job = await userImportJob(ctx, input);
  const source = csvSource(input.open, input.name, { known: USER_IMPORT_COLUMNS, required: ['email'], delimiter: input.delimiter, map: input.map, ignoreUnknown: input.ignoreUnknown }, importValidator(job.policy), input.onHeader);
  return runBulk(ctx, job, source, opts, hooks);
}
