import { describe, expect, it } from 'vitest';
import {
  ADDRESS_MAX, DISPLAY_NAME_MAX, EMAIL_MAX, PREFERENCES_MAX_BYTES, PREFERENCES_MAX_DEPTH, REASON_MAX, SEARCH_MAX, normalizeEmail,
  validActorIp, validBoolean, validEmail, validLanguage, validPasswordShape, validPhone, validPreferences, validReason, validRole,
  validSearch, validStatus, validText, validTimezone, validUsername, type Result,
} from '../../src/domain/validate.js';

const INVALID_UTF8 = Buffer.from([0x4a, 0x6f, 0xe9, 0x21]).toString('utf8'); // latin-1 "Joé!" read as UTF-8
const LONE = 'a\ud800b';

function value<T>(r: Result<T>): T {
  if (!r.ok) throw new Error(`expected ok, got ${r.field}: ${r.message}`);
  return r.value;
}

function refused<T>(r: Result<T>, field: string, message?: string | RegExp): void {
  expect(r.ok, JSON.stringify(r)).toBe(false);
  if (r.ok) return;
  expect(r.field).toBe(field);
  if (message !== undefined) expect(r.message).toMatch(message);
}

describe('every text field', () => {
  const TEXT_FIELDS: [string, (s: string) => Result<unknown>][] = [
    ['email', (s) => validEmail(`${s}@example.com`)],
    ['username', (s) => validUsername(`ab${s}`)],
    ['name', (s) => validText(`Eve ${s}`, 'name', DISPLAY_NAME_MAX)],
    ['address', (s) => validText(`Street ${s}`, 'address', ADDRESS_MAX, { multiline: true })],
    ['timezone', (s) => validTimezone(`Europe/Berlin${s}`)],
    ['language', (s) => validLanguage(`en${s}`)],
    ['phone', (s) => validPhone(`+49 30 ${s}`)],
    ['search', (s) => validSearch(`eve${s}`)],
    ['reason', (s) => validReason(`why${s}`)],
    ['preferences', (s) => validPreferences(`{"a":"${s}"}`)],
    ['password', (s) => validPasswordShape(`correct horse ${s}`)],
  ];

  it.each(TEXT_FIELDS)('%s refuses invalid UTF-8 (U+FFFD) and lone surrogates as "not valid UTF-8"', (field, check) => {
    refused(check(INVALID_UTF8), field, /is not valid UTF-8/);
    refused(check(LONE), field, /is not valid UTF-8/);
    refused(check('\ufffd'), field, /is not valid UTF-8/);
  });

  it.each(TEXT_FIELDS)('%s refuses control characters', (field, check) => {
    for (const c of ['\u0000', '\u001b', '\u007f', '\u009b']) refused(check(c), field);
  });

  it.each(TEXT_FIELDS.filter(([f]) => f !== 'password'))('%s refuses bidi controls', (field, check) => {
    for (const c of ['\u202e', '\u2066', '\u200e', '\u061c']) refused(check(c), field);
  });

  it('two different invalid passwords do not pass as the same string', () => {
    const a = Buffer.from([0x70, 0xff, 0x77]).toString('utf8');
    const b = Buffer.from([0x70, 0xfe, 0x77]).toString('utf8');
    expect(a).toBe(b); // both decode to p\ufffdw: why U+FFFD is refused
    refused(validPasswordShape(a), 'password', /UTF-8/);
  });

  it('normalises text to NFC and trims it', () => {
    expect(value(validText('  Jose\u0301  ', 'name', 10))).toBe('Jos\u00e9');
    expect(value(validText('a\nb\r\nc', 'address', 10, { multiline: true }))).toBe('a\nb\r\nc');
    refused(validText('a\nb', 'name', 10), 'name', /control/);
  });

  it('counts characters, not UTF-16 units', () => {
    expect(value(validText('😀'.repeat(DISPLAY_NAME_MAX), 'name', DISPLAY_NAME_MAX))).toHaveLength(DISPLAY_NAME_MAX * 2);
    refused(validText('x'.repeat(DISPLAY_NAME_MAX + 1), 'name', DISPLAY_NAME_MAX), 'name', `longer than ${DISPLAY_NAME_MAX}`);
  });

  it('allows invisible joiners in free text, not in identifiers', () => {
    expect(value(validText('👩\u200d💻 Eve', 'name', 200))).toBe('👩\u200d💻 Eve');
  });
});

