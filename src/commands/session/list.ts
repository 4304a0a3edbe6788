import { Option, type Command } from 'commander';
import type { Factory } from '../../factory.js';
import type { FactoryRef } from '../../main.js';
import { SESSION_KINDS } from '../../domain/enums.js';
import { pagingOptions } from '../shared.js';

/** Kept here, not imported from core: --help must not load the services. */
const STATES = ['active', 'revoked', 'expired', 'any'] as const;

export interface SessionListOptions {
  user?: string | undefined;
  state?: string | undefined;
  active?: boolean | undefined;
  allStates?: boolean | undefined;
  kind?: string | undefined;
  limit: number;
  cursor?: string | undefined;
  all?: boolean | undefined;
}

export function registerList(parent: Command, f: FactoryRef): void {
  const cmd = parent
    .command('list')
    .alias('ls')
    .description('List sessions, newest first: live ones unless --state says otherwise.')
    .option('--user <user>', 'only this user\'s sessions (id, usr_…, email or username)')
    .addOption(new Option('--state <state>', 'active (live), revoked, expired or any').choices(STATES).conflicts(['active', 'allStates']))
    .addOption(new Option('--active', 'same as --state active (the default)').conflicts('allStates'))
    .addOption(new Option('--all-states', 'same as --state any'))
    .addOption(new Option('--kind <kind>', 'only this kind').choices(SESSION_KINDS));
  for (const o of pagingOptions()) cmd.addOption(o);
  cmd
    .addHelpText(
      'after',
      `
--all is the paging flag (every page); --all-states widens the state filter.
IMPERSONATED BY names who holds an impersonation session as USER.

Examples:
  $ acctctl session list --user bob@example.com
  $ acctctl session list --kind impersonation --all-states
  $ acctctl session list --state revoked -o json | jq -r '.items[].session_id'
  $ acctctl session list --all -o ndjson > sessions.ndjson

In JSON the page is {"items": [...], "next_cursor": "…" or null}.`,
    )
    .action((opts: SessionListOptions) => f().run('session list', opts, runList));
}

export async function runList(f: Factory, opts: SessionListOptions): Promise<void> {
  const { listSessions, iterateSessions } = await import('../../core.js');
  const { SESSION_LIST } = await import('./render.js');
  const { outputListing } = await import('../shared.js');
  const ctx = await f.context({ mode: 'read' });
  const state = opts.allStates ? 'any' : opts.state ?? 'active';
  const filter = { user: opts.user, state, kind: opts.kind, limit: opts.limit, cursor: opts.cursor };
  await outputListing(f, opts.all, SESSION_LIST, () => listSessions(ctx, filter), () => iterateSessions(ctx, { ...filter, limit: undefined }));
}
