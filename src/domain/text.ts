/**
 * The character sets that must not reach a terminal, a log or an identifier unseen:
 * defined once here, used by validation, error messages and table output.
 */

const CONTROL = '\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029'; // C0, DEL, C1, line and paragraph separators
const BIDI = '\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069';
// Unicode's default-ignorable code points (zero-width characters, U+034F, Hangul
// fillers U+3164/U+FFA0, variation selectors, tag characters, …) and the other format
// characters: what renders as nothing and lets a look-alike pass for an address.
const INVISIBLE = '\\p{Default_Ignorable_Code_Point}\\p{Cf}\\u180e';

/** C0, DEL and C1 control characters. */
export const CONTROL_CHARS = new RegExp(`[${CONTROL}]`, 'u');
/** Bidirectional marks, embeddings, overrides and isolates. */
export const BIDI_CONTROLS = new RegExp(`[${BIDI}]`, 'u');
/** Zero-width and other invisible format characters (a look-alike identifier's tools). */
export const INVISIBLE_CHARS = new RegExp(`[${INVISIBLE}]`, 'u');
/** With the u flag a surrogate range matches only unpaired halves. */
const LONE_SURROGATE = /[\ud800-\udfff]/u;
const UNSAFE_GLOBAL = new RegExp(`[${CONTROL}${BIDI}${INVISIBLE}]|[\\ud800-\\udfff]`, 'gu');

export function hasControlChars(s: string, opts: { allowNewlines?: boolean } = {}): boolean {
  return CONTROL_CHARS.test(opts.allowNewlines ? s.replace(/\r?\n/g, '') : s);
}

export function hasBidiControls(s: string): boolean {
  return BIDI_CONTROLS.test(s);
}

export function hasInvisibleChars(s: string): boolean {
  return INVISIBLE_CHARS.test(s);
}

/**
 * False for lone surrogates and for U+FFFD: invalid UTF-8 in argv or a file decodes
 * to U+FFFD, so two different invalid inputs would otherwise become the same string.
 */
export function isWellFormedText(s: string): boolean {
  return !LONE_SURROGATE.test(s) && !s.includes('\ufffd');
}

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\u001b': '\\e' };

function escapeChar(c: string): string {
  return NAMED[c] ?? `\\u{${c.codePointAt(0)!.toString(16).padStart(2, '0')}}`;
}

/** Controls, bidi controls, invisible characters and lone surrogates, shown escaped. */
export function escapeForTerminal(text: string): string {
  return text.replace(UNSAFE_GLOBAL, escapeChar);
}

export const PRINTABLE_MAX = 200;

/** For messages: escaped like escapeForTerminal, at most PRINTABLE_MAX characters. */
export function printable(s: string): string {
  const pieces: string[] = [];
  let length = 0;
  for (const c of s) {
    const piece = c.replace(UNSAFE_GLOBAL, escapeChar);
    if (length + piece.length > PRINTABLE_MAX) {
      // Cut at a whole character or escape, leaving room for the ellipsis.
      while (length > PRINTABLE_MAX - 1) length -= pieces.pop()!.length;
      return `${pieces.join('')}…`;
    }
    pieces.push(piece);
    length += piece.length;
  }
  return pieces.join('');
}
