import { describe, expect, it } from 'vitest';
import { createHmac, randomBytes, randomInt } from 'node:crypto';
import { ValidationError } from '../../src/errors.js';
import {
  TOTP_SECRET_BYTES,
  newTotpSecret,
  otpauthUri,
  totpCode,
  totpStep,
  verifyTotp,
  type TotpAlgorithm,
} from '../../src/security/totp.js';

/** RFC 4648 base32, written here so the tests do not trust the code under test to encode. */
function base32(bytes: Uint8Array): string {
  const A = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += A[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += A[(value << (5 - bits)) & 31];
  return out;
}

function unbase32(text: string): Buffer {
  const A = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const ch of text) {
    value = (value << 5) | A.indexOf(ch);
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** RFC 4226 §5.3 / RFC 6238 §4 with nothing but node:crypto's HMAC. */
function referenceCode(key: Buffer, step: number, algorithm: TotpAlgorithm, digits: number): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const h = createHmac(algorithm, key).update(counter).digest();
  const offset = h[h.length - 1]! & 0x0f;
  const bin = ((h[offset]! & 0x7f) << 24) | (h[offset + 1]! << 16) | (h[offset + 2]! << 8) | h[offset + 3]!;
  return String(bin % 10 ** digits).padStart(digits, '0');
}

// RFC 6238 Appendix B: the seeds are ASCII "1234567890" repeated to 20, 32 and 64 bytes.
const SEEDS: Record<TotpAlgorithm, string> = {
  sha1: '12345678901234567890',
  sha256: '12345678901234567890123456789012',
  sha512: '1234567890123456789012345678901234567890123456789012345678901234',
};
const RFC6238: [number, string, TotpAlgorithm][] = [
  [59, '94287082', 'sha1'],
  [59, '46119246', 'sha256'],
  [59, '90693936', 'sha512'],
  [1111111109, '07081804', 'sha1'],
  [1111111109, '68084774', 'sha256'],
  [1111111109, '25091201', 'sha512'],
  [1111111111, '14050471', 'sha1'],
  [1111111111, '67062674', 'sha256'],
  [1111111111, '99943326', 'sha512'],
  [1234567890, '89005924', 'sha1'],
  [1234567890, '91819424', 'sha256'],
  [1234567890, '93441116', 'sha512'],
  [2000000000, '69279037', 'sha1'],
  [2000000000, '90698825', 'sha256'],
  [2000000000, '38618901', 'sha512'],
  [20000000000, '65353130', 'sha1'],
  [20000000000, '77737706', 'sha256'],
  [20000000000, '47863826', 'sha512'],
];

describe('RFC 6238 Appendix B test vectors', () => {
  it('uses seeds of 20, 32 and 64 bytes', () => {
    expect([SEEDS.sha1.length, SEEDS.sha256.length, SEEDS.sha512.length]).toEqual([20, 32, 64]);
  });

  it.each(RFC6238)('T=%i s: %s (%s) is generated and passes verifyTotp', (seconds, code, algorithm) => {
    const secret = base32(Buffer.from(SEEDS[algorithm], 'ascii'));
    const atMs = seconds * 1000;
    const step = Math.floor(seconds / 30);
    expect(totpCode(secret, atMs, { algorithm, digits: 8 })).toBe(code);
    expect(referenceCode(Buffer.from(SEEDS[algorithm], 'ascii'), step, algorithm, 8)).toBe(code);
    expect(verifyTotp({ secret, code, atMs, lastUsedStep: null, window: 0, algorithm, digits: 8 })).toEqual({ ok: true, step });
    // The default window and a replay-protection mark just below the step change nothing.
    expect(verifyTotp({ secret, code, atMs, lastUsedStep: step - 1, algorithm, digits: 8 })).toEqual({ ok: true, step });
    // Another algorithm's code for the same seed and time is not this one.
    const other: TotpAlgorithm = algorithm === 'sha1' ? 'sha256' : 'sha1';
    expect(verifyTotp({ secret, code, atMs, lastUsedStep: null, algorithm: other, digits: 8 }).ok).toBe(false);
  });
});

describe('random keys against a plain node:crypto HMAC computation', () => {
  const ALGORITHMS: TotpAlgorithm[] = ['sha1', 'sha256', 'sha512'];
  it('matches for 50 random keys at random times, algorithms and lengths', () => {
    for (let i = 0; i < 50; i++) {
      const key = randomBytes(randomInt(16, 65));
      const algorithm = ALGORITHMS[i % 3]!;
      const digits = 6 + (i % 3);
      const period = i % 5 === 0 ? 60 : 30;
      const atMs = randomInt(0, 2 ** 47); // up to year ~6400
      const secret = base32(key);
      const step = Math.floor(Math.floor(atMs / 1000) / period);
      const expected = referenceCode(key, step, algorithm, digits);
      expect(totpCode(secret, atMs, { algorithm, digits, period }), `key ${key.toString('hex')} at ${atMs}`).toBe(expected);
      expect(verifyTotp({ secret, code: expected, atMs, lastUsedStep: null, algorithm, digits, period })).toEqual({ ok: true, step });
    }
  });

  it('defaults to SHA-1, 6 digits and 30 s', () => {
    const key = randomBytes(20);
    const atMs = 1_800_000_000_123;
    expect(totpCode(base32(key), atMs)).toBe(referenceCode(key, Math.floor(1_800_000_000 / 30), 'sha1', 6));
  });
});

describe('verifyTotp', () => {
  const secret = newTotpSecret();
  const key = unbase32(secret);
  const T0 = 1_764_000_000_000 + 12_345; // a time inside a step, in ms
  const now = totpStep(T0);
  const codeFor = (step: number) => referenceCode(key, step, 'sha1', 6);

  it('accepts the current code and returns its step', () => {
    expect(verifyTotp({ secret, code: codeFor(now), atMs: T0, lastUsedStep: null })).toEqual({ ok: true, step: now });
    expect(verifyTotp({ secret, code: codeFor(now), atMs: T0, lastUsedStep: undefined })).toEqual({ ok: true, step: now });
  });

  it('refuses a replay of the same step and accepts the next step', () => {
    const first = verifyTotp({ secret, code: codeFor(now), atMs: T0, lastUsedStep: null });
    expect(first).toEqual({ ok: true, step: now });
    const last = first.ok ? first.step : -1;
    expect(verifyTotp({ secret, code: codeFor(now), atMs: T0, lastUsedStep: last })).toEqual({ ok: false, reason: 'replayed' });
    expect(verifyTotp({ secret, code: codeFor(now), atMs: T0 + 29_000, lastUsedStep: last })).toEqual({ ok: false, reason: 'replayed' });
    // An older code, still inside the window, is a replay too once a newer step was used.
    expect(verifyTotp({ secret, code: codeFor(now - 1), atMs: T0, lastUsedStep: last })).toEqual({ ok: false, reason: 'replayed' });
    expect(verifyTotp({ secret, code: codeFor(now + 1), atMs: T0 + 30_000, lastUsedStep: last })).toEqual({ ok: true, step: now + 1 });
    // A code from the future within the window is accepted now, and then the current one is old.
    expect(verifyTotp({ secret, code: codeFor(now + 1), atMs: T0, lastUsedStep: last })).toEqual({ ok: true, step: now + 1 });
    expect(verifyTotp({ secret, code: codeFor(now), atMs: T0, lastUsedStep: now + 1 })).toEqual({ ok: false, reason: 'replayed' });
  });

  it('accepts ±1 step with the default window and refuses ±2', () => {
    for (const d of [-1, 0, 1]) {
      expect(verifyTotp({ secret, code: codeFor(now + d), atMs: T0, lastUsedStep: null }), `step ${d}`).toEqual({ ok: true, step: now + d });
    }
    for (const d of [-2, 2, -3, 3]) {
      expect(verifyTotp({ secret, code: codeFor(now + d), atMs: T0, lastUsedStep: null }), `step ${d}`).toEqual({ ok: false, reason: 'bad_code' });
    }
  });

  it('honours the window: 0 accepts only the current step, 2 accepts ±2', () => {
    expect(verifyTotp({ secret, code: codeFor(now - 1), atMs: T0, lastUsedStep: null, window: 0 }).ok).toBe(false);
    expect(verifyTotp({ secret, code: codeFor(now), atMs: T0, lastUsedStep: null, window: 0 }).ok).toBe(true);
    expect(verifyTotp({ secret, code: codeFor(now - 2), atMs: T0, lastUsedStep: null, window: 2 })).toEqual({ ok: true, step: now - 2 });
    expect(verifyTotp({ secret, code: codeFor(now + 2), atMs: T0, lastUsedStep: null, window: 2 })).toEqual({ ok: true, step: now + 2 });
    expect(() => verifyTotp({ secret, code: codeFor(now), atMs: T0, lastUsedStep: null, window: 11 })).toThrow(RangeError);
    expect(() => verifyTotp({ secret, code: codeFor(now), atMs: T0, lastUsedStep: null, window: 1.5 })).toThrow(RangeError);
  });

  it('uses the step boundaries of the clock it is given', () => {
    const start = now * 30_000; // first millisecond of the step
    expect(verifyTotp({ secret, code: codeFor(now), atMs: start, lastUsedStep: null, window: 0 }).ok).toBe(true);
    expect(verifyTotp({ secret, code: codeFor(now), atMs: start - 1, lastUsedStep: null, window: 0 }).ok).toBe(false);
    expect(verifyTotp({ secret, code: codeFor(now), atMs: start + 29_999, lastUsedStep: null, window: 0 }).ok).toBe(true);
  });

  it('strips spaces (and reads full-width digits) but otherwise needs exactly `digits` digits', () => {
    const c = codeFor(now);
    expect(verifyTotp({ secret, code: `${c.slice(0, 3)} ${c.slice(3)}`, atMs: T0, lastUsedStep: null }).ok).toBe(true);
    expect(verifyTotp({ secret, code: ` ${c}\t`, atMs: T0, lastUsedStep: null }).ok).toBe(true);
    const fullWidth = [...c].map((d) => String.fromCharCode(0xff10 + Number(d))).join('');
    expect(verifyTotp({ secret, code: fullWidth, atMs: T0, lastUsedStep: null }).ok).toBe(true);
    const malformed = [
      '',
      '      ',
      c.slice(0, 5),
      `${c}0`,
      `0${c}`,
      `${c.slice(0, 3)}-${c.slice(3)}`,
      `${c.slice(0, 5)}a`,
      'abcdef',
      '12345e',
      '+12345',
      '1e5000',
      '٠١٢٣٤٥', // Arabic-Indic digits
      `${c}${' '.repeat(100)}`,
      c.slice(0, 5) + '\u0000',
    ];
    for (const code of malformed) {
      expect(verifyTotp({ secret, code, atMs: T0, lastUsedStep: null }), JSON.stringify(code)).toEqual({ ok: false, reason: 'bad_code' });
    }
    for (const code of [undefined, null, 123456, ['123456']]) {
      expect(verifyTotp({ secret, code: code as unknown as string, atMs: T0, lastUsedStep: null })).toEqual({ ok: false, reason: 'bad_code' });
    }
  });

  it('checks 8-digit codes as 8 digits: the 6-digit suffix is not enough', () => {
    const c8 = referenceCode(key, now, 'sha1', 8);
    expect(verifyTotp({ secret, code: c8, atMs: T0, lastUsedStep: null, digits: 8 }).ok).toBe(true);
    expect(verifyTotp({ secret, code: c8.slice(2), atMs: T0, lastUsedStep: null, digits: 8 })).toEqual({ ok: false, reason: 'bad_code' });
    expect(verifyTotp({ secret, code: c8, atMs: T0, lastUsedStep: null })).toEqual({ ok: false, reason: 'bad_code' });
  });

  it('refuses a wrong code for the right length', () => {
    const c = codeFor(now);
    const wrong = String((Number(c) + 1) % 1_000_000).padStart(6, '0');
    const candidates = [-1, 0, 1].map((d) => codeFor(now + d));
    if (!candidates.includes(wrong)) expect(verifyTotp({ secret, code: wrong, atMs: T0, lastUsedStep: null })).toEqual({ ok: false, reason: 'bad_code' });
  });

  it('throws for a bad secret without echoing it, and for bad options', () => {
    const bad = 'NOT-BASE32-SECRET-1890';
    let message = '';
    try {
      verifyTotp({ secret: bad, code: '123456', atMs: T0, lastUsedStep: null });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/not base32/);
    expect(message).not.toContain(bad);
    expect(() => verifyTotp({ secret: 'GEZDGNBV', code: '123456', atMs: T0, lastUsedStep: null })).toThrow(/bytes/); // 5 bytes
    expect(() => totpCode(secret, T0, { digits: 5 })).toThrow(RangeError);
    expect(() => totpCode(secret, T0, { algorithm: 'md5' as TotpAlgorithm })).toThrow(RangeError);
    expect(() => totpCode(secret, T0, { period: 0 })).toThrow(RangeError);
    expect(() => totpCode(secret, -1)).toThrow(RangeError);
    expect(() => verifyTotp({ secret, code: '123456', atMs: T0, lastUsedStep: 1.5 })).toThrow(RangeError);
  });

  it('reads a secret in lower case, with spaces and padding', () => {
    const spaced = secret.toLowerCase().replace(/(.{4})/g, '$1 ');
    expect(totpCode(spaced, T0)).toBe(codeFor(now));
    expect(totpCode(`${secret}====`, T0)).toBe(codeFor(now));
  });
});

describe('newTotpSecret', () => {
  it('is 160 random bits in base32', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const s = newTotpSecret();
      expect(s).toMatch(/^[A-Z2-7]{32}$/);
      expect(unbase32(s).length).toBe(TOTP_SECRET_BYTES);
      expect(base32(unbase32(s))).toBe(s);
      seen.add(s);
    }
    expect(seen.size).toBe(200);
    // Every base32 symbol turns up: no bias towards a part of the alphabet.
    const chars = new Set([...seen].join(''));
    expect(chars.size).toBe(32);
  });
});

