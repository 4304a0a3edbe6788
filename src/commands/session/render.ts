import type { ListSpec, Section } from '../../io/output.js';
import type { SessionView } from '../../core.js';

export const SESSION_LIST: ListSpec<SessionView> = {
  columns: [
    { header: 'SESSION', value: (s) => s.session_id },
    { header: 'USER', value: (s) => s.user_email },
    { header: 'KIND', value: (s) => s.kind },
    { header: 'STATE', value: (s) => s.state },
    { header: 'CREATED', value: (s) => s.created_at },
    { header: 'LAST SEEN', value: (s) => s.last_seen_at ?? 'never' },
    { header: 'EXPIRES', value: (s) => s.expires_at },
    { header: 'IP', value: (s) => s.ip },
    { header: 'USER AGENT', value: (s) => (s.user_agent !== null && s.user_agent.length > 40 ? `${s.user_agent.slice(0, 39)}…` : s.user_agent) },
    { header: 'IMPERSONATED BY', value: (s) => s.impersonator },
  ],
  csvFields: [
    'session_id', 'user_public_id', 'user_email', 'kind', 'scope', 'state', 'created_at', 'last_seen_at', 'expires_at', 'revoked_at', 'ip', 'user_agent',
    'impersonator', 'impersonator_public_id',
  ],
};

export function sessionSections(s: SessionView): Section[] {
  return [
    {
      title: `Session ${s.session_id}`,
      fields: [
        ['User', `${s.user_email} (${s.user_public_id})`], ['Kind', s.kind], ['Scope', s.scope], ['State', s.state],
        ...(s.impersonator !== null ? [['Impersonated by', s.impersonator_public_id ? `${s.impersonator} (${s.impersonator_public_id})` : s.impersonator] as [string, unknown]] : []),
      ],
    },
    {
      title: 'Times',
      fields: [['Created', s.created_at], ['Last seen', s.last_seen_at ?? 'never'], ['Expires', s.expires_at], ['Revoked', s.revoked_at]],
    },
    { title: 'Client', fields: [['IP', s.ip], ['User agent', s.user_agent]] },
  ];
}
