import type { Generated, Insertable, Selectable, Updateable } from 'kysely';
import type { AuditOutcome, InvitationStatus, LoginMethod, MailKind, MailStatus, Role, SessionKind, SessionScope, TokenPurpose, UserStatus } from '../domain/enums.js';

/** Times are ISO-8601 UTC strings with milliseconds on both engines (see schema.sql). */
export type IsoTime = string;

export interface UsersTable {
  id: Generated<number>;
  public_id: string;
  username: string | null;
  username_normalized: string | null;
  email: string;
  email_normalized: string;
  display_name: string | null;
  phone: string | null;
  address: string | null;
  timezone: string | null;
  language: string | null;
  preferences: Generated<string>;
  role: Role;
  super_admin: Generated<number>;
  status: UserStatus;
  status_reason: string | null;
  email_verified_at: IsoTime | null;
  password_hash: string | null;
  password_changed_at: IsoTime | null;
  two_factor_secret: string | null;
  two_factor_enabled_at: IsoTime | null;
  failed_login_count: Generated<number>;
  locked_until: IsoTime | null;
  last_login_at: IsoTime | null;
  last_login_ip: string | null;
  created_at: IsoTime;
  updated_at: IsoTime;
  search_text: Generated<string>;
  must_change_password: Generated<number>;
  totp_last_step: number | null;
  import_fingerprint: string | null;
}

export interface SessionsTable {
  id: Generated<number>;
  token_hash: string;
  user_id: number;
  kind: Generated<SessionKind>;
  impersonator_id: number | null;
  ip: string | null;
  user_agent: string | null;
  created_at: IsoTime;
  last_seen_at: IsoTime | null;
  expires_at: IsoTime;
  revoked_at: IsoTime | null;
  public_id: string | null;
  impersonator: string | null;
  scope: Generated<SessionScope>;
}

export interface LoginHistoryTable {
  id: Generated<number>;
  user_id: number | null;
  identifier: string;
  at: IsoTime;
  ip: string | null;
  user_agent: string | null;
  method: LoginMethod;
  success: number;
  reason: string | null;
}

export interface TokensTable {
  id: Generated<number>;
  user_id: number;
  purpose: TokenPurpose;
  token_hash: string;
  created_at: IsoTime;
  expires_at: IsoTime;
  consumed_at: IsoTime | null;
  created_by: string;
}

export interface RecoveryCodesTable {
  id: Generated<number>;
  user_id: number;
  code_hash: string;
  used_at: IsoTime | null;
}

export interface AuditLogTable {
  id: Generated<number>;
  seq: number;
  at: IsoTime;
  actor: string;
  actor_id: string | null;
  actor_ip: string;
  action: string;
  target_type: string | null;
  target_id: string | null;
  target: string | null;
  outcome: AuditOutcome;
  reason: string | null;
  changes: string;
  prev_hash: string;
  hash: string;
}

export interface AuditHeadTable {
  id: number;
  last_seq: number;
  last_hash: string;
}

export interface SettingsTable {
  key: string;
  /** JSON of a non-secret value. */
  value: string | null;
  /** A sealed secret (src/security/secrets.ts). */
  sealed: string | null;
  updated_at: IsoTime;
  updated_by: string;
}

export interface SchemaMigrationsTable {
  version: number;
  applied_at: IsoTime;
}

export interface OutboxTable {
  id: Generated<number>;
  kind: MailKind;
  to_address: string;
  subject: string;
  /** JSON { text, html }, or null when sealed. */
  body: string | null;
  /** The same JSON sealed (context 'outbox.body'): a body that carries a token. */
  body_sealed: string | null;
  user_id: number | null;
  status: Generated<MailStatus>;
  attempts: Generated<number>;
  last_error: string | null;
  server_reply: string | null;
  next_attempt_at: IsoTime | null;
  claimed_until: IsoTime | null;
  created_at: IsoTime;
  sent_at: IsoTime | null;
}

export interface InvitationsTable {
  id: Generated<number>;
  public_id: string;
  email: string;
  email_normalized: string;
  role: Role;
  token_hash: string;
  status: Generated<InvitationStatus>;
  invited_by: string;
  created_at: IsoTime;
  expires_at: IsoTime;
  accepted_at: IsoTime | null;
  revoked_at: IsoTime | null;
  user_id: number | null;
  mail_id: number | null;
}

export interface DB {
  users: UsersTable;
  invitations: InvitationsTable;
  outbox: OutboxTable;
  sessions: SessionsTable;
  audit_log: AuditLogTable;
  audit_head: AuditHeadTable;
  settings: SettingsTable;
  login_history: LoginHistoryTable;
  tokens: TokensTable;
  recovery_codes: RecoveryCodesTable;
  schema_migrations: SchemaMigrationsTable;
}

export type UserRow = Selectable<UsersTable>;
export type NewUserRow = Insertable<UsersTable>;
export type UserUpdate = Updateable<UsersTable>;
export type AuditRow = Selectable<AuditLogTable>;
export type OutboxRow = Selectable<OutboxTable>;
export type InvitationRow = Selectable<InvitationsTable>;
