/**
 * What every bulk verb shares on the command side: the CSV and run options, the plan on
 * stderr, the confirmation, the progress bar, the errors file and the summary line.
 */
import { Option, type Command } from 'commander';
import type { Factory } from '../factory.js';
import type { BulkHooks, BulkOptions, BulkPlan, BulkSummary, RefusedRow } from '../core.js';
import { UsageError } from '../errors.js';
import { intOption } from './shared.js';

export interface CsvCliOptions {
  delimiter?: string | undefined;
  map?: string[] | undefined;
  ignoreUnknown?: boolean | undefined;
}

export interface RunCliOptions {
  maxErrors?: number | undefined;
  batchSize?: number | undefined;
  continueOnError?: boolean | undefined;
  errors?: string | undefined;
  planOut?: string | undefined;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** The options of a verb that reads a CSV file. */
export function csvOptions(cmd: Command): Command {
  return cmd
    .option('--delimiter <char>', 'the cell separator (default ","; e.g. ";" for files from a spreadsheet in some locales)')
    .option('--map <header=column>', 'read a column under another header ("Email Address=email"); repeatable', collect)
    .option('--ignore-unknown', 'skip columns this verb does not know instead of refusing the file');
}

/** The options of every bulk run. */
export function runOptions(cmd: Command, withPlanOut = true): Command {
  cmd
    .addOption(new Option('--max-errors <n>', 'report at most this many bad rows (default 100)').argParser(intOption('--max-errors', 1, 1_000_000)))
    .addOption(new Option('--batch-size <n>', 'rows per transaction (default 1000)').argParser(intOption('--batch-size', 1, 100_000)))
    .option('--continue-on-error', 'apply the rows that can be applied; write the others to --errors FILE and exit 6')
    .option('--errors <file.csv>', 'with --continue-on-error: where the refused rows go (line, column, target, reason)');
  if (withPlanOut) cmd.option('--plan-out <plan.json>', 'write the checked plan to this new file and stop; `acctctl apply` runs it later');
  return cmd;
}

export const RUN_HELP = `
Every row is checked before anything changes: bad rows are reported (line and column),
exit 2, nothing changed. Then the plan (counts of each kind of change, a sample of
each, and every rule it would break) is shown on stderr and confirmed (--yes skips;
no terminal and no --yes is exit 5). It is applied in transactions of --batch-size
rows: a killed run leaves whole batches, and re-running completes it. A row refused
on the way stops the run (exit 4) unless --continue-on-error (exit 6, rows in --errors).
--dry-run shows the plan (JSON with -o json) and changes nothing.`;

export function bulkOptions(o: RunCliOptions): BulkOptions {
  if (o.continueOnError && o.errors === undefined) throw new UsageError('--continue-on-error needs --errors FILE.csv to say which rows were left out', { field: 'errors' });
  if (o.errors !== undefined && !o.continueOnError) throw new UsageError('--errors is written only with --continue-on-error (without it, a refused row stops the run)', { field: 'errors' });
  return { maxErrors: o.maxErrors, batchSize: o.batchSize, continueOnError: o.continueOnError, planOut: o.planOut };
}

/** `--map "Email Address=email"` values to a header map (checked against the known columns). */
export async function columnMap(entries: string[] | undefined, known: readonly string[]): Promise<Record<string, string> | undefined> {
  if (!entries || entries.length === 0) return undefined;
  const { parseColumnMap } = await import('../core.js');
  return parseColumnMap(entries, known);
}

function quoteCsv(cell: string): string {
  const safe = /^[=+\-@\t\r]/.test(cell) ? `'${cell}` : cell;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

const n = (x: number) => x.toLocaleString('en-US');

function planText(plan: BulkPlan, words: Record<string, string>): string {
  const lines: string[] = [];
  const source = typeof plan.source.file === 'string' ? plan.source.file : 'the matched accounts';
  lines.push(`Plan ${plan.id} (${plan.action}) from ${source}: ${n(plan.rows)} row${plan.rows === 1 ? '' : 's'}.`);
  for (const [op, count] of Object.entries(plan.counts)) {
    lines.push(`  ${(words[op] ?? op).padEnd(22)} ${n(count).padStart(9)}`);
    for (const s of plan.samples[op] ?? []) lines.push(`      ${s.line === null ? '' : `line ${s.line}: `}${s.target}${s.summary ? ` (${s.summary})` : ''}`);
    if (count > (plan.samples[op]?.length ?? 0)) lines.push(`      …`);
  }
  if (plan.refused_count > 0) {
    lines.push(`  ${'refused'.padEnd(22)} ${n(plan.refused_count).padStart(9)}`);
    for (const r of plan.refused.slice(0, 5)) lines.push(`      ${r.line === null ? '' : `line ${r.line}${r.column ? `, column ${r.column}` : ''}: `}${r.reason}`);
  }
  if (Object.keys(plan.counts).length === 0 && plan.refused_count === 0) lines.push('  nothing to do');
  return lines.join('\n');
}

function summaryText(s: BulkSummary, words: Record<string, string>): string {
  const parts = Object.entries(s.counts).map(([op, c]) => `${n(c)} ${words[op] ?? op}`);
  if (parts.length === 0) parts.push('nothing changed');
  if (s.unchanged > 0) parts.push(`${n(s.unchanged)} unchanged`);
  if (s.refused > 0) parts.push(`${n(s.refused)} refused${s.errors_file ? ` (in ${s.errors_file})` : ''}`);
  const rate = s.seconds > 0 && s.applied > 0 ? `, ${n(Math.round(s.applied / s.seconds))} rows/s` : '';
  return `${parts.join(', ')} in ${s.seconds.toFixed(1)} s${rate}.`;
}

/** A one-line progress bar on a terminal's stderr: rows done, rows/s, time left. */
function progressBar(f: Factory): ((done: number, total: number) => void) | undefined {
  if (!f.io.isStderrTTY || f.options.quiet) return undefined;
  const started = Date.now();
  let last = 0;
  return (done, total) => {
    const now = Date.now();
    if (done < total && now - last < 200) return;
    last = now;
    const secs = (now - started) / 1000;
    const rate = secs > 0 ? done / secs : 0;
    const left = rate > 0 ? (total - done) / rate : 0;
    const width = 24;
    const filled = total === 0 ? width : Math.round((done / total) * width);
    const eta = done >= total ? 'done' : rate > 0 ? `${Math.ceil(left)} s left` : '…';
    f.io.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${n(done)}/${n(total)}  ${n(Math.round(rate))} rows/s  ${eta}   ${done >= total ? '\n' : ''}`);
  };
}

export interface BulkCommand {
  /** The verb's words for each op: create → "created". */
  words: Record<string, string>;
  /** Asks for the plan to be confirmed (default: a yes/no question). */
  confirm?: (plan: BulkPlan) => Promise<void>;
}

/**
 * Runs a bulk call with the command-side hooks and reports its outcome: the summary on
 * stderr (JSON on stdout with -o json), the plan as JSON on stdout for a dry run.
 */
export async function runBulkCommand(
  f: Factory,
  o: RunCliOptions,
  cmd: BulkCommand,
  call: (hooks: BulkHooks) => Promise<{ plan: BulkPlan; summary: BulkSummary }>,
): Promise<void> {
  const { PartialError } = await import('../core.js');
  const out = f.output;
  let errorsFile: import('node:fs').WriteStream | undefined;
  if (o.errors !== undefined) {
    // Made (or emptied) at the start, so a file left by an earlier run is never mistaken for this one's.
    const { createWriteStream } = await import('node:fs');
    errorsFile = createWriteStream(o.errors, { mode: 0o600 });
    errorsFile.write('line,column,target,reason\r\n');
  }
  const writeError = async (r: RefusedRow) => {
    if (!errorsFile) return;
    errorsFile.write([r.line === null ? '' : String(r.line), r.column ?? '', r.target ?? '', r.reason].map(quoteCsv).join(',') + '\r\n');
  };
  const hooks: BulkHooks = {
    showPlan: async (plan) => {
      if (f.options.dryRun && out.format !== 'table') await out.record({ ...plan, dry_run: true }, []);
      else for (const line of planText(plan, cmd.words).split('\n')) out.info(line);
    },
    confirm: cmd.confirm ?? ((plan) => f.confirm(`Apply ${n(plan.changes)} change${plan.changes === 1 ? '' : 's'}?`)),
    progress: progressBar(f),
    refused: writeError,
  };
  const closeErrors = async () => {
    if (errorsFile) await new Promise<void>((resolve) => errorsFile!.end(resolve));
  };
  try {
    const { summary } = await call(hooks);
    await closeErrors();
    if (summary.plan_file !== undefined) {
      if (out.format !== 'table') await out.record(summary, []);
      out.info(`Plan written to ${summary.plan_file}; nothing changed. Apply it with: acctctl apply ${summary.plan_file}`);
      return;
    }
    if (summary.dry_run) {
      out.info('Dry run: nothing changed.');
      return;
    }
    if (out.format !== 'table') await out.record(summary, []);
    out.info(summaryText(summary, cmd.words));
  } catch (err) {
    await closeErrors();
    if (err instanceof PartialError) {
      const s = { ...err.summary, errors_file: o.errors };
      if (out.format !== 'table') await out.record(s, []);
      out.info(summaryText(s, cmd.words));
    }
    throw err;
  }
}
