/**
 * Every setting, defined once: key, type, default, range, description, secrecy. Pure
 * data (no database, no I/O) so the CLI bundle can load it for help and validation.
 */

export type SettingType = 'boolean' | 'integer' | 'duration' | 'enum' | 'list' | 'string' | 'url' | 'email' | 'secret';
/** Durations are whole seconds; null = unset (strings, URLs, emails, secrets without a default). */
export type SettingValue = boolean | number | string | string[] | null;

export interface SettingSpec {
  key: string;
  section: string;
  type: SettingType;
  default: SettingValue;
  /** Integers and durations (seconds): the range, inclusive. */
  min?: number;
  max?: number;
  /** Besides min..max, 0 is allowed and means this ("off", "keep forever"). */
  zeroMeans?: string;
  /** Enums: the allowed values, exactly. */
  values?: readonly string[];
  /** Lists: what each item is (validated and normalised as such). */
  items?: 'domain' | 'text';
  description: string;
  secret: boolean;
}

export const SMTP_SECURITY_MODES = ['tls', 'starttls', 'none'] as const;
export const BILLING_MODES = ['period', 'usage'] as const;

const MINUTE = 60;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

// Builders keep each key's literal type (and the enum's values) for PolicyValues.
const bool = <const K extends string>(key: K, def: boolean, description: string) =>
  ({ key, section: sectionOf(key), type: 'boolean', default: def, description, secret: false }) as const;

const int = <const K extends string>(key: K, def: number, min: number, max: number, description: string, zeroMeans?: string) =>
  ({ key, section: sectionOf(key), type: 'integer', default: def, min, max, ...(zeroMeans ? { zeroMeans } : {}), description, secret: false }) as const;

const duration = <const K extends string>(key: K, def: number, min: number, max: number, description: string, zeroMeans?: string) =>
  ({ key, section: sectionOf(key), type: 'duration', default: def, min, max, ...(zeroMeans ? { zeroMeans } : {}), description, secret: false }) as const;

const enumOf = <const K extends string, const V extends readonly string[]>(key: K, values: V, def: V[number], description: string) =>
  ({ key, section: sectionOf(key), type: 'enum', default: def as V[number], values, description, secret: false }) as const;

const domains = <const K extends string>(key: K, description: string) =>
  ({ key, section: sectionOf(key), type: 'list', default: [] as string[], items: 'domain', description, secret: false }) as const;

const text = <const T extends 'string' | 'url' | 'email', const K extends string, const D extends string | null>(type: T, key: K, def: D, description: string) =>
  ({ key, section: sectionOf(key), type, default: def, description, secret: false }) as const;

const secret = <const K extends string>(key: K, description: string) =>
  ({ key, section: sectionOf(key), type: 'secret', default: null, description, secret: true }) as const;

function sectionOf(key: string): string {
  return key.slice(0, key.indexOf('.'));
}

