import { describe, expect, it } from 'vitest';
import { LineSet } from '../../src/bulk/line-set.js';

describe('LineSet', () => {
  it('remembers the first line of each key across growth, and tells none apart wrongly', () => {
    const s = new LineSet();
    for (let i = 0; i < 200_000; i++) expect(s.firstLine(`user${i}@example.com`, i + 2)).toBeUndefined();
    for (let i = 0; i < 200_000; i += 997) expect(s.firstLine(`user${i}@example.com`, 999_999)).toBe(i + 2);
    expect(s.firstLine('user200000@example.com', 5)).toBeUndefined();
    expect(s.firstLine('', 6)).toBeUndefined();
    expect(s.firstLine('', 7)).toBe(6);
  });
});
