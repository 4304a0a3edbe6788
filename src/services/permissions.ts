/**
 * Who may do what. The actor is resolved inside the transaction that acts; every check
 * goes through can()/assertCan() so resellers (customers issue) extend one table.
 */
import type { Kysely, Transaction } from 'kysely';
import type { DB } from '../db/types.js';
import { NotFoundError, PermissionError } from '../errors.js';
import type { Role } from '../domain/enums.js';
import type { ActorSpec } from './context.js';
import { findUserRow } from './user-lookup.js';
import { printable } from './validate.js';

/** The acting principal, resolved inside the transaction. */
export interface Actor {
  kind: 'operator' | 'user';
  label: string;
  publicId: string | null;
  userId: number | null;
  /** null for the local operator, who has every right. */
  role: Role | null;
  superAdmin: boolean;
  status: string;
}

export async function resolveActor(db: Transaction<DB> | Kysely<DB>, spec: ActorSpec): Promise<Actor> {
  if (spec.kind === 'operator') {
    return { kind: 'operator', label: spec.label, publicId: null, userId: null, role: null, superAdmin: true, status: 'active' };
  }
  const user = await findUserRow(db, spec.ref);
  if (!user) throw new NotFoundError(`--actor: no user matches "${printable(spec.ref)}"`, { field: 'actor' });
  return {
    kind: 'user',
    label: user.email,
    publicId: user.public_id,
    userId: Number(user.id),
    role: user.role,
    superAdmin: Number(user.super_admin) === 1,
    status: user.status,
  };
}

/** An actor that is a platform user must be active to act at all. */
export function assertActorActive(actor: Actor): void {
  if (actor.kind === 'user' && actor.status !== 'active') {
    throw new PermissionError(`actor ${actor.label} is ${actor.status} and may not act`);
  }
}

/** The actions permissions are decided for. */
export type Action = 'user.read' | 'user.manage' | 'audit.read' | 'session.manage' | 'db.migrate' | 'policy.read' | 'policy.write'
  | 'session.read' | 'user.impersonate' | 'user.impersonate_admin' | 'user.export' | 'mail.read' | 'mail.send';

/** What the action is about, when that matters (a super admin target needs a super admin). */
export interface PermissionTarget {
  superAdmin?: boolean;
  label?: string;
}

/** Why the actor may not, or null when it may. */
export function denial(actor: Actor, action: Action, target: PermissionTarget = {}): string | null {
  if (actor.kind === 'operator') return null;
  switch (action) {
    case 'policy.write':
      return actor.role === 'admin' && actor.superAdmin ? null : `actor ${actor.label} is not a super admin: only super admins may change the policy`;
    case 'policy.read':
      return actor.role === 'admin' ? null : `actor ${actor.label} has role ${actor.role}: only admins may read the policy`;
    case 'db.migrate':
      return actor.role === 'admin' && actor.superAdmin && actor.status === 'active' ? null : `actor ${actor.label} is not an active super admin: only super admins may migrate the schema`;
    case 'user.read':
    case 'user.manage':
    case 'session.manage':
    case 'audit.read':
      if (actor.role !== 'admin') return `actor ${actor.label} has role ${actor.role}: only admins may do this`;
      if (target.superAdmin && action !== 'user.read' && action !== 'audit.read' && !actor.superAdmin) {
        return `only super admins may change super admins (${target.label ?? 'the target'} is or would become one)`;
      }
      return null;
    case 'user.export':
      // An export carries password hashes.
      return actor.role === 'admin' && actor.superAdmin ? null : `actor ${actor.label} is not a super admin: only super admins may export users (the export carries password hashes)`;
    case 'session.read':
      return actor.role === 'admin' ? null : `actor ${actor.label} has role ${actor.role}: only admins may see sessions`;
    case 'mail.read':
    case 'mail.send':
      return actor.role === 'admin' ? null : `actor ${actor.label} has role ${actor.role}: only admins may see or send the outbox`;
    case 'user.impersonate':
      return actor.role === 'admin' ? null : `actor ${actor.label} has role ${actor.role}: only admins may impersonate`;
    case 'user.impersonate_admin':
      // An admin's session opens every other account: only a super admin may borrow one.
      return actor.role === 'admin' && actor.superAdmin ? null : `actor ${actor.label} is not a super admin: only super admins may impersonate an admin (${target.label ?? 'the target'} is one)`;
  }
}

export function can(actor: Actor, action: Action, target: PermissionTarget = {}): boolean {
  return denial(actor, action, target) === null;
}

export function assertCan(actor: Actor, action: Action, target: PermissionTarget = {}): void {
  const why = denial(actor, action, target);
  if (why !== null) throw new PermissionError(why);
}

/** Admins (or the operator) only. */
export function requireAdmin(actor: Actor): void {
  assertCan(actor, 'user.manage');
}

/** Managing a user's own credentials: the user itself, or whoever may manage that user. */
export function assertCanManageOrSelf(actor: Actor, user: { id: number | string; super_admin: number | string; email: string }): void {
  if (actor.kind === 'user' && actor.userId === Number(user.id)) return;
  assertCan(actor, 'user.manage', { superAdmin: Number(user.super_admin) === 1, label: user.email });
}
