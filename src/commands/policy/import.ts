import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import type { FactoryRef } from '../../main.js';

export interface ImportOptions {
  file: string;
  prune?: boolean | undefined;
}

export function registerImport(policy: Command, f: FactoryRef): void {
  policy
    .command('import')
    .description('Apply a policy file: every key and value checked first, the changes shown and confirmed, then applied in one transaction.')
    .argument('<file>', 'a JSON document from `policy export` (or {"key": value, …}); - for stdin')
    .option('--prune', 'also put keys the file does not name back to their defaults')
    .addHelpText('after', `
Examples:
  $ acctctl policy diff policy.json && acctctl policy import policy.json
  $ acctctl policy import policy.json --prune --yes`)
    .action((file: string, opts: { prune?: boolean }) => f().run('policy import', { file, ...opts }, runImport));

  policy
    .command('diff')
    .description('What `policy import` would change (exit 0 whether or not there are changes).')
    .argument('<file>', 'a JSON document from `policy export`; - for stdin')
    .option('--prune', 'as import --prune')
    .addHelpText('after', `
Examples:
  $ acctctl policy diff policy.json
  $ acctctl policy diff policy.json -o json | jq '.items[].key'`)
    .action((file: string, opts: { prune?: boolean }) => f().run('policy diff', { file, ...opts }, runDiff));
}

/** A policy document is a few KiB; 1 MiB is generous. */
const MAX_DOCUMENT_BYTES = 1 << 20;

/** Reads and parses the file: strict UTF-8, a parse error names the file. */
async function readDocument(f: Factory, file: string): Promise<unknown> {
  const { ValidationError } = await import('../../errors.js');
  let text: string;
  if (file === '-') {
    const { readStdin } = await import('../../io/iostreams.js');
    text = await readStdin(f.io, 'file');
  } else {
    const { readFileSync } = await import('node:fs');
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
      if (bytes.length > MAX_DOCUMENT_BYTES) throw new Error(`larger than ${MAX_DOCUMENT_BYTES} bytes`);
    } catch (err) {
      throw new ValidationError('file', `cannot read ${file}: ${(err as Error).message}`);
    }
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw new ValidationError('file', `${file} is not valid UTF-8`);
    }
  }
  try {
    return JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    if (err instanceof RangeError) throw new ValidationError('file', `${file} is nested too deeply`);
    throw new ValidationError('file', `${file} is not JSON: ${(err as Error).message}`);
  }
}

export async function runDiff(f: Factory, o: ImportOptions): Promise<void> {
  const { previewPolicy, documentInputs } = await import('../../core.js');
  const { CHANGE_LIST } = await import('./render.js');
  const doc = await readDocument(f, o.file);
  const preview = await previewPolicy(await f.context({ mode: 'read' }), documentInputs(doc, { prune: o.prune }));
  await f.output.list(preview.changes, CHANGE_LIST);
}

export async function runImport(f: Factory, o: ImportOptions): Promise<void> {
  const { previewPolicy, importPolicy, documentInputs } = await import('../../core.js');
  const { changeLine } = await import('./render.js');
  const doc = await readDocument(f, o.file);
  const inputs = documentInputs(doc, { prune: o.prune });
  const ctx = await f.context();
  const preview = await previewPolicy(ctx, inputs, { forChange: true });
  const out = f.output;
  if (preview.changes.length === 0) {
    if (out.format !== 'table') await out.record({ changes: [], dry_run: ctx.dryRun }, []);
    out.info('Nothing to change: the policy already matches the file.');
    return;
  }
  for (const c of preview.changes) out.info(`  ${changeLine(c)}`);
  const warn = preview.confirm.length > 0 ? ` (${preview.confirm.join('; ')})` : '';
  await f.confirm(`Apply ${preview.changes.length} change(s) from ${o.file}${warn}?`);
  const outcome = await importPolicy(ctx, doc, { prune: o.prune });
  if (out.format !== 'table') await out.record({ changes: outcome.result.changes, dry_run: outcome.dryRun }, []);
  out.info(outcome.dryRun ? `Dry run: would apply ${outcome.result.changes.length} change(s). Nothing changed.` : `Applied ${outcome.result.changes.length} change(s).`);
}
