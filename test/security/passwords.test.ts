import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import {
  DEFAULT_PASSWORD_POLICY,
  MAX_PASSWORD_BYTES,
  bcryptCostOf,
  checkNewPassword,
  checkPassword,
  dummyVerify,
  generatePassword,
  hashPassword,
  isCommonPassword,
  isWellFormedBcryptHash,
  normalizePassword,
  validNewPassword,
  validPassword,
  verifyPassword,
  type PasswordPolicy,
} from '../../src/security/passwords.js';

const POLICY: PasswordPolicy = { minLength: 12, bcryptCost: 4, blockCommon: true };
const LAX: PasswordPolicy = { ...POLICY, blockCommon: false };

function refusedWith(r: { ok: boolean; field?: string; message?: string }, message: RegExp, field = 'password'): void {
  expect(r.ok, JSON.stringify(r)).toBe(false);
  expect(r.field).toBe(field);
  expect(r.message).toMatch(message);
}

describe('password rules', () => {
  it('keeps the existing defaults and adds blockCommon: true', () => {
    expect(DEFAULT_PASSWORD_POLICY).toEqual({ minLength: 12, bcryptCost: 12, blockCommon: true });
    expect(MAX_PASSWORD_BYTES).toBe(72);
  });

  it('counts length in characters of the NFKC form (ligature, full-width digits)', () => {
    // Six U+FB01 'ﬁ' ligatures are six characters as typed and twelve as "fi" after NFKC.
    expect(validPassword('ﬁ'.repeat(6), POLICY)).toEqual({ ok: true, value: 'fi'.repeat(6) });
    expect(validPassword('１２３４５６７８９０１２', POLICY)).toEqual({ ok: true, value: '123456789012' });
    refusedWith(validPassword('１２３４５６７８９０１', POLICY), /at least 12 characters/);
    // A character outside ASCII is one character, however many bytes: 12 × é passes, 11 fails.
    expect(validPassword('é'.repeat(12), POLICY).ok).toBe(true);
    refusedWith(validPassword('é'.repeat(11), POLICY), /at least 12 characters/);
    // é as e + combining acute composes to one character under NFKC.
    refusedWith(validPassword('e\u0301'.repeat(11), POLICY), /at least 12 characters/);
    expect(validPassword('😀'.repeat(12), POLICY).ok).toBe(true);
  });

  it('refuses more than 72 bytes of UTF-8 and says why', () => {
    expect(validPassword('a'.repeat(72), POLICY).ok).toBe(true);
    const r = validPassword('a'.repeat(73), POLICY);
    refusedWith(r, /at most 72 bytes/);
    if (!r.ok) {
      expect(r.message).toMatch(/bcrypt ignores everything after/);
      expect(r.message).toContain('73');
    }
    // 18 emoji are 72 bytes; 19 are 76 though only 19 characters.
    expect(validPassword('😀'.repeat(18), POLICY).ok).toBe(true);
    refusedWith(validPassword('😀'.repeat(19), POLICY), /at most 72 bytes in UTF-8 \(this one is 76\)/);
    // The NFKC form is what is measured (and hashed): 36 ligatures are 108 bytes typed, 72 as "fi".
    expect(validPassword('ﬁ'.repeat(36), POLICY).ok).toBe(true);
  });

  it('allows any character but control characters and invalid UTF-8; no composition rules', () => {
    for (const ok of ['all lower case words', 'ALL UPPER CASE WORDS', '            ', 'пароль-пароль', '密码密码密码密码密码密码', 'tab-less "quotes" \\ $']) {
      expect(validPassword(ok, POLICY).ok, ok).toBe(true);
    }
    refusedWith(validPassword('correct horse\nbattery', POLICY), /control characters/);
    refusedWith(validPassword('correct horse\u0000battery', POLICY), /control characters/);
    refusedWith(validPassword('correct horse\ud800battery', POLICY), /not valid UTF-8/);
    refusedWith(validPassword('correct horse\ufffdbattery', POLICY), /not valid UTF-8/);
  });

  it('checkPassword throws a ValidationError naming the field and returns the NFKC form', () => {
    expect(checkPassword('ﬁ'.repeat(6), POLICY)).toBe('fi'.repeat(6));
    expect(() => checkPassword('short', POLICY, 'new_password')).toThrow(ValidationError);
    try {
      checkPassword('short', POLICY, 'new_password');
    } catch (err) {
      expect((err as ValidationError).errors).toEqual([{ field: 'new_password', message: 'must be at least 12 characters' }]);
    }
  });
});

