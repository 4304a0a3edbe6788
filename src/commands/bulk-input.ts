/** A CSV argument: a file (checked before anything else) or - for stdin (read once). */
import type { Readable } from 'node:stream';
import type { Factory } from '../factory.js';
import { UsageError } from '../errors.js';

export async function openInput(f: Factory, file: string): Promise<() => Readable> {
  if (file === '-') {
    if (f.io.isStdinTTY) throw new UsageError('file: - reads the CSV from stdin, but stdin is a terminal (pipe or redirect the file)', { field: 'file' });
    return () => f.io.stdin as Readable;
  }
  const { createReadStream, statSync } = await import('node:fs');
  let isFile = false;
  try {
    isFile = statSync(file).isFile();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(`file: cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (err as Error).message}`, { field: 'file' });
  }
  if (!isFile) throw new UsageError(`file: ${file} is not a regular file`, { field: 'file' });
  return () => createReadStream(file);
}
