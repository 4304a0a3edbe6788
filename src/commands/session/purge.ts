import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import type { FactoryRef } from '../../main.js';

export interface SessionPurgeOptions {
  olderThan?: string | undefined;
}

export function registerPurge(parent: Command, f: FactoryRef): void {
  parent
    .command('purge')
    .description('Delete revoked and expired sessions that ended longer ago than --older-than (asks first; --yes without a terminal).')
    .option('--older-than <duration>', 'age since the session ended: 90s, 15m, 12h, 30d (default: the policy\'s retention.revoked_sessions)')
    .addHelpText(
      'after',
      `
Live sessions are never purged. A session ended when it was revoked or expired,
whichever came first. One audit entry records how many were deleted. With
retention.revoked_sessions at 0 (keep forever) nothing is purged unless
--older-than is given.

Examples:
  $ acctctl session purge --dry-run
  $ acctctl session purge --older-than 7d --yes
  $ acctctl session purge --yes -o json | jq .purged`,
    )
    .action((opts: SessionPurgeOptions) => f().run('session purge', opts, runPurge));
}

export async function runPurge(f: Factory, o: SessionPurgeOptions): Promise<void> {
  const { parseDurationInput, previewPurgeSessions, purgeSessions } = await import('../../core.js');
  const input = { olderThanSeconds: o.olderThan === undefined ? undefined : parseDurationInput('--older-than', o.olderThan) };
  const ctx = await f.context();
  const out = f.output;
  // Every check first (exit 4 before asking), then the count in the question.
  const preview = await previewPurgeSessions(ctx, input);
  const p = preview.result;
  if (p.cutoff === null) {
    if (out.format !== 'table') await out.record(p, []);
    out.info('Nothing purged: the policy keeps ended sessions forever (retention.revoked_sessions is 0); give --older-than to purge anyway.');
    return;
  }
  if (ctx.dryRun) {
    if (out.format !== 'table') await out.record({ ...p, dry_run: true }, []);
    out.info(`Dry run: would delete ${p.purged} session(s) that ended before ${p.cutoff}. Nothing changed.`);
    return;
  }
  if (p.purged > 0) await f.confirm(`Delete ${p.purged} revoked or expired session(s) that ended before ${p.cutoff}?`);
  const done = (await purgeSessions(ctx, input)).result;
  if (out.format !== 'table') await out.record(done, []);
  out.info(`Deleted ${done.purged} revoked or expired session(s) that ended before ${done.cutoff}.`);
}