describe('common passwords', () => {
  it('refuses a common password only with blockCommon', async () => {
    refusedWith(await validNewPassword('qwerty123456', POLICY), /too common/);
    expect(await validNewPassword('qwerty123456', LAX)).toEqual({ ok: true, value: 'qwerty123456' });
    await expect(checkNewPassword('qwerty123456', POLICY)).rejects.toThrow(ValidationError);
    await expect(checkNewPassword('qwerty123456', LAX)).resolves.toBe('qwerty123456');
    // The message never repeats the password.
    const r = await validNewPassword('1qaz2wsx3edc', POLICY);
    refusedWith(r, /too common/);
    if (!r.ok) expect(r.message).not.toContain('1qaz2wsx3edc');
  });

  it('compares case-insensitively after NFKC', async () => {
    for (const variant of ['QWERTY123456', 'QwErTy123456', 'ｑｗｅｒｔｙ１２３４５６', 'ＱＷＥＲＴＹ123456']) {
      expect(await isCommonPassword(variant), variant).toBe(true);
      refusedWith(await validNewPassword(variant, POLICY), /too common/);
    }
    expect(await isCommonPassword('pa$$w0rd')).toBe(true); // escaped in the generated list
    expect(await isCommonPassword('iloveyou')).toBe(true);
    expect(await isCommonPassword('')).toBe(false);
    expect(await isCommonPassword('correct horse battery staple 7')).toBe(false);
  });

  it('still applies the other rules first', async () => {
    refusedWith(await validNewPassword('password', POLICY), /at least 12 characters/);
    refusedWith(await validNewPassword('iloveyou', { minLength: 8, blockCommon: true }), /too common/);
  });

  it('never refuses a generated password', async () => {
    for (let i = 0; i < 20; i++) {
      const pw = generatePassword();
      expect(await validNewPassword(pw, POLICY)).toEqual({ ok: true, value: pw });
    }
  });
});

