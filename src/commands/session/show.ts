import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import type { FactoryRef } from '../../main.js';

export interface SessionShowOptions {
  session: string;
}

export function registerShow(parent: Command, f: FactoryRef): void {
  parent
    .command('show')
    .alias('get')
    .description('Show one session: its user, kind, state, times, client and impersonator.')
    .argument('<session>', 'session id (ses_…)')
    .addHelpText(
      'after',
      `
Examples:
  $ acctctl session show ses_k3q7x2m4p9r5t8vw
  $ acctctl session show ses_k3q7x2m4p9r5t8vw -o json | jq .state`,
    )
    .action((session: string) => f().run('session show', { session }, runShow));
}

export async function runShow(f: Factory, o: SessionShowOptions): Promise<void> {
  const { showSession } = await import('../../core.js');
  const { sessionSections } = await import('./render.js');
  const s = await showSession(await f.context({ mode: 'read' }), o.session);
  await f.output.record(s, sessionSections(s));
}