describe('otpauthUri', () => {
  const secret = newTotpSecret();

  it('builds a Key URI with the issuer as prefix and parameter', () => {
    const uri = otpauthUri({ secret, account: 'eve@example.com', issuer: 'ACME Hosting' });
    const u = new URL(uri);
    expect(u.protocol).toBe('otpauth:');
    expect(u.host).toBe('totp');
    expect(decodeURIComponent(u.pathname)).toBe('/ACME Hosting:eve@example.com');
    expect(u.searchParams.get('secret')).toBe(secret);
    expect(u.searchParams.get('issuer')).toBe('ACME Hosting');
  });

  it('carries non-default algorithm, digits and period, and normalises the secret', () => {
    const u = new URL(otpauthUri({ secret: secret.toLowerCase(), account: 'ops', issuer: 'acctctl', algorithm: 'sha256', digits: 8, period: 60 }));
    expect(u.searchParams.get('secret')).toBe(secret);
    expect(u.searchParams.get('algorithm')).toBe('SHA256');
    expect(u.searchParams.get('digits')).toBe('8');
    expect(u.searchParams.get('period')).toBe('60');
  });

  it('refuses a colon or an empty issuer or account, and a bad secret', () => {
    expect(() => otpauthUri({ secret, account: 'a:b', issuer: 'X' })).toThrow(ValidationError);
    expect(() => otpauthUri({ secret, account: 'eve', issuer: 'X:Y' })).toThrow(ValidationError);
    expect(() => otpauthUri({ secret, account: ' ', issuer: 'X' })).toThrow(ValidationError);
    expect(() => otpauthUri({ secret, account: 'eve', issuer: '' })).toThrow(ValidationError);
    expect(() => otpauthUri({ secret: 'not base32!', account: 'eve', issuer: 'X' })).toThrow(TypeError);
  });
});
