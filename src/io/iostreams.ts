import { fstatSync, statSync } from 'node:fs';
import { isatty } from 'node:tty';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { AcctError, ValidationError } from '../errors.js';

/** The process's streams and what they are attached to; injected everywhere (gh's IOStreams). */
export interface IOStreams {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  isStdinTTY: boolean;
  isStdoutTTY: boolean;
  isStderrTTY: boolean;
  /** Colour on stdout tables and stderr messages: a TTY, no NO_COLOR, no --no-color. */
  colorEnabled: boolean;
  /**
   * Whether stdout goes nowhere: /dev/null, which is also what Node gives a process
   * started with stdout closed (`>&-`). A one-time secret must not go there.
   */
  stdoutDiscarded?: () => boolean;
  /** The same for stderr, where a reset link goes until mail delivery exists. */
  stderrDiscarded?: () => boolean;
}

/** A prompt is possible only with a terminal on both ends. */
export function canPrompt(io: IOStreams): boolean {
  return io.isStdinTTY && io.isStderrTTY;
}

/** The most stdin a secret or a small document may be (a password is at most 72 bytes). */
export const MAX_STDIN_BYTES = 1 << 20;

/**
 * Reads all of stdin (for --password-stdin) as strict UTF-8 and strips ONE trailing
 * newline (`\n` or `\r\n`), so `echo "$PW" |` and `printf '%s' "$PW" |` give the same
 * password. Invalid UTF-8 is refused, naming the field: decoding it would turn
 * different bytes into the same U+FFFD.
 */
export async function readStdin(io: IOStreams, field = 'stdin'): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of io.stdin) {
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += b.length;
    if (size > MAX_STDIN_BYTES) throw new ValidationError(field, `more than ${MAX_STDIN_BYTES} bytes on stdin`);
    chunks.push(b);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
  } catch {
    throw new ValidationError(field, 'is not valid UTF-8');
  }
  return text.replace(/\r?\n$/, '');
}

/** stdout was closed by its reader (`| head`): not an error for data, but fatal for a one-time secret. */
export class OutputClosedError extends AcctError {
  override readonly code = 'output_closed';
}

function closed(stream: Writable): boolean {
  return stream.destroyed || stream.writableEnded || (stream as { errored?: unknown }).errored != null;
}

/** Writes respecting back-pressure, so streaming output stays in constant memory. */
export function write(stream: Writable, text: string): Promise<void> | void {
  if (closed(stream)) throw new OutputClosedError('output closed');
  if (stream.write(text)) return;
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      stream.off('drain', onDrain);
      stream.off('error', onError);
      stream.off('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = () => done();
    const onError = (err: Error) => done(new OutputClosedError(`output closed: ${err.message}`));
    const onClose = () => done(new OutputClosedError('output closed'));
    stream.once('drain', onDrain);
    stream.once('error', onError);
    stream.once('close', onClose);
  });
}

/** Resolves once everything written so far has been handed to the OS; rejects if the reader is gone. */
export function flush(stream: Writable): Promise<void> {
  if (closed(stream)) return Promise.reject(new OutputClosedError('output closed'));
  return new Promise((resolve, reject) => {
    stream.write('', (err) => (err ? reject(new OutputClosedError(`output closed: ${err.message}`)) : resolve()));
  });
}

function isDevNull(fd: number): boolean {
  try {
    const out = fstatSync(fd);
    const devNull = statSync('/dev/null');
    return out.isCharacterDevice() && out.rdev === devNull.rdev;
  } catch {
    return false;
  }
}

export function systemIO(opts: { noColor: boolean }): IOStreams {
  const isStdoutTTY = isatty(1);
  // A closed pipe surfaces through write callbacks (see write/flush), not as a crash.
  process.stdout.on('error', () => {});
  return {
    // process.stdin is built on first use: most verbs never read it.
    get stdin() {
      return process.stdin;
    },
    stdout: process.stdout,
    stderr: process.stderr,
    isStdinTTY: isatty(0),
    isStdoutTTY,
    isStderrTTY: isatty(2),
    colorEnabled: isStdoutTTY && !opts.noColor,
    stdoutDiscarded: () => isDevNull(1),
    stderrDiscarded: () => isDevNull(2),
  };
}

export interface TestIO {
  io: IOStreams;
  stdout(): string;
  stderr(): string;
}

/** In-memory streams for tests: pretend TTY-ness, feed stdin. */
export function testIO(opts: { stdin?: string | Buffer; tty?: boolean; stdoutClosed?: boolean } = {}): TestIO {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  stdout.on('data', (c: Buffer) => out.push(c));
  stderr.on('data', (c: Buffer) => err.push(c));
  const stdin = new PassThrough();
  stdin.end(opts.stdin ?? '');
  if (opts.stdoutClosed) {
    // like a pipe whose reader is gone: the next write fails with EPIPE
    stdout.on('error', () => {});
    stdout._write = (_chunk, _enc, cb) => cb(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
  }
  const tty = opts.tty ?? false;
  return {
    io: { stdin, stdout, stderr, isStdinTTY: tty, isStdoutTTY: tty, isStderrTTY: tty, colorEnabled: false },
    stdout: () => Buffer.concat(out).toString('utf8'),
    stderr: () => Buffer.concat(err).toString('utf8'),
  };
}
