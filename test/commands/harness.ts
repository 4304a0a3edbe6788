/**
 * Verbs run in-process: argv in, stdout / stderr / exit code out, with in-memory
 * streams, a pinned clock and a scripted prompter (gh's IOStreams and Factory).
 */
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';
import { main } from '../../src/main.js';
import { testIO } from '../../src/io/iostreams.js';
import { scriptedPrompter } from '../../src/io/prompter.js';
import { connect, type Database } from '../../src/db/connect.js';
import { migrate } from '../../src/db/migrate.js';
import { truncateAll } from '../../src/db/truncate.js';
import { freshUrl } from '../setup.js';

export const CLOCK = () => new Date('2026-11-24T12:00:00.000Z');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  asked: string[];
}

export interface RunOptions {
  stdin?: string | Buffer;
  tty?: boolean;
  answers?: (boolean | string)[];
  env?: Record<string, string>;
  stdoutClosed?: boolean;
}

/** Runs acctctl with `--db url` first (unless url is null). */
export async function runAt(url: string | null, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const t = testIO({ stdin: opts.stdin, tty: opts.tty, stdoutClosed: opts.stdoutClosed });
  const prompter = scriptedPrompter(opts.answers ?? []);
  const code = await main(url === null ? args : ['--db', url, ...args], {
    io: t.io,
    env: { ACCTCTL_BCRYPT_COST: '4', ...opts.env },
    prompter,
    clock: CLOCK,
  });
  return { code, stdout: t.stdout(), stderr: t.stderr(), asked: prompter.asked };
}

export interface CommandDb {
  readonly url: string;
  run(args: string[], opts?: RunOptions): Promise<RunResult>;
  /** `acctctl init` with root@example.com as the first super admin (generated password). */
  init(): Promise<RunResult>;
}

/**
 * One SQLite database for the calling file or describe block. `migrated`: created and
 * migrated once, emptied before each test; otherwise a new, missing file per test (for
 * what `init` and `db migrate` do to a database that does not exist yet).
 */
export function useCommandDb(opts: { migrated: boolean }): CommandDb {
  let url = '';
  let drop: (() => Promise<void>) | undefined;
  if (opts.migrated) {
    let db: Database | undefined;
    beforeAll(async () => {
      ({ url, drop } = await freshUrl('sqlite'));
      db = await connect(url);
      await migrate(db);
    });
    beforeEach(async () => truncateAll(db!));
    afterAll(async () => {
      await db?.close();
      await drop?.();
    });
  } else {
    beforeEach(async () => {
      ({ url, drop } = await freshUrl('sqlite'));
    });
    afterEach(async () => drop?.());
  }
  return {
    get url() {
      return url;
    },
    run: (args, o) => runAt(url, args, o),
    init: async () => {
      const r = await runAt(url, ['init', '--admin-email', 'root@example.com', '--generate-password']);
      expect(r.code).toBe(0);
      return r;
    },
  };
}
