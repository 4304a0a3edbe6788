import { describe, expect, expectTypeOf, it } from 'vitest';
import type { Result } from '../../src/domain/validate.js';
import { SECTIONS, SETTINGS, defaultPolicy, settingByKey, type PolicyValues, type SettingSpec, type SettingValue } from '../../src/policy/registry.js';
import {
  SECRET_MAX_BYTES, URL_MAX, formatDuration, formatSetting, isMaskedSecret, maskSecret, parseSetting, suggestKey, toJson,
} from '../../src/policy/values.js';

// Issue 7, point 1: every key it names.
const ISSUE_KEYS = [
  'signin.email', 'signin.username', 'signin.third_party',
  'registration.public', 'registration.email', 'registration.email_verification', 'registration.allowed_domains',
  'registration.block_plus_alias', 'registration.turnstile_site_key', 'registration.turnstile_secret', 'registration.turnstile_verify_url',
  'smtp.host', 'smtp.port', 'smtp.secure', 'smtp.user', 'smtp.password', 'smtp.from',
  'password.min_length', 'password.max_bytes', 'password.block_common', 'password.bcrypt_cost',
  'security.session_lifetime', 'security.access_token_lifetime', 'security.lockout_threshold', 'security.lockout_duration',
  'security.rate_limit_per_minute', 'security.enforce_admin_2fa', 'security.enforce_2fa', 'security.impersonation_max_ttl',
  'invitation.lifetime', 'token.reset_lifetime', 'token.verification_lifetime',
  'retention.login_history', 'retention.revoked_sessions', 'retention.audit',
  'billing.mode', 'app.base_url', 'app.name',
];

const M = 60;
const H = 3600;
const D = 86_400;

const EXPECTED_DEFAULTS: Record<string, SettingValue> = {
  'signin.email': true, 'signin.username': true, 'signin.third_party': false,
  'registration.public': false, 'registration.email': true, 'registration.email_verification': true, 'registration.allowed_domains': [],
  'registration.block_plus_alias': false, 'registration.turnstile_site_key': null, 'registration.turnstile_secret': null,
  'registration.turnstile_verify_url': 'https://challenges.cloudflare.com/turnstile/v0/siteverify',
  'smtp.host': null, 'smtp.port': 587, 'smtp.secure': 'starttls', 'smtp.user': null, 'smtp.password': null, 'smtp.from': null,
  'password.min_length': 12, 'password.max_bytes': 72, 'password.block_common': true, 'password.bcrypt_cost': 12,
  'security.session_lifetime': 14 * D, 'security.access_token_lifetime': H, 'security.lockout_threshold': 5, 'security.lockout_duration': 15 * M,
  'security.rate_limit_per_minute': 60, 'security.enforce_admin_2fa': false, 'security.enforce_2fa': false, 'security.impersonation_max_ttl': H,
  'invitation.lifetime': 7 * D, 'token.reset_lifetime': H, 'token.verification_lifetime': 24 * H,
  'retention.login_history': 90 * D, 'retention.revoked_sessions': 30 * D, 'retention.audit': 0,
  'billing.mode': 'period', 'app.base_url': null, 'app.name': 'acctctl',
};

