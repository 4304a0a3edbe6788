/**
 * Throwing adapters over the pure validators in src/domain/: for service code that
 * checks one value at a time. New code validates whole inputs with validateUserInput.
 */
import * as v from '../domain/validate.js';
import { validateUserInput, type UserInput, type UserInputMode, type ValidatedUser } from '../domain/user-input.js';
import { ValidationError } from '../errors.js';

export { ROLES, USER_STATUSES as STATUSES, type Role, type UserStatus as Status } from '../domain/enums.js';
export { printable } from '../domain/text.js';
export { normalizeEmail, type Result } from '../domain/validate.js';

/** The value of an ok Result; a ValidationError naming the field otherwise. */
export function assertValid<T>(r: v.Result<T>): T {
  if (!r.ok) throw new ValidationError(r.field, r.message);
  return r.value;
}

/** validateUserInput, throwing one ValidationError that lists every bad field. */
export function validateUserInputOrThrow(raw: UserInput, mode: UserInputMode): ValidatedUser {
  const r = validateUserInput(raw, mode);
  if (!r.ok) throw new ValidationError(r.errors);
  return r.value;
}

export const validEmail = (value: string, field = 'email') => assertValid(v.validEmail(value, field));
export const validUsername = (value: string, field = 'username') => assertValid(v.validUsername(value, field));
export const validRole = (value: string, field = 'role') => assertValid(v.validRole(value, field));
export const validStatus = (value: string, field = 'status') => assertValid(v.validStatus(value, field));
export const validTimezone = (value: string, field = 'timezone') => assertValid(v.validTimezone(value, field));
export const validLanguage = (value: string, field = 'language') => assertValid(v.validLanguage(value, field));
export const validPhone = (value: string, field = 'phone') => assertValid(v.validPhone(value, field));
export const validText = (value: string, field: string, max: number, opts: v.TextOptions = {}) => assertValid(v.validText(value, field, max, opts));
export const validPreferences = (value: string, field = 'preferences') => assertValid(v.validPreferences(value, field));
export const validSearch = (value: string, field = 'search') => assertValid(v.validSearch(value, field));
export const validReason = (value: string, field = 'reason') => assertValid(v.validReason(value, field));
export const validPasswordShape = (value: string, field = 'password') => assertValid(v.validPasswordShape(value, field));
