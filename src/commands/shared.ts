/** Rendering shared by verbs: what a mutation did (or would do), and option parsers. */
import { InvalidArgumentError } from 'commander';
import type { Factory } from '../factory.js';
import type { Changes, MutationOutcome } from '../services/audit.js';

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

/**
 * Reports a mutation: the resulting record on stdout for JSON (with dry_run and changes
 * on a dry run), a one-line summary on stderr for people.
 */
export async function reportMutation<T extends object>(
  f: Factory,
  outcome: MutationOutcome<T>,
  done: string,
  record: (result: T) => object = (r) => r,
): Promise<void> {
  const out = f.output;
  const label = `${outcome.target.label} (${outcome.target.id})`;
  if (out.isJson) {
    const body = record(outcome.result);
    await out.record(outcome.dryRun ? { ...body, dry_run: true, changes: outcome.changes } : body, []);
  }
  if (outcome.dryRun) out.info(`Dry run: would ${done.toLowerCase()} ${label}${outcome.changed ? `: ${changesText(outcome.changes)}` : ' (no change)'}. Nothing changed.`);
  else if (!outcome.changed) out.info(`${label}: nothing to change.`);
  else out.info(`${done} ${label}: ${changesText(outcome.changes)}.`);
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

/** Reads a secret from stdin (for --password-stdin) and refuses an empty one. */
export async function passwordFromStdin(f: Factory, field: string): Promise<string> {
  const { readStdin } = await import('../io/iostreams.js');
  const { ValidationError } = await import('../errors.js');
  const pw = await readStdin(f.io);
  if (pw === '') throw new ValidationError(field, 'nothing was read from stdin');
  return pw;
}