/** A valid non-default value per key, as typed on a command line, and what it parses to; null: the setting is fixed. */
const VALID: Record<string, [text: string, value: SettingValue] | null> = {
  'signin.email': ['off', false],
  'signin.username': ['no', false],
  'signin.third_party': ['yes', true],
  'registration.public': ['on', true],
  'registration.email': ['0', false],
  'registration.email_verification': ['false', false],
  'registration.allowed_domains': [' acme.example, Bücher.Example,, mail.acme.example ', ['acme.example', 'xn--bcher-kva.example', 'mail.acme.example']],
  'registration.block_plus_alias': ['TRUE', true],
  'registration.turnstile_site_key': ['0x4AAAAAAAB1cdEf', '0x4AAAAAAAB1cdEf'],
  'registration.turnstile_secret': ['0x4AAAAAAAsecret-Value_1', '0x4AAAAAAAsecret-Value_1'],
  'registration.turnstile_verify_url': ['https://turnstile.internal.example/verify', 'https://turnstile.internal.example/verify'],
  'smtp.host': ['smtp.acme.example', 'smtp.acme.example'],
  'smtp.port': ['465', 465],
  'smtp.secure': ['tls', 'tls'],
  'smtp.user': ['mailer', 'mailer'],
  'smtp.password': [' p@ss wörd! \n', ' p@ss wörd! '],
  'smtp.from': ['Acme   <no-reply@acme.example>', 'Acme <no-reply@acme.example>'],
  'password.min_length': ['16', 16],
  'password.max_bytes': null,
  'password.block_common': ['off', false],
  'password.bcrypt_cost': ['14', 14],
  'security.session_lifetime': ['30d', 30 * D],
  'security.access_token_lifetime': ['15m', 15 * M],
  'security.lockout_threshold': ['0', 0],
  'security.lockout_duration': ['1h', H],
  'security.rate_limit_per_minute': ['120', 120],
  'security.enforce_admin_2fa': ['on', true],
  'security.enforce_2fa': ['yes', true],
  'security.impersonation_max_ttl': ['90m', 90 * M],
  'invitation.lifetime': ['14d', 14 * D],
  'token.reset_lifetime': ['30m', 30 * M],
  'token.verification_lifetime': ['48h', 2 * D],
  'retention.login_history': ['0', 0],
  'retention.revoked_sessions': ['7d', 7 * D],
  'retention.audit': ['365d', 365 * D],
  'billing.mode': ['usage', 'usage'],
  'app.base_url': ['https://accounts.acme.example/', 'https://accounts.acme.example/'],
  'app.name': ['Acme Accounts', 'Acme Accounts'],
};

function spec(key: string): SettingSpec {
  const s = settingByKey(key);
  if (!s) throw new Error(`no setting ${key}`);
  return s;
}

function value<T>(r: Result<T>): T {
  if (!r.ok) throw new Error(`expected ok, got ${r.field}: ${r.message}`);
  return r.value;
}

/** Refused, naming the key (as ValidationError shows it: "key: message"), and the value unless it is a secret. */
function refused(r: Result<unknown>, key: string, message?: string | RegExp): string {
  expect(r.ok, JSON.stringify(r)).toBe(false);
  if (r.ok) return '';
  expect(r.field).toBe(key);
  const shown = `${r.field}: ${r.message}`;
  expect(shown.startsWith(`${key}: `)).toBe(true);
  if (message !== undefined) expect(r.message).toMatch(message);
  return shown;
}

const text = (key: string, input: unknown) => parseSetting(spec(key), input, 'text');
const json = (key: string, input: unknown) => parseSetting(spec(key), input, 'json');

/** Text form then parse, and JSON form (through JSON text) then parse: both give `v` back. */
function expectRoundTrip(s: SettingSpec, v: SettingValue): void {
  // formatSetting masks a secret: its text form is the secret itself.
  const asText = s.secret && typeof v === 'string' ? v : formatSetting(s, v);
  expect(value(parseSetting(s, asText, 'text'))).toEqual(v);
  const exported: unknown = JSON.parse(JSON.stringify(toJson(s, v)));
  expect(value(parseSetting(s, exported, 'json'))).toEqual(v);
}

