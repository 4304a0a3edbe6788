/**
 * The commander program: global options, the command groups, and the one place where
 * an error becomes an exit code and a message. bin/acctctl calls main() and exits.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { loadConfig, type Config } from './config.js';
import { AcctError, ExitCode, UsageError } from './errors.js';
import { Factory, type FactoryDeps, type GlobalOptions } from './factory.js';
import { OutputClosedError } from './io/iostreams.js';
import { parseFormat } from './io/output.js';
import { escapeForTerminal } from './io/sanitize.js';
import { registerInit } from './commands/init.js';
import { registerDb } from './commands/db/index.js';
import { registerAudit } from './commands/audit/index.js';
import { registerUser } from './commands/user/index.js';
import { registerPolicy } from './commands/policy/index.js';
import { registerSecrets } from './commands/secrets/index.js';
import { registerAuth } from './commands/auth/index.js';
import { registerSession } from './commands/session/index.js';
import { registerCleanup } from './commands/cleanup.js';
import { registerApply } from './commands/apply.js';
import { registerMail } from './commands/mail.js';
import { registerInvite } from './commands/invite.js';

export const VERSION = '0.1.0';

/** How verbs reach the factory: it exists only once the arguments are parsed. */
export type FactoryRef = () => Factory;

/** The command groups: their one-line summary and how to build them. */
const GROUPS: Record<string, { summary: string; register: (program: Command, f: FactoryRef) => Command }> = {
  init: { summary: 'Create or upgrade the database and, with --admin-email, the first super admin.', register: registerInit },
  db: { summary: 'The database: migrate the schema, show its status', register: registerDb },
  audit: { summary: 'The audit log: list entries, verify the hash chain, print an anchor', register: registerAudit },
  user: { summary: 'Platform users: create, list, show, edit, role, suspend, activate, deactivate, delete', register: registerUser },
  policy: { summary: 'Sign-in policy: show, get, set, unset, export, import, diff, check', register: registerPolicy },
  secrets: { summary: 'Secrets at rest: rotate the key', register: registerSecrets },
  auth: { summary: 'Sign-in: check why a user can or cannot sign in', register: registerAuth },
  session: { summary: 'Sessions: list, show, revoke, purge', register: registerSession },
  cleanup: { summary: 'Remove expired sessions, tokens and old login history (for cron)', register: registerCleanup },
  apply: { summary: 'Apply a bulk plan saved with --plan-out', register: registerApply },
  invite: { summary: 'Invitations: create, list, show, resend, revoke, accept', register: registerInvite },
  mail: { summary: 'Outgoing mail: list, show, send (cron), test, purge the outbox', register: registerMail },
};

/** The first command word in argv, skipping the program's options and their values. */
function commandWord(program: Command, argv: readonly string[]): string | undefined {
  const takesValue = new Set(program.options.filter((o) => o.required || o.optional).flatMap((o) => [o.long, o.short]));
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') return argv[i + 1];
    if (takesValue.has(a)) i++;
    else if (!a.startsWith('-')) return a;
  }
  return undefined;
}

interface RawGlobals {
  secretKeyFile?: string;
  db?: string;
  output: string;
  json?: boolean;
  actor?: string;
  reason?: string;
  yes?: boolean;
  dryRun?: boolean;
  quiet?: boolean;
  color: boolean;
}

/**
 * Builds the program. Start-up is a feature: only the group argv names is built in full;
 * the others are one-line stubs (enough for the top-level help). `help`, an unknown
 * word or `full` build everything (for suggestions and tests). `onParsed` receives the
 * global options once the verb's arguments are parsed, before it runs.
 */
