import { Option, type Command } from 'commander';
import type { Factory } from '../../factory.js';
import type { FactoryRef } from '../../main.js';

export interface VerifyOptions {
  anchor: string[];
  anchorFile?: string | undefined;
}

export function registerVerify(audit: Command, f: FactoryRef): void {
  audit
    .command('verify')
    .description('Check the hash chain: exit 0 when intact, 4 naming the first bad entry.')
    .addOption(new Option('--anchor <seq:hash>', 'also prove the chain still holds this entry, as printed by `audit anchor` (repeatable)').argParser((v: string, prev: string[]) => [...prev, v]).default([]))
    .option('--anchor-file <path>', 'a file of anchors, one SEQ:HASH a line (# comments allowed)')
    .addHelpText(
      'after',
      `
The chain proves that no entry was edited, removed or reordered relative to the others.
It uses no secret: someone who can write the database could rewrite the whole chain.
An anchor kept elsewhere (a ticket, a log shipper) proves the history up to it was not
rewritten, and that the log was not cut short before it.

Examples:
  $ acctctl audit verify
  $ acctctl audit verify --anchor 1520:3f9c…e1 -o json || alert "audit log tampered"
  $ acctctl audit verify --anchor-file /srv/acct/anchors.txt`,
    )
    .action((opts: VerifyOptions) => f().run('audit verify', opts, runVerify));
}

export async function runVerify(f: Factory, opts: VerifyOptions): Promise<void> {
  const { verifyAuditLog, assertVerified, parseAnchor } = await import('../../core.js');
  const anchors = opts.anchor.map((a) => parseAnchor(a));
  if (opts.anchorFile !== undefined) {
    const { readFileSync } = await import('node:fs');
    const { UsageError } = await import('../../errors.js');
    let text: string;
    try {
      text = readFileSync(opts.anchorFile, 'utf8');
    } catch (err) {
      throw new UsageError(`--anchor-file: cannot read ${opts.anchorFile}: ${(err as Error).message}`, { field: 'anchor-file' });
    }
    const before = anchors.length;
    text.split(/\r?\n/).forEach((line, i) => {
      const t = line.trim();
      if (t !== '' && !t.startsWith('#')) anchors.push(parseAnchor(t, `--anchor-file line ${i + 1}`));
    });
    // An emptied anchor file must not switch the check off silently.
    if (anchors.length === before) throw new UsageError(`--anchor-file: no anchors in ${opts.anchorFile}`, { field: 'anchor-file' });
  }
  const result = await verifyAuditLog(await f.context({ mode: 'read' }), { anchors });
  await f.output.record(result, [
    {
      title: result.ok ? 'Audit log intact' : 'Audit log BROKEN',
      fields: [['Entries checked', result.entries], ['Head', result.head_seq], ['Anchors checked', result.anchors_checked], ['First bad entry', result.first_bad_seq], ['Problem', result.problem]],
    },
  ]);
  assertVerified(result);
}

