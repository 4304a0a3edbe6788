/**
 * The user lifecycle: create, list, show, edit, role, suspend / activate / deactivate,
 * delete — with the permission checks and the last-admin / last-super-admin rules.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import type { DB, UserRow, UserUpdate } from '../db/types.js';
import { userSearchMatches, userSearchText } from '../db/dialect.js';
import { ConflictError, PermissionError, RefusedError, UsageError, ValidationError } from '../errors.js';
import { checkPassword, generatePassword, hashPassword } from '../security/passwords.js';
import { newPublicId } from '../security/tokens.js';
import {
  authorizeRead, mutate, requireAdmin, type Actor, type AuditTarget, type Changes, type MutationBody, type MutationOutcome, type MutationScope, type Page,
} from './audit.js';
import { isoNow, type ServiceContext } from './context.js';
import { getUserRow } from './user-lookup.js';
import {
  normalizeEmail, printable, validEmail, validLanguage, validPhone, validPreferences, validRole, validStatus, validText,
  validTimezone, validUsername, type Role, type Status,
} from './validate.js';

export { findUser, getUserRow } from './user-lookup.js';

/** The public shape of a user: stable snake_case fields, never a secret. */
export interface UserView {
  id: number;
  public_id: string;
  username: string | null;
  email: string;
  display_name: string | null;
  phone: string | null;
  address: string | null;
  timezone: string | null;
  language: string | null;
  preferences: Record<string, unknown>;
  role: Role;
  super_admin: boolean;
  status: Status;
  status_reason: string | null;
  email_verified_at: string | null;
  has_password: boolean;
  two_factor_enabled: boolean;
  failed_login_count: number;
  locked_until: string | null;
  last_login_at: string | null;
  last_login_ip: string | null;
  created_at: string;
  updated_at: string;
}

export interface UserDetail extends UserView {
  active_sessions: number;
}