export function buildProgram(
  io: Pick<FactoryDeps['io'], 'stdout' | 'stderr'>,
  f: FactoryRef,
  argv: readonly string[] = [],
  full = false,
  onParsed: (options: GlobalOptions) => void = () => {},
  config?: Config,
): Command {
  const program = new Command('acctctl');
  program
    .description('Administer the accounts of a hosting or SaaS platform: users, sign-in policy, audit log and database.')
    .version(VERSION, '-V, --version')
    .addOption(new Option('--db <url>', 'database: a file path, sqlite:PATH or postgres://… (env ACCTCTL_DB; default ~/.local/share/acctctl/acctctl.db)'))
    .addOption(new Option('-o, --output <format>', 'output format: table, json, ndjson or csv').default('table'))
    .addOption(new Option('--json', 'same as -o json'))
    .addOption(new Option('--actor <user>', 'act as this platform user; their role limits what they may do (env ACCTCTL_ACTOR)'))
    .addOption(new Option('--reason <text>', 'why: recorded in the audit log (at most 1000 characters)'))
    .addOption(new Option('-y, --yes', 'answer yes to confirmations (required without a terminal)'))
    .addOption(new Option('--dry-run', 'check everything and report what would change, change nothing'))
    .addOption(new Option('-q, --quiet', 'no messages on stderr, only results and errors'))
    .addOption(new Option('--no-color', 'no colour (also off when stdout is not a terminal or NO_COLOR is set)'))
    .addOption(new Option('--secret-key-file <file>', 'the key for secrets at rest (env ACCTCTL_SECRET_KEY or ACCTCTL_SECRET_KEY_FILE; default: acctctl.key beside an SQLite database)'))
    .showSuggestionAfterError()
    .configureHelp({ showGlobalOptions: true })
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      // Usage errors are printed by main()'s error mapper, in JSON when asked.
      outputError: () => {},
    })
    .addHelpText(
      'after',
      `
Examples:
  $ acctctl init --admin-email root@example.com --generate-password
  $ acctctl user list --search alice -o json
  $ acctctl user suspend bob@example.com --reason "abuse report #123"
  $ acctctl audit verify

Exit codes: 0 ok, 1 failure, 2 usage/invalid input, 3 not found, 4 refused, 5 confirmation needed/declined, 6 partly applied.`,
    );

  const word = commandWord(program, argv);
  const buildAll = full || (word !== undefined && !(word in GROUPS));
  const stubs = new Set<Command>();
  for (const [name, group] of Object.entries(GROUPS)) {
    const built = buildAll || name === word;
    const cmd = built ? group.register(program, f) : program.command(name);
    if (!built) stubs.add(cmd);
    cmd.description(group.summary);
  }
  const cloned = acceptGlobalsAfterVerb(program, stubs);
  refuseRepeats(program, stubs);

  program.hook('preAction', (_program, leaf) => {
    const o = { ...program.opts() } as RawGlobals;
    const outputGiven = program.getOptionValueSource('output') === 'cli' || leaf.getOptionValueSource('output') === 'cli';
    for (const key of cloned.get(leaf) ?? []) {
      const source = leaf.getOptionValueSource(key);
      const after = leaf.getOptionValue(key);
      // The verb's own options object carries only the verb's options.
      leaf.setOptionValueWithSource(key, undefined, 'default');
      if (source !== 'cli') continue;
      const before = program.getOptionValueSource(key) === 'cli' ? program.getOptionValue(key) : undefined;
      if (before !== undefined && before !== after) {
        throw new UsageError(`--${kebab(key)} given before and after the verb with different values`, { field: kebab(key) });
      }
      (o as unknown as Record<string, unknown>)[key] = after;
    }
    if (o.json && outputGiven && o.output !== 'json') throw new UsageError(`--json conflicts with -o ${o.output}`, { field: 'output' });
    onParsed({
      db: o.db,
      output: o.json ? 'json' : parseFormat(o.output),
      actor: o.actor,
      reason: o.reason,
      yes: Boolean(o.yes),
      dryRun: Boolean(o.dryRun),
      quiet: Boolean(o.quiet),
      color: o.color !== false && !(config?.noColor ?? false),
      secretKeyFile: o.secretKeyFile,
    });
  });
  return program;
}

function kebab(attr: string): string {
  return attr.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}

/**
 * Global options work before the verb (`acctctl -o json user list`) and after it
 * (`acctctl user list -o json`): each verb gets hidden copies of the global options it
 * does not define itself. A verb's own option of the same name wins after the verb
 * (`audit list --actor X` filters; the acting --actor then goes before `audit`).
 * Returns, per verb, the attribute names that were copied.
 */
function acceptGlobalsAfterVerb(program: Command, stubs: ReadonlySet<Command>): Map<Command, string[]> {
  program.enablePositionalOptions();
  const cloned = new Map<Command, string[]>();
  for (const sub of leaves(program, stubs)) {
    const names: string[] = [];
    for (const opt of program.options) {
      if (opt.long === '--version') continue;
      const taken = sub.options.some((o) => o.long === opt.long || (opt.short !== undefined && o.short === opt.short));
      if (taken) continue;
      const copy = new Option(opt.flags, opt.description).hideHelp();
      if (opt.negate) copy.default(undefined);
      sub.addOption(copy);
      names.push(opt.attributeName());
    }
    cloned.set(sub, names);
  }
  return cloned;
}

function leaves(cmd: Command, stubs: ReadonlySet<Command>): Command[] {
  const out: Command[] = [];
  for (const sub of cmd.commands) {
    if (stubs.has(sub)) continue;
    if (sub.commands.length > 0) {
      sub.enablePositionalOptions();
      out.push(...leaves(sub, stubs));
      // A group that also runs on its own (`user 2fa <user>`) takes the global options too.
      if ((sub as unknown as { _actionHandler?: unknown })._actionHandler) out.push(sub);
    } else out.push(sub);
  }
  return out;
}

