import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import type { FactoryRef } from '../../main.js';

export interface ImpersonateOptions {
  user: string;
  ttl?: string | undefined;
}

export function registerImpersonate(parent: Command, f: FactoryRef): void {
  parent
    .command('impersonate')
    .description('Open a session as a user, to see what they see: the token is printed once on stdout.')
    .argument('<user>', 'numeric id, public id (usr_…), email or username')
    .option('--ttl <duration>', 'how long it lasts: 90s, 15m, 1h (default and most: the policy\'s security.impersonation_max_ttl)')
    .addHelpText(
      'after',
      `
The session is of kind "impersonation", names you as the impersonator (in
\`session list\` and in the audit log) and can be revoked with \`acctctl session revoke\`.
Only active users can be impersonated; an admin only by a super admin. The token goes
to stdout once (the session id and expiry to stderr); if stdout is closed, no session
is created.

Examples:
  $ acctctl user impersonate bob@example.com --ttl 15m --reason "ticket #4411"
  $ TOKEN=$(acctctl user impersonate bob --ttl 10m -q)
  $ acctctl user impersonate bob -o json | jq -r .token`,
    )
    .action((user: string, opts: { ttl?: string }) => f().run('user impersonate', { user, ttl: opts.ttl }, runImpersonate));
}

export async function runImpersonate(f: Factory, o: ImpersonateOptions): Promise<void> {
  const { impersonate, parseDurationInput } = await import('../../core.js');
  const { reportMutation, deliverSecret } = await import('../shared.js');
  type Imp = import('../../core.js').Impersonation;
  const ttlSeconds = o.ttl === undefined ? undefined : parseDurationInput('--ttl', o.ttl);
  const words = { done: 'Impersonating', would: 'impersonate' };
  const out = f.output;
  // The token is shown before the session commits: lost output means no session.
  const beforeCommit = async (outcome: import('../../core.js').MutationOutcome<unknown>) => {
    if (outcome.dryRun) return;
    const r = outcome.result as Imp;
    await deliverSecret(f, 'the session token', () => (out.format === 'table' ? out.value(r.token) : out.record(r, [])));
  };
  const ctx = await f.context({ beforeCommit });
  const outcome = await impersonate(ctx, o.user, { ttlSeconds });
  if (outcome.dryRun) {
    await reportMutation(f, outcome, words, ({ token: _token, ...rest }: Imp) => rest);
    return;
  }
  const r = outcome.result;
  out.info(`Impersonation session ${r.session_id}: ${r.impersonator} as ${r.user_email} (${r.user_public_id}), until ${r.expires_at}.`);
  out.info('The token is on stdout above: shown once, not stored. Revoke early with `acctctl session revoke ' + r.session_id + '`.');
}
