import type { ListSpec, Section } from '../../io/output.js';
import type { UserDetail, UserView } from '../../core.js';

export const USER_LIST: ListSpec<UserView> = {
  columns: [
    { header: 'ID', value: (u) => u.id },
    { header: 'PUBLIC ID', value: (u) => u.public_id },
    { header: 'EMAIL', value: (u) => u.email },
    { header: 'USERNAME', value: (u) => u.username },
    { header: 'NAME', value: (u) => u.display_name },
    { header: 'ROLE', value: (u) => (u.super_admin ? 'admin (super)' : u.role) },
    { header: 'STATUS', value: (u) => u.status },
    { header: '2FA', value: (u) => (u.two_factor_enabled ? 'on' : 'off') },
    { header: 'TIMEZONE', value: (u) => u.timezone },
    { header: 'LAST LOGIN', value: (u) => u.last_login_at ?? 'never' },
  ],
  csvFields: [
    'id', 'public_id', 'email', 'username', 'display_name', 'phone', 'address', 'timezone', 'language', 'role', 'super_admin', 'status',
    'status_reason', 'email_verified_at', 'has_password', 'two_factor_enabled', 'failed_login_count', 'locked_until', 'last_login_at',
    'last_login_ip', 'created_at', 'updated_at',
  ],
};

export function userSections(u: UserDetail | UserView): Section[] {
  return [
    {
      title: 'Profile',
      fields: [
        ['Email', u.email], ['Username', u.username], ['Name', u.display_name], ['Phone', u.phone], ['Address', u.address],
      ],
    },
    {
      title: 'Access and region',
      fields: [
        ['Role', u.role], ['Super admin', u.super_admin], ['Status', u.status], ['Status reason', u.status_reason],
        ['Timezone', u.timezone], ['Language', u.language], ['Preferences', u.preferences],
      ],
    },
    {
      title: 'Security',
      fields: [
        ['Password set', u.has_password], ['Email verified', u.email_verified_at ?? 'no'], ['2FA', u.two_factor_enabled],
        ['Failed logins', u.failed_login_count], ['Locked until', u.locked_until], ['Last login', u.last_login_at ?? 'never'],
        ['Last login IP', u.last_login_ip], ...('active_sessions' in u ? [['Active sessions', u.active_sessions] as [string, unknown]] : []),
      ],
    },
    {
      title: 'System',
      fields: [['ID', u.id], ['Public ID', u.public_id], ['Created', u.created_at], ['Updated', u.updated_at]],
    },
  ];
}
