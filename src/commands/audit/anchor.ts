import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import type { FactoryRef } from '../../main.js';

export function registerAnchor(audit: Command, f: FactoryRef): void {
  audit
    .command('anchor')
    .description('Print the head of the chain (seq and hash) to keep outside the database.')
    .addHelpText(
      'after',
      `
Keep the output where whoever can write the database cannot (a ticket, syslog, a log
shipper); later, \`acctctl audit verify --anchor SEQ:HASH\` proves the log up to it.

Examples:
  $ acctctl audit anchor
  $ acctctl audit anchor -o json | logger -t acctctl-anchor
  $ acctctl audit anchor -q >> /srv/backup/anchors.txt`,
    )
    .action(() => f().run('audit anchor', {}, runAnchor));
}

export async function runAnchor(f: Factory): Promise<void> {
  const { auditAnchor } = await import('../../core.js');
  const anchor = await auditAnchor(await f.context({ mode: 'read' }));
  if (f.output.format === 'table') {
    // The bare anchor on stdout, so `>> anchors.txt` and `$(acctctl audit anchor)` just work.
    await f.output.value(anchor.anchor);
    f.output.info(`Head of the audit chain${anchor.at ? ` (entry written ${anchor.at})` : ''}: keep it outside the database.`);
    return;
  }
  await f.output.record(anchor, []);
}
