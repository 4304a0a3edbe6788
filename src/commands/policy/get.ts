import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import type { FactoryRef } from '../../main.js';

export interface GetOptions {
  key: string;
}

export function registerGet(policy: Command, f: FactoryRef): void {
  policy
    .command('get')
    .description('One setting\'s value (a secret masked); with -o json, its whole description.')
    .argument('<key>', 'a setting key, e.g. password.min_length')
    .addHelpText('after', `
Examples:
  $ acctctl policy get password.min_length
  $ acctctl policy get security.session_lifetime -o json`)
    .action((key: string) => f().run('policy get', { key }, runGet));
}

export async function runGet(f: Factory, o: GetOptions): Promise<void> {
  const { getSetting } = await import('../../core.js');
  const s = await getSetting(await f.context({ mode: 'read' }), o.key);
  if (f.output.format === 'table') {
    await f.output.value(s.value === null ? '' : Array.isArray(s.value) ? s.value.join(',') : String(s.value));
    return;
  }
  await f.output.record(s, []);
}
