/**
 * Typed errors carrying their exit code (SPEC.md "Exit codes"). Services throw these;
 * src/main.ts maps them to the exit code and the one-line (or JSON) message.
 */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  notFound: 3,
  refused: 4,
  confirmation: 5,
  partial: 6,
} as const;

export class AcctError extends Error {
  readonly exitCode: number = ExitCode.failure;
  /** Stable machine-readable code for JSON errors. */
  readonly code: string = 'failure';
  /** The input field the error is about, when there is one. */
  readonly field?: string;
  constructor(message: string, options?: { field?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    if (options?.field !== undefined) this.field = options.field;
  }
}

/** Exit 2: bad usage or invalid input; nothing changed. */
export class UsageError extends AcctError {
  override readonly exitCode = ExitCode.usage;
  override readonly code: string = 'usage';
}

/** Exit 2: one or more values failed validation; `field` names the first, `errors` lists all. */
export class ValidationError extends UsageError {
  override readonly code = 'invalid_input';
  readonly errors: readonly { field: string; message: string }[];
  constructor(field: string, message: string);
  constructor(errors: readonly { field: string; message: string }[]);
  constructor(fieldOrErrors: string | readonly { field: string; message: string }[], message = '') {
    const given = typeof fieldOrErrors === 'string' ? [{ field: fieldOrErrors, message }] : fieldOrErrors.map((e) => ({ field: e.field, message: e.message }));
    const errors = given.length > 0 ? given : [{ field: 'input', message: 'is invalid' }];
    super(errors.map((e) => `${e.field}: ${e.message}`).join('; '), { field: errors[0]!.field });
    this.errors = errors;
  }
}

/** Exit 3. */
export class NotFoundError extends AcctError {
  override readonly exitCode = ExitCode.notFound;
  override readonly code = 'not_found';
}

/** Exit 4: refused by a rule, a permission or a conflict; nothing changed. */
export class RefusedError extends AcctError {
  override readonly exitCode = ExitCode.refused;
  override readonly code: string = 'refused';
}

export class PermissionError extends RefusedError {
  override readonly code = 'permission_denied';
}

export class ConflictError extends RefusedError {
  override readonly code = 'conflict';
}

/** Exit 4: the audit chain does not verify. */
export class IntegrityError extends RefusedError {
  override readonly code = 'integrity';
}

/** Exit 5: confirmation declined, or needed and impossible (no TTY, no --yes). */
export class ConfirmationError extends AcctError {
  override readonly exitCode = ExitCode.confirmation;
  override readonly code = 'confirmation_required';
}

/** Exit 1: the database is missing its schema or is newer than this acctctl. */
export class SchemaError extends AcctError {
  override readonly code: string = 'schema';
}

/** Exit 1: the database does not exist (only `init` and `db migrate` create one). */
export class DatabaseMissingError extends SchemaError {
  override readonly code = 'database_missing';
}
