import type { Database } from '../db/connect.js';
import { DEFAULT_PASSWORD_POLICY, type PasswordPolicy } from '../security/passwords.js';
import { guardDb, type MutationOutcome } from './unit-of-work.js';

/** Who acts: the local operator (full rights) or a platform user named by --actor. */
export type ActorSpec = { kind: 'operator'; label: string } | { kind: 'user'; ref: string };

/** Everything a service needs; no console, no process, no prompt. */
export interface ServiceContext {
  db: Database;
  now: () => Date;
  actor: ActorSpec;
  /** An IP address (the first field of SSH_CLIENT), 'local', or 'invalid'. */
  actorIp: string;
  reason?: string | undefined;
  /** Run every check and compute every change, then roll back. */
  dryRun: boolean;
  passwordPolicy: PasswordPolicy;
  /**
   * Called with a mutation's outcome inside its transaction, just before it commits.
   * If it throws (say a one-time password could not be written out), nothing commits.
   */
  beforeCommit?: ((outcome: MutationOutcome<unknown>) => Promise<void>) | undefined;
}

export function makeContext(db: Database, overrides: Partial<Omit<ServiceContext, 'db'>> = {}): ServiceContext {
  return {
    db: guardDb(db),
    now: overrides.now ?? (() => new Date()),
    actor: overrides.actor ?? { kind: 'operator', label: 'library' },
    actorIp: overrides.actorIp ?? 'local',
    reason: overrides.reason,
    dryRun: overrides.dryRun ?? false,
    passwordPolicy: overrides.passwordPolicy ?? DEFAULT_PASSWORD_POLICY,
    beforeCommit: overrides.beforeCommit,
  };
}

/** ISO-8601 UTC with milliseconds: the one time format stored on both engines. */
export function isoNow(ctx: Pick<ServiceContext, 'now'>): string {
  return ctx.now().toISOString();
}
