/**
 * Validation of every row before anything changes: each error names its line and
 * column; all of them are collected (up to a limit), and the caller refuses the whole file
 * when there is one (exit 2, nothing changed).
 */
import { ValidationError } from '../errors.js';
import { USER_FIELDS, validateUserInput, type UserInput, type ValidatedUser } from '../domain/user-input.js';
import { USER_STATUSES, type UserStatus } from '../domain/enums.js';
import { isWellFormedBcryptHash } from '../security/passwords.js';
import type { CsvRow } from './csv.js';

export interface RowError {
  line: number;
  column: string;
  message: string;
}

export const DEFAULT_MAX_ERRORS = 100;

/** Every bad field of every row, as one error: `line 12, column email: …; line 40, column role: …`. */
export class RowErrors extends ValidationError {
  constructor(readonly rows: RowError[], truncated: boolean) {
    super(rows.map((e) => ({ field: `line ${e.line}, column ${e.column}`, message: e.message })));
    if (truncated) this.message += `; … more errors not shown (--max-errors ${rows.length})`;
  }
}

/** The user import's columns: the user fields by their CSV names, and the password columns. */
export const USER_IMPORT_COLUMNS: readonly string[] = [...USER_FIELDS.map((f) => f.csv), 'status', 'password', 'password_hash', 'email_verified_at'];

const CSV_TO_KEY = new Map(USER_FIELDS.map((f) => [f.csv, f.key]));
const COLUMN_TO_CSV = new Map(USER_FIELDS.map((f) => [f.column as string, f.csv]));

export interface ValidUserRow {
  line: number;
  fields: ValidatedUser & { email: string };
  status?: UserStatus | undefined;
  password?: string | undefined;
  password_hash?: string | undefined;
  /** The columns this row gave a value (an empty cell is "not given"). */
  present: string[];
  /** email_verified_at: a time, 'now' (true), or null (false); undefined when not given. */
  email_verified_at?: string | null | undefined;
}

/** One row of `user import`: the user schema's checks, named by line and CSV column. */
export function validateUserRow(row: CsvRow): { ok: true; value: ValidUserRow } | { ok: false; errors: RowError[] } {
  const raw: UserInput = {};
  for (const [column, cell] of Object.entries(row.values)) {
    const key = CSV_TO_KEY.get(column);
    // An empty cell is "not given" in an import (an edit clears with ""; an import never clears).
    if (key !== undefined && cell !== '') (raw as Record<string, string>)[key] = cell;
  }
  const errors: RowError[] = [];
  const r = validateUserInput(raw, 'create');
  if (!r.ok) for (const e of r.errors) errors.push({ line: row.line, column: COLUMN_TO_CSV.get(e.field) ?? e.field, message: e.message });
  const status = row.values.status || undefined;
  if (status !== undefined && !(USER_STATUSES as readonly string[]).includes(status)) {
    errors.push({ line: row.line, column: 'status', message: `unknown status "${status.slice(0, 40)}" (expected one of: ${USER_STATUSES.join(', ')})` });
  }
  const password = row.values.password || undefined;
  const hash = row.values.password_hash || undefined;
  if (password !== undefined && hash !== undefined) errors.push({ line: row.line, column: 'password_hash', message: 'give password or password_hash, not both' });
  if (hash !== undefined && !isWellFormedBcryptHash(hash)) {
    errors.push({ line: row.line, column: 'password_hash', message: 'is not a bcrypt hash ($2a$, $2b$ or $2y$; other formats come later)' });
  }
  const verified = parseVerified(row.values.email_verified_at ?? '');
  if (verified === false) errors.push({ line: row.line, column: 'email_verified_at', message: 'is not an ISO-8601 time, true or false' });
  if (errors.length > 0 || !r.ok) return { ok: false, errors };
  return { ok: true, value: { line: row.line, present: Object.keys(row.values).filter((c) => row.values[c] !== ''), fields: r.value as ValidUserRow['fields'], status: status as UserStatus | undefined, password, password_hash: hash?.replace(/^\$2y\$/, '$2b$'), email_verified_at: verified as string | null | undefined } };
}

/** An email_verified_at cell: undefined (empty), null (false), 'now' (true), an ISO time; false if none of them. */
function parseVerified(cell: string): string | null | undefined | false {
  const c = cell.trim().toLowerCase();
  if (c === '') return undefined;
  if (c === 'false' || c === 'no' || c === '0') return null;
  if (c === 'true' || c === 'yes' || c === '1') return 'now';
  const ms = /^\d{4}-\d{2}-\d{2}/.test(c) ? Date.parse(cell.trim()) : NaN;
  return Number.isNaN(ms) ? false : new Date(ms).toISOString();
}

/**
 * Runs a validator over every row, collecting up to maxErrors errors; throws RowErrors
 * when there was any, else returns the valid rows' count. For a file too big to hold,
 * pass `keep` to stream the valid rows on (a plan keeps what it needs).
 */
export async function validateAll<T>(rows: AsyncIterable<CsvRow>, validate: (row: CsvRow) => { ok: true; value: T } | { ok: false; errors: RowError[] }, opts: { maxErrors?: number; keep?: (value: T) => void } = {}): Promise<number> {
  const max = opts.maxErrors ?? DEFAULT_MAX_ERRORS;
  const errors: RowError[] = [];
  let valid = 0;
  let truncated = false;
  for await (const row of rows) {
    const r = validate(row);
    if (r.ok) {
      valid++;
      opts.keep?.(r.value);
      continue;
    }
    for (const e of r.errors) {
      if (errors.length < max) errors.push(e);
      else truncated = true;
    }
    if (truncated) break;
  }
  if (errors.length > 0) throw new RowErrors(errors, truncated);
  return valid;
}
