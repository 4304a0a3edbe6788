import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AUDIT_OUTCOMES, INVITATION_STATUSES, LOGIN_METHODS, MAIL_KINDS, MAIL_STATUSES, ROLES, SESSION_KINDS, TOKEN_PURPOSES, USER_STATUSES, isOneOf } from '../../src/domain/enums.js';

/** Every `col … CHECK (col IN ('a', 'b'))` of schema.sql as table.col → values (the last version wins). */
function schemaEnums(): Map<string, string[]> {
  const sqlText = readFileSync(new URL('../../schema.sql', import.meta.url), 'utf8').replace(/--[^\n]*/g, '');
  const found = new Map<string, string[]>();
  for (const table of sqlText.matchAll(/CREATE TABLE (\w+) \(([\s\S]*?)\n\);/g)) {
    for (const check of table[2]!.matchAll(/CHECK \((\w+) IN \(([^)]*)\)\)/g)) {
      const values = [...check[2]!.matchAll(/'([^']*)'/g)].map((m) => m[1]!);
      if (values.length > 0) found.set(`${table[1]}.${check[1]}`, values);
    }
  }
  return found;
}

const ENUMS: Record<string, readonly string[]> = {
  'users.role': ROLES,
  'users.status': USER_STATUSES,
  'sessions.kind': SESSION_KINDS,
  'audit_log.outcome': AUDIT_OUTCOMES,
  'login_history.method': LOGIN_METHODS,
  'tokens.purpose': TOKEN_PURPOSES,
  'outbox.kind': MAIL_KINDS,
  'outbox.status': MAIL_STATUSES,
  'invitations.role': ROLES,
  'invitations.status': INVITATION_STATUSES,
};

describe('enums', () => {
  const schema = schemaEnums();

  it.each(Object.entries(ENUMS))('%s in schema.sql equals the enum in src/domain/enums.ts', (column, values) => {
    expect(schema.get(column)).toEqual([...values]);
  });

  it('has an enum in src/domain/enums.ts (listed above) for every text CHECK … IN list of schema.sql', () => {
    expect([...schema.keys()].filter((c) => !(c in ENUMS))).toEqual([]);
  });

  it('isOneOf narrows only listed strings', () => {
    expect(isOneOf(ROLES, 'admin')).toBe(true);
    expect(isOneOf(ROLES, 'Admin')).toBe(false);
    expect(isOneOf(ROLES, 1)).toBe(false);
    expect(isOneOf(ROLES, undefined)).toBe(false);
  });
});