const DEFS = [
  bool('signin.email', true, 'Users can sign in with their email address and password.'),
  bool('signin.username', true, 'Users can sign in with their username and password.'),
  bool('signin.third_party', false, 'Users can sign in through a linked identity provider.'),

  bool('registration.public', false, 'Anyone can create an account (off: only by invitation or by an admin).'),
  bool('registration.email', true, 'Self-registration with an email address is offered when registration is public.'),
  bool('registration.email_verification', true, 'A new account must verify its email address before signing in.'),
  domains('registration.allowed_domains', 'Email domains allowed to register (IDNA, lower case); empty = any domain.'),
  bool('registration.block_plus_alias', false, 'Refuse registration with plus-addressed emails (name+tag@…).'),
  text('string', 'registration.turnstile_site_key', null, 'Cloudflare Turnstile site key for the registration form; unset = no human verification.'),
  secret('registration.turnstile_secret', 'Cloudflare Turnstile secret key (server side).'),
  text('url', 'registration.turnstile_verify_url', 'https://challenges.cloudflare.com/turnstile/v0/siteverify', "Turnstile's siteverify endpoint."),

  text('string', 'smtp.host', null, 'SMTP server host name; unset = no outgoing mail.'),
  int('smtp.port', 587, 1, 65535, 'SMTP server port (465 for tls, 587 for starttls).'),
  enumOf('smtp.secure', SMTP_SECURITY_MODES, 'starttls', 'SMTP transport security: tls (implicit TLS), starttls, or none (local testing only).'),
  text('string', 'smtp.user', null, 'SMTP user name; unset = no authentication.'),
  secret('smtp.password', 'SMTP password.'),
  text('email', 'smtp.from', null, 'Sender of outgoing mail: an address with an optional display name (Acme <no-reply@acme.example>).'),

  int('password.min_length', 12, 8, 128, 'Minimum password length in characters.'),
  int('password.max_bytes', 72, 72, 72, "Maximum password length in UTF-8 bytes: fixed at 72, bcrypt's limit."),
  bool('password.block_common', true, 'Refuse common passwords.'),
  int('password.bcrypt_cost', 12, 10, 15, 'bcrypt work factor for new password hashes (each step doubles the time).'),

  duration('security.session_lifetime', 14 * DAY, 5 * MINUTE, 365 * DAY, 'How long a sign-in session lasts.'),
  duration('security.access_token_lifetime', HOUR, MINUTE, 30 * DAY, 'How long an access token lasts.'),
  int('security.lockout_threshold', 5, 0, 100, 'Failed sign-ins in a row before the account is locked; 0 = off.', 'off'),
  duration('security.lockout_duration', 15 * MINUTE, MINUTE, 30 * DAY, 'How long a locked account stays locked.'),
  int('security.rate_limit_per_minute', 60, 0, 10_000, 'Sign-in attempts allowed per IP address per minute; 0 = off.', 'off'),
  bool('security.enforce_admin_2fa', false, 'Admins must use two-factor authentication.'),
  bool('security.enforce_2fa', false, 'Every user must use two-factor authentication.'),
  duration('security.impersonation_max_ttl', HOUR, MINUTE, DAY, 'Longest an impersonation session may last.'),

  duration('invitation.lifetime', 7 * DAY, HOUR, 90 * DAY, 'How long an invitation stays valid.'),
  duration('token.reset_lifetime', HOUR, 5 * MINUTE, DAY, 'How long a password-reset link stays valid.'),
  duration('token.verification_lifetime', DAY, HOUR, 30 * DAY, 'How long an email-verification link stays valid.'),

  duration('retention.login_history', 90 * DAY, DAY, 3650 * DAY, 'How long sign-in history is kept; 0 = keep forever.', 'keep forever'),
  duration('retention.revoked_sessions', 30 * DAY, DAY, 3650 * DAY, 'How long revoked and expired sessions are kept; 0 = keep forever.', 'keep forever'),
  duration('retention.audit', 0, 30 * DAY, 3650 * DAY, 'How long audit entries are kept; 0 = keep forever.', 'keep forever'),

  enumOf('billing.mode', BILLING_MODES, 'period', 'Bill customers by period (subscription) or by usage.'),

  text('url', 'app.base_url', null, 'Public base URL used in emailed links (https in production).'),
  text('string', 'app.name', 'acctctl', 'Product name shown in emails and messages.'),
] as const satisfies readonly SettingSpec[];

type Def = (typeof DEFS)[number];
export type SettingKey = Def['key'];

type ValueOf<D> = D extends { type: 'boolean' }
  ? boolean
  : D extends { type: 'integer' | 'duration' }
    ? number
    : D extends { type: 'enum'; values: readonly (infer V)[] }
      ? V
      : D extends { type: 'list' }
        ? string[]
        : D extends { default: infer X }
          ? null extends X ? string | null : string
          : never;

/** Each key's TypeScript value type: `PolicyValues['password.min_length']` is number. */
export type PolicyValues = { [K in SettingKey]: ValueOf<Extract<Def, { key: K }>> };

function deepFreeze<T>(spec: T): T {
  for (const v of Object.values(spec as object)) if (Array.isArray(v)) Object.freeze(v);
  return Object.freeze(spec);
}

export const SETTINGS: readonly SettingSpec[] = Object.freeze(DEFS.map((d) => deepFreeze<SettingSpec>(d)));

/** Sections in registry order. */
export const SECTIONS: readonly string[] = Object.freeze([...new Set(SETTINGS.map((s) => s.section))]);

const BY_KEY = new Map(SETTINGS.map((s) => [s.key, s]));

export function settingByKey(key: string): SettingSpec | undefined {
  return BY_KEY.get(key);
}

export function isSettingKey(key: string): key is SettingKey {
  return BY_KEY.has(key);
}

/** The defaults as a fresh PolicyValues (lists copied, so the caller may keep it). */
export function defaultPolicy(): PolicyValues {
  const out: Record<string, SettingValue> = {};
  for (const s of SETTINGS) out[s.key] = Array.isArray(s.default) ? [...s.default] : s.default;
  return out as PolicyValues;
}
