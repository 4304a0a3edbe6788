import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import type { FactoryRef } from '../../main.js';

export interface ExportOptions {
  includeSecrets?: boolean | undefined;
}

export function registerExport(policy: Command, f: FactoryRef): void {
  policy
    .command('export')
    .description('Every setting as one JSON document: keys sorted, secrets masked, stable so it diffs well in git.')
    .option('--include-secrets', 'secrets in clear (super admins only; keep the file safe)')
    .addHelpText('after', `
A masked secret ("••••xy") in a file given to \`policy import\` means "leave it as it is".

Examples:
  $ acctctl policy export > policy.json
  $ acctctl policy export --include-secrets > /secure/policy-with-secrets.json`)
    .action((opts: ExportOptions) => f().run('policy export', opts, runExport));
}

export async function runExport(f: Factory, o: ExportOptions): Promise<void> {
  const { exportPolicy } = await import('../../core.js');
  const { write } = await import('../../io/iostreams.js');
  const doc = await exportPolicy(await f.context({ mode: 'read' }), { includeSecrets: o.includeSecrets });
  // Always JSON: the document is the output, whatever -o says.
  await write(f.io.stdout, JSON.stringify(doc, null, 2) + '\n');
}