describe('email', () => {
  it('accepts ordinary and international addresses', () => {
    for (const e of ['a@example.com', "o'brien+tag@mail.example.co.uk", 'José@bücher.example', '用户@例え.テスト', 'x@xn--bcher-kva.example']) {
      expect(value(validEmail(e))).toBe(e);
    }
    expect(value(validEmail('  a@example.com '))).toBe('a@example.com');
  });

  it.each(['\u200b', '\u200d', '\u2060', '\u200e', '\u00ad', '\ufeff'])('refuses the invisible %j in the local part and domain', (c) => {
    refused(validEmail(`ro${c}ot@example.com`), 'email');
    refused(validEmail(`root@exa${c}mple.com`), 'email');
  });

  it('refuses what is not an address', () => {
    for (const e of ['', '   ', 'a', 'a@b', 'a@@b.com', 'a b@example.com', 'a@exa mple.com', '.a@example.com', 'a..b@example.com', 'a@-x.com', 'a@example.com.', 'a@example..com', `${'x'.repeat(65)}@example.com`, `a@${'x'.repeat(64)}.com`, 'a\u00a0b@example.com']) {
      refused(validEmail(e), 'email');
    }
    refused(validEmail(''), 'email', 'is required');
    refused(validEmail(`${'x'.repeat(64)}@${'y'.repeat(63)}.${'z'.repeat(63)}.${'w'.repeat(63)}.com`), 'email', `${EMAIL_MAX}`);
    refused(validEmail('evil\u001b[2J@example.com'), 'email', /control/);
  });

  it('refuses a domain whose last label is all digits (an IP address in disguise)', () => {
    for (const e of ['x@123.456', 'x@1.2.3.4', 'x@example.123', 'x@example.１２３']) refused(validEmail(e), 'email', /all digits/);
    expect(value(validEmail('x@123.example'))).toBe('x@123.example');
  });

  it('stores the NFC form', () => {
    expect(value(validEmail('Jose\u0301@bu\u0308cher.example'))).toBe('Jos\u00e9@b\u00fccher.example');
  });

  it('normalises to one key for NFC/NFD, Unicode/punycode domains and any case', () => {
    const nfc = 'Jos\u00e9@b\u00fccher.example';
    const nfd = nfc.normalize('NFD');
    expect(nfd).not.toBe(nfc);
    expect(normalizeEmail(nfd)).toBe(normalizeEmail(nfc));
    expect(normalizeEmail(nfc)).toBe('jos\u00e9@xn--bcher-kva.example');
    expect(normalizeEmail('x@bücher.example')).toBe(normalizeEmail('x@xn--bcher-kva.example'));
    expect(normalizeEmail('X@BÜCHER.Example')).toBe(normalizeEmail('x@xn--bcher-kva.example'));
    expect(normalizeEmail(' Carol@Example.COM ')).toBe('carol@example.com');
    expect(normalizeEmail('not-an-address')).toBe('not-an-address');
  });
});

describe('username', () => {
  it('accepts letters, digits, . _ -', () => {
    expect(value(validUsername(' carol.w '))).toBe('carol.w');
    expect(value(validUsername('a1'))).toBe('a1');
  });

  it.each(['\u200b', '\u200d', '\u2060', '\u200e'])('refuses the invisible %j', (c) => {
    refused(validUsername(`ro${c}ot`), 'username', /invisible|bidirectional/);
  });

  it('refuses ambiguous or malformed names', () => {
    for (const u of ['a', '12345', 'usr_abc', 'a@b', '-ab', 'ab cd', 'jos\u00e9', 'x'.repeat(65), '']) refused(validUsername(u), 'username');
  });
});

describe('role and status', () => {
  it('accepts the enum values only', () => {
    expect(value(validRole('admin'))).toBe('admin');
    expect(value(validRole(' user '))).toBe('user');
    refused(validRole('root'), 'role', /admin, reseller, user/);
    expect(value(validStatus('suspended'))).toBe('suspended');
    refused(validStatus('gone'), 'status', /pending, active, suspended, deactivated/);
  });
});

describe('boolean', () => {
  it('reads flags and CSV cells', () => {
    expect([true, 'true', 'YES', '1'].map((v) => value(validBoolean(v, 'super_admin')))).toEqual([true, true, true, true]);
    expect([false, 'false', 'no', '0'].map((v) => value(validBoolean(v, 'super_admin')))).toEqual([false, false, false, false]);
    refused(validBoolean('maybe', 'super_admin'), 'super_admin');
  });
});

