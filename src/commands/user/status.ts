import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import type { FactoryRef } from '../../main.js';

const VERBS = {
  suspend: {
    summary: 'Suspend a user: sign-in is blocked and sessions are revoked; data is kept.',
    words: { done: 'Suspended user', would: 'suspend user' },
    example: 'acctctl user suspend bob@example.com --reason "unpaid invoice 2026-114"',
  },
  activate: {
    summary: 'Activate a suspended, deactivated or pending user that has a way to sign in (a password).',
    words: { done: 'Activated user', would: 'activate user' },
    example: 'acctctl user activate bob@example.com --reason "invoice paid"',
  },
  deactivate: {
    summary: 'Deactivate a user (offboarding): sign-in is blocked and sessions are revoked; data is kept.',
    words: { done: 'Deactivated user', would: 'deactivate user' },
    example: 'acctctl user deactivate carol --reason "left the company"',
  },
} as const;

type Verb = keyof typeof VERBS;

export interface StatusOptions {
  user: string;
  verb: Verb;
}

/** suspend, activate and deactivate: one shape, three verbs. */
export function registerStatusVerbs(parent: Command, f: FactoryRef): void {
  for (const [verb, text] of Object.entries(VERBS) as [Verb, (typeof VERBS)[Verb]][]) {
    parent
      .command(verb)
      .description(text.summary)
      .argument('<user>', 'numeric id, public id (usr_…), email or username')
      .addHelpText(
        'after',
        `
${verb === 'activate' ? 'A user without a password cannot be activated.' : `The last active admin and the last active super admin cannot be ${verb === 'suspend' ? 'suspended' : 'deactivated'}.`}

Example:
  $ ${text.example}`,
      )
      .action((user: string) => f().run(`user ${verb}`, { user, verb }, runStatus));
  }
}

export async function runStatus(f: Factory, o: StatusOptions): Promise<void> {
  const { setUserStatus } = await import('../../core.js');
  const { reportMutation } = await import('../shared.js');
  const outcome = await setUserStatus(await f.context(), o.user, o.verb);
  await reportMutation(f, outcome, VERBS[o.verb].words);
}
