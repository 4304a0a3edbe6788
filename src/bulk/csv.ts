/**
 * The bulk engine's input stage: a CSV stream in, rows out, one at a time (constant
 * memory). Header row required; UTF-8 with or without BOM (bytes that are not UTF-8 are an
 * error, never U+FFFD); CRLF or LF; quoted newlines; any one-character delimiter. Columns
 * are mapped (`--map "Email Address=email"`) and checked against the known ones. A cell
 * that export neutralised for spreadsheets (a leading ' before = + - @, tab or CR) is
 * restored, so export -> import is exact.
 */
import { createHash } from 'node:crypto';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import type { BulkSource, SourceRow } from './engine.js';
import type { RowError } from './rows.js';
import { ValidationError } from '../errors.js';
import { printable } from '../domain/text.js';

export interface CsvOptions {
  /** One character; default ','. */
  delimiter?: string | undefined;
  /** Header as written in the file -> column name (from --map "Header=column"). */
  map?: Readonly<Record<string, string>> | undefined;
  /** The columns this import understands. */
  known: readonly string[];
  /** Columns that must be present. */
  required?: readonly string[] | undefined;
  /** Drop unknown columns instead of refusing the file. */
  ignoreUnknown?: boolean | undefined;
}

export interface CsvRow {
  /** The file line the record starts on (the header is line 1). */
  line: number;
  /** Column name -> cell, for the known columns present in the file. */
  values: Record<string, string>;
}

export interface CsvHeader {
  /** The known columns present, in file order. */
  columns: string[];
  /** Unknown headers that were dropped (--ignore-unknown). */
  ignored: string[];
}

/** An error about the file itself (not a row): names the line when there is one. */
export function csvError(message: string, line?: number): ValidationError {
  return new ValidationError(line === undefined ? 'file' : `line ${line}`, message);
}

/** Parses `--map` values ("Email Address=email"): the header may contain '=' only before the last one. */
export function parseColumnMap(entries: readonly string[], known: readonly string[]): Record<string, string> {
  const map: Record<string, string> = {};
  for (const entry of entries) {
    const i = entry.lastIndexOf('=');
    const header = i > 0 ? entry.slice(0, i).trim() : '';
    const column = i > 0 ? entry.slice(i + 1).trim() : '';
    if (header === '' || column === '') throw new ValidationError('map', `"${printable(entry)}" is not HEADER=column`);
    if (!known.includes(column)) throw new ValidationError('map', `"${printable(column)}" is not a column this import knows (${known.join(', ')})`);
    if (header in map) throw new ValidationError('map', `"${printable(header)}" is mapped twice`);
    map[header] = column;
  }
  return map;
}

/** A record (all its cells) longer than this is refused: no field needs it, and memory stays bounded. */
export const MAX_RECORD_BYTES = 1 << 20;

const NEUTRALISED = /^'[=+\-@\t\r]/;

/** Reverses the export's formula neutralising. */
export function restoreCell(cell: string): string {
  return NEUTRALISED.test(cell) ? cell.slice(1) : cell;
}

/** Strict UTF-8 decoding, streamed: invalid bytes are an error naming the line near them. */
function strictUtf8(): Transform {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let lines = 1;
  const count = (s: string) => {
    for (let i = s.indexOf('\n'); i >= 0; i = s.indexOf('\n', i + 1)) lines++;
  };
  return new Transform({
    readableObjectMode: false,
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      let text: string;
      try {
        text = decoder.decode(chunk, { stream: true });
      } catch {
        // The line of the first bad byte: what a lossy decode turns into U+FFFD.
        const lossy = new TextDecoder('utf-8').decode(chunk);
        const at = lossy.indexOf('\ufffd');
        const before = at < 0 ? '' : lossy.slice(0, at);
        done(csvError('the file is not valid UTF-8 (save it as UTF-8)', lines + (before.match(/\n/g)?.length ?? 0)));
        return;
      }
      count(text);
      done(null, text);
    },
    flush(done: TransformCallback) {
      try {
        const rest = decoder.decode();
        done(null, rest);
      } catch {
        done(csvError('the file ends inside a UTF-8 character', lines));
      }
    },
  });
}

/**
 * Reads a CSV stream: the header is checked first (onHeader sees it), then each row is
 * yielded with its line number. csv-parse is loaded only here.
 */
