import { describe, expect, it } from 'vitest';
import {
  PRINTABLE_MAX, escapeForTerminal, hasBidiControls, hasControlChars, hasInvisibleChars, isWellFormedText, printable,
} from '../../src/domain/text.js';
import { escapeForTerminal as fromSanitize } from '../../src/io/sanitize.js';

const CONTROLS = ['\u0000', '\u0007', '\u001b', '\u001f', '\u007f', '\u0080', '\u009b', '\u009f'];
const BIDI = ['\u061c', '\u200e', '\u200f', '\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069'];
const INVISIBLE = ['\u00ad', '\u180e', '\u200b', '\u200c', '\u200d', '\u2060', '\u2061', '\u2062', '\u2063', '\u2064', '\ufeff'];

describe('character sets', () => {
  it.each(CONTROLS)('%j is a control character', (c) => expect(hasControlChars(`a${c}b`)).toBe(true));
  it.each(BIDI)('%j is a bidi control', (c) => expect(hasBidiControls(`a${c}b`)).toBe(true));
  it.each(INVISIBLE)('%j is invisible', (c) => expect(hasInvisibleChars(`a${c}b`)).toBe(true));

  it('keeps the sets apart and leaves ordinary text alone', () => {
    for (const s of ['José Müller', '東京', 'emoji 👩‍💻 ok'.replace('\u200d', ''), 'a\u00a0b']) {
      expect([hasControlChars(s), hasBidiControls(s), hasInvisibleChars(s)]).toEqual([false, false, false]);
    }
    expect(hasControlChars('\u200b')).toBe(false);
    expect(hasControlChars('a\nb\r\nc', { allowNewlines: true })).toBe(false);
    expect(hasControlChars('a\rb', { allowNewlines: true })).toBe(true);
  });
});

describe('isWellFormedText', () => {
  it('refuses lone surrogates and U+FFFD, accepts pairs', () => {
    expect(isWellFormedText('ok 😀')).toBe(true);
    expect(isWellFormedText('a\ud800b')).toBe(false);
    expect(isWellFormedText('a\udc00')).toBe(false);
    expect(isWellFormedText('\ud83d')).toBe(false);
    expect(isWellFormedText('caf\ufffd')).toBe(false);
    // what invalid UTF-8 bytes become when decoded
    expect(isWellFormedText(Buffer.from([0x61, 0xff, 0x62]).toString('utf8'))).toBe(false);
  });
});

describe('escapeForTerminal', () => {
  it('keeps the escape formats tables rely on', () => {
    expect(escapeForTerminal('Eve\u001b[2J\u001b]0;owned\u0007\r\nX\u202e')).toBe('Eve\\e[2J\\e]0;owned\\u{07}\\r\\nX\\u{202e}');
    expect(escapeForTerminal('a\tb\u0000\u009b')).toBe('a\\tb\\u{00}\\u{9b}');
  });

  it('shows invisible characters, so a look-alike cannot pass for another name', () => {
    expect(escapeForTerminal('ro\u200bot@example.com')).toBe('ro\\u{200b}ot@example.com');
    expect(escapeForTerminal('\ufeffx\u00ady\u2060')).toBe('\\u{feff}x\\u{ad}y\\u{2060}');
    expect(escapeForTerminal('a\u061cb\u200ec')).toBe('a\\u{61c}b\\u{200e}c');
  });

  it('escapes lone surrogates but keeps pairs and ordinary text', () => {
    expect(escapeForTerminal('x\ud800y')).toBe('x\\u{d800}y');
    expect(escapeForTerminal('😀 José 東京')).toBe('😀 José 東京');
  });

  it('is what io/sanitize.ts exports', () => {
    expect(fromSanitize).toBe(escapeForTerminal);
  });
});

describe('printable', () => {
  it('escapes like escapeForTerminal', () => {
    expect(printable('evil\u001b[2J\u200b')).toBe('evil\\e[2J\\u{200b}');
  });

  it(`is at most ${PRINTABLE_MAX} characters, cut at a whole character or escape`, () => {
    expect(printable('x'.repeat(200))).toBe('x'.repeat(200));
    const long = printable('x'.repeat(60_000));
    expect(long).toHaveLength(PRINTABLE_MAX);
    expect(long.endsWith('…')).toBe(true);
    const escapes = printable('\u001b['.repeat(500));
    expect(escapes.length).toBeLessThanOrEqual(PRINTABLE_MAX);
    expect(escapes).toMatch(/^(\\e\[)+…$/);
    const pairs = printable('😀'.repeat(300));
    expect(isWellFormedText(pairs.slice(0, -1))).toBe(true);
  });
});