describe('the registry', () => {
  it('holds every key named in issue 7, each once, in its section', () => {
    const keys = SETTINGS.map((s) => s.key);
    expect(keys).toEqual(expect.arrayContaining(ISSUE_KEYS));
    expect(new Set(keys).size).toBe(keys.length);
    for (const s of SETTINGS) expect(s.key.startsWith(`${s.section}.`)).toBe(true);
    expect(SECTIONS).toEqual(['signin', 'registration', 'smtp', 'password', 'security', 'invitation', 'token', 'retention', 'billing', 'app']);
  });

  it('has the defaults the issue and the design give', () => {
    expect(Object.fromEntries(SETTINGS.map((s) => [s.key, s.default]))).toEqual(EXPECTED_DEFAULTS);
    expect(defaultPolicy()).toEqual(EXPECTED_DEFAULTS);
  });

  it('marks exactly the secret settings secret, and every spec is complete', () => {
    expect(SETTINGS.filter((s) => s.secret).map((s) => s.key)).toEqual(['registration.turnstile_secret', 'smtp.password']);
    for (const s of SETTINGS) {
      expect(s.secret).toBe(s.type === 'secret');
      expect(s.description.length, s.key).toBeGreaterThan(10);
      if (s.type === 'integer' || s.type === 'duration') expect(s.min !== undefined && s.max !== undefined && s.min <= s.max, s.key).toBe(true);
      if (s.type === 'enum') expect(s.values?.includes(s.default as string), s.key).toBe(true);
      // 0 outside the range only where it means off or forever, and the description says so.
      if (s.zeroMeans !== undefined) expect(s.description).toContain(`0 = ${s.zeroMeans}`);
    }
    expect(spec('smtp.port')).toMatchObject({ min: 1, max: 65535 });
    expect(spec('password.min_length')).toMatchObject({ min: 8, max: 128 });
    expect(spec('password.max_bytes')).toMatchObject({ min: 72, max: 72 });
    expect(spec('password.bcrypt_cost')).toMatchObject({ min: 10, max: 15 });
    expect(spec('security.lockout_threshold')).toMatchObject({ min: 0, max: 100 });
    expect(spec('security.rate_limit_per_minute')).toMatchObject({ min: 0, max: 10_000 });
    expect(spec('security.session_lifetime')).toMatchObject({ min: 5 * M, max: 365 * D });
    expect(spec('smtp.secure').values).toEqual(['tls', 'starttls', 'none']);
    expect(spec('billing.mode').values).toEqual(['period', 'usage']);
  });

  it('is frozen, and defaultPolicy hands out copies', () => {
    expect(Object.isFrozen(spec('registration.allowed_domains'))).toBe(true);
    expect(Object.isFrozen(spec('registration.allowed_domains').default)).toBe(true);
    const p = defaultPolicy();
    p['registration.allowed_domains'].push('acme.example');
    expect(defaultPolicy()['registration.allowed_domains']).toEqual([]);
  });

  it('types each key: PolicyValues maps keys to their value types', () => {
    expectTypeOf<PolicyValues['password.min_length']>().toEqualTypeOf<number>();
    expectTypeOf<PolicyValues['security.session_lifetime']>().toEqualTypeOf<number>();
    expectTypeOf<PolicyValues['signin.email']>().toEqualTypeOf<boolean>();
    expectTypeOf<PolicyValues['smtp.secure']>().toEqualTypeOf<'tls' | 'starttls' | 'none'>();
    expectTypeOf<PolicyValues['billing.mode']>().toEqualTypeOf<'period' | 'usage'>();
    expectTypeOf<PolicyValues['registration.allowed_domains']>().toEqualTypeOf<string[]>();
    expectTypeOf<PolicyValues['smtp.password']>().toEqualTypeOf<string | null>();
    expectTypeOf<PolicyValues['app.base_url']>().toEqualTypeOf<string | null>();
    expectTypeOf<PolicyValues['app.name']>().toEqualTypeOf<string>();
    expectTypeOf<PolicyValues['registration.turnstile_verify_url']>().toEqualTypeOf<string>();
    expectTypeOf<keyof PolicyValues>().toEqualTypeOf<(typeof SETTINGS)[number]['key'] & keyof PolicyValues>();
  });
});

describe.each(SETTINGS.map((s) => [s.key, s] as const))('%s', (key, s) => {
  it('its default passes its own parser and round-trips (text and JSON)', () => {
    expectRoundTrip(s, s.default);
  });

  it('a valid non-default value round-trips (text and JSON)', () => {
    expect(key in VALID, `add ${key} to VALID`).toBe(true);
    const entry = VALID[key];
    if (entry === null) {
      expect(s.min !== undefined && s.min === s.max, `${key} has no other valid value only if it is fixed`).toBe(true);
      refused(text(key, String(s.min! + 1)), key);
      return;
    }
    const [input, expected] = entry;
    expect(expected).not.toEqual(s.default);
    expect(value(parseSetting(s, input, 'text'))).toEqual(expected);
    expectRoundTrip(s, expected);
  });
});

