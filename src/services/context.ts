import type { Database } from '../db/connect.js';
import type { PasswordPolicy } from '../security/passwords.js';
import type { SecretBox } from '../security/secrets.js';
import type { Policy } from './policy.js';
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
  /**
   * Overrides of the stored password policy: ACCTCTL_BCRYPT_COST for tests and seeding.
   * Everything else comes from the database (policyOf).
   */
  passwordPolicy?: Partial<PasswordPolicy> | undefined;
  /** The effective policy, read once and shared by every copy of this context. */
  policyCache: { policy?: Policy };
  /**
   * The secret key, resolved on first use (throws SecretKeyError saying where it
   * looked). `fresh` reads it again: sealing happens under the write lock, after a
   * concurrent rotation may have replaced the key.
   */
  secretBox?: ((opts?: { fresh?: boolean }) => SecretBox) | undefined;
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
    passwordPolicy: overrides.passwordPolicy,
    policyCache: overrides.policyCache ?? {},
    secretBox: overrides.secretBox,
    beforeCommit: overrides.beforeCommit,
  };
}

/** ISO-8601 UTC with milliseconds: the one time format stored on both engines. */
export function isoNow(ctx: Pick<ServiceContext, 'now'>): string {
  return ctx.now().toISOString();
}
