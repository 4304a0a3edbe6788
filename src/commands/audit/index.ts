import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import type { ListSpec } from '../../io/output.js';
import type { AuditEntryView } from '../../services/audit.js';
import { intOption } from '../shared.js';

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

interface AuditListOptions {
  actor?: string;
  action?: string;
  target?: string;
  since?: string;
  until?: string;
  limit: number;
  cursor?: string;
}

export function registerAudit(program: Command, f: Factory): Command {
  const audit = program.command('audit');

  audit
    .command('list')
    .description('List audit entries, newest first.')
    // --actor here filters; the global --actor (who acts) must come before "audit".
    .option('--actor <who>', 'entries by this actor (email, public id or user@host)')
    .option('--action <action>', 'an action (user.suspend) or a group (user)')
    .option('--target <target>', 'entries about this target (public id or email)')
    .option('--since <time>', 'at or after this ISO date/time')
    .option('--until <time>', 'before this ISO date/time')
    .option('--limit <n>', 'page size (1-1000)', intOption('--limit', 1, 1000), 50)
    .option('--cursor <cursor>', 'continue after a previous page (its next_cursor)')
    .addHelpText(
      'after',
      `
Examples:
  $ acctctl audit list --target bob@example.com
  $ acctctl audit list --action user --since 2026-11-01 -o json | jq '.items[] | select(.outcome == "refused")'`,
    )
    .action(async (opts: AuditListOptions) => {
      const { listAudit } = await import('../../services/audit.js');
      const page = await listAudit(await f.context(), opts);
      await f.output.list(page.items, AUDIT_LIST, page.next_cursor);
    });

  audit
    .command('verify')
    .description('Check the hash chain: exit 0 when intact, 4 naming the first bad entry.')
    .addHelpText('after', '\nExamples:\n  $ acctctl audit verify\n  $ acctctl audit verify -o json || alert "audit log tampered"')
    .action(async () => {
      const { verifyAuditLog, assertVerified } = await import('../../services/audit.js');
      const result = await verifyAuditLog(await f.context());
      await f.output.record(result, [
        {
          title: result.ok ? 'Audit log intact' : 'Audit log BROKEN',
          fields: [['Entries checked', result.entries], ['Head', result.head_seq], ['First bad entry', result.first_bad_seq], ['Problem', result.problem]],
        },
      ]);
      assertVerified(result);
    });
  return audit;
}
