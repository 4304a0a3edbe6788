import { Option, type Command } from 'commander';
import type { Factory } from '../../factory.js';
import { intOption } from '../shared.js';

interface ListOptions {
  search?: string;
  role?: string;
  status?: string;
  sort: string;
  limit: number;
  cursor?: string;
  all?: boolean;
}

export function registerList(parent: Command, f: Factory): void {
  parent
    .command('list')
    .alias('ls')
    .description('List users, newest first, a page at a time (or --all, streamed).')
    .option('--search <text>', 'match username, display name, email or public id (any case)')
    .addOption(new Option('--role <role>', 'only this role').choices(['admin', 'reseller', 'user']))
    .addOption(new Option('--status <status>', 'only this status').choices(['pending', 'active', 'suspended', 'deactivated']))
    .addOption(new Option('--sort <order>', 'order').choices(['newest', 'last-login', 'updated', 'name']).default('newest'))
    .option('--limit <n>', 'page size (1-1000)', intOption('--limit', 1, 1000), 50)
    .option('--cursor <cursor>', 'continue after a previous page (its next_cursor)')
    .option('--all', 'every matching user, streamed in constant memory (ignores --limit)')
    .addHelpText(
      'after',
      `
Examples:
  $ acctctl user list --search example.com --role admin
  $ acctctl user list --status suspended --sort updated -o json | jq -r '.items[].email'
  $ acctctl user list --all -o ndjson > users.ndjson
  $ acctctl user list --limit 100 --cursor "$NEXT" -o json

In JSON the page is {"items": [...], "next_cursor": "…" or null}; in tables the next
cursor is printed on stderr.`,
    )
    .action(async (opts: ListOptions) => {
      const { listUsers, iterateUsers } = await import('../../services/users.js');
      const { USER_LIST } = await import('./render.js');
      const ctx = await f.context();
      const filter = { search: opts.search, role: opts.role, status: opts.status, sort: opts.sort, limit: opts.limit, cursor: opts.cursor };
      if (opts.all) {
        await f.output.list(iterateUsers(ctx, filter), USER_LIST);
        return;
      }
      const page = await listUsers(ctx, filter);
      await f.output.list(page.items, USER_LIST, page.next_cursor);
    });
}
