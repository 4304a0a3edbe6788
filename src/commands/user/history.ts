import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import type { FactoryRef } from '../../main.js';
import type { ListSpec } from '../../io/output.js';
import type { LoginHistoryView } from '../../core.js';
import { pagingOptions } from '../shared.js';

export interface HistoryOptions {
  user: string;
  failed?: boolean | undefined;
  since?: string | undefined;
  limit: number;
  cursor?: string | undefined;
  all?: boolean | undefined;
}

export const HISTORY_LIST: ListSpec<LoginHistoryView> = {
  columns: [
    { header: 'TIME', value: (h) => h.at },
    { header: 'IP', value: (h) => h.ip },
    { header: 'METHOD', value: (h) => h.method },
    { header: 'RESULT', value: (h) => h.result },
    { header: 'REASON', value: (h) => h.reason },
    { header: 'USER AGENT', value: (h) => (h.user_agent !== null && h.user_agent.length > 40 ? `${h.user_agent.slice(0, 39)}…` : h.user_agent) },
  ],
  csvFields: ['at', 'ip', 'method', 'result', 'reason', 'user_agent', 'identifier'],
};

export function registerHistory(parent: Command, f: FactoryRef): void {
  const cmd = parent
    .command('history')
    .description('A user\'s sign-in attempts, newest first: time, IP, method, result, reason, user agent.')
    .argument('<user>', 'numeric id, public id (usr_…), email or username')
    .option('--failed', 'only failed attempts')
    .option('--since <time>', 'at or after this ISO date/time');
  for (const o of pagingOptions()) cmd.addOption(o);
  cmd
    .addHelpText(
      'after',
      `
Impersonation sessions opened as the user appear with method "impersonation".

Examples:
  $ acctctl user history bob@example.com --failed
  $ acctctl user history bob --since 2026-11-01 -o json | jq -r '.items[].ip' | sort | uniq -c
  $ acctctl user history bob --all -o csv > bob-sign-ins.csv`,
    )
    .action((user: string, opts: Omit<HistoryOptions, 'user'>) => f().run('user history', { user, ...opts }, runHistory));
}

export async function runHistory(f: Factory, o: HistoryOptions): Promise<void> {
  const { listLoginHistory, iterateLoginHistory } = await import('../../core.js');
  const { outputListing } = await import('../shared.js');
  const ctx = await f.context({ mode: 'read' });
  const filter = { failed: o.failed, since: o.since, limit: o.limit, cursor: o.cursor };
  await outputListing(f, o.all, HISTORY_LIST, () => listLoginHistory(ctx, o.user, filter), () => iterateLoginHistory(ctx, o.user, { ...filter, limit: undefined }));
}