describe('hashing and verifying', () => {
  it('hashes the NFKC form: two encodings of one password are one password', async () => {
    const hash = await hashPassword('ﬁnancial-plan-２０２４', 4);
    expect(await verifyPassword('financial-plan-2024', hash)).toBe(true);
    expect(await verifyPassword('ﬁnancial-plan-２０２４', hash)).toBe(true);
    expect(await verifyPassword('financial-plan-2025', hash)).toBe(false);
    const composed = await hashPassword('café-au-lait-now', 4);
    expect(await verifyPassword('cafe\u0301-au-lait-now', composed)).toBe(true);
    expect(normalizePassword('cafe\u0301')).toBe('café');
  });

  it('refuses to hash more than 72 bytes rather than letting bcrypt drop the rest', async () => {
    await expect(hashPassword('a'.repeat(73), 4)).rejects.toThrow(ValidationError);
  });

  it('returns false without throwing (or running bcrypt) for junk after a valid hash', async () => {
    const hash = await hashPassword('correct horse battery', 4);
    expect(isWellFormedBcryptHash(hash)).toBe(true);
    expect(await verifyPassword('correct horse battery', hash)).toBe(true);
    for (const junk of [`${hash}x`, `${hash}\n`, `${hash}${hash}`, ` ${hash}`, hash.slice(0, -1)]) {
      expect(isWellFormedBcryptHash(junk)).toBe(false);
      await expect(verifyPassword('correct horse battery', junk)).resolves.toBe(false);
    }
    // A cost-15 hash followed by junk would take seconds if bcrypt ran; it returns at once.
    const slow = `${hash.replace('$04$', '$15$')}junk`;
    const t = performance.now();
    expect(await verifyPassword('correct horse battery', slow)).toBe(false);
    expect(performance.now() - t).toBeLessThan(100);
  });

  it('accepts only $2a$, $2b$, $2y$ hashes of bcrypt costs 4 to 31', async () => {
    const body = (await hashPassword('correct horse battery', 4)).slice(7);
    for (const prefix of ['$2a$10$', '$2b$10$', '$2y$10$', '$2b$04$', '$2b$31$']) expect(isWellFormedBcryptHash(prefix + body), prefix).toBe(true);
    for (const prefix of ['$2x$10$', '$2$10$', '$3b$10$', '$2b$03$', '$2b$32$', '$2b$99$', '$2b$1$', '$2b$100$']) {
      expect(isWellFormedBcryptHash(prefix + body), prefix).toBe(false);
    }
    for (const other of ['', 'plaintext', 'sha256$abc', `$2b$10$${body.replace(/.$/, '!')}`, null, undefined, 42]) {
      expect(isWellFormedBcryptHash(other)).toBe(false);
      await expect(verifyPassword('correct horse battery', other as unknown as string)).resolves.toBe(false);
    }
  });

  it('never matches a password that could not have been set', async () => {
    const hash = await hashPassword('correct horse battery', 4);
    expect(await verifyPassword('correct horse battery\u0000', hash)).toBe(false);
    expect(await verifyPassword(`correct horse battery${' '.repeat(60)}`, hash)).toBe(false);
    expect(await verifyPassword(undefined as unknown as string, hash)).toBe(false);
  });

  it('reads the cost of a hash, for re-hashing below the policy cost', async () => {
    const hash = await hashPassword('correct horse battery', 5);
    expect(bcryptCostOf(hash)).toBe(5);
    expect(bcryptCostOf(hash.replace('$05$', '$12$'))).toBe(12);
    expect(bcryptCostOf(`${hash}junk`)).toBeUndefined();
    expect(bcryptCostOf('not a hash')).toBeUndefined();
  });
});

describe('dummyVerify', () => {
  it('returns false and refuses costs bcrypt does not have', async () => {
    expect(await dummyVerify(4)).toBe(false);
    await expect(dummyVerify(3)).rejects.toThrow(RangeError);
    await expect(dummyVerify(32)).rejects.toThrow(RangeError);
    await expect(dummyVerify(10.5)).rejects.toThrow(RangeError);
  });

  it('takes about as long as a real verification at the same cost', async () => {
    const cost = 10;
    const hash = await hashPassword('correct horse battery', cost);
    const time = async (f: () => Promise<unknown>) => {
      const t = performance.now();
      await f();
      return performance.now() - t;
    };
    const medianOf = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
    await verifyPassword('warm up', hash);
    // Interleaved, so that load from other test files weighs on both alike.
    const real: number[] = [];
    const fake: number[] = [];
    for (let i = 0; i < 7; i++) {
      real.push(await time(() => verifyPassword('wrong password here', hash)));
      fake.push(await time(() => dummyVerify(cost)));
    }
    const ratio = medianOf(fake) / medianOf(real);
    expect(ratio).toBeGreaterThan(0.5);
    expect(ratio).toBeLessThan(2);
    const dummy = medianOf(fake);
    const median = async (f: () => Promise<unknown>) => medianOf([await time(f), await time(f), await time(f)]);
    // And it scales with the cost: cost 4 is 64 times less work than cost 10.
    const cheap = await median(() => dummyVerify(4));
    expect(cheap).toBeLessThan(dummy / 4);
  });
});
