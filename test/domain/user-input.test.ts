import { describe, expect, it } from 'vitest';
import { USER_CSV_COLUMNS, USER_FIELDS, userField, validateUserInput, type UserInput } from '../../src/domain/user-input.js';

describe('the user input schema', () => {
  it('names each field once for the service, the CLI and CSV', () => {
    expect(USER_FIELDS.map((f) => [f.key, f.flag, f.csv])).toEqual([
      ['email', '--email', 'email'],
      ['username', '--username', 'username'],
      ['displayName', '--name', 'name'],
      ['role', '--role', 'role'],
      ['superAdmin', '--super-admin', 'super_admin'],
      ['phone', '--phone', 'phone'],
      ['address', '--address', 'address'],
      ['timezone', '--timezone', 'timezone'],
      ['language', '--language', 'language'],
      ['preferences', '--preferences', 'preferences'],
    ]);
    expect(USER_CSV_COLUMNS).toContain('name');
    expect(userField('display_name')?.flag).toBe('--name');
    expect(userField('displayName')?.csv).toBe('name');
    expect(USER_FIELDS.filter((f) => f.requiredOnCreate).map((f) => f.key)).toEqual(['email']);
  });
});

describe('validateUserInput', () => {
  it('returns db column names, normalised values and the create defaults', () => {
    const r = validateUserInput(
      { email: ' Jose\u0301@example.com ', username: 'jose', displayName: ' José ', timezone: 'europe/berlin', language: 'de-ch', preferences: '{ "a": 1 }', phone: '+49 30 1' },
      'create',
    );
    expect(r).toEqual({
      ok: true,
      value: {
        email: 'Jos\u00e9@example.com', username: 'jose', display_name: 'José', timezone: 'Europe/Berlin', language: 'de-CH',
        preferences: '{"a":1}', phone: '+49 30 1', role: 'user', super_admin: 0,
      },
    });
  });

  it('requires an email on create, nothing on edit', () => {
    expect(validateUserInput({}, 'create')).toEqual({ ok: false, errors: [{ field: 'email', message: 'is required' }] });
    expect(validateUserInput({}, 'edit')).toEqual({ ok: true, value: {} });
  });

  it('reports every bad field at once, in schema order', () => {
    const r = validateUserInput({ email: 'not-an-email', displayName: 'Eve\u001b]0;pwned\u0007', timezone: 'CEST', language: 'en' }, 'create');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map((e) => e.field)).toEqual(['email', 'display_name', 'timezone']);
    for (const e of r.errors) expect(e.message).not.toBe('');
  });

  it('on edit: absent is unchanged, "" clears optional fields (preferences to {}), never email or role', () => {
    const r = validateUserInput({ username: '', displayName: ' ', phone: '', address: '', timezone: '', language: '', preferences: '' }, 'edit');
    expect(r).toEqual({
      ok: true,
      value: { username: null, display_name: null, phone: null, address: null, timezone: null, language: null, preferences: '{}' },
    });
    const bad = validateUserInput({ email: '', role: '' }, 'edit');
    expect(bad.ok || bad.errors.map((e) => e.field)).toEqual(['email', 'role']);
  });

  it('only an admin can be a super admin (field super_admin)', () => {
    const refused = validateUserInput({ email: 'a@example.com', superAdmin: true }, 'create');
    expect(refused).toEqual({ ok: false, errors: [{ field: 'super_admin', message: expect.stringContaining('only an admin') }] });
    const asReseller = validateUserInput({ role: 'reseller', superAdmin: 'yes' }, 'edit');
    expect(asReseller.ok || asReseller.errors.map((e) => e.field)).toEqual(['super_admin']);
    expect(validateUserInput({ email: 'a@example.com', role: 'admin', superAdmin: true }, 'create')).toMatchObject({ ok: true, value: { role: 'admin', super_admin: 1 } });
    // on edit without a role the service checks the stored one
    expect(validateUserInput({ superAdmin: true }, 'edit')).toEqual({ ok: true, value: { super_admin: 1 } });
    // a bad role is reported alone, not also as a super admin error
    const badRole = validateUserInput({ email: 'a@example.com', role: 'root', superAdmin: true }, 'create');
    expect(badRole.ok || badRole.errors.map((e) => e.field)).toEqual(['role']);
  });

  it('reads CSV-style yes/no cells and refuses non-text values', () => {
    expect(validateUserInput({ email: 'a@example.com', role: 'admin', superAdmin: '1' }, 'create')).toMatchObject({ ok: true, value: { super_admin: 1 } });
    const r = validateUserInput({ email: 1, superAdmin: 'perhaps' } as unknown as UserInput, 'create');
    expect(r.ok || r.errors.map((e) => e.field)).toEqual(['email', 'super_admin']);
  });

  it.each(['\u200b', '\u200d', '\u2060', '\u200e'])('refuses the invisible %j in email and username', (c) => {
    const r = validateUserInput({ email: `ro${c}ot@example.com`, username: `ro${c}ot` }, 'create');
    expect(r.ok || r.errors.map((e) => e.field)).toEqual(['email', 'username']);
  });

  it('refuses U+FFFD and lone surrogates in name and email as invalid UTF-8', () => {
    for (const bad of ['\ufffd', '\ud800', '\udfff']) {
      const r = validateUserInput({ email: `a${bad}@example.com`, displayName: `Eve ${bad}` }, 'create');
      expect(r.ok).toBe(false);
      if (r.ok) continue;
      expect(r.errors.map((e) => [e.field, /not valid UTF-8/.test(e.message)])).toEqual([['email', true], ['display_name', true]]);
    }
  });

  it('applies the documented limits', () => {
    const r = validateUserInput({ email: 'a@example.com', displayName: 'x'.repeat(201), address: 'y'.repeat(501), preferences: `{"a":"${'z'.repeat(16_384)}"}` }, 'create');
    expect(r.ok || r.errors.map((e) => e.field)).toEqual(['display_name', 'address', 'preferences']);
    expect(validateUserInput({ email: 'a@example.com', displayName: 'x'.repeat(200), address: 'a\nb'.repeat(166) }, 'create').ok).toBe(true);
  });
});
