/**
 * Everything a command needs, injected (gh's Factory): streams, prompter, clock, the
 * configuration, the parsed global options, and the database, opened on first use.
 * Built once, after the arguments are parsed, and never changed afterwards.
 */
import type { Config } from './config.js';
import type { Database } from './db/connect.js';
import type { IOStreams } from './io/iostreams.js';
import { Output, type Format } from './io/output.js';
import { confirmOrAbort, type Prompter } from './io/prompter.js';
import type { ServiceContext } from './services/context.js';
import { UsageError } from './errors.js';
import { validText } from './domain/validate.js';

export interface GlobalOptions {
  db?: string | undefined;
  output: Format;
  actor?: string | undefined;
  reason?: string | undefined;
  yes: boolean;
  dryRun: boolean;
  quiet: boolean;
  color: boolean;
  secretKeyFile?: string | undefined;
}

/** Replaces a verb's run function in tests: argv → options, no database (gh's runF). */
export type RunF = (command: string, options: object) => Promise<void>;

export interface FactoryDeps {
  io: IOStreams;
  prompter: Prompter;
  /** The configuration; loaded from `env` when not given. */
  config?: Config;
  env?: Readonly<Record<string, string | undefined>>;
  clock?: () => Date;
  runF?: RunF;
}

/** How a verb uses the database: `read` opens it read-only; only `create` may make a new one. */
export type DbMode = 'read' | 'write' | 'create';

export interface ContextOptions {
  mode?: DbMode;
  /** Create the key file beside an SQLite database when there is none (init). */
  createSecretKey?: boolean;
  /** Refuse a schema that is not current (default). */
  checkSchema?: boolean;
  beforeCommit?: ServiceContext['beforeCommit'];
}

/** A user reference: well-formed text of a sensible length (an email is at most 254). */
function checkedActor(raw: string, where: string): string {
  const r = validText(raw, 'actor', 320);
  if (!r.ok) throw new UsageError(`${where}: ${r.message}`, { field: 'actor' });
  return r.value;
}

export class Factory {
  readonly io: IOStreams;
  readonly prompter: Prompter;
  readonly clock: () => Date;
  readonly config: Config;
  readonly options: Readonly<GlobalOptions>;
  readonly runF: RunF | undefined;
  readonly output: Output;
  #db: Promise<Database> | undefined;

  constructor(deps: FactoryDeps & { config: Config }, options: GlobalOptions) {
    this.io = deps.io;
    this.prompter = deps.prompter;
    this.clock = deps.clock ?? (() => new Date());
    this.config = deps.config;
    this.runF = deps.runF;
    this.options = Object.freeze({ ...options });
    this.output = new Output(this.io, options.output, { quiet: options.quiet, color: options.color && this.io.colorEnabled });
  }

  /** --db, else ACCTCTL_DB, else $XDG_DATA_HOME/acctctl/acctctl.db. */
  async dbUrl(): Promise<string> {
    const explicit = this.options.db ?? this.config.db;
    if (explicit !== undefined) return explicit;
    const { defaultDbPath } = await import('./core.js');
    return defaultDbPath({ HOME: this.config.home, XDG_DATA_HOME: this.config.xdgDataHome });
  }

  /** Opens the database once (in the first caller's mode). Unless told otherwise, refuses a schema that is not current. */
  db(opts: { mode?: DbMode; checkSchema?: boolean } = {}): Promise<Database> {
    this.#db ??= (async () => {
      const { connect } = await import('./core.js');
      return connect(await this.dbUrl(), {
        mode: opts.mode ?? 'write',
        connectTimeoutMs: this.config.connectTimeoutMs,
        lockTimeoutMs: this.config.lockTimeoutMs,
      });
    })();
    if (opts.checkSchema === false) return this.#db;
    return this.#db.then(async (db) => {
      const { assertSchemaCurrent } = await import('./core.js');
      await assertSchemaCurrent(db);
      return db;
    });
  }

  /** Who acts: --actor / ACCTCTL_ACTOR names a platform user, else the local operator (user@host). */
  async actorSpec(): Promise<ServiceContext['actor']> {
    if (this.options.actor !== undefined) {
      if (this.options.actor.trim() === '') throw new UsageError('--actor: empty; name a user, or leave --actor out to act as the local operator', { field: 'actor' });
      return { kind: 'user', ref: checkedActor(this.options.actor, '--actor') };
    }
    if (this.config.actor !== undefined && this.config.actor.trim() !== '') return { kind: 'user', ref: checkedActor(this.config.actor, 'ACCTCTL_ACTOR') };
    const { hostname, userInfo } = await import('node:os');
    let name = this.config.user ?? 'unknown';
    try {
      name = userInfo().username;
    } catch {
      /* no passwd entry (containers): keep $USER */
    }
    return { kind: 'operator', label: `${name}@${hostname()}` };
  }

  async context(opts: ContextOptions = {}): Promise<ServiceContext> {
    const actor = await this.actorSpec();
    const core = await import('./core.js');
    const reason = this.options.reason === undefined ? undefined : core.validReason(this.options.reason);
    const db = await this.db({ mode: opts.mode, checkSchema: opts.checkSchema });
    const cost = this.config.bcryptCost;
    const target = core.parseDbUrl(await this.dbUrl());
    const openBox = (create: boolean) => core.openSecretBox({
      envKey: this.config.secretKey,
      envKeyFile: this.config.secretKeyFile,
      optionKeyFile: this.options.secretKeyFile,
      dbTarget: target,
      create,
    });
    let box: import('./core.js').SecretBox | undefined;
    // init and db migrate make the key file beside an SQLite database that holds no secret
    // yet; with secrets stored, a missing key is an error, never silently a new key.
    // PostgreSQL's key comes from the environment or --secret-key-file.
    if (opts.createSecretKey && !this.options.dryRun && target.dialect === 'sqlite' && !(await core.hasSealedSecrets(db))) box = openBox(true);
    const secretBox = (o: { fresh?: boolean } = {}) => {
      if (o.fresh || !box) box = openBox(false);
      return box;
    };
    return core.makeContext(db, {
      secretBox,
      now: this.clock,
      actor,
      actorIp: this.config.actorIp,
      reason,
      dryRun: this.options.dryRun,
      passwordPolicy: cost === undefined ? undefined : { bcryptCost: cost },
      beforeCommit: opts.beforeCommit,
    });
  }

  /** Destructive or wide actions ask first (see io/prompter.ts for the rule). */
  confirm(question: string): Promise<void> {
    return confirmOrAbort(this.io, this.prompter, { yes: this.options.yes, dryRun: this.options.dryRun }, question);
  }

  /** Runs a verb, or hands its parsed options to runF in tests. */
  run<O extends object>(command: string, options: O, fn: (f: Factory, o: O) => Promise<void>): Promise<void> {
    return this.runF ? this.runF(command, options) : fn(this, options);
  }

  async close(): Promise<void> {
    if (this.#db) {
      const db = await this.#db.catch(() => undefined);
      this.#db = undefined;
      await db?.close();
    }
  }
}
