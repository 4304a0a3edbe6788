import { Option, type Command } from 'commander';
import type { Factory } from '../factory.js';
import type { FactoryRef } from '../main.js';
import type { CleanupResult } from '../core.js';
import { intOption } from './shared.js';

export interface CleanupOptions {
  sessions?: boolean | undefined;
  tokens?: boolean | undefined;
  loginHistory?: boolean | undefined;
  invites?: boolean | undefined;
  all?: boolean | undefined;
  batchSize?: number | undefined;
}

export function registerCleanup(program: Command, f: FactoryRef): Command {
  return program
    .command('cleanup')
    .option('--sessions', 'sessions that ended (revoked or expired) longer ago than retention.revoked_sessions')
    .option('--tokens', 'password-reset and verification tokens used or expired more than a day ago')
    .option('--login-history', 'sign-in history older than retention.login_history')
    .option('--invites', 'mark pending invitations past their expiry as expired (they are kept)')
    .option('--all', 'all of the above (the default when no kind is named)')
    .addOption(new Option('--batch-size <n>', 'rows deleted per transaction, 1-10000 (default 2000)').argParser(intOption('--batch-size', 1, 10_000)))
    .addHelpText(
      'after',
      `
Made for cron: it never asks, prints one line on stderr (JSON on stdout with -o json:
{"sessions": n, "tokens": n, "login_history": n, "invitations": n, "dry_run": false}) and exits
non-zero only on a failure. Rows go in batches, each its own short transaction; one
audit entry (cleanup.run) records the counts of a run that deleted something. A
retention of 0 (keep forever) leaves that kind alone. --dry-run counts, changes nothing.

One run at a time: a cleanup started while another runs exits 0 at once, saying which
run holds the lock and since when. A run that was killed does not block the next one:
on PostgreSQL its lock goes with its connection; on SQLite its lease (15 minutes,
renewed between batches) runs out and the next run takes the lock over.

Examples:
  $ acctctl cleanup
  $ acctctl cleanup --dry-run -o json
  $ acctctl cleanup --sessions --tokens
  $ acctctl --db postgres://acct@db/acct cleanup --login-history -q

In a crontab (every night at 03:17; cron mails only what a failure prints):
  17 3 * * *  acctctl --db /var/lib/acctctl/acctctl.db cleanup -q`,
    )
    .action((opts: CleanupOptions) => f().run('cleanup', opts, runCleanupVerb));
}

export async function runCleanupVerb(f: Factory, o: CleanupOptions): Promise<void> {
  const { runCleanup } = await import('../core.js');
  const kinds = o.all ? [] : [o.sessions && 'sessions', o.tokens && 'tokens', o.loginHistory && 'login_history', o.invites && 'invitations'].filter((k): k is string => typeof k === 'string');
  const ctx = await f.context();
  const r = await runCleanup(ctx, { kinds, batchSize: o.batchSize, owner: `pid ${process.pid}` });
  const out = f.output;
  if (out.format !== 'table') {
    const body: Record<string, unknown> = { sessions: r.sessions, tokens: r.tokens, login_history: r.login_history, invitations: r.invitations, dry_run: r.dry_run };
    if (r.skipped) Object.assign(body, { skipped: true, locked_by: r.locked_by?.owner ?? null, locked_since: r.locked_by?.since ?? null });
    await out.record(body, []);
  }
  if (r.took_over) out.warn(`Took over the cleanup lock left by ${r.took_over.owner} (held since ${r.took_over.since}): that run stopped without releasing it.`);
  out.info(summary(r));
}

const NOUNS = { sessions: ['session', 'sessions'], tokens: ['token', 'tokens'], login_history: ['sign-in history entry', 'sign-in history entries'], invitations: ['invitation', 'invitations'] } as const;

function summary(r: CleanupResult): string {
  if (r.skipped) {
    const who = r.locked_by ? `${r.locked_by.owner}, since ${r.locked_by.since}` : 'it has just started';
    return `Cleanup skipped: another run holds the lock (${who}); nothing done.`;
  }
  const counted = r.kinds.filter((k) => k.state === 'done' && k.kind !== 'invitations').map((k) => `${k.count} ${NOUNS[k.kind][k.count === 1 ? 0 : 1]}`);
  const invites = r.invitations > 0 ? `; ${r.invitations} invitation${r.invitations === 1 ? '' : 's'} ${r.dry_run ? 'would be' : ''}${r.dry_run ? ' ' : ''}marked expired` : '';
  const kept = r.kinds.filter((k) => k.state === 'kept_forever').map((k) => `${k.kind === 'sessions' ? 'ended sessions' : 'sign-in history'} kept forever (retention.${k.kind === 'sessions' ? 'revoked_sessions' : 'login_history'} is 0)`);
  const what = counted.length === 0 ? 'nothing' : counted.join(', ');
  const note = kept.length === 0 ? '' : `; ${kept.join('; ')}`;
  return r.dry_run ? `Dry run: cleanup would delete ${what}${note}${invites}. Nothing changed.` : `Cleanup: deleted ${what}${note}${invites}.`;
}
