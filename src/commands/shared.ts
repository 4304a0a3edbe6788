/** Rendering shared by verbs: what a mutation did (or would do), one-time secrets, option parsers. */
import { InvalidArgumentError, Option } from 'commander';
import type { Factory } from '../factory.js';
import type { ListSpec } from '../io/output.js';
import type { Changes, MutationOutcome } from '../core.js';
import { AcctError } from '../errors.js';
import { OutputClosedError } from '../io/iostreams.js';

function show(value: unknown): string {
  if (value === undefined || value === null) return '∅';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

export function changesText(changes: Changes): string {
  return Object.entries(changes)
    .map(([field, { before, after }]) =>
      before === undefined ? `${field}=${show(after)}` : after === undefined ? `${field} was ${show(before)}` : `${field}: ${show(before)} → ${show(after)}`,
    )
    .join(', ');
}

/** How a verb's result reads: "Created user x" / "Dry run: would create user x". */
export interface Wording {
  done: string;
  would: string;
}

/**
 * Reports a mutation: the resulting record on stdout for JSON (with dry_run and changes
 * on a dry run), a one-line summary on stderr for people.
 */
export async function reportMutation<T extends object>(
  f: Factory,
  outcome: MutationOutcome<T>,
  words: Wording,
  record: (result: T) => object = (r) => r,
): Promise<void> {
  const out = f.output;
  const label = `${outcome.target.label} (${outcome.target.id})`;
  if (out.format !== 'table') {
    const body = record(outcome.result);
    await out.record(outcome.dryRun ? { ...body, dry_run: true, changes: outcome.changes } : body, []);
  }
  if (outcome.dryRun) out.info(`Dry run: would ${words.would} ${label}${outcome.changed ? `: ${changesText(outcome.changes)}` : ' (no change)'}. Nothing changed.`);
  else if (!outcome.changed) out.info(`${label}: nothing to change.`);
  else out.info(`${words.done} ${label}: ${changesText(outcome.changes)}.`);
}

/** Exit 1: a one-time secret could not be written, so the change that made it was rolled back. */
export class SecretNotShownError extends AcctError {
  override readonly code = 'secret_not_shown';
}

/**
 * Writes a one-time secret, from inside the transaction that creates it (a beforeCommit
 * hook): if stdout is closed (`| true`, a dead pipe) the secret would be lost, so this
 * throws, the change rolls back and the command fails.
 */
export async function deliverSecret(f: Factory, what: string, write: () => Promise<void>, stream: 'stdout' | 'stderr' = 'stdout'): Promise<void> {
  const discarded = stream === 'stdout' ? f.io.stdoutDiscarded : f.io.stderrDiscarded;
  if (discarded?.()) throw new SecretNotShownError(`${what} would go to /dev/null (${stream} is closed or discarded); nothing was changed`);
  try {
    await write();
    if (stream === 'stdout') await f.output.flush();
    else {
      const { flush } = await import('../io/iostreams.js');
      await flush(f.io.stderr);
    }
  } catch (err) {
    if (err instanceof OutputClosedError) throw new SecretNotShownError(`${what} could not be written to ${stream} (${err.message}); nothing was changed`);
    throw err;
  }
}

/** commander parser for whole numbers in a range. */
export function intOption(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}`);
    }
    return n;
  };
}

/**
 * Every list verb's output: one page (next_cursor on stderr or in JSON), or with --all
 * every page streamed in constant memory.
 */
export async function outputListing<T extends object>(
  f: Factory,
  all: boolean | undefined,
  spec: ListSpec<T>,
  page: () => Promise<{ items: T[]; next_cursor: string | null }>,
  stream: () => AsyncIterable<T>,
): Promise<void> {
  if (all) return f.output.list(stream(), spec);
  const p = await page();
  await f.output.list(p.items, spec, p.next_cursor);
}

/** The paging options every list takes. */
export function pagingOptions(): Option[] {
  return [
    new Option('--limit <n>', 'page size (1-1000)').argParser(intOption('--limit', 1, 1000)).default(50),
    new Option('--cursor <cursor>', 'continue after a previous page (its next_cursor)'),
    new Option('--all', 'every match, streamed in constant memory (instead of --limit)').conflicts('limit'),
  ];
}

/** Reads a secret from stdin (for --password-stdin): strict UTF-8, one trailing newline stripped, not empty. */
export async function passwordFromStdin(f: Factory, field: string): Promise<string> {
  const { readStdin } = await import('../io/iostreams.js');
  const { ValidationError } = await import('../errors.js');
  const pw = await readStdin(f.io, field);
  if (pw === '') throw new ValidationError(field, 'nothing was read from stdin');
  return pw;
}

export const STDIN_NOTE = 'One trailing newline (\\n or \\r\\n) is stripped, so `echo "$PW" |` and `printf %s "$PW" |` read the same password; the input must be UTF-8.';
