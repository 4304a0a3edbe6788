import { describe, expect, it } from 'vitest';
import { ExitCode, ValidationError } from '../../src/errors.js';
import {
  ROLES, STATUSES, assertValid, normalizeEmail, printable, validEmail, validPreferences, validTimezone, validateUserInputOrThrow,
} from '../../src/services/validate.js';
import { ok, fail } from '../../src/domain/validate.js';

describe('ValidationError', () => {
  it('keeps the single-field form', () => {
    const e = new ValidationError('email', 'is required');
    expect(e).toMatchObject({ exitCode: ExitCode.usage, code: 'invalid_input', field: 'email', message: 'email: is required', name: 'ValidationError' });
    expect(e.errors).toEqual([{ field: 'email', message: 'is required' }]);
  });

  it('lists several errors in its message; field is the first one', () => {
    const e = new ValidationError([{ field: 'email', message: 'is required' }, { field: 'timezone', message: 'is not an IANA time zone name' }]);
    expect(e.message).toBe('email: is required; timezone: is not an IANA time zone name');
    expect(e.field).toBe('email');
    expect(e.errors).toHaveLength(2);
  });
});

describe('services/validate.ts adapters', () => {
  it('return the value or throw a ValidationError naming the field', () => {
    expect(validEmail(' a@example.com ')).toBe('a@example.com');
    expect(validTimezone('europe/berlin')).toBe('Europe/Berlin');
    expect(validPreferences('')).toBe('{}');
    expect(() => validEmail('nope', 'to')).toThrow(expect.objectContaining({ field: 'to', exitCode: 2 }));
    expect(assertValid(ok(3))).toBe(3);
    expect(() => assertValid(fail('x', 'bad'))).toThrow('x: bad');
  });

  it('keep the exports current callers use', () => {
    expect(ROLES).toEqual(['admin', 'reseller', 'user']);
    expect(STATUSES).toEqual(['pending', 'active', 'suspended', 'deactivated']);
    expect(normalizeEmail('A@Example.COM')).toBe('a@example.com');
    expect(printable('\u001b')).toBe('\\e');
  });

  it('validateUserInputOrThrow throws one error listing every bad field', () => {
    let err: unknown;
    try {
      validateUserInputOrThrow({ email: 'bad', username: '1', timezone: '+02:00' }, 'create');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ValidationError);
    const v = err as ValidationError;
    expect(v.field).toBe('email');
    expect(v.errors.map((e) => e.field)).toEqual(['email', 'username', 'timezone']);
    expect(v.message).toMatch(/^email: .+; username: .+; timezone: .+$/);
    expect(validateUserInputOrThrow({ email: 'a@example.com' }, 'create')).toEqual({ email: 'a@example.com', role: 'user', super_admin: 0 });
  });
});
