import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import type { FactoryRef } from '../../main.js';
import { pagingOptions } from '../shared.js';

export interface ActivityOptions {
  user: string;
  limit: number;
  cursor?: string | undefined;
  all?: boolean | undefined;
}

export function registerActivity(parent: Command, f: FactoryRef): void {
  const cmd = parent
    .command('activity')
    .description('Audit entries by a user (as actor) and about them (as target), newest first.')
    .argument('<user>', 'numeric id, public id (usr_…), email or username');
  for (const o of pagingOptions()) cmd.addOption(o);
  cmd
    .addHelpText(
      'after',
      `
Examples:
  $ acctctl user activity bob@example.com
  $ acctctl user activity bob -o json | jq '.items[] | select(.action == "user.impersonate")'
  $ acctctl user activity bob --all -o ndjson > bob-activity.ndjson`,
    )
    .action((user: string, opts: Omit<ActivityOptions, 'user'>) => f().run('user activity', { user, ...opts }, runActivity));
}

export async function runActivity(f: Factory, o: ActivityOptions): Promise<void> {
  const { listUserActivity, iterateUserActivity } = await import('../../core.js');
  const { AUDIT_LIST } = await import('../audit/render.js');
  const { outputListing } = await import('../shared.js');
  const ctx = await f.context({ mode: 'read' });
  await outputListing(f, o.all, AUDIT_LIST, () => listUserActivity(ctx, o.user, { limit: o.limit, cursor: o.cursor }), () => iterateUserActivity(ctx, o.user, { cursor: o.cursor }));
}
