/** can(actor, action, target): the one table of who may do what. */
import { describe, expect, it } from 'vitest';
import { can, denial, type Actor } from '../../src/services/permissions.js';

const actor = (role: Actor['role'], superAdmin = false, kind: Actor['kind'] = 'user'): Actor =>
  ({ kind, label: `${role}@example.com`, publicId: null, userId: 1, role, superAdmin, status: 'active' });

describe('can', () => {
  it('lets the local operator do everything', () => {
    const op = actor(null, true, 'operator');
    for (const a of ['user.read', 'user.manage', 'audit.read', 'session.manage', 'db.migrate'] as const) expect(can(op, a, { superAdmin: true })).toBe(true);
  });

  it('lets admins manage users, but only super admins touch super admins or migrate', () => {
    const admin = actor('admin');
    expect(can(admin, 'user.manage')).toBe(true);
    expect(can(admin, 'user.read', { superAdmin: true })).toBe(true);
    expect(can(admin, 'user.manage', { superAdmin: true, label: 'root@example.com' })).toBe(false);
    expect(denial(admin, 'user.manage', { superAdmin: true, label: 'root@example.com' })).toMatch(/only super admins.*root@example.com/);
    expect(can(admin, 'db.migrate')).toBe(false);
    expect(can(actor('admin', true), 'db.migrate')).toBe(true);
  });

  it('refuses resellers and users every admin action', () => {
    for (const role of ['reseller', 'user'] as const) {
      for (const a of ['user.read', 'user.manage', 'audit.read', 'session.manage', 'db.migrate'] as const) expect(can(actor(role), a)).toBe(false);
    }
  });
});