export function userView(row: UserRow): UserView {
  let preferences: Record<string, unknown> = {};
  try {
    preferences = JSON.parse(row.preferences) as Record<string, unknown>;
  } catch {
    /* a hand-edited row: show it as empty rather than fail the listing */
  }
  return {
    id: Number(row.id),
    public_id: row.public_id,
    username: row.username,
    email: row.email,
    display_name: row.display_name,
    phone: row.phone,
    address: row.address,
    timezone: row.timezone,
    language: row.language,
    preferences,
    role: row.role,
    super_admin: Number(row.super_admin) === 1,
    status: row.status,
    status_reason: row.status_reason,
    email_verified_at: row.email_verified_at,
    has_password: row.password_hash !== null,
    two_factor_enabled: row.two_factor_enabled_at !== null,
    failed_login_count: Number(row.failed_login_count),
    locked_until: row.locked_until,
    last_login_at: row.last_login_at,
    last_login_ip: row.last_login_ip,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

export function userTarget(row: Pick<UserRow, 'public_id' | 'email'>): AuditTarget {
  return { type: 'user', id: row.public_id, label: row.email };
}

// ---------------------------------------------------------------------------------
// Permissions and rules

/** User management needs an active admin actor (or the local operator). */
function assertCanManageUsers(actor: Actor): void {
  requireAdmin(actor);
}

/** Only super admins may touch a super admin, or make one. */
function assertCanTouch(actor: Actor, target: Pick<UserRow, 'super_admin' | 'email'>, makesSuperAdmin = false): void {
  assertCanManageUsers(actor);
  if ((Number(target.super_admin) === 1 || makesSuperAdmin) && !actor.superAdmin) {
    throw new PermissionError(`only super admins may change super admins (${target.email} is one${makesSuperAdmin && Number(target.super_admin) !== 1 ? ' after this change' : ''})`);
  }
}

interface AccessState {
  role: Role;
  super_admin: number;
  status: Status;
}

/**
 * The last active admin and the last super admin stay. `after` is the user's access
 * after the change, or null when the user is deleted. Counted under the write lock.
 */
async function assertKeepsAdmins(trx: Transaction<DB>, user: UserRow, after: AccessState | null, verb: string): Promise<void> {
  const isActiveAdmin = (s: AccessState | null) => s !== null && s.role === 'admin' && s.status === 'active';
  const isSuper = (s: AccessState | null) => s !== null && s.role === 'admin' && Number(s.super_admin) === 1;
  const before: AccessState = { role: user.role, super_admin: Number(user.super_admin), status: user.status };

  if (isActiveAdmin(before) && !isActiveAdmin(after)) {
    const n = await countAdmins(trx, { activeOnly: true });
    if (n <= 1) throw new RefusedError(`cannot ${verb} ${user.email}: it is the last active admin (make another admin first)`);
  }
  if (isSuper(before) && before.status === 'active' && !(isSuper(after) && after!.status === 'active')) {
    const n = await countAdmins(trx, { superOnly: true, activeOnly: true });
    if (n <= 1) throw new RefusedError(`cannot ${verb} ${user.email}: it is the last active super admin (make another super admin first)`);
  }
  if (isSuper(before) && !isSuper(after)) {
    const n = await countAdmins(trx, { superOnly: true });
    if (n <= 1) throw new RefusedError(`cannot ${verb} ${user.email}: it is the last super admin`);
  }
}

interface AdminCount {
  superOnly?: boolean;
  activeOnly?: boolean;
}

async function countAdmins(trx: Kysely<DB>, opts: AdminCount): Promise<number> {
  let q = trx.selectFrom('users').where('role', '=', 'admin');
  if (opts.superOnly) q = q.where('super_admin', '=', 1);
  if (opts.activeOnly) q = q.where('status', '=', 'active');
  const row = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

async function assertEmailFree(trx: Kysely<DB>, email: string, exceptId?: number): Promise<void> {
  let q = trx.selectFrom('users').select(['id', 'email']).where('email_normalized', '=', normalizeEmail(email));
  if (exceptId !== undefined) q = q.where('id', '!=', exceptId);
  const other = await q.executeTakeFirst();
  if (other) throw new ConflictError(`email ${printable(email)} is already used by user ${other.id} (${printable(other.email)})`, { field: 'email' });
}

async function assertUsernameFree(trx: Kysely<DB>, username: string, exceptId?: number): Promise<void> {
  let q = trx.selectFrom('users').select(['id']).where('username_normalized', '=', username.toLowerCase());
  if (exceptId !== undefined) q = q.where('id', '!=', exceptId);
  const other = await q.executeTakeFirst();
  if (other) throw new ConflictError(`username ${printable(username)} is already used by user ${other.id}`, { field: 'username' });
}

/** What `user list --search` matches for a user: one place decides which fields. */
function searchTextOf(u: Pick<UserRow, 'email' | 'username' | 'display_name' | 'public_id'>): string {
  return userSearchText([u.email, u.username, u.display_name, u.public_id]);
}

/** Field-by-field before/after of what changed; secrets and derived columns are never included. */
const HIDDEN_FIELDS = new Set(['password_hash', 'two_factor_secret', 'email_normalized', 'username_normalized', 'search_text', 'updated_at']);

function diff(before: UserRow, update: UserUpdate): Changes {
  const changes: Changes = {};
  for (const [key, after] of Object.entries(update)) {
    if (HIDDEN_FIELDS.has(key)) continue;
    const prev = (before as unknown as Record<string, unknown>)[key];
    if (prev !== after && !(prev == null && after == null)) changes[key] = { before: prev ?? null, after: after ?? null };
  }
  if ('password_hash' in update) changes.password = { after: 'changed' };
  return changes;
}

// ---------------------------------------------------------------------------------
// Create

export interface CreateUserInput {
  email: string;
  username?: string | undefined;
  displayName?: string | undefined;
  role?: string | undefined;
  superAdmin?: boolean | undefined;
  phone?: string | undefined;
  address?: string | undefined;
  timezone?: string | undefined;
  language?: string | undefined;
  preferences?: string | undefined;
  /** A password the operator chose. */
  password?: string | undefined;
  /** Generate one; it is returned once and never stored in clear. */
  generatePassword?: boolean | undefined;
  /** Refuse (exit 4) when a super admin already exists: `acctctl init` creates only the first. */
  firstSuperAdmin?: boolean | undefined;
}

export interface CreatedUser {
  user: UserView;
  /** Only when generated: shown once. */
  generated_password?: string;
}

interface ValidatedProfile {
  username?: string | null;
  display_name?: string | null;
  phone?: string | null;
  address?: string | null;
  timezone?: string | null;
  language?: string | null;
  preferences?: string;
}

/** Validates the optional profile fields; '' clears a field. */
function validateProfile(input: {
  username?: string | undefined; displayName?: string | undefined; phone?: string | undefined; address?: string | undefined;
  timezone?: string | undefined; language?: string | undefined; preferences?: string | undefined;
}): ValidatedProfile {
  const out: ValidatedProfile = {};
  const opt = <T>(v: string | undefined, f: (s: string) => T): T | null | undefined => (v === undefined ? undefined : v.trim() === '' ? null : f(v));
  const set = <K extends keyof ValidatedProfile>(k: K, v: ValidatedProfile[K] | undefined) => {
    if (v !== undefined) out[k] = v;
  };
  set('username', opt(input.username, (v) => validUsername(v)));
  set('display_name', opt(input.displayName, (v) => validText(v, 'name', 200)));
  set('phone', opt(input.phone, (v) => validPhone(v)));
  set('address', opt(input.address, (v) => validText(v, 'address', 500, { multiline: true })));
  set('timezone', opt(input.timezone, (v) => validTimezone(v)));
  set('language', opt(input.language, (v) => validLanguage(v)));
  if (input.preferences !== undefined) out.preferences = validPreferences(input.preferences);
  return out;
}

export async function createUser(ctx: ServiceContext, input: CreateUserInput): Promise<MutationOutcome<CreatedUser>> {
  // Validate everything before touching the database: bad input is exit 2 and not audited.
  const email = validEmail(input.email);
  const role = validRole(input.role ?? 'user');
  if (input.superAdmin && role !== 'admin') throw new ValidationError('super-admin', 'only an admin can be a super admin (use --role admin)');
  const profile = validateProfile(input);
  if (input.password !== undefined && input.generatePassword) throw new UsageError('give either a password or --generate-password, not both');
  const password = input.generatePassword ? generatePassword() : input.password;
  if (password !== undefined) checkPassword(password, ctx.passwordPolicy);
  // Hash outside the transaction: bcrypt is slow on purpose and must not hold the write lock.
  const passwordHash = password === undefined ? null : await hashPassword(password, ctx.passwordPolicy.bcryptCost);

  return mutate(ctx, 'user.create', async (trx, actor, scope) => {
    const publicId = newPublicId('usr');
    scope.target = { type: 'user', id: publicId, label: email };
    assertCanTouch(actor, { super_admin: input.superAdmin ? 1 : 0, email });
    if (input.firstSuperAdmin && (await countAdmins(trx, { superOnly: true })) > 0) {
      throw new ConflictError('a super admin already exists; create more admins with `acctctl user create --role admin`');
    }
    await assertEmailFree(trx, email);
    if (profile.username) await assertUsernameFree(trx, profile.username);
    const now = isoNow(ctx);
    const row = await trx
      .insertInto('users')
      .values({
        public_id: publicId,
        username: profile.username ?? null,
        username_normalized: profile.username ? profile.username.toLowerCase() : null,
        email,
        email_normalized: normalizeEmail(email),
        display_name: profile.display_name ?? null,
        phone: profile.phone ?? null,
        address: profile.address ?? null,
        timezone: profile.timezone ?? null,
        language: profile.language ?? null,
        preferences: profile.preferences ?? '{}',
        role,
        super_admin: input.superAdmin ? 1 : 0,
        // Without a password nobody can sign in yet: pending until one is set.
        status: passwordHash ? 'active' : 'pending',
        status_reason: null,
        email_verified_at: null,
        password_hash: passwordHash,
        password_changed_at: passwordHash ? now : null,
        two_factor_secret: null,
        two_factor_enabled_at: null,
        locked_until: null,
        last_login_at: null,
        last_login_ip: null,
        created_at: now,
        updated_at: now,
        search_text: searchTextOf({ email, username: profile.username ?? null, display_name: profile.display_name ?? null, public_id: publicId }),
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    const view = userView(row);
    const changes: Changes = {};
    for (const key of ['email', 'username', 'display_name', 'phone', 'address', 'timezone', 'language', 'role', 'super_admin', 'status'] as const) {
      if (view[key] !== null) changes[key] = { after: view[key] };
    }
    if (passwordHash) changes.password = { after: input.generatePassword ? 'generated' : 'set' };
    const result: CreatedUser = { user: view };
    if (input.generatePassword && password) result.generated_password = password;
    return { result, target: userTarget(row), changes };
  });
}

// ---------------------------------------------------------------------------------
// List

export const USER_SORTS = ['newest', 'last-login', 'updated', 'name'] as const;
export type UserSort = (typeof USER_SORTS)[number];

export interface UserFilter {
  search?: string | undefined;
  role?: string | undefined;
  status?: string | undefined;
  sort?: string | undefined;
  limit?: number | undefined;
  cursor?: string | undefined;
  /** Tuning: rows a newest-first search scans before using the index (default SEARCH_PROBE_WINDOW). */
  probeWindow?: number | undefined;
}

interface SortSpec {
  /** The sort key expression (NULL-free, so keyset comparison is total). */
  key: ReturnType<typeof sql<string>> | null;
  dir: 'asc' | 'desc';
}

const SORTS: Record<UserSort, SortSpec> = {
  newest: { key: null, dir: 'desc' },
  'last-login': { key: sql<string>`COALESCE(last_login_at, '')`, dir: 'desc' },
  updated: { key: sql<string>`updated_at`, dir: 'desc' },
  name: { key: sql<string>`COALESCE(display_name, '')`, dir: 'asc' },
};

interface Cursor {
  s: UserSort;
  k?: string;
  id: number;
}

function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

function decodeCursor(text: string, sort: UserSort): Cursor {
  try {
    const c = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as Cursor;
    if (c && c.s === sort && Number.isSafeInteger(c.id) && (c.k === undefined || typeof c.k === 'string')) return c;
  } catch {
    /* fall through */
  }
  throw new UsageError(`--cursor: not a cursor from a previous page of this listing (same --sort)`, { field: 'cursor' });
}

export const MAX_PAGE = 1000;

function validateFilter(filter: UserFilter): { sort: UserSort; limit: number } {
  const sort = (filter.sort ?? 'newest') as UserSort;
  if (!USER_SORTS.includes(sort)) throw new ValidationError('sort', `unknown sort "${printable(sort)}" (expected one of: ${USER_SORTS.join(', ')})`);
  if (filter.role !== undefined) validRole(filter.role);
  if (filter.status !== undefined) validStatus(filter.status);
  const limit = filter.limit ?? 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) throw new ValidationError('limit', `must be a whole number from 1 to ${MAX_PAGE}`);
  return { sort, limit };
}

/** How many of the next rows (newest first) a search first scans before asking the index. */
export const SEARCH_PROBE_WINDOW = 5000;

/**
 * A page of users. A search, newest first, first scans just the next few thousand rows:
 * a broad needle ("example.com") fills the page there at once, where a trigram index
 * would intersect huge posting lists. Only when the probe comes up short does the
 * index answer (a selective needle, found in milliseconds instead of a full scan).
 */
async function fetchPage(ctx: ServiceContext, filter: UserFilter, sort: UserSort, limit: number, cursor: Cursor | undefined): Promise<UserRow[]> {
  if (searchNeedle(filter) !== '' && sort === 'newest') {
    const probe = await pageQuery(ctx, filter, sort, limit, cursor, 'probe', filter.probeWindow ?? SEARCH_PROBE_WINDOW).execute();
    if (probe.length >= limit) return probe;
  }
  return pageQuery(ctx, filter, sort, limit, cursor, 'index').execute();
}

function searchNeedle(filter: UserFilter): string {
  return filter.search?.trim() ?? '';
}

function pageQuery(ctx: ServiceContext, filter: UserFilter, sort: UserSort, limit: number, cursor: Cursor | undefined, mode: 'probe' | 'index', probeWindow = 0) {
  const spec = SORTS[sort];
  const cmp = spec.dir === 'desc' ? '<' : '>';
  let q = ctx.db.kysely.selectFrom('users').selectAll();
  const needle = searchNeedle(filter);
  if (needle !== '') q = q.where(userSearchMatches(ctx.db.dialect, needle, { useIndex: mode === 'index' }));
  if (mode === 'probe') {
    // sort is newest: the window is the next rows by id after the cursor
    let window = ctx.db.kysely.selectFrom('users').select('id').orderBy('id', 'desc').limit(probeWindow);
    if (cursor) window = window.where('id', '<', cursor.id);
    q = q.where('id', 'in', window);
  }
  if (filter.role) q = q.where('role', '=', filter.role as Role);
  if (filter.status) q = q.where('status', '=', filter.status as Status);
  if (cursor) {
    if (spec.key === null) q = q.where('id', cmp, cursor.id);
    else {
      const k = cursor.k ?? '';
      const key = spec.key;
      q = q.where((eb) => eb.or([eb(key, cmp, k), eb.and([eb(key, '=', k), eb('id', cmp, cursor.id)])]));
    }
  }
  if (spec.key !== null) q = q.orderBy(spec.key, spec.dir);
  return q.orderBy('id', spec.dir).limit(limit);
}

function cursorAfter(sort: UserSort, row: UserRow): string {
  const k = sort === 'last-login' ? row.last_login_at ?? '' : sort === 'updated' ? row.updated_at : sort === 'name' ? row.display_name ?? '' : undefined;
  return encodeCursor(k === undefined ? { s: sort, id: Number(row.id) } : { s: sort, k, id: Number(row.id) });
}

/** One page, newest first by default; next_cursor continues it. */
export async function listUsers(ctx: ServiceContext, filter: UserFilter = {}): Promise<Page<UserView>> {
  const { sort, limit } = validateFilter(filter);
  const cursor = filter.cursor ? decodeCursor(filter.cursor, sort) : undefined;
  await authorizeRead(ctx, 'user.list', assertCanManageUsers);
  const rows = await fetchPage(ctx, filter, sort, limit + 1, cursor);
  const more = rows.length > limit;
  const page = rows.slice(0, limit);
  return { items: page.map(userView), next_cursor: more ? cursorAfter(sort, page[page.length - 1]!) : null };
}

/** Every matching user, fetched in keyset batches: memory stays flat however many there are. */
export async function* iterateUsers(ctx: ServiceContext, filter: UserFilter = {}, batchSize = 500): AsyncGenerator<UserView> {
  const { sort } = validateFilter({ ...filter, limit: undefined });
  let cursor = filter.cursor ? decodeCursor(filter.cursor, sort) : undefined;
  await authorizeRead(ctx, 'user.list', assertCanManageUsers);
  for (;;) {
    const rows = await fetchPage(ctx, filter, sort, batchSize, cursor);
    for (const row of rows) yield userView(row);
    if (rows.length < batchSize) return;
    cursor = decodeCursor(cursorAfter(sort, rows[rows.length - 1]!), sort);
  }
}

// ---------------------------------------------------------------------------------
// Show

export async function showUser(ctx: ServiceContext, ref: string): Promise<UserDetail> {
  await authorizeRead(ctx, 'user.show', assertCanManageUsers);
  const row = await getUserRow(ctx.db.kysely, ref);
  const now = isoNow(ctx);
  const sessions = await ctx.db.kysely
    .selectFrom('sessions')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('user_id', '=', row.id)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now)
    .executeTakeFirstOrThrow();
  return { ...userView(row), active_sessions: Number(sessions.n) };
}

// ---------------------------------------------------------------------------------
// Edit

export interface EditUserInput {
  email?: string | undefined;
  username?: string | undefined;
  displayName?: string | undefined;
  phone?: string | undefined;
  address?: string | undefined;
  timezone?: string | undefined;
  language?: string | undefined;
  preferences?: string | undefined;
}

export async function editUser(ctx: ServiceContext, ref: string, input: EditUserInput): Promise<MutationOutcome<UserView>> {
  const email = input.email === undefined ? undefined : validEmail(input.email);
  const profile = validateProfile(input);
  if (email === undefined && Object.keys(profile).length === 0) {
    throw new UsageError('nothing to change: give at least one field (--email, --username, --name, --phone, --address, --timezone, --language, --preferences)');
  }
  return mutate(ctx, 'user.edit', async (trx, actor, scope) => {
    const user = await getUserRow(trx, ref);
    scope.target = userTarget(user);
    assertCanTouch(actor, user);
    const update: UserUpdate = {};
    if (email !== undefined && email !== user.email) {
      if (normalizeEmail(email) !== user.email_normalized) {
        await assertEmailFree(trx, email, user.id);
        update.email_verified_at = null; // a new address must be verified again
      }
      update.email = email;
      update.email_normalized = normalizeEmail(email);
    }
    if (profile.username !== undefined && profile.username !== user.username) {
      if (profile.username) await assertUsernameFree(trx, profile.username, user.id);
      update.username = profile.username;
      update.username_normalized = profile.username ? profile.username.toLowerCase() : null;
    }
    for (const key of ['display_name', 'phone', 'address', 'timezone', 'language', 'preferences'] as const) {
      if (profile[key] !== undefined && profile[key] !== user[key]) (update as Record<string, unknown>)[key] = profile[key];
    }
    return applyUpdate(trx, ctx, user, update);
  });
}

/** Writes an update (if any) and returns the body for mutate(). */
async function applyUpdate(trx: Transaction<DB>, ctx: ServiceContext, user: UserRow, update: UserUpdate, extra: Changes = {}) {
  const changes = { ...diff(user, update), ...extra };
  if (Object.keys(changes).length === 0) return { result: userView(user), target: userTarget(user), changes, changed: false };
  if ('email' in update || 'username' in update || 'display_name' in update) {
    update = { ...update, search_text: searchTextOf({ ...user, ...update } as UserRow) };
  }
  const row = await trx
    .updateTable('users')
    .set({ ...update, updated_at: isoNow(ctx) })
    .where('id', '=', user.id)
    .returningAll()
    .executeTakeFirstOrThrow();
  return { result: userView(row), target: userTarget(row), changes };
}

// ---------------------------------------------------------------------------------
// Role

export async function setUserRole(ctx: ServiceContext, ref: string, roleInput: string, superAdmin?: boolean): Promise<MutationOutcome<UserView>> {
  const role = validRole(roleInput);
  if (superAdmin === true && role !== 'admin') throw new ValidationError('super-admin', 'only an admin can be a super admin');
  return mutate(ctx, 'user.role', async (trx, actor, scope) => {
    const user = await getUserRow(trx, ref);
    scope.target = userTarget(user);
    // Staying admin keeps the flag unless told otherwise; leaving admin drops it.
    const nextSuper = role !== 'admin' ? 0 : superAdmin === undefined ? Number(user.super_admin) : superAdmin ? 1 : 0;
    assertCanTouch(actor, user, nextSuper === 1);
    await assertKeepsAdmins(trx, user, { role, super_admin: nextSuper, status: user.status }, 'demote');
    return applyUpdate(trx, ctx, user, { role, super_admin: nextSuper });
  });
}

// ---------------------------------------------------------------------------------
// Status: suspend, activate, deactivate

type StatusVerb = 'suspend' | 'activate' | 'deactivate';
const VERB_STATUS: Record<StatusVerb, Status> = { suspend: 'suspended', activate: 'active', deactivate: 'deactivated' };

/**
 * Suspend and deactivate block sign-in and revoke every session; data is kept.
 * Activate re-enables the account. Asking for the status a user already has changes
 * nothing and writes no audit entry.
 */
export async function setUserStatus(ctx: ServiceContext, ref: string, verb: StatusVerb): Promise<MutationOutcome<UserView>> {
  const status = VERB_STATUS[verb];
  return mutate(ctx, `user.${verb}`, async (trx, actor, scope) => {
    const user = await getUserRow(trx, ref);
    scope.target = userTarget(user);
    assertCanTouch(actor, user);
    if (user.status === status) return { result: userView(user), target: userTarget(user), changes: {}, changed: false };
    if (verb === 'activate' && user.status === 'pending' && user.password_hash === null) {
      throw new RefusedError(`cannot activate ${user.email}: it has no password yet (set one or send a reset first)`);
    }
    await assertKeepsAdmins(trx, user, { role: user.role, super_admin: Number(user.super_admin), status }, verb);
    const extra: Changes = {};
    if (status !== 'active') {
      const revoked = await revokeUserSessions(trx, ctx, user.id);
      if (revoked > 0) extra.sessions_revoked = { after: revoked };
    }
    const update: UserUpdate = { status, status_reason: status === 'active' ? null : ctx.reason ?? null };
    if (status === 'active') {
      update.failed_login_count = 0;
      update.locked_until = null;
    }
    return applyUpdate(trx, ctx, user, update, extra);
  });
}

/** Revokes every live session of a user; returns how many. */
export async function revokeUserSessions(trx: Transaction<DB>, ctx: ServiceContext, userId: number): Promise<number> {
  const res = await trx
    .updateTable('sessions')
    .set({ revoked_at: isoNow(ctx) })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(res.numUpdatedRows);
}

// ---------------------------------------------------------------------------------
// Delete

/** Permanent. Sessions go with the user (ON DELETE CASCADE); the audit entries stay. */
export async function deleteUser(ctx: ServiceContext, ref: string): Promise<MutationOutcome<UserView>> {
  return mutate(ctx, 'user.delete', deleteBody(ref));
}

/**
 * Runs every check of a delete and rolls back, so a command can confirm before the
 * real delete without holding the write lock while a person thinks. A refusal here is
 * a refused attempt and is audited as such.
 */
export async function previewDeleteUser(ctx: ServiceContext, ref: string): Promise<MutationOutcome<UserView>> {
  return mutate({ ...ctx, dryRun: true }, 'user.delete', deleteBody(ref), { auditRefusalInDryRun: true });
}

function deleteBody(ref: string) {
  return async (trx: Transaction<DB>, actor: Actor, scope: MutationScope): Promise<MutationBody<UserView>> => {
    const user = await getUserRow(trx, ref);
    scope.target = userTarget(user);
    assertCanTouch(actor, user);
    if (actor.userId === user.id) throw new RefusedError(`cannot delete ${user.email}: an actor cannot delete itself`);
    await assertKeepsAdmins(trx, user, null, 'delete');
    await trx.deleteFrom('users').where('id', '=', user.id).execute();
    const view = userView(user);
    const changes: Changes = {};
    for (const key of ['email', 'username', 'display_name', 'role', 'super_admin', 'status'] as const) {
      if (view[key] !== null) changes[key] = { before: view[key] };
    }
    return { result: view, target: userTarget(user), changes };
  };
}
