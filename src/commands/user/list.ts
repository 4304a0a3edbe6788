import { Option, type Command } from 'commander';
import type { Factory } from '../../factory.js';
import type { FactoryRef } from '../../main.js';
import { ROLES, USER_SORTS, USER_STATUSES } from '../../domain/enums.js';
import { pagingOptions } from '../shared.js';

export interface ListOptions {
  search?: string | undefined;
  role?: string | undefined;
  status?: string | undefined;
  '2fa'?: string | undefined;
  sort: string;
  limit: number;
  cursor?: string | undefined;
  all?: boolean | undefined;
}

export function registerList(parent: Command, f: FactoryRef): void {
  const cmd = parent
    .command('list')
    .alias('ls')
    .description('List users, newest first, a page at a time (or --all, streamed).')
    .option('--search <text>', 'match username, display name, email or public id (any case; at most 200 characters)')
    .addOption(new Option('--role <role>', 'only this role').choices(ROLES))
    .addOption(new Option('--status <status>', 'only this status').choices(USER_STATUSES))
    .addOption(new Option('--2fa <state>', 'only users with 2FA on, or off').choices(['on', 'off']))
    .addOption(new Option('--sort <order>', 'order').choices(USER_SORTS).default('newest'));
  for (const o of pagingOptions()) cmd.addOption(o);
  cmd
    .addHelpText(
      'after',
      `
Examples:
  $ acctctl user list --search example.com --role admin
  $ acctctl user list --status suspended --sort updated -o json | jq -r '.items[].email'
  $ acctctl user list --all -o ndjson > users.ndjson
  $ acctctl user list --role admin --2fa off
  $ acctctl user list --limit 100 --cursor "$NEXT" -o json

In JSON the page is {"items": [...], "next_cursor": "…" or null}; in tables the next
cursor is printed on stderr.`,
    )
    .action((opts: ListOptions) => f().run('user list', opts, runList));
}

export async function runList(f: Factory, opts: ListOptions): Promise<void> {
  const { listUsers, iterateUsers } = await import('../../core.js');
  const { USER_LIST } = await import('./render.js');
  const { outputListing } = await import('../shared.js');
  const ctx = await f.context({ mode: 'read' });
  const filter = { search: opts.search, role: opts.role, status: opts.status, twoFactor: opts['2fa'], sort: opts.sort, limit: opts.limit, cursor: opts.cursor };
  await outputListing(f, opts.all, USER_LIST, () => listUsers(ctx, filter), () => iterateUsers(ctx, { ...filter, limit: undefined }));
}
