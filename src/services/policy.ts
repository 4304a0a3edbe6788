/**
 * Sign-in policy: the effective settings (registry defaults overlaid with the rows of
 * `settings`), and the audited changes to them. Only values that differ from their
 * default are stored; a secret is stored sealed (src/security/secrets.ts) and never
 * leaves here in clear except through revealSetting().
 */
import type { Kysely } from 'kysely';
import type { DB } from '../db/types.js';
import { RefusedError, UsageError, ValidationError } from '../errors.js';
import { SETTINGS, settingByKey, type PolicyValues, type SettingSpec, type SettingValue } from '../policy/registry.js';
import { maskSecret, parseSetting, suggestKey, toJson } from '../policy/values.js';
import type { SecretBox } from '../security/secrets.js';
import type { PasswordPolicy } from '../security/passwords.js';
import { isoNow, type ServiceContext } from './context.js';
import { assertCan } from './permissions.js';
import { authorizeRead, mutate, reader, type MutationOutcome, type UnitOfWork } from './unit-of-work.js';
import { assertSameKey } from './secrets.js';

export type PolicyKey = keyof PolicyValues & string;

/** The effective policy: typed, read once per command. */
export class Policy {
  constructor(
    private readonly values: ReadonlyMap<string, SettingValue>,
    private readonly sealed: ReadonlyMap<string, string>,
  ) {}

  /** A setting's effective value (a secret: whether it is set, never its value). */
  get<K extends PolicyKey>(key: K): PolicyValues[K] {
    const spec = settingByKey(key)!;
    if (spec.secret) return (this.sealed.has(key) ? '••••' : null) as PolicyValues[K];
    return (this.values.has(key) ? this.values.get(key) : spec.default) as PolicyValues[K];
  }

  /** Whether the setting differs from its default (is stored). */
  isSet(key: string): boolean {
    return this.values.has(key) || this.sealed.has(key);
  }

  /** The sealed form of a secret setting, for revealSetting(). */
  sealedValue(key: string): string | undefined {
    return this.sealed.get(key);
  }

  /** Every stored key. */
  storedKeys(): string[] {
    return [...this.values.keys(), ...this.sealed.keys()].sort();
  }
}

/** One read of the settings table (rows of keys this acctctl does not know are ignored). */
export async function loadPolicy(db: Kysely<DB>): Promise<Policy> {
  const rows = await db.selectFrom('settings').select(['key', 'value', 'sealed']).execute();
  const values = new Map<string, SettingValue>();
  const sealed = new Map<string, string>();
  for (const row of rows) {
    const spec = settingByKey(row.key);
    if (!spec) continue;
    if (spec.secret) {
      if (row.sealed !== null) sealed.set(row.key, row.sealed);
    } else if (row.value !== null) {
      values.set(row.key, JSON.parse(row.value) as SettingValue);
    }
  }
  return new Policy(values, sealed);
}

/** The context's policy, read once and shared by every copy of the context. */
export async function policyOf(ctx: ServiceContext): Promise<Policy> {
  const cache = ctx.policyCache;
  if (cache?.policy) return cache.policy;
  const policy = await loadPolicy(reader(ctx));
  if (cache) cache.policy = policy;
  return policy;
}

// ---------------------------------------------------------------------------------
// Reading

export interface SettingView {
  key: string;
  section: string;
  type: SettingSpec['type'];
  /** The effective value in its JSON form (durations as text); a secret masked. */
  value: unknown;
  default: unknown;
  changed: boolean;
  secret: boolean;
  description: string;
}

function viewOf(spec: SettingSpec, policy: Policy, box?: () => SecretBox): SettingView {
  let value: unknown;
  if (spec.secret) {
    const sealed = policy.sealedValue(spec.key);
    value = sealed === undefined ? null : maskedSecret(spec.key, sealed, box);
  } else {
    value = toJson(spec, policy.get(spec.key as PolicyKey) as SettingValue);
  }
  return {
    key: spec.key, section: spec.section, type: spec.type, value, default: spec.secret ? null : toJson(spec, spec.default),
    changed: policy.isSet(spec.key), secret: spec.secret, description: spec.description,
  };
}

