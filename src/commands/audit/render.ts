import type { ListSpec } from '../../io/output.js';
import type { AuditEntryView } from '../../core.js';

export const AUDIT_LIST: ListSpec<AuditEntryView> = {
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