describe('refusals name the key, the value and what is allowed', () => {
  it('the issue\'s example message, word for word', () => {
    const r = text('security.session_lifetime', '10x');
    expect(refused(r, 'security.session_lifetime')).toBe('security.session_lifetime: "10x" is not a duration (90s, 30m, 12h, 7d) from 5m to 365d');
  });

  it.each([
    ['smtp.port', '0'], ['smtp.port', '65536'], ['password.min_length', '7'], ['password.min_length', '129'],
    ['password.max_bytes', '71'], ['password.max_bytes', '73'], ['password.bcrypt_cost', '9'], ['password.bcrypt_cost', '16'],
    ['security.lockout_threshold', '-1'], ['security.lockout_threshold', '101'], ['security.rate_limit_per_minute', '10001'],
    ['smtp.port', '99999999999999999999'],
  ])('integer out of range: %s %s', (key, input) => {
    const shown = refused(text(key, input), key, /is not a whole number (from|of exactly)/);
    expect(shown).toContain(`"${input}"`);
  });

  it('a whole number message gives the range and what 0 means', () => {
    refused(text('smtp.port', '70000'), 'smtp.port', '"70000" is not a whole number from 1 to 65535');
    refused(text('security.lockout_threshold', '101'), 'security.lockout_threshold', /from 0 to 100 \(0 = off\)/);
    refused(text('password.max_bytes', '64'), 'password.max_bytes', /of exactly 72/);
  });

  it.each([
    ['text', 'smtp.port', 'abc'], ['text', 'smtp.port', '1.5'], ['text', 'smtp.port', '1e3'], ['text', 'smtp.port', ''],
    ['text', 'signin.email', 'maybe'], ['text', 'signin.email', ''],
    ['json', 'registration.allowed_domains', 3], ['json', 'registration.allowed_domains', 'acme.example'], ['json', 'registration.allowed_domains', [1]],
    ['json', 'smtp.port', '587'], ['json', 'smtp.port', 587.5], ['json', 'signin.email', 'true'], ['json', 'signin.email', 1],
    ['json', 'security.session_lifetime', 3600], ['json', 'app.name', 42], ['json', 'app.name', null], ['json', 'smtp.secure', null],
    ['json', 'smtp.host', { host: 'x' }], ['text', 'smtp.port', 587],
  ] as const)('wrong type (%s): %s %j', (from, key, input) => {
    refused(parseSetting(spec(key), input, from), key);
  });

  it('a wrong JSON type says what JSON is expected', () => {
    refused(json('registration.allowed_domains', 3), 'registration.allowed_domains', /^3 is not a comma-separated list of domain names such as .*\(in JSON: an array of strings\)$/);
    refused(json('security.session_lifetime', 3600), 'security.session_lifetime', /\(in JSON: a string such as "7d"\)/);
  });

  it.each([['smtp.secure', 'ssl'], ['smtp.secure', 'TLS'], ['smtp.secure', 'tls,none'], ['billing.mode', 'monthly']])('unknown enum value: %s %s', (key, input) => {
    refused(text(key, input), key, `"${input}" is not one of: ${spec(key).values!.join(', ')}`);
    refused(json(key, input), key);
  });

  it.each([
    ['security.session_lifetime', '10x'], ['security.session_lifetime', '1.5h'], ['security.session_lifetime', '-5m'],
    ['security.session_lifetime', '5'], ['security.session_lifetime', '1h30m'], ['security.session_lifetime', 'm'],
    ['security.session_lifetime', ''], ['security.session_lifetime', '0'], ['security.session_lifetime', '4m'],
    ['security.session_lifetime', '366d'], ['security.session_lifetime', '9999999999d'], ['retention.audit', '1h'],
    ['token.reset_lifetime', '2d'],
  ])('malformed or out-of-range duration: %s %s', (key, input) => {
    refused(text(key, input), key, new RegExp(`^"${input.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}" is not a duration \\(90s, 30m, 12h, 7d\\)`));
    refused(json(key, input), key);
  });

  it('durations: 0 only where it means off or forever, and the message says so', () => {
    expect(value(text('retention.audit', '0'))).toBe(0);
    expect(value(json('retention.audit', '0'))).toBe(0);
    expect(value(text('retention.login_history', '0s'))).toBe(0);
    refused(text('retention.audit', '7d'), 'retention.audit', /from 30d to 3650d, or 0 \(keep forever\)/);
    expect(value(text('security.session_lifetime', ' 5M '))).toBe(300);
  });

  it.each([
    ['ftp://x'], ['http://'], ['https://user:pw@host.example'], ['https://user@host.example'], ['not a url'], ['acme.example'],
    ['javascript:alert(1)'], ['https://@acme.example/'], ['https:\\\\acme.example\\x'], ['https://acme.example/a b'], [`https://acme.example/${'a'.repeat(URL_MAX)}`], ['mailto:x@acme.example'],
  ])('bad URL: %s', (input) => {
    refused(text('app.base_url', input), 'app.base_url', /(is not an http\(s\) URL|user or password|longer than)/);
    refused(json('registration.turnstile_verify_url', input), 'registration.turnstile_verify_url');
  });

  it('a URL with credentials: the message does not repeat the password', () => {
    const shown = refused(text('app.base_url', 'https://admin:hunter2@acme.example/'), 'app.base_url', /has a user or password in it/);
    expect(shown).not.toContain('hunter2');
    expect(shown).not.toContain('admin');
    expect(shown).toContain('"https://…@acme.example/"');
  });

  it('a URL setting with a default refuses to be emptied; a nullable one unsets', () => {
    refused(text('registration.turnstile_verify_url', ''), 'registration.turnstile_verify_url', /must not be empty/);
    expect(value(text('app.base_url', ''))).toBeNull();
    expect(value(text('app.base_url', 'http://localhost:8080/app'))).toBe('http://localhost:8080/app');
  });

  it.each([
    ['acme.example, not_a domain'], ['localhost'], ['1.2.3.4'], ['-x.example'], ['a..example'], ['acme.example.'], ['*.'], ['*'], ['a.*.example'], ['*.*.acme.example'],
    ['user@acme.example'], ['https://acme.example'], [`${'a'.repeat(64)}.example`], ['acme.123'],
  ])('bad domain list item: %s', (input) => {
    refused(text('registration.allowed_domains', input), 'registration.allowed_domains', /^".*" is not a domain name \(expected a comma-separated list of domain names such as acme\.example, mail\.acme\.example\)$/);
    refused(json('registration.allowed_domains', input.split(',').map((i) => i.trim())), 'registration.allowed_domains');
  });

  it('a domain list item may be a wildcard for the subdomains of a domain (issue 10): *.example.com, IDNA too', () => {
    expect(value(text('registration.allowed_domains', '*.Acme.example, acme.example, *.bücher.example'))).toEqual(['*.acme.example', 'acme.example', '*.xn--bcher-kva.example']);
  });

  it('domain lists: lower-cased, IDNA, empty items dropped; duplicates refused', () => {
    expect(value(text('registration.allowed_domains', 'ACME.example,,bücher.example, ,'))).toEqual(['acme.example', 'xn--bcher-kva.example']);
    expect(value(text('registration.allowed_domains', ''))).toEqual([]);
    expect(value(json('registration.allowed_domains', []))).toEqual([]);
    refused(text('registration.allowed_domains', 'acme.example, ACME.example'), 'registration.allowed_domains', /lists "acme\.example" twice/);
    refused(text('registration.allowed_domains', 'bücher.example, xn--bcher-kva.example'), 'registration.allowed_domains', /twice/);
    refused(json('registration.allowed_domains', ['a.example', 'a.example']), 'registration.allowed_domains', /twice/);
    refused(json('registration.allowed_domains', ['a.example', '']), 'registration.allowed_domains');
    refused(text('registration.allowed_domains', 'acme.exa\u200bmple'), 'registration.allowed_domains', '"acme.exa\\u{200b}mple" must not contain invisible characters');
    refused(json('registration.allowed_domains', ['acme.exa\u200bmple']), 'registration.allowed_domains', /is not a domain name/);
  });

  it('email with an optional display name', () => {
    expect(value(text('smtp.from', ' no-reply@acme.example '))).toBe('no-reply@acme.example');
    expect(value(text('smtp.from', '"Acme, Inc." <no-reply@acme.example>'))).toBe('"Acme, Inc." <no-reply@acme.example>');
    expect(value(text('smtp.from', '<no-reply@acme.example>'))).toBe('no-reply@acme.example');
    expect(value(text('smtp.from', 'Äcme Konto <konto@bücher.example>'))).toBe('Äcme Konto <konto@bücher.example>');
    for (const bad of ['Acme, Inc. <x@acme.example>', 'Acme <not-an-address>', 'a@b@acme.example', 'Acme no-reply@acme.example', 'Acme <x@acme.example', '"Acme <x@acme.example>', 'Acme <>']) {
      refused(text('smtp.from', bad), 'smtp.from', /is not an email address, optionally with a display name/);
    }
  });

  it('strings: at most 200 characters, no control characters; empty unsets only where unset is the default', () => {
    expect(value(text('app.name', '  Acme  '))).toBe('Acme');
    refused(text('app.name', 'x'.repeat(201)), 'app.name', /is not text of at most 200 characters/);
    refused(text('app.name', 'Acme\u0007'), 'app.name', /control characters/);
    refused(text('app.name', 'Acme\u202e'), 'app.name', /bidirectional/);
    refused(text('app.name', 'Jo\ufffd'), 'app.name', /not valid UTF-8/);
    refused(text('app.name', ''), 'app.name', /must not be empty/);
    expect(value(text('smtp.host', ''))).toBeNull();
    expect(value(json('smtp.host', null))).toBeNull();
  });

  it('secrets: used as given, never echoed in a message', () => {
    expect(value(text('smtp.password', 's3cret\r\n'))).toBe('s3cret');
    expect(value(json('smtp.password', '  spaced  '))).toBe('  spaced  ');
    expect(value(text('smtp.password', ''))).toBeNull();
    for (const [bad, message] of [
      ['hunter2\u0007', /control characters/], ['hunter2\ud800', /not valid UTF-8/], ['   ', /only spaces/],
      ['h'.repeat(SECRET_MAX_BYTES + 1), /longer than 4096 bytes/], ['••••r2', /masked/],
    ] as const) {
      const shown = refused(text('smtp.password', bad), 'smtp.password', message);
      expect(shown).not.toContain('hunter2');
    }
    refused(json('smtp.password', 42), 'smtp.password', /^the value is not/);
    expect(value(text('smtp.password', 'é'.repeat(SECRET_MAX_BYTES / 2)))).toHaveLength(SECRET_MAX_BYTES / 2);
  });
});