/** `••••xy` when the key is at hand, `••••` when it is not (reading never needs the key). */
function maskedSecret(key: string, sealed: string, box?: () => SecretBox): string {
  if (!box) return '••••';
  try {
    return maskSecret(box().open(sealed, key));
  } catch {
    return '••••';
  }
}

export function unknownKey(key: string): ValidationError {
  const near = suggestKey(key);
  return new ValidationError(key, `unknown setting${near ? ` (did you mean ${near}?)` : ''}; \`acctctl policy show\` lists them`);
}

function specOrThrow(key: string): SettingSpec {
  const spec = settingByKey(key);
  if (!spec) throw unknownKey(key);
  return spec;
}

export async function showPolicy(ctx: ServiceContext, opts: { section?: string | undefined } = {}): Promise<SettingView[]> {
  if (opts.section !== undefined && !SETTINGS.some((s) => s.section === opts.section)) {
    const sections = [...new Set(SETTINGS.map((s) => s.section))];
    throw new ValidationError('section', `unknown section "${opts.section}" (one of: ${sections.join(', ')})`);
  }
  await authorizeRead(ctx, 'policy.show', (a) => assertCan(a, 'policy.read'));
  const policy = await policyOf(ctx);
  return SETTINGS.filter((s) => opts.section === undefined || s.section === opts.section).map((s) => viewOf(s, policy, ctx.secretBox));
}

export async function getSetting(ctx: ServiceContext, key: string): Promise<SettingView> {
  const spec = specOrThrow(key);
  await authorizeRead(ctx, 'policy.get', (a) => assertCan(a, 'policy.read'));
  const policy = await policyOf(ctx);
  const sealed = spec.secret ? policy.sealedValue(key) : undefined;
  // Asked for one secret with a key at hand: a wrong key is an error, not a mask.
  if (sealed !== undefined && ctx.secretBox) {
    let box: SecretBox | undefined;
    try {
      box = ctx.secretBox();
    } catch {
      box = undefined; // no key at all: masked, as reading works without one
    }
    if (box) return { ...viewOf(spec, policy), value: maskSecret(box.open(sealed, key)) };
  }
  return viewOf(spec, policy, ctx.secretBox);
}

/** A secret setting in clear, for the services that use it (mail, identity providers). */
export async function revealSetting(ctx: ServiceContext, key: string): Promise<string | null> {
  const spec = specOrThrow(key);
  if (!spec.secret) throw new UsageError(`${key} is not a secret`, { field: key });
  const sealed = (await policyOf(ctx)).sealedValue(key);
  if (sealed === undefined) return null;
  if (!ctx.secretBox) throw new UsageError(`${key} is set but no secret key is configured`, { field: key });
  return ctx.secretBox().open(sealed, key);
}

// ---------------------------------------------------------------------------------
// Changing

/** One requested change, as given: text from the command line or stdin, or a JSON value from a file. */
export interface SettingInput {
  key: string;
  /** undefined: back to the default. */
  value?: unknown;
  from: 'text' | 'json';
}

interface CheckedChange {
  spec: SettingSpec;
  /** null: back to the default (the row goes). */
  value: SettingValue | null;
  reset: boolean;
}

/** Validates every change first and reports every bad key and value at once. */
const MAX_INPUTS = 1000;

