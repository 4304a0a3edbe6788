import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import type { FactoryRef } from '../../main.js';
import { pagingOptions } from '../shared.js';

export interface AuditListOptions {
  actor?: string | undefined;
  action?: string | undefined;
  target?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
  limit: number;
  cursor?: string | undefined;
  all?: boolean | undefined;
}

export function registerList(audit: Command, f: FactoryRef): void {
  const list = audit
    .command('list')
    .description('List audit entries, newest first.')
    // --actor here filters; the global --actor (who acts) must come before "audit".
    .option('--actor <who>', 'entries by this actor (email, public id or user@host)')
    .option('--action <action>', 'an action (user.suspend) or a group (user)')
    .option('--target <target>', 'entries about this target (public id or email)')
    .option('--since <time>', 'at or after this ISO date/time')
    .option('--until <time>', 'before this ISO date/time');
  for (const o of pagingOptions()) list.addOption(o);
  list
    .addHelpText(
      'after',
      `
Examples:
  $ acctctl audit list --target bob@example.com
  $ acctctl audit list --action user --since 2026-11-01 -o json | jq '.items[] | select(.outcome == "refused")'
  $ acctctl audit list --all -o ndjson > audit.ndjson`,
    )
    .action((opts: AuditListOptions) => f().run('audit list', opts, runList));
}

export async function runList(f: Factory, opts: AuditListOptions): Promise<void> {
  const { listAudit, iterateAudit } = await import('../../core.js');
  const { AUDIT_LIST } = await import('./render.js');
  const { outputListing } = await import('../shared.js');
  const ctx = await f.context({ mode: 'read' });
  const filter = { actor: opts.actor, action: opts.action, target: opts.target, since: opts.since, until: opts.until, limit: opts.limit, cursor: opts.cursor };
  await outputListing(f, opts.all, AUDIT_LIST, () => listAudit(ctx, filter), () => iterateAudit(ctx, { ...filter, limit: undefined }));
}

