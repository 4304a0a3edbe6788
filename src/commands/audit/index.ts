import { Option, type Command } from 'commander';
import type { Factory } from '../../factory.js';
import type { FactoryRef } from '../../main.js';
import type { ListSpec } from '../../io/output.js';
import type { AuditEntryView } from '../../core.js';
import { pagingOptions } from '../shared.js';

const AUDIT_LIST: ListSpec<AuditEntryView> = {
  columns: [
    { header: 'SEQ', value: (e) => e.seq },
    { header: 'TIME', value: (e) => e.at },
    { header: 'ACTOR', value: (e) => e.actor },
    { header: 'IP', value: (e) => e.actor_ip },
    { header: 'ACTION', value: (e) => e.action },
    { header: 'TARGET', value: (e) => e.target ?? e.target_id },
    { header: 'OUTCOME', value: (e) => e.outcome },
    { header: 'REASON', value: (e) => e.reason },
  ],
  csvFields: ['seq', 'at', 'actor', 'actor_id', 'actor_ip', 'action', 'target_type', 'target_id', 'target', 'outcome', 'reason', 'changes', 'hash'],
};

export interface AuditListOptions {
  actor?: string | undefined;
  action?: string | undefined;
  target?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
  limit: number;
  cursor?: string | undefined;
  all?: boolean | undefined;
}

export interface VerifyOptions {
  anchor: string[];
  anchorFile?: string | undefined;
}

export function registerAudit(program: Command, f: FactoryRef): Command {
  const audit = program.command('audit');

  const list = audit
    .command('list')
    .description('List audit entries, newest first.')
    // --actor here filters; the global --actor (who acts) must come before "audit".
    .option('--actor <who>', 'entries by this actor (email, public id or user@host)')
    .option('--action <action>', 'an action (user.suspend) or a group (user)')
    .option('--target <target>', 'entries about this target (public id or email)')
    .option('--since <time>', 'at or after this ISO date/time')
    .option('--until <time>', 'before this ISO date/time');
  for (const o of pagingOptions()) list.addOption(o);
  list
    .addHelpText(
      'after',
      `
Examples:
  $ acctctl audit list --target bob@example.com
  $ acctctl audit list --action user --since 2026-11-01 -o json | jq '.items[] | select(.outcome == "refused")'
  $ acctctl audit list --all -o ndjson > audit.ndjson`,
    )
    .action((opts: AuditListOptions) => f().run('audit list', opts, runList));

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
  return audit;
}

export async function runList(f: Factory, opts: AuditListOptions): Promise<void> {
  const { listAudit, iterateAudit } = await import('../../core.js');
  const ctx = await f.context({ mode: 'read' });
  const filter = { actor: opts.actor, action: opts.action, target: opts.target, since: opts.since, until: opts.until, limit: opts.limit, cursor: opts.cursor };
  if (opts.all) {
    await f.output.list(iterateAudit(ctx, { ...filter, limit: undefined }), AUDIT_LIST);
    return;
  }
  const page = await listAudit(ctx, filter);
  await f.output.list(page.items, AUDIT_LIST, page.next_cursor);
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
    text.split(/\r?\n/).forEach((line, i) => {
      const t = line.trim();
      if (t !== '' && !t.startsWith('#')) anchors.push(parseAnchor(t, `--anchor-file line ${i + 1}`));
    });
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
