/**
 * Rules over a whole bulk plan: demoting, suspending or deleting many accounts at once
 * must leave an active admin who can sign in, an active super admin, and a super admin —
 * checked before anything changes (each single change checks it again when applied).
 */
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DB, UserRow } from '../db/types.js';
import { countAdmins, canSignIn, type AccessState } from './users.js';

export function accessOf(u: UserRow): AccessState {
  return { role: u.role, super_admin: Number(u.super_admin), status: u.status, usable: canSignIn(u) };
}

const activeAdmin = (s: AccessState | null) => s !== null && s.role === 'admin' && s.status === 'active' && s.usable;
const superAdmin = (s: AccessState | null) => s !== null && s.role === 'admin' && Number(s.super_admin) === 1;
const activeSuper = (s: AccessState | null) => activeAdmin(s) && superAdmin(s);

/** Counts, over a plan, the accounts that stop (or start) holding each kind of admin access. */
export class AdminTally {
  #delta = { activeAdmin: 0, activeSuper: 0, superAdmin: 0 };
  #lost = { activeAdmin: 0, activeSuper: 0, superAdmin: 0 };

  /** One account's access before (null: created) and after (null: deleted) the plan. */
  observe(before: AccessState | null, after: AccessState | null): void {
    for (const [key, is] of [['activeAdmin', activeAdmin], ['activeSuper', activeSuper], ['superAdmin', superAdmin]] as const) {
      const d = Number(is(after)) - Number(is(before));
      this.#delta[key] += d;
      if (d < 0) this.#lost[key]++;
    }
  }

  async violations(db: Kysely<DB>): Promise<string[]> {
    const out: string[] = [];
    if (this.#lost.activeAdmin > 0 && (await countAdmins(db, { active: true })) + this.#delta.activeAdmin < 1) {
      out.push(`it would leave no active admin who can sign in (${this.#lost.activeAdmin} would stop being one); keep one, or make another admin first`);
    }
    if (this.#lost.activeSuper > 0 && (await countAdmins(db, { active: true, superOnly: true })) + this.#delta.activeSuper < 1) {
      out.push(`it would leave no active super admin who can sign in (${this.#lost.activeSuper} would stop being one)`);
    }
    if (this.#lost.superAdmin > 0 && (await countAdmins(db, { superOnly: true })) + this.#delta.superAdmin < 1) {
      out.push(`it would leave no super admin (${this.#lost.superAdmin} would stop being one)`);
    }
    return out;
  }
}

/** Sign-in bookkeeping: a sign-in between a plan and its apply does not make the plan stale. */
const VOLATILE = new Set(['last_login_at', 'last_login_ip', 'failed_login_count', 'locked_until', 'totp_last_step']);

/**
 * What a plan remembers of a target besides its updated_at: a digest of the account's
 * other columns, so a change within the same millisecond is still seen.
 */
export function rowVersion(u: UserRow): string {
  const h = createHash('sha256');
  for (const [k, v] of Object.entries(u).sort(([a], [b]) => (a < b ? -1 : 1))) if (!VOLATILE.has(k)) h.update(`${k}=${v === null ? '\0' : String(v)}\n`);
  return h.digest('hex').slice(0, 24);
}

/** Targets of an update or a bulk change that are no longer as planned. */
export async function staleTargets(db: Kysely<DB>, items: readonly { line: number | null; target: { public_id: string | null; label: string; updated_at: string | null; version?: string | undefined } }[]) {
  const out: { line: number | null; target: string; reason: string }[] = [];
  for (let i = 0; i < items.length; i += 500) {
    const part = items.slice(i, i + 500);
    if (part.length === 0) continue;
    const rows = await db.selectFrom('users').selectAll().where('public_id', 'in', part.map((x) => x.target.public_id!)).execute();
    const seen = new Map(rows.map((r) => [r.public_id, r]));
    for (const x of part) {
      const now = seen.get(x.target.public_id!);
      if (now === undefined) out.push({ line: x.line, target: x.target.label, reason: `${x.target.label} was deleted since the plan was made` });
      else if (now.updated_at !== x.target.updated_at || (x.target.version !== undefined && rowVersion(now) !== x.target.version)) {
        out.push({ line: x.line, target: x.target.label, reason: `${x.target.label} changed since the plan was made (updated ${now.updated_at})` });
      }
    }
  }
  return out;
}
