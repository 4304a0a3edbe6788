import { isatty } from 'node:tty';
import { PassThrough, type Readable, type Writable } from 'node:stream';

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
}

/** A prompt is possible only with a terminal on both ends. */
export function canPrompt(io: IOStreams): boolean {
  return io.isStdinTTY && io.isStderrTTY;
}

/** Reads all of stdin (for --password-stdin); strips one trailing newline. */
export async function readStdin(io: IOStreams): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of io.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** Writes respecting back-pressure, so streaming output stays in constant memory. */
export function write(stream: Writable, text: string): Promise<void> | void {
  if (stream.write(text)) return;
  return new Promise((resolve, reject) => {
    const onDrain = () => {
      stream.off('error', onError);
      resolve();
    };
    const onError = (err: Error) => {
      stream.off('drain', onDrain);
      reject(err);
    };
    stream.once('drain', onDrain);
    stream.once('error', onError);
  });
}

export function systemIO(env: NodeJS.ProcessEnv = process.env): IOStreams {
  const isStdoutTTY = isatty(1);
  const noColor = env.NO_COLOR !== undefined && env.NO_COLOR !== '';
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
    colorEnabled: isStdoutTTY && !noColor && env.TERM !== 'dumb',
  };
}

export interface TestIO {
  io: IOStreams;
  stdout(): string;
  stderr(): string;
}

/** In-memory streams for tests: pretend TTY-ness, feed stdin. */
export function testIO(opts: { stdin?: string; tty?: boolean } = {}): TestIO {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  stdout.on('data', (c: Buffer) => out.push(c));
  stderr.on('data', (c: Buffer) => err.push(c));
  const stdin = new PassThrough();
  stdin.end(opts.stdin ?? '');
  const tty = opts.tty ?? false;
  return {
    io: { stdin, stdout, stderr, isStdinTTY: tty, isStdoutTTY: tty, isStderrTTY: tty, colorEnabled: false },
    stdout: () => Buffer.concat(out).toString('utf8'),
    stderr: () => Buffer.concat(err).toString('utf8'),
  };
}
