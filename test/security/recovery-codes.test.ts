import { describe, expect, it } from 'vitest';
import {
  RECOVERY_CODE_BITS,
  hashRecoveryCode,
  matchRecoveryCode,
  newRecoveryCodes,
  normalizeRecoveryCode,
} from '../../src/security/recovery-codes.js';

const FORMAT = /^[0-9a-hjkmnp-tv-z]{4}(-[0-9a-hjkmnp-tv-z]{4}){3}$/;

describe('newRecoveryCodes', () => {
  it('makes 10 distinct codes by default, xxxx-xxxx-xxxx-xxxx in an unambiguous alphabet', () => {
    const codes = newRecoveryCodes();
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const c of codes) {
      expect(c).toMatch(FORMAT);
      expect(c).not.toMatch(/[ilou]/); // no look-alikes of 1 and 0, no u
    }
    expect(newRecoveryCodes(3)).toHaveLength(3);
    expect(() => newRecoveryCodes(0)).toThrow(RangeError);
    expect(() => newRecoveryCodes(2.5)).toThrow(RangeError);
  });

  it('carries at least 60 random bits a code, spread over the whole alphabet', () => {
    expect(RECOVERY_CODE_BITS).toBeGreaterThanOrEqual(60);
    const chars = newRecoveryCodes(100).join('').replace(/-/g, '');
    expect(new Set(chars).size).toBe(32);
  });
});

describe('hashRecoveryCode and matchRecoveryCode', () => {
  it('stores a salted hash that does not contain the code', () => {
    const [code] = newRecoveryCodes(1) as [string];
    const h1 = hashRecoveryCode(code);
    const h2 = hashRecoveryCode(code);
    expect(h1).toMatch(/^rc1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(h1).not.toBe(h2);
    const bare = code.replace(/-/g, '');
    for (const h of [h1, h2]) {
      expect(h).not.toContain(bare);
      expect(h.toLowerCase()).not.toContain(bare.slice(0, 8));
    }
    expect(matchRecoveryCode(code, [h1])).toBe(0);
    expect(matchRecoveryCode(code, [h2])).toBe(0);
  });

  it('finds the index of the matching hash, or -1', () => {
    const codes = newRecoveryCodes(10);
    const hashes = codes.map(hashRecoveryCode);
    codes.forEach((c, i) => expect(matchRecoveryCode(c, hashes)).toBe(i));
    expect(matchRecoveryCode(newRecoveryCodes(1)[0]!, hashes)).toBe(-1);
    expect(matchRecoveryCode(codes[0]!, [])).toBe(-1);
  });

  it('works once when the service removes the matched hash', () => {
    const codes = newRecoveryCodes(5);
    let hashes = codes.map(hashRecoveryCode);
    const i = matchRecoveryCode(codes[2]!, hashes);
    expect(i).toBe(2);
    hashes = hashes.filter((_, j) => j !== i);
    expect(matchRecoveryCode(codes[2]!, hashes)).toBe(-1);
    expect(matchRecoveryCode(codes[3]!, hashes)).toBe(2);
  });

  it('normalises case, dashes, spaces, full-width letters and look-alikes', () => {
    const code = 'a0b1-c2d3-e4f5-g6h7';
    const hashes = [hashRecoveryCode(newRecoveryCodes(1)[0]!), hashRecoveryCode(code)];
    for (const typed of [
      code,
      code.toUpperCase(),
      code.replace(/-/g, ''),
      code.replace(/-/g, ' '),
      ` ${code.toUpperCase().replace(/-/g, ' - ')} `,
      'aob1-c2d3-e4f5-g6h7', // o for 0
      'A0BI-c2d3-e4f5-g6h7', // I for 1
      'a0bl-c2d3-e4f5-g6h7', // l for 1
      'ａ０ｂ１－ｃ２ｄ３－ｅ４ｆ５－ｇ６ｈ７', // full-width
    ]) {
      expect(matchRecoveryCode(typed, hashes), typed).toBe(1);
    }
    expect(normalizeRecoveryCode('A0B1 C2D3 E4F5 G6H7')).toBe('a0b1c2d3e4f5g6h7');
  });

  it('refuses near misses and malformed input without throwing', () => {
    const code = 'a0b1-c2d3-e4f5-g6h7';
    const hashes = [hashRecoveryCode(code)];
    for (const typed of ['a0b1-c2d3-e4f5-g6h8', 'a0b1-c2d3-e4f5-g6h', 'a0b1-c2d3-e4f5-g6h77', 'u0b1-c2d3-e4f5-g6h7', '', 'a0b1_c2d3_e4f5_g6h7', 'x'.repeat(1000)]) {
      expect(matchRecoveryCode(typed, hashes), typed).toBe(-1);
    }
    expect(matchRecoveryCode(undefined as unknown as string, hashes)).toBe(-1);
    expect(() => hashRecoveryCode('not a code')).toThrow(RangeError);
  });

  it('ignores malformed stored hashes, even one that is the code itself', () => {
    const code = 'a0b1-c2d3-e4f5-g6h7';
    const good = hashRecoveryCode(code);
    const hashes = ['', code, 'a0b1c2d3e4f5g6h7', `${good}x`, good.slice(0, -1), 'rc1$$', null as unknown as string, good];
    expect(matchRecoveryCode(code, hashes)).toBe(hashes.length - 1);
    expect(matchRecoveryCode('', ['rc1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'])).toBe(-1);
  });

  it('looks at every hash even when the first one matches (no early exit)', () => {
    const codes = newRecoveryCodes(10);
    const hashes = codes.map(hashRecoveryCode);
    const read = new Set<number>();
    const spy = new Proxy(hashes, {
      get(target, prop, receiver) {
        if (typeof prop === 'string' && /^\d+$/.test(prop)) read.add(Number(prop));
        return Reflect.get(target, prop, receiver) as unknown;
      },
    });
    expect(matchRecoveryCode(codes[0]!, spy)).toBe(0);
    expect([...read].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});
