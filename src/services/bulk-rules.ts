/**
 * Rules over a whole bulk plan: demoting, suspending or deleting many accounts at once
 * must leave an active admin who can sign in, an active super admin, and a super admin —
 * checked before anything changes (each single change checks it again when applied).
 */
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