export function checkChanges(inputs: SettingInput[]): CheckedChange[] {
  if (inputs.length > MAX_INPUTS) throw new ValidationError('file', `${inputs.length} settings: more than the ${MAX_INPUTS} a policy can have`);
  const errors: { field: string; message: string }[] = [];
  const out: CheckedChange[] = [];
  const seen = new Set<string>();
  for (const input of inputs) {
    const spec = settingByKey(input.key);
    if (!spec) {
      const e = unknownKey(input.key);
      errors.push({ field: input.key, message: e.message.replace(/^[^:]*: /, '') });
      continue;
    }
    if (seen.has(spec.key)) {
      errors.push({ field: spec.key, message: 'given twice' });
      continue;
    }
    seen.add(spec.key);
    if (input.value === undefined) {
      out.push({ spec, value: null, reset: true });
      continue;
    }
    const r = parseSetting(spec, input.value, input.from);
    if (!r.ok) errors.push({ field: r.field, message: r.message });
    else out.push({ spec, value: r.value, reset: false });
  }
  if (errors.length > 0) throw new ValidationError(errors);
  return out;
}

export interface SettingChange {
  key: string;
  before: unknown;
  after: unknown;
  /** back to the default */
  reset: boolean;
  secret: boolean;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** What a set of changes would do to the stored policy: only real changes. */
function planChanges(policy: Policy, changes: CheckedChange[], box?: () => SecretBox): SettingChange[] {
  const plan: SettingChange[] = [];
  for (const c of changes) {
    const { spec } = c;
    if (spec.secret) {
      const sealed = policy.sealedValue(spec.key);
      const target = c.reset ? null : c.value;
      if (sealed === undefined && target === null) continue;
      if (sealed !== undefined && target !== null && box) {
        try {
          if (box().open(sealed, spec.key) === target) continue;
        } catch {
          /* unreadable: setting it again is a change */
        }
      }
      plan.push({ key: spec.key, before: sealed === undefined ? null : 'set', after: target === null ? null : 'changed', reset: target === null, secret: true });
      continue;
    }
    const before = policy.get(spec.key as PolicyKey) as SettingValue;
    const after = (c.reset ? spec.default : c.value) as SettingValue;
    if (same(before, after)) continue;
    plan.push({ key: spec.key, before: toJson(spec, before), after: toJson(spec, after), reset: same(after, spec.default), secret: false });
  }
  return plan;
}

/** The sign-in paths a policy leaves open, and whether a change closes one or turns 2FA on. */
export function confirmationReasons(plan: SettingChange[]): string[] {
  const reasons: string[] = [];
  for (const c of plan) {
    if (c.key.startsWith('signin.') && c.before === true && c.after === false) reasons.push(`${c.key} off removes a sign-in path`);
    if ((c.key === 'security.enforce_admin_2fa' || c.key === 'security.enforce_2fa') && c.before === false && c.after === true) {
      reasons.push(`${c.key} on: users without 2FA must enrol at their next sign-in`);
    }
  }
  return reasons;
}

type Effective = (key: PolicyKey) => unknown;

/**
 * Password sign-in (email or username) cannot be switched off unless third-party
 * sign-in is on and an active admin has a linked identity at a provider that allows
 * login. Identity providers arrive with `acctctl idp`; until then no admin can have one.
 */
async function assertKeepsSignInPath(uow: UnitOfWork, next: Effective): Promise<void> {
  if (next('signin.email') || next('signin.username')) return;
  if (!next('signin.third_party')) {
    throw new RefusedError('refusing to switch off both email and username sign-in: no way to sign in would remain (turn signin.third_party on and link an admin to an identity provider first)');
  }
  const linkedAdmins = await countAdminsWithLoginIdentity(uow.trx);
  if (linkedAdmins === 0) {
    throw new RefusedError('refusing to switch off both email and username sign-in: no active admin has a linked identity at a provider that allows login');
  }
}

/** Active admins with an identity link at a login-enabled provider (none before identity providers exist). */
async function countAdminsWithLoginIdentity(_db: Kysely<DB>): Promise<number> {
  return 0;
}

async function writeSetting(uow: UnitOfWork, spec: SettingSpec, after: SettingValue | null, policy: Policy): Promise<void> {
  const { trx, ctx } = uow;
  const atDefault = after === null || (!spec.secret && same(after, spec.default));
  await trx.deleteFrom('settings').where('key', '=', spec.key).execute();
  if (!atDefault) {
    const row = spec.secret
      ? { key: spec.key, value: null, sealed: await sealWith(uow, spec.key, String(after)) }
      : { key: spec.key, value: JSON.stringify(after), sealed: null };
    await trx.insertInto('settings').values({ ...row, updated_at: isoNow(ctx), updated_by: uow.actor.label }).execute();
  }
  const target = { type: 'setting', id: spec.key, label: spec.key };
  const changes = spec.secret
    ? { value: { before: policy.isSet(spec.key) ? 'set' : null, after: atDefault ? null : 'changed' } }
    : { value: { before: toJson(spec, policy.get(spec.key as PolicyKey) as SettingValue), after: toJson(spec, atDefault ? spec.default : after) } };
  await uow.record(atDefault ? 'policy.unset' : 'policy.set', target, changes);
}

/** Seals under the key as it is now (read again under the lock) and the one the stored secrets use. */
export async function sealWith(uow: UnitOfWork, key: string, plain: string): Promise<string> {
  const { ctx } = uow;
  if (!ctx.secretBox) throw new UsageError(`${key} is a secret and no secret key is configured (ACCTCTL_SECRET_KEY, --secret-key-file, or the key file beside the database)`, { field: key });
  const box = ctx.secretBox({ fresh: true });
  await assertSameKey(uow.trx, box);
  return box.seal(plain, key);
}

export interface PolicyChangeResult {
  changes: SettingChange[];
}

/** Applies checked changes in the caller's unit: the safety rules on the result, then one entry per changed key. */
export async function applyChangesTx(uow: UnitOfWork, changes: CheckedChange[]): Promise<PolicyChangeResult> {
  assertCan(uow.actor, 'policy.write');
  const policy = await loadPolicy(uow.trx);
  const plan = planChanges(policy, changes, uow.ctx.secretBox);
  const planned = new Map(plan.map((p) => [p.key, p]));
  const next: Effective = (key) => {
    const p = planned.get(key);
    const spec = settingByKey(key)!;
    return p === undefined ? policy.get(key) : p.after === null ? spec.default : parseBack(spec, p.after);
  };
  await assertKeepsSignInPath(uow, next);
  for (const c of changes) {
    if (!planned.has(c.spec.key)) continue;
    await writeSetting(uow, c.spec, c.reset ? null : c.value, policy);
  }
  return { changes: plan };
}

function parseBack(spec: SettingSpec, json: unknown): SettingValue {
  const r = parseSetting(spec, json, 'json');
  return r.ok ? r.value : spec.default;
}

/** `policy set` / `policy unset`: several keys, one transaction, one entry per changed key. */
export async function setPolicy(ctx: ServiceContext, inputs: SettingInput[]): Promise<MutationOutcome<PolicyChangeResult>> {
  if (inputs.length === 0) throw new UsageError('nothing to change: give at least one key');
  const changes = checkChanges(inputs);
  return afterChange(ctx, mutate(ctx, inputs.every((i) => i.value === undefined) ? 'policy.unset' : 'policy.set', (uow) => {
    uow.about({ type: 'setting', id: changes.map((c) => c.spec.key).join(','), label: changes.map((c) => c.spec.key).join(', ') });
    return applyChangesTx(uow, changes);
  }));
}

/** The context's cached policy is stale once a change ran (committed or not). */
export async function afterChange<T>(ctx: ServiceContext, run: Promise<T>): Promise<T> {
  try {
    return await run;
  } finally {
    ctx.policyCache.policy = undefined;
  }
}

/** What setting these values would change, without changing anything (for confirmation and `policy diff`). */
export async function previewPolicy(ctx: ServiceContext, inputs: SettingInput[], opts: { forChange?: boolean } = {}): Promise<{ changes: SettingChange[]; confirm: string[] }> {
  // Before a change: the change's permission, refused (and audited as that change) before any question.
  if (opts.forChange) await authorizeRead(ctx, 'policy.set', (a) => assertCan(a, 'policy.write'));
  else await authorizeRead(ctx, 'policy.diff', (a) => assertCan(a, 'policy.read'));
  if (inputs.length > MAX_INPUTS) throw new ValidationError('file', `${inputs.length} settings: more than the ${MAX_INPUTS} a policy can have`);
  const changes = checkChanges(inputs);
  const policy = await policyOf(ctx);
  const plan = planChanges(policy, changes, ctx.secretBox);
  return { changes: plan, confirm: confirmationReasons(plan) };
}

// ---------------------------------------------------------------------------------
// Export and import

export const EXPORT_FORMAT = 'acctctl-policy/1';

export interface PolicyDocument {
  format: string;
  settings: Record<string, unknown>;
}

/** Every setting's effective value, keys sorted, secrets masked unless asked: stable, so it diffs well. */
export async function exportPolicy(ctx: ServiceContext, opts: { includeSecrets?: boolean } = {}): Promise<PolicyDocument> {
  await authorizeRead(ctx, 'policy.export', (a) => assertCan(a, opts.includeSecrets ? 'policy.write' : 'policy.read'));
  const policy = await policyOf(ctx);
  const settings: Record<string, unknown> = {};
  for (const spec of [...SETTINGS].sort((a, b) => (a.key < b.key ? -1 : 1))) {
    if (spec.secret) {
      const sealed = policy.sealedValue(spec.key);
      if (sealed === undefined) settings[spec.key] = null;
      else if (opts.includeSecrets) {
        if (!ctx.secretBox) throw new UsageError('--include-secrets needs the secret key', { field: 'include-secrets' });
        settings[spec.key] = ctx.secretBox().open(sealed, spec.key);
      } else settings[spec.key] = maskedSecret(spec.key, sealed, ctx.secretBox);
    } else settings[spec.key] = toJson(spec, policy.get(spec.key as PolicyKey) as SettingValue);
  }
  return { format: EXPORT_FORMAT, settings };
}

const MASKED = /^••••/;

/** A document's changes as inputs: a masked secret means "leave it"; with prune, absent keys go back to their default. */
export function documentInputs(doc: unknown, opts: { prune?: boolean } = {}): SettingInput[] {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new ValidationError('file', 'is not a JSON object');
  const d = doc as Record<string, unknown>;
  if (d.format !== undefined && d.format !== EXPORT_FORMAT) throw new ValidationError('format', `"${String(d.format)}" is not ${EXPORT_FORMAT}`);
  const settings = d.settings ?? (d.format === undefined ? d : undefined);
  if (typeof settings !== 'object' || settings === null || Array.isArray(settings)) throw new ValidationError('settings', 'must be an object of key: value');
  const inputs: SettingInput[] = [];
  for (const [key, value] of Object.entries(settings as Record<string, unknown>)) {
    const spec = settingByKey(key);
    if (spec?.secret && typeof value === 'string' && MASKED.test(value)) continue;
    inputs.push(value === null ? { key, from: 'json' } : { key, value, from: 'json' });
  }
  if (opts.prune) {
    const given = new Set(Object.keys(settings as Record<string, unknown>));
    for (const spec of SETTINGS) if (!given.has(spec.key)) inputs.push({ key: spec.key, from: 'json' });
  }
  return inputs;
}

/** `policy import`: the whole file checked first, then applied in one transaction. */
export async function importPolicy(ctx: ServiceContext, doc: unknown, opts: { prune?: boolean } = {}): Promise<MutationOutcome<PolicyChangeResult>> {
  const changes = checkChanges(documentInputs(doc, opts));
  return afterChange(ctx, mutate(ctx, 'policy.import', (uow) => {
    uow.about({ type: 'policy', id: 'import', label: 'policy import' });
    return applyChangesTx(uow, changes);
  }));
}

// ---------------------------------------------------------------------------------
// policy check

export interface Finding {
  level: 'error' | 'warning' | 'info';
  code: string;
  message: string;
  fix: string;
}

const THIRTY_DAYS = 30 * 86_400;

/** A lint of the live configuration and the accounts it governs. */
export async function checkPolicy(ctx: ServiceContext): Promise<Finding[]> {
  await authorizeRead(ctx, 'policy.check', (a) => assertCan(a, 'policy.read'));
  const p = await policyOf(ctx);
  const db = reader(ctx);
  const out: Finding[] = [];
  const add = (level: Finding['level'], code: string, message: string, fix: string) => out.push({ level, code, message, fix });

  const smtp = p.get('smtp.host') !== null && p.get('smtp.from') !== null;
  const mailNeeded = p.get('registration.email_verification') || p.get('registration.public');
  if (p.get('registration.public') && !p.get('registration.email_verification')) {
    add('error', 'open-registration-unverified', 'public registration is open without email verification: anyone can sign up with any address', 'acctctl policy set registration.email_verification true');
  }
  if (!smtp) {
    add(mailNeeded ? 'warning' : 'info', 'smtp-unset', 'SMTP is not configured (smtp.host and smtp.from): verification, invitation and reset emails stay queued', 'acctctl policy set smtp.host HOST smtp.from "Name <addr>" (and smtp.password --stdin)');
  }
  const admins = await db.selectFrom('users').select(['two_factor_enabled_at', 'password_hash']).where('role', '=', 'admin').where('status', '=', 'active').execute();
  const without2fa = admins.filter((a) => a.two_factor_enabled_at === null).length;
  if (!p.get('security.enforce_admin_2fa') && !p.get('security.enforce_2fa') && without2fa > 0) {
    add('warning', 'admin-2fa-not-enforced', `2FA is not enforced for admins, and ${without2fa} active admin(s) have none`, 'acctctl policy set security.enforce_admin_2fa true');
  }
  const paths = (['signin.email', 'signin.username', 'signin.third_party'] as const).filter((k) => p.get(k));
  if (paths.length === 1) add('info', 'single-signin-path', `admins can sign in one way only (${paths[0]})`, 'enable a second sign-in method, e.g. an identity provider');
  const usable = admins.filter((a) => a.password_hash !== null).length;
  if (usable <= 1) add('warning', 'single-admin', `${usable} active admin can sign in: losing that account locks everyone out`, 'acctctl user create --email … --role admin --generate-password');
  if (p.get('security.lockout_threshold') === 0) add('warning', 'lockout-disabled', 'failed sign-ins never lock an account (password guessing is unthrottled)', 'acctctl policy set security.lockout_threshold 5');
  const base = p.get('app.base_url');
  if (base === null) add(mailNeeded ? 'warning' : 'info', 'base-url-unset', 'app.base_url is unset: emailed links cannot be built', 'acctctl policy set app.base_url https://accounts.example.com');
  else if (!/^https:\/\//i.test(String(base))) add(mailNeeded ? 'error' : 'warning', 'base-url-not-https', `app.base_url ${String(base)} is not https: emailed tokens would travel in clear`, 'acctctl policy set app.base_url https://…');
  if (Number(p.get('security.session_lifetime')) > THIRTY_DAYS) {
    add('warning', 'long-sessions', 'sessions last longer than 30 days', 'acctctl policy set security.session_lifetime 14d');
  }
  return out;
}

/** The password rules in force: the stored policy, under the context's overrides (ACCTCTL_BCRYPT_COST). */
export async function passwordPolicyOf(ctx: ServiceContext): Promise<PasswordPolicy> {
  const p = await policyOf(ctx);
  return {
    minLength: ctx.passwordPolicy?.minLength ?? p.get('password.min_length'),
    bcryptCost: ctx.passwordPolicy?.bcryptCost ?? p.get('password.bcrypt_cost'),
    blockCommon: ctx.passwordPolicy?.blockCommon ?? p.get('password.block_common'),
  };
}