describe('timezone', () => {
  it('stores the canonical IANA name, matched in any case', () => {
    expect(value(validTimezone('Europe/berlin'))).toBe('Europe/Berlin');
    expect(value(validTimezone('europe/berlin'))).toBe('Europe/Berlin');
    expect(value(validTimezone('America/New_York'))).toBe('America/New_York');
    expect(value(validTimezone('utc'))).toBe('UTC');
    expect(value(validTimezone('etc/utc'))).toBe('Etc/UTC');
  });

  it('accepts Etc/ zones', () => {
    for (const tz of ['Etc/GMT+5', 'Etc/GMT-14', 'etc/gmt+5']) expect(value(validTimezone(tz))).toMatch(/^Etc\/GMT[+-]\d+$/);
  });

  it('keeps a valid link as named (ICU would turn some into older names: Europe/Kyiv into Europe/Kiev)', () => {
    for (const tz of ['Asia/Calcutta', 'Asia/Kolkata', 'US/Eastern', 'America/Argentina/Buenos_Aires', 'Europe/Kyiv']) expect(value(validTimezone(tz))).toBe(tz);
  });

  it('refuses offsets, abbreviations and unknown names', () => {
    for (const tz of ['+02:00', 'UTC+2', 'GMT+2', 'EST', 'CEST', 'PST8PDT', 'Z', 'Mars/Olympus_Mons', 'Europe/Nowhere', '', 'Europe/Berlin/']) {
      refused(validTimezone(tz), 'timezone', /IANA/);
    }
  });
});

describe('language and phone', () => {
  it('canonicalises language tags and refuses prose', () => {
    expect(value(validLanguage('EN-us'))).toBe('en-US');
    expect(value(validLanguage('zh-Hant'))).toBe('zh-Hant');
    for (const t of ['english please', 'e', 'en-', 'en-'.repeat(20) + 'x']) refused(validLanguage(t), 'language');
  });

  it('accepts phone numbers and refuses the rest', () => {
    expect(value(validPhone(' +49 (30) 1234-56 '))).toBe('+49 (30) 1234-56');
    for (const p of ['call me', '+', '12', '1'.repeat(33), '+49 30 ①②']) refused(validPhone(p), 'phone');
  });
});

describe('preferences', () => {
  it('returns compact JSON of an object; "" clears to {}', () => {
    expect(value(validPreferences(' { "theme" : "dark", "n": [1, 2] } '))).toBe('{"theme":"dark","n":[1,2]}');
    expect(value(validPreferences(''))).toBe('{}');
    expect(value(validPreferences('  '))).toBe('{}');
  });

  it('must be a JSON object', () => {
    for (const p of ['[1,2]', '"x"', '1', 'null', 'true']) refused(validPreferences(p), 'preferences', /JSON object/);
    refused(validPreferences('{bad'), 'preferences', /not valid JSON/);
  });

  it(`is at most ${PREFERENCES_MAX_BYTES} bytes of UTF-8, measured before parsing`, () => {
    const fits = JSON.stringify({ a: 'x'.repeat(PREFERENCES_MAX_BYTES - 8) });
    expect(Buffer.byteLength(fits)).toBe(PREFERENCES_MAX_BYTES);
    expect(value(validPreferences(fits))).toBe(fits);
    // fewer than 16 Ki characters but more than 16 KiB: measured in bytes
    const multiByte = JSON.stringify({ a: 'é'.repeat(9000) });
    expect(multiByte.length).toBeLessThan(PREFERENCES_MAX_BYTES);
    refused(validPreferences(multiByte), 'preferences', /16 KiB/);
    refused(validPreferences(`{"a":"x"}${' '.repeat(PREFERENCES_MAX_BYTES)}`), 'preferences', /16 KiB/);
    // compacting must not grow it past the limit either (1e308 → 309 digits)
    refused(validPreferences(`{${Array.from({ length: 1500 }, (_, i) => `"${i}":1e99`).join(',')}}`), 'preferences', /16 KiB/);
  });

  it(`refuses nesting deeper than ${PREFERENCES_MAX_DEPTH} levels before parsing (no stack overflow)`, () => {
    const nest = (n: number) => '{"a":'.repeat(n - 1) + '{}' + '}'.repeat(n - 1);
    expect(value(validPreferences(nest(PREFERENCES_MAX_DEPTH)))).toBe(nest(PREFERENCES_MAX_DEPTH));
    refused(validPreferences(nest(PREFERENCES_MAX_DEPTH + 1)), 'preferences', /nested deeper than 20/);
    refused(validPreferences('['.repeat(8000)), 'preferences', /nested deeper/);
    refused(validPreferences(`{"a":${'['.repeat(5000)}`), 'preferences', /nested deeper/);
    // brackets inside strings are text, not nesting
    const inString = JSON.stringify({ a: '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[{{{{{{{{{{{{{{{{{{{{{{{{\\"' });
    expect(value(validPreferences(inString))).toBe(inString);
  });

  it('refuses escaped lone surrogates, controls and bidi controls inside strings', () => {
    refused(validPreferences('{"a":"\\ud800"}'), 'preferences', /UTF-8/);
    refused(validPreferences('{"a":"\\u001b[2J"}'), 'preferences', /control/);
    refused(validPreferences('{"\\u202e":1}'), 'preferences', /bidirectional/);
    expect(value(validPreferences('{"sig":"a\\nb\\tc"}'))).toBe('{"sig":"a\\nb\\tc"}');
  });

  it('keeps a hostile JSON error message printable', () => {
    const r = validPreferences('{"a": \u0007}');
    refused(r, 'preferences', /not valid JSON/);
    if (!r.ok) expect(r.message).not.toMatch(/\u0007/);
  });
});