/** A single-value option given twice with different values is a usage error, not last-wins. */
function refuseRepeats(program: Command, stubs: ReadonlySet<Command>): void {
  for (const cmd of [program, ...leaves(program, stubs)]) {
    for (const opt of cmd.options) {
      // Repeatable options (an array default, such as --anchor) collect their values.
      if (!(opt.required || opt.optional) || opt.variadic || Array.isArray(opt.defaultValue)) continue;
      const parse = opt.parseArg;
      let seen: string | undefined;
      opt.argParser((value: string, previous: unknown) => {
        if (seen !== undefined && seen !== value) throw new InvalidArgumentError(`given twice with different values ("${seen}" and "${value}")`);
        seen = value;
        return parse ? parse(value, previous) : value;
      });
    }
  }
}

/** Runs acctctl with argv (without node and script); resolves to the exit code. */
export async function main(argv: string[], deps: FactoryDeps): Promise<number> {
  const config = deps.config ?? loadConfig(deps.env ?? {});
  let factory: Factory | undefined;
  const ref: FactoryRef = () => {
    if (!factory) throw new Error('the factory is built once the arguments are parsed');
    return factory;
  };
  const program = buildProgram(deps.io, ref, argv, false, (options) => {
    factory = new Factory({ ...deps, config }, options);
  }, config);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return ExitCode.ok;
  } catch (err) {
    return reportError(err, { io: deps.io, argv, config, factory, program });
  } finally {
    await factory?.close();
  }
}

interface ErrorScope {
  io: FactoryDeps['io'];
  argv: readonly string[];
  config: Config;
  factory: Factory | undefined;
  program: Command;
}

async function reportError(err: unknown, s: ErrorScope): Promise<number> {
  let code: number = ExitCode.failure;
  let kind = 'failure';
  let message: string;
  let field: string | undefined;
  if (err instanceof OutputClosedError) return ExitCode.ok; // `acctctl … | head`: the reader had enough
  if (err instanceof CommanderError) {
    if (err.code === 'commander.help' && err.exitCode !== 0) {
      // A group without its verb: the help went to stderr; that is a usage error.
      return ExitCode.usage;
    }
    if (err.exitCode === 0 || ['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(err.code)) return ExitCode.ok;
    code = ExitCode.usage;
    kind = 'usage';
    message = err.message.replace(/^error:\s*/i, '').replace(/\s*\n\s*/g, ' ');
  } else if (err instanceof AcctError) {
    code = err.exitCode;
    kind = err.code;
    message = err.message;
    field = err.field;
  } else {
    message = await describeUnexpected(err, s);
  }
  message = await scrub(message, s);
  const wantsJson = argvWantsJson(s.argv) || ['json', 'ndjson'].includes(String(s.program.opts().output));
  if (wantsJson) {
    const error: Record<string, unknown> = { code: kind, exit_code: code, message };
    if (field !== undefined) error.field = field;
    const all = (err as { errors?: unknown }).errors;
    if (err instanceof AcctError && Array.isArray(all) && all.length > 0) error.errors = all;
    s.io.stderr.write(JSON.stringify({ error }) + '\n');
  } else {
    s.io.stderr.write(`acctctl: ${escapeForTerminal(message)}\n`);
  }
  if (s.config.debug && err instanceof Error && err.stack) s.io.stderr.write((await scrub(err.stack, s)) + '\n');
  return code;
}

/** Database URLs given anywhere (argv, ACCTCTL_DB). */
function dbUrls(s: ErrorScope): string[] {
  const urls: string[] = [];
  if (s.config.db) urls.push(s.config.db);
  s.argv.forEach((a, i) => {
    if (a === '--db' && s.argv[i + 1] !== undefined) urls.push(s.argv[i + 1]!);
    else if (a.startsWith('--db=')) urls.push(a.slice(5));
  });
  return urls.filter((u) => /^postgres(ql)?:\/\//i.test(u));
}

/** No credential reaches a message, whoever wrote the message. */
async function scrub(message: string, s: ErrorScope): Promise<string> {
  const urls = dbUrls(s);
  if (urls.length === 0) return message;
  const { urlSecrets, redactUrl, scrubSecrets } = await import('./core.js');
  let out = message;
  for (const url of urls) out = out.split(url).join(redactUrl(url));
  return scrubSecrets(out, urls.flatMap((u) => urlSecrets(u)));
}

/** Errors can happen before options are parsed (or in a verb's parse): look at argv itself. */
function argvWantsJson(argv: readonly string[]): boolean {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') break;
    if (a === '--json') return true;
    const value = a === '-o' || a === '--output' ? argv[i + 1] : /^(?:-o|--output=)(.+)$/.exec(a)?.[1];
    if (value === 'json' || value === 'ndjson') return true;
  }
  return false;
}

async function describeUnexpected(err: unknown, s: ErrorScope): Promise<string> {
  if (!(err instanceof Error)) return String(err);
  if (s.factory !== undefined || (err as { code?: unknown }).code !== undefined) {
    const { describeDbError } = await import('./core.js');
    const location = s.factory ? await s.factory.dbUrl().catch(() => undefined) : undefined;
    const known = describeDbError(err, location);
    if (known !== undefined) return known;
  }
  return `${err.message.split('\n')[0]} (set ACCTCTL_DEBUG=1 for details)`;
}
