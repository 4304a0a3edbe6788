/**
 * Everything a command needs, injected (gh's Factory): streams, prompter, clock,
 * environment, the parsed global options, and the database, opened on first use.
 */
import { createRequire } from 'node:module';
import type { Database } from './db/connect.js';
import type { IOStreams } from './io/iostreams.js';
import { Output, type Format } from './io/output.js';
import { confirmOrAbort, type Prompter } from './io/prompter.js';
import type { ServiceContext } from './services/context.js';
import { UsageError } from './errors.js';

export interface GlobalOptions {
  db?: string | undefined;
  output: Format;
  actor?: string | undefined;
  reason?: string | undefined;
  yes: boolean;
  dryRun: boolean;
  quiet: boolean;
  color: boolean;
}

export interface FactoryDeps {
  io: IOStreams;
  env: NodeJS.ProcessEnv;
  prompter: Prompter;
  clock?: () => Date;
}

export class Factory {
  readonly io: IOStreams;
  readonly env: NodeJS.ProcessEnv;
  readonly prompter: Prompter;
  readonly clock: () => Date;
  /** The raw arguments, for error reporting before parsing finished. */
  argv: readonly string[] = [];
  #options: GlobalOptions = { output: 'table', yes: false, dryRun: false, quiet: false, color: true };
  #db: Promise<Database> | undefined;
  #output: Output | undefined;

  constructor(deps: FactoryDeps) {
    this.io = deps.io;
    this.env = deps.env;
    this.prompter = deps.prompter;
    this.clock = deps.clock ?? (() => new Date());
  }

  setOptions(options: GlobalOptions): void {
    this.#options = options;
    this.#output = undefined;
  }

  get options(): GlobalOptions {
    return this.#options;
  }

  get output(): Output {
    this.#output ??= new Output(this.io, this.#options.output, {
      quiet: this.#options.quiet,
      color: this.#options.color && this.io.colorEnabled,
    });
    return this.#output;
  }

  /** --db, else ACCTCTL_DB, else $XDG_DATA_HOME/acctctl/acctctl.db. */
  async dbUrl(): Promise<string> {
    const explicit = this.#options.db ?? this.env.ACCTCTL_DB;
    if (explicit !== undefined && explicit !== '') return explicit;
    const { defaultDbPath } = await import('./db/connect.js');
    return defaultDbPath(this.env);
  }

  /** Opens the database once. Unless told otherwise, refuses a schema that is not current. */
  db(opts: { checkSchema?: boolean } = {}): Promise<Database> {
    this.#db ??= (async () => {
      const { connect } = await import('./db/connect.js');
      return connect(await this.dbUrl());
    })();
    if (opts.checkSchema === false) return this.#db;
    return this.#db.then(async (db) => {
      const { assertSchemaCurrent } = await import('./db/migrate.js');
      await assertSchemaCurrent(db);
      return db;
    });
  }

  /** Who acts: --actor / ACCTCTL_ACTOR names a platform user, else the local operator (user@host). */
  actorSpec(): ServiceContext['actor'] {
    const ref = this.#options.actor ?? this.env.ACCTCTL_ACTOR;
    if (ref !== undefined && ref.trim() !== '') return { kind: 'user', ref: ref.trim() };
    // node:os only when an operator acts (not for --help).
    const { hostname, userInfo } = createRequire(import.meta.url ?? __filename)('node:os') as typeof import('node:os');
    let name = this.env.USER ?? 'unknown';
    try {
      name = userInfo().username;
    } catch {
      /* no passwd entry (containers): keep $USER */
    }
    return { kind: 'operator', label: `${name}@${hostname()}` };
  }

  /** SSH_CLIENT is "client-ip client-port server-port". */
  actorIp(): string {
    const ssh = this.env.SSH_CLIENT?.trim();
    return ssh ? ssh.split(/\s+/)[0]! : 'local';
  }

  async context(opts: { checkSchema?: boolean } = {}): Promise<ServiceContext> {
    const db = await this.db(opts);
    const { makeContext } = await import('./services/context.js');
    const { DEFAULT_PASSWORD_POLICY } = await import('./security/passwords.js');
    return makeContext(db, {
      now: this.clock,
      actor: this.actorSpec(),
      actorIp: this.actorIp(),
      reason: this.#options.reason,
      dryRun: this.#options.dryRun,
      passwordPolicy: { ...DEFAULT_PASSWORD_POLICY, bcryptCost: this.bcryptCost(DEFAULT_PASSWORD_POLICY.bcryptCost) },
    });
  }

  /** ACCTCTL_BCRYPT_COST overrides the cost (tests and seeding use a low one). */
  private bcryptCost(fallback: number): number {
    const raw = this.env.ACCTCTL_BCRYPT_COST;
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 4 || n > 31) throw new UsageError(`ACCTCTL_BCRYPT_COST: "${raw}" must be a whole number from 4 to 31`, { field: 'ACCTCTL_BCRYPT_COST' });
    return n;
  }

  /** Destructive or wide actions ask first (see io/prompter.ts for the rule). */
  confirm(question: string): Promise<void> {
    return confirmOrAbort(this.io, this.prompter, { yes: this.#options.yes, dryRun: this.#options.dryRun }, question);
  }

  async close(): Promise<void> {
    if (this.#db) {
      const db = await this.#db.catch(() => undefined);
      this.#db = undefined;
      await db?.close();
    }
  }
}
