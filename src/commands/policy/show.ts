import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import type { FactoryRef } from '../../main.js';

export interface ShowOptions {
  section?: string | undefined;
}

export function registerShow(policy: Command, f: FactoryRef): void {
  policy
    .command('show')
    .description('Every setting: its value, its default and whether it was changed (secrets masked).')
    .option('--section <name>', 'only this section: signin, registration, smtp, password, security, invitation, token, retention, billing, app')
    .addHelpText('after', `
Examples:
  $ acctctl policy show
  $ acctctl policy show --section password
  $ acctctl policy show -o json | jq '.items[] | select(.changed)'`)
    .action((opts: ShowOptions) => f().run('policy show', opts, runShow));
}

export async function runShow(f: Factory, o: ShowOptions): Promise<void> {
  const { showPolicy } = await import('../../core.js');
  const { SETTING_LIST } = await import('./render.js');
  const items = await showPolicy(await f.context({ mode: 'read' }), { section: o.section });
  await f.output.list(items, SETTING_LIST);
}