export async function* readCsv(input: Readable, opts: CsvOptions, onHeader?: (h: CsvHeader) => void): AsyncGenerator<CsvRow> {
  const delimiter = opts.delimiter ?? ',';
  if ([...delimiter].length !== 1 || /[\r\n"]/.test(delimiter)) throw new ValidationError('delimiter', 'must be one character other than a quote or a line break');
  const { parse } = await import('csv-parse');
  const utf8 = strictUtf8();
  const parser = input.pipe(utf8).pipe(parse({ bom: true, delimiter, info: true, skip_empty_lines: true, relax_quotes: false, max_record_size: MAX_RECORD_BYTES }));
  // pipe() does not carry errors downstream: the parser (what we iterate) must see them.
  input.on('error', (err) => parser.destroy(err));
  utf8.on('error', (err) => parser.destroy(err));
  let positions: { index: number; column: string }[] | undefined;
  try {
    for await (const item of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      const { record, info } = item;
      if (!positions) {
        const header = checkHeader(record, opts);
        positions = header.positions;
        onHeader?.({ columns: header.positions.map((p) => p.column), ignored: header.ignored });
        continue;
      }
      const line = info.lines - (record.some((c) => c.includes('\n')) ? record.join('').split('\n').length - 1 : 0);
      const values: Record<string, string> = {};
      for (const { index, column } of positions) values[column] = restoreCell(record[index] ?? '');
      yield { line, values };
    }
  } catch (err) {
    if (err instanceof ValidationError) throw err;
    const e = err as { code?: string; lines?: number; message: string };
    if (e.code === 'CSV_MAX_RECORD_SIZE') throw csvError(`a record is longer than ${MAX_RECORD_BYTES / 1048576} MiB (a quote that is never closed?)`, e.lines);
    if (typeof e.code === 'string' && e.code.startsWith('CSV_')) {
      throw csvError(e.message.replace(/^Invalid (Record|Opening|Closing) (Length|Quote):?\s*/i, (m) => m.toLowerCase()).replace(/,? (on|at) line \d+\s*$/, ''), e.lines);
    }
    throw err;
  }
  if (!positions) throw csvError('the file is empty: a header row is required');
}

function checkHeader(record: string[], opts: CsvOptions): { positions: { index: number; column: string }[]; ignored: string[] } {
  const positions: { index: number; column: string }[] = [];
  const ignored: string[] = [];
  const seen = new Set<string>();
  record.forEach((raw, index) => {
    const header = raw.trim();
    const column = opts.map?.[header] ?? header.toLowerCase();
    if (!opts.known.includes(column)) {
      if (opts.ignoreUnknown) ignored.push(header);
      else throw csvError(`unknown column "${printable(header)}" (known: ${opts.known.join(', ')}; map it with --map "${printable(header)}=column" or pass --ignore-unknown)`, 1);
      return;
    }
    if (seen.has(column)) throw csvError(`column ${column} appears twice`, 1);
    seen.add(column);
    positions.push({ index, column });
  });
  for (const r of opts.required ?? []) if (!seen.has(r)) throw csvError(`the required column ${r} is missing`, 1);
  return { positions, ignored };
}

/** A row's validation: its value, or every bad column. May be async (a password check). */
export type RowValidator<V> = (row: CsvRow) => { ok: true; value: V } | { ok: false; errors: RowError[] } | Promise<{ ok: true; value: V } | { ok: false; errors: RowError[] }>;

/**
 * A CSV file as a bulk source: each row validated, and the file's SHA-256 (of the bytes
 * as read, for the bulk.run entry). `open` is called once.
 */
export function csvSource<V>(open: () => Readable, name: string, opts: CsvOptions, validate: RowValidator<V>, onHeader?: (h: CsvHeader) => void): BulkSource<V> {
  let digest: string | null = null;
  return {
    describe: { file: name },
    digest: () => digest,
    async *rows(): AsyncGenerator<SourceRow<V>> {
      const hash = createHash('sha256');
      const hashing = new Transform({
        transform(chunk: Buffer, _enc, done: TransformCallback) {
          hash.update(chunk);
          done(null, chunk);
        },
      });
      const input = open();
      input.on('error', (err) => hashing.destroy(err));
      for await (const row of readCsv(input.pipe(hashing), opts, onHeader)) {
        const r = await validate(row);
        yield r.ok ? { line: row.line, ok: true, value: r.value } : { line: row.line, ok: false, errors: r.errors };
      }
      digest = hash.digest('hex');
    },
  };
}
