/**
 * The user entity's input schema, shared by the CLI options, the services and CSV
 * columns: one row per field, and one validation that reports every bad field.
 */
import type { Role } from './enums.js';
import {
  ADDRESS_MAX, DISPLAY_NAME_MAX, fail, validBoolean, validEmail, validLanguage, validPhone, validPreferences, validRole, validText,
  validTimezone, validUsername, type FieldError, type Result,
} from './validate.js';

/** Raw input as the services take it (CLI options map onto it one to one). */
export interface UserInput {
  email?: string | undefined;
  username?: string | undefined;
  displayName?: string | undefined;
  role?: string | undefined;
  /** A flag (boolean) or a CSV cell (true/false, yes/no, 1/0). */
  superAdmin?: boolean | string | undefined;
  phone?: string | undefined;
  address?: string | undefined;
  timezone?: string | undefined;
  language?: string | undefined;
  preferences?: string | undefined;
}

/**
 * Validated values under their db column names. On edit an absent key means
 * "unchanged" and null means "clear"; on create role and super_admin are always set.
 */
export interface ValidatedUser {
  email?: string;
  username?: string | null;
  display_name?: string | null;
  phone?: string | null;
  address?: string | null;
  timezone?: string | null;
  language?: string | null;
  /** Compact JSON; '' clears it to '{}'. */
  preferences?: string;
  role?: Role;
  super_admin?: 0 | 1;
}

export type UserInputMode = 'create' | 'edit';

export interface UserFieldSpec {
  /** Key in UserInput (the service input). */
  key: keyof UserInput;
  /** Column in ValidatedUser and the users table; also the field errors name. */
  column: keyof ValidatedUser;
  /** The CLI option. */
  flag: string;
  /** The CSV column (snake_case). */
  csv: string;
  requiredOnCreate: boolean;
  /** Whether '' clears the field (on edit; on create it is the same as not giving it). */
  clearable: boolean;
  validate: (value: string | boolean, field: string) => Result<unknown>;
  /** The option's value name (`<email>`), absent for a flag, and its help line. */
  arg?: string;
  help: string;
  /** `user edit` changes it (role and super admin have their own verb). */
  editable: boolean;
}

type TextValidator = (value: string, field: string) => Result<unknown>;
const text = (fn: TextValidator) => (value: string | boolean, field: string): Result<unknown> =>
  typeof value === 'string' ? fn(value, field) : fail(field, 'must be text');

export const USER_FIELDS: readonly UserFieldSpec[] = [
  {
    key: 'email', column: 'email', flag: '--email', csv: 'email', requiredOnCreate: true, clearable: false, validate: text(validEmail),
    arg: '<email>', help: 'email address (unique, any case; a new one must be verified again)', editable: true,
  },
  {
    key: 'username', column: 'username', flag: '--username', csv: 'username', requiredOnCreate: false, clearable: true, validate: text(validUsername),
    arg: '<name>', help: 'username (unique; 2-64 letters, digits, . _ -)', editable: true,
  },
  {
    key: 'displayName', column: 'display_name', flag: '--name', csv: 'name', requiredOnCreate: false, clearable: true,
    validate: text((v, f) => validText(v, f, DISPLAY_NAME_MAX)), arg: '<name>', help: 'display name (at most 200 characters)', editable: true,
  },
  {
    key: 'role', column: 'role', flag: '--role', csv: 'role', requiredOnCreate: false, clearable: false, validate: text(validRole),
    arg: '<role>', help: 'platform role', editable: false,
  },
  {
    key: 'superAdmin', column: 'super_admin', flag: '--super-admin', csv: 'super_admin', requiredOnCreate: false, clearable: false, validate: validBoolean,
    help: 'make an admin a super admin (needs a super admin actor)', editable: false,
  },
  {
    key: 'phone', column: 'phone', flag: '--phone', csv: 'phone', requiredOnCreate: false, clearable: true, validate: text(validPhone),
    arg: '<phone>', help: 'phone number', editable: true,
  },
  {
    key: 'address', column: 'address', flag: '--address', csv: 'address', requiredOnCreate: false, clearable: true,
    validate: text((v, f) => validText(v, f, ADDRESS_MAX, { multiline: true })), arg: '<text>', help: 'postal address (at most 500 characters)', editable: true,
  },
  {
    key: 'timezone', column: 'timezone', flag: '--timezone', csv: 'timezone', requiredOnCreate: false, clearable: true, validate: text(validTimezone),
    arg: '<zone>', help: 'IANA time zone, e.g. Europe/Berlin', editable: true,
  },
  {
    key: 'language', column: 'language', flag: '--language', csv: 'language', requiredOnCreate: false, clearable: true, validate: text(validLanguage),
    arg: '<tag>', help: 'language tag, e.g. en or de-CH', editable: true,
  },
  // '' clears preferences to '{}' (the validator does it: the column is NOT NULL).
  {
    key: 'preferences', column: 'preferences', flag: '--preferences', csv: 'preferences', requiredOnCreate: false, clearable: true,
    validate: text(validPreferences), arg: '<json>', help: 'preferences as a JSON object (at most 16 KiB, 20 levels deep)', editable: true,
  },
];

export const USER_CSV_COLUMNS: readonly string[] = USER_FIELDS.map((f) => f.csv);

/** The spec of a field by its column (the `field` of an error), CSV column or input key. */
export function userField(name: string): UserFieldSpec | undefined {
  return USER_FIELDS.find((f) => f.column === name || f.csv === name || f.key === name);
}

export type UserInputResult = { ok: true; value: ValidatedUser } | { ok: false; errors: FieldError[] };

/**
 * Validates every given field and reports every bad one. "Only an admin can be a
 * super admin" is checked when the role is known (always on create; on edit only
 * when both are given — otherwise the service checks it against the stored role).
 */
export function validateUserInput(raw: UserInput, mode: UserInputMode): UserInputResult {
  const errors: FieldError[] = [];
  const out: Record<string, unknown> = {};
  for (const spec of USER_FIELDS) {
    const v = raw[spec.key];
    if (v === undefined || v === null) {
      if (mode === 'create' && spec.requiredOnCreate) errors.push({ field: spec.column, message: 'is required' });
      continue;
    }
    if (spec.clearable && spec.column !== 'preferences' && typeof v === 'string' && v.trim() === '') {
      out[spec.column] = null;
      continue;
    }
    const r = spec.validate(v, spec.column);
    if (!r.ok) errors.push({ field: r.field, message: r.message });
    else out[spec.column] = spec.column === 'super_admin' ? (r.value ? 1 : 0) : r.value;
  }
  const roleBad = errors.some((e) => e.field === 'role');
  if (mode === 'create') {
    if (!roleBad) out.role ??= 'user';
    out.super_admin ??= 0;
  }
  if (out.super_admin === 1 && !roleBad && out.role !== undefined && out.role !== 'admin') {
    errors.push({ field: 'super_admin', message: 'only an admin can be a super admin (use --role admin)' });
  }
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, value: out as ValidatedUser };
}