describe('formatting', () => {
  it.each([[86_400, '1d'], [5400, '90m'], [90, '90s'], [0, '0'], [3600, '1h'], [172_800, '2d'], [90_000, '25h'], [61, '61s']])('formatDuration(%d) = %s', (seconds, shown) => {
    expect(formatDuration(seconds)).toBe(shown);
  });

  it('formatSetting: the text form; a secret only masked', () => {
    expect(formatSetting(spec('security.session_lifetime'), 14 * D)).toBe('14d');
    expect(formatSetting(spec('signin.email'), true)).toBe('true');
    expect(formatSetting(spec('registration.allowed_domains'), ['a.example', 'b.example'])).toBe('a.example, b.example');
    expect(formatSetting(spec('smtp.host'), null)).toBe('');
    expect(formatSetting(spec('smtp.password'), 'correct horse')).toBe('••••se');
  });

  it('toJson: durations as text, the rest as JSON values', () => {
    expect(toJson(spec('security.session_lifetime'), 14 * D)).toBe('14d');
    expect(toJson(spec('retention.audit'), 0)).toBe('0');
    expect(toJson(spec('smtp.port'), 587)).toBe(587);
    expect(toJson(spec('signin.email'), false)).toBe(false);
    expect(toJson(spec('registration.allowed_domains'), [])).toEqual([]);
    expect(toJson(spec('smtp.from'), null)).toBeNull();
  });

  it.each([
    ['', '••••'], ['short', '••••'], ['1234567', '••••'], ['12345678', '••••78'], ['correct horse battery', '••••ry'], ['pässwörd-🔑x', '••••🔑x'],
  ])('maskSecret(%j) = %s', (plain, masked) => {
    expect(maskSecret(plain)).toBe(masked);
    expect(isMaskedSecret(masked)).toBe(true);
  });
});

describe('suggestKey', () => {
  it.each([
    ['min_length', 'password.min_length'],
    ['password.min_lenght', 'password.min_length'],
    ['smtp.pasword', 'smtp.password'],
    ['sigin.email', 'signin.email'],
    ['SMTP.PORT', 'smtp.port'],
    ['smtp-port', 'smtp.port'],
    ['session_lifetime', 'security.session_lifetime'],
    ['session-lifetime', 'security.session_lifetime'],
    ['bcrypt_cots', 'password.bcrypt_cost'],
    ['allowed_domain', 'registration.allowed_domains'],
    ['retention.audits', 'retention.audit'],
    ['billing.mdoe', 'billing.mode'],
  ])('%s → %s', (unknown, key) => {
    expect(suggestKey(unknown)).toBe(key);
  });

  it.each([['totally.unrelated'], ['foo'], ['x'], [''], ['password.something_else'], ['a'.repeat(500)]])('%s → nothing', (unknown) => {
    expect(suggestKey(unknown)).toBeUndefined();
  });
});
