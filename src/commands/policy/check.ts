import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import type { FactoryRef } from '../../main.js';

export function registerCheck(policy: Command, f: FactoryRef): void {
  policy
    .command('check')
    .description('Lint the live configuration: each finding with its level and a one-line fix; exit 4 on an error.')
    .addHelpText('after', `
Examples:
  $ acctctl policy check
  $ acctctl policy check -o json | jq '.items[] | select(.level == "error")'`)
    .action(() => f().run('policy check', {}, runCheck));
}

export async function runCheck(f: Factory): Promise<void> {
  const { checkPolicy } = await import('../../core.js');
  const { FINDING_LIST } = await import('./render.js');
  const { RefusedError } = await import('../../errors.js');
  const findings = await checkPolicy(await f.context({ mode: 'read' }));
  await f.output.list(findings, FINDING_LIST);
  const errors = findings.filter((x) => x.level === 'error').length;
  if (errors > 0) throw new RefusedError(`policy check: ${errors} error(s)`);
}