describe('search needle', () => {
  it(`is at most ${SEARCH_MAX} characters, trimmed`, () => {
    expect(value(validSearch(' example.com '))).toBe('example.com');
    expect(value(validSearch('é'.repeat(SEARCH_MAX)))).toHaveLength(SEARCH_MAX);
    refused(validSearch('x'.repeat(SEARCH_MAX + 1)), 'search', `longer than ${SEARCH_MAX}`);
    refused(validSearch('x'.repeat(60_000)), 'search', `longer than ${SEARCH_MAX}`);
    refused(validSearch('%'.repeat(30_000)), 'search', `longer than ${SEARCH_MAX}`);
    refused(validSearch('a\u001bb'), 'search', /control/);
  });
});

describe('reason', () => {
  it(`is text of at most ${REASON_MAX} characters, field "reason"`, () => {
    expect(value(validReason(' fraud report #12 '))).toBe('fraud report #12');
    refused(validReason('x'.repeat(REASON_MAX + 1)), 'reason', `longer than ${REASON_MAX}`);
    refused(validReason('a\u202eb'), 'reason', /bidirectional/);
    refused(validReason('line\nbreak'), 'reason', /control/);
  });
});

describe('password shape', () => {
  it('accepts any well-formed text without controls, untouched', () => {
    expect(value(validPasswordShape(' Jose\u0301 😀 pass '))).toBe(' Jose\u0301 😀 pass ');
    refused(validPasswordShape('pass\u0000word'), 'password', /control/);
    refused(validPasswordShape('pass\nword'), 'password', /control/);
  });
});

describe('actor ip', () => {
  it('returns an IP address as given, anything else as "invalid", never an error', () => {
    for (const ip of ['127.0.0.1', '::1', '2001:db8::1', '::ffff:10.0.0.1']) expect(validActorIp(ip)).toBe(ip);
    for (const ip of ['', 'localhost', ' 1.2.3.4', '1.2.3.4\u001b[2J', '999.1.1.1', '01.2.3.4', undefined, null]) expect(validActorIp(ip)).toBe('invalid');
  });
});

describe('review findings', () => {
  it('refuses every default-ignorable or format character in an email, not only the zero-width ones', () => {
    for (const c of ['\u034f', '\u3164', '\uffa0', '\u{E0041}', '\ufe0f', '\u2028']) {
      expect(validEmail(`ro${c}ot@example.com`).ok, c.codePointAt(0)!.toString(16)).toBe(false);
    }
  });

  it('stores an address with ideographic full stops as dots', () => {
    expect(validEmail('x@a.example\u3002com')).toEqual({ ok: true, value: 'x@a.example.com' });
  });

  it('spells a time zone link canonically even where ICU does not list it', () => {
    for (const [typed, stored] of [['ASIA/KOLKATA', 'Asia/Kolkata'], ['europe/kyiv', 'Europe/Kyiv'], ['america/argentina/buenos_aires', 'America/Argentina/Buenos_Aires']]) {
      expect(validTimezone(typed!)).toEqual({ ok: true, value: stored });
    }
  });
});

describe('isIpAddress (without loading node:net at start-up)', () => {
  it('agrees with node:net isIP', async () => {
    const { isIP } = await import('node:net');
    const { isIpAddress } = await import('../../src/domain/validate.js');
    const cases = ['1.2.3.4', '255.255.255.255', '256.1.1.1', '01.2.3.4', '::1', '2001:db8::7', 'fe80::1%eth0', '::ffff:1.2.3.4', '1::2::3', 'gggg::1', '',
      '1.2.3', 'abc', '2001:db8:0:0:0:0:2:1', '::', '1:2:3:4:5:6:7:8:9', '[::1]', '1.2.3.4 ', ' ::1', '\u001b]0;x', '1.2.3.4/24'];
    for (let i = 0; i < 200; i++) cases.push(Array.from({ length: 4 }, () => Math.floor(Math.random() * 300)).join('.'));
    for (const c of cases) expect(isIpAddress(c), JSON.stringify(c)).toBe(isIP(c) !== 0);
  });
});
