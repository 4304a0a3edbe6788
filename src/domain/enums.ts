/**
 * Every enumerated value, once. schema.sql's CHECK lists must match these
 * (test/domain/enums.test.ts compares them).
 */

export const ROLES = ['admin', 'reseller', 'user'] as const;
export type Role = (typeof ROLES)[number];

export const USER_STATUSES = ['pending', 'active', 'suspended', 'deactivated'] as const;
export type UserStatus = (typeof USER_STATUSES)[number];

export const SESSION_KINDS = ['web', 'api', 'impersonation'] as const;
export type SessionKind = (typeof SESSION_KINDS)[number];

export const AUDIT_OUTCOMES = ['ok', 'refused'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

export const OUTPUT_FORMATS = ['table', 'json', 'ndjson', 'csv'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export const USER_SORTS = ['newest', 'last-login', 'updated', 'name'] as const;
export type UserSort = (typeof USER_SORTS)[number];

/** Narrows `value` to one of `values`. */
export function isOneOf<const T extends string>(values: readonly T[], value: unknown): value is T {
  return typeof value === 'string' && (values as readonly string[]).includes(value);
}

/** How a sign-in attempt proved itself (login_history.method). */
export const LOGIN_METHODS = ['password', 'totp', 'recovery_code', 'impersonation'] as const;
export type LoginMethod = (typeof LOGIN_METHODS)[number];

/** What a session may do (sessions.scope): everything, or only the step the user owes. */
export const SESSION_SCOPES = ['full', 'enrol_2fa', 'change_password'] as const;
export type SessionScope = (typeof SESSION_SCOPES)[number];

/** What a single-use token is for (tokens.purpose): one token, one user, one purpose. */
export const TOKEN_PURPOSES = ['password_reset', 'email_verification'] as const;
export type TokenPurpose = (typeof TOKEN_PURPOSES)[number];

/** What an email in the outbox is for. */
export const MAIL_KINDS = ['invitation', 'password_reset', 'email_verification', 'test'] as const;
export type MailKind = (typeof MAIL_KINDS)[number];

/** An outbox message: queued (due), sending (claimed by a sender), sent, failed (retried with backoff). */
export const MAIL_STATUSES = ['queued', 'sending', 'sent', 'failed'] as const;
export type MailStatus = (typeof MAIL_STATUSES)[number];

/** An invitation: pending until accepted, revoked, or expired (past its expiry). */
export const INVITATION_STATUSES = ['pending', 'accepted', 'expired', 'revoked'] as const;
export type InvitationStatus = (typeof INVITATION_STATUSES)[number];
