/**
 * Keyset paging for every list: opaque cursors that name their list (a cursor of one
 * listing or sort order is refused by another), a checked page size, limit+1 to know
 * whether there is a next page, and batched iteration for --all.
 */
import { UsageError, ValidationError } from '../errors.js';

export const DEFAULT_PAGE = 50;
export const MAX_PAGE = 1000;

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export function checkLimit(limit: number | undefined): number {
  const n = limit ?? DEFAULT_PAGE;
  if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE) throw new ValidationError('limit', `must be a whole number from 1 to ${MAX_PAGE}`);
  return n;
}

export type CursorKey = Record<string, string | number>;

export function encodeCursor(list: string, key: CursorKey): string {
  return Buffer.from(JSON.stringify({ l: list, ...key })).toString('base64url');
}

/**
 * Decodes a cursor of `list`; `shape` names each key's type. Anything else — an empty
 * string, another list's cursor, a hand-made number — is exit 2.
 */
export function decodeCursor<K extends CursorKey>(list: string, text: string | undefined, shape: { [P in keyof K]: 'string' | 'int' }): K | undefined {
  if (text === undefined) return undefined;
  const bad = () => new UsageError(`--cursor: "${text.slice(0, 80)}" is not a cursor from a previous page of this listing`, { field: 'cursor' });
  if (!/^[A-Za-z0-9_-]{4,2000}$/.test(text)) throw bad();
  let obj: unknown;
  try {
    obj = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  if (typeof obj !== 'object' || obj === null || (obj as { l?: unknown }).l !== list) throw bad();
  const out: CursorKey = {};
  for (const [k, type] of Object.entries(shape) as [string, 'string' | 'int'][]) {
    const v = (obj as Record<string, unknown>)[k];
    if (type === 'int' ? !(typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) : typeof v !== 'string') throw bad();
    out[k] = v as string | number;
  }
  return out as K;
}

/** Cuts a limit+1 fetch into a page and the cursor after its last item. */
export function pageOf<R, T>(rows: R[], limit: number, view: (r: R) => T, cursorAfter: (r: R) => string): Page<T> {
  const more = rows.length > limit;
  const page = rows.slice(0, limit);
  return { items: page.map(view), next_cursor: more ? cursorAfter(page[page.length - 1]!) : null };
}

/** Every row, fetched in keyset batches: memory stays flat however many there are. */
export async function* iterateBatches<R, C>(fetch: (after: C | undefined, n: number) => Promise<R[]>, next: (last: R) => C, first: C | undefined, batchSize = 500): AsyncGenerator<R> {
  let after = first;
  for (;;) {
    const rows = await fetch(after, batchSize);
    for (const row of rows) yield row;
    if (rows.length < batchSize) return;
    after = next(rows[rows.length - 1]!);
  }
}
