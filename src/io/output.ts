/**
 * The only writer of results to stdout: table | json | ndjson | csv.
 * Messages go to stderr (and stay quiet with --quiet); results never do.
 */
import { UsageError } from '../errors.js';
import { OUTPUT_FORMATS, type OutputFormat } from '../domain/enums.js';
import { flush, write, type IOStreams } from './iostreams.js';
import { csvCell, escapeForTerminal } from './sanitize.js';

export const FORMATS = OUTPUT_FORMATS;
export type Format = OutputFormat;

export function parseFormat(value: string): Format {
  if (!(FORMATS as readonly string[]).includes(value)) {
    throw new UsageError(`-o/--output: unknown format "${escapeForTerminal(value)}" (expected one of: ${FORMATS.join(', ')})`, { field: 'output' });
  }
  return value as Format;
}

export interface Column<T> {
  header: string;
  value: (row: T) => unknown;
}

export interface ListSpec<T> {
  /** Columns a person sees in a table. */
  columns: Column<T>[];
  /** Fields (snake_case) exported to CSV, in order; JSON and NDJSON carry the whole object. */
  csvFields: (keyof T & string)[];
}

export interface Section {
  title: string;
  fields: [label: string, value: unknown][];
}

export interface OutputOptions {
  quiet: boolean;
  color: boolean;
}

function display(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

export class Output {
  constructor(
    private readonly io: IOStreams,
    readonly format: Format,
    private readonly opts: OutputOptions,
  ) {}

  get isJson(): boolean {
    return this.format === 'json' || this.format === 'ndjson';
  }

  /** A list, streamed where the format allows. JSON is {"items": [...], "next_cursor": …}. */
  async list<T extends object>(rows: Iterable<T> | AsyncIterable<T>, spec: ListSpec<T>, nextCursor: string | null = null): Promise<void> {
    const out = this.io.stdout;
    switch (this.format) {
      case 'json': {
        // Nothing is written before the first row (or the end): a refusal raised by the
        // first fetch leaves stdout empty instead of half a document.
        let first = true;
        for await (const row of rows) {
          await write(out, (first ? '{"items":[\n' : ',\n') + JSON.stringify(row));
          first = false;
        }
        await write(out, `${first ? '{"items":[' : '\n'}],"next_cursor":${JSON.stringify(nextCursor)}}\n`);
        return;
      }
      case 'ndjson':
        for await (const row of rows) await write(out, JSON.stringify(row) + '\n');
        break;
      case 'csv': {
        const header = spec.csvFields.map(csvCell).join(',') + '\r\n';
        let first = true;
        for await (const row of rows) {
          await write(out, (first ? header : '') + spec.csvFields.map((f) => csvCell(row[f])).join(',') + '\r\n');
          first = false;
        }
        if (first) await write(out, header);
        break;
      }
      case 'table': {
        const collected: T[] = [];
        for await (const row of rows) collected.push(row);
        if (collected.length === 0) {
          this.info('No results.');
        } else {
          await write(out, (await this.renderTable(spec.columns.map((c) => c.header), collected.map((r) => spec.columns.map((c) => display(c.value(r)))))) + '\n');
        }
        break;
      }
    }
    if (nextCursor !== null) this.info(`More results: --cursor ${nextCursor}`);
  }

  /** One object: JSON as is; a table as titled key/value sections. */
  async record(obj: object, sections: Section[]): Promise<void> {
    const out = this.io.stdout;
    switch (this.format) {
      case 'json':
        await write(out, JSON.stringify(obj, null, 2) + '\n');
        return;
      case 'ndjson':
        await write(out, JSON.stringify(obj) + '\n');
        return;
      case 'csv': {
        const entries = Object.entries(obj);
        await write(out, entries.map(([k]) => csvCell(k)).join(',') + '\r\n' + entries.map(([, v]) => csvCell(v)).join(',') + '\r\n');
        return;
      }
      case 'table': {
        const parts: string[] = [];
        for (const section of sections) {
          const title = await this.bold(escapeForTerminal(section.title));
          const table = await this.renderTable(null, section.fields.map(([label, value]) => [label, display(value)]));
          parts.push(`${title}\n${table}`);
        }
        await write(out, parts.join('\n\n') + '\n');
      }
    }
  }

  /** A bare value on stdout (e.g. a generated password in table mode). */
  async value(text: string): Promise<void> {
    await write(this.io.stdout, escapeForTerminal(text) + '\n');
  }

  /** Waits until stdout took everything; fails if its reader is gone (see OutputClosedError). */
  flush(): Promise<void> {
    return flush(this.io.stdout);
  }

  /** Progress and confirmations on stderr; silent with --quiet. */
  info(message: string): void {
    if (!this.opts.quiet) this.io.stderr.write(escapeForTerminal(message) + '\n');
  }

  /** Warnings on stderr, even with --quiet. */
  warn(message: string): void {
    this.io.stderr.write(escapeForTerminal(message) + '\n');
  }

  private async bold(text: string): Promise<string> {
    if (!this.opts.color) return text;
    const { Chalk } = await import('chalk');
    return new Chalk({ level: 1 }).bold(text);
  }

  private async renderTable(head: string[] | null, rows: string[][]): Promise<string> {
    const { default: Table } = await import('cli-table3');
    const borderless = {
      top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
      left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '  ',
    };
    const headCells = head === null ? [] : await Promise.all(head.map((h) => this.bold(h)));
    const table = new Table({
      head: headCells,
      chars: borderless,
      style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0, compact: true },
    });
    for (const row of rows) table.push(row.map(escapeForTerminal));
    return table
      .toString()
      .split('\n')
      .map((l) => l.trimEnd())
      .join('\n');
  }
}
