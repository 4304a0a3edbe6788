import type { Database } from '../db/connect.js';
import { DEFAULT_PASSWORD_POLICY, type PasswordPolicy } from '../security/passwords.js';

/** Who acts: the local operator (full rights) or a platform user named by --actor. */
export type ActorSpec = { kind: 'operator'; label: string } | { kind: 'user'; ref: string };

/** Everything a service needs; no console, no process, no prompt. */
export interface ServiceContext {
  db: Database;
  now: () => Date;
  actor: ActorSpec;
  /** The first field of SSH_CLIENT when set, else 'local'. */
  actorIp: string;
  reason?: string | undefined;
  /** Run every check and compute every change, then roll back. */
  dryRun: boolean;
  passwordPolicy: PasswordPolicy;
}

export function makeContext(db: Database, overrides: Partial<Omit<ServiceContext, 'db'>> = {}): ServiceContext {
  return {
    db,
    now: overrides.now ?? (() => new Date()),
    actor: overrides.actor ?? { kind: 'operator', label: 'library' },
    actorIp: overrides.actorIp ?? 'local',
    reason: overrides.reason,
    dryRun: overrides.dryRun ?? false,
    passwordPolicy: overrides.passwordPolicy ?? DEFAULT_PASSWORD_POLICY,
  };
}

/** ISO-8601 UTC with milliseconds: the one time format stored on both engines. */
export function isoNow(ctx: Pick<ServiceContext, 'now'>): string {
  return ctx.now().toISOString();
}
