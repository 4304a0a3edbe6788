import type { Command } from 'commander';
import type { Factory } from '../../factory.js';

const VERBS = {
  suspend: {
    summary: 'Suspend a user: sign-in is blocked and sessions are revoked; data is kept.',
    done: 'Suspended',
    example: 'acctctl user suspend bob@example.com --reason "unpaid invoice 2026-114"',
  },
  activate: {
    summary: 'Activate a suspended, deactivated or pending user (re-enables sign-in).',
    done: 'Activated',
    example: 'acctctl user activate bob@example.com --reason "invoice paid"',
  },
  deactivate: {
    summary: 'Deactivate a user (offboarding): sign-in is blocked and sessions are revoked; data is kept.',
    done: 'Deactivated',
    example: 'acctctl user deactivate carol --reason "left the company"',
  },
} as const;

/** suspend, activate and deactivate: one shape, three verbs. */
export function registerStatusVerbs(parent: Command, f: Factory): void {
  for (const [verb, text] of Object.entries(VERBS) as [keyof typeof VERBS, (typeof VERBS)[keyof typeof VERBS]][]) {
    parent
      .command(verb)
      .description(text.summary)
      .argument('<user>', 'numeric id, public id (usr_…), email or username')
      .addHelpText(
        'after',
        `
${verb === 'activate' ? '' : 'The last active admin and the last active super admin cannot be ' + text.done.toLowerCase() + '.\n'}
Example:
  $ ${text.example}`,
      )
      .action(async (ref: string) => {
        const { setUserStatus } = await import('../../services/users.js');
        const { reportMutation } = await import('../shared.js');
        const outcome = await setUserStatus(await f.context(), ref, verb);
        await reportMutation(f, outcome, text.done);
      });
  }
}
