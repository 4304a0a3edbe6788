/**
 * The commander program: global options, the command groups, and the one place where
 * an error becomes an exit code and a message. bin/acctctl calls main() and exits.
 */
import { Command, CommanderError, Option } from 'commander';
import { AcctError, ExitCode } from './errors.js';
import { Factory, type FactoryDeps } from './factory.js';
import { parseFormat } from './io/output.js';
import { escapeForTerminal } from './io/sanitize.js';
import { registerInit } from './commands/init.js';
import { registerDb } from './commands/db/index.js';
import { registerAudit } from './commands/audit/index.js';
import { registerUser } from './commands/user/index.js';

export const VERSION = '0.1.0';

/** The command groups: their one-line summary and how to build them. */
const GROUPS: Record<string, { summary: string; register: (program: Command, f: Factory) => Command }> = {
  init: { summary: 'Create or upgrade the database and, with --admin-email, the first super admin.', register: registerInit },
  db: { summary: 'The database: migrate the schema, show its status', register: registerDb },
  audit: { summary: 'The audit log: list entries, verify the hash chain', register: registerAudit },
  user: { summary: 'Platform users: create, list, show, edit, role, suspend, activate, deactivate, delete', register: registerUser },
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

/**
 * Builds the program. Start-up is a feature: only the group argv names is built in full;
 * the others are one-line stubs (enough for the top-level help). `help`, an unknown
 * word or `full` build everything (for suggestions and tests).
 */
export function buildProgram(f: Factory, argv: readonly string[] = [], full = false): Command {
  const program = new Command('acctctl');
  program
    .description('Administer the accounts of a hosting or SaaS platform: users, audit log and database.')
    .version(VERSION, '-V, --version')
    .addOption(new Option('--db <url>', 'database: a file path, sqlite:PATH or postgres://… (env ACCTCTL_DB; default ~/.local/share/acctctl/acctctl.db)'))
    .addOption(new Option('-o, --output <format>', 'output format: table, json, ndjson or csv').default('table'))
    .addOption(new Option('--json', 'same as -o json'))
    .addOption(new Option('--actor <user>', 'act as this platform user; their role limits what they may do (env ACCTCTL_ACTOR)'))
    .addOption(new Option('--reason <text>', 'why: recorded in the audit log'))
    .addOption(new Option('-y, --yes', 'answer yes to confirmations (required without a terminal)'))
    .addOption(new Option('--dry-run', 'check everything and report what would change, change nothing'))
    .addOption(new Option('-q, --quiet', 'no messages on stderr, only results and errors'))
    .addOption(new Option('--no-color', 'no colour (also off when stdout is not a terminal or NO_COLOR is set)'))
    .showSuggestionAfterError()
    .configureHelp({ showGlobalOptions: true })
    .exitOverride()
    .configureOutput({
      writeOut: (s) => f.io.stdout.write(s),
      writeErr: (s) => f.io.stderr.write(s),
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

  program.hook('preAction', (_program, leaf) => {
    const o = { ...program.opts() } as { db?: string; output: string; json?: boolean; actor?: string; reason?: string; yes?: boolean; dryRun?: boolean; quiet?: boolean; color: boolean };
    for (const key of cloned.get(leaf) ?? []) {
      if (leaf.getOptionValueSource(key) === 'cli') (o as Record<string, unknown>)[key] = leaf.getOptionValue(key);
    }
    f.setOptions({
      db: o.db,
      output: o.json ? 'json' : parseFormat(o.output),
      actor: o.actor,
      reason: o.reason,
      yes: Boolean(o.yes),
      dryRun: Boolean(o.dryRun),
      quiet: Boolean(o.quiet),
      color: o.color !== false && !(f.env.NO_COLOR !== undefined && f.env.NO_COLOR !== ''),
    });
  });
  return program;
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
  const visit = (cmd: Command) => {
    for (const sub of cmd.commands) {
      if (stubs.has(sub)) continue;
      if (sub.commands.length > 0) {
        sub.enablePositionalOptions();
        visit(sub);
        continue;
      }
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
  };
  visit(program);
  return cloned;
}

/** Runs acctctl with argv (without node and script); resolves to the exit code. */
export async function main(argv: string[], deps: FactoryDeps): Promise<number> {
  const f = new Factory(deps);
  f.argv = argv;
  const program = buildProgram(f, argv);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return ExitCode.ok;
  } catch (err) {
    return reportError(err, f, program);
  } finally {
    await f.close();
  }
}

function reportError(err: unknown, f: Factory, program: Command): number {
  let code: number = ExitCode.failure;
  let kind = 'failure';
  let message: string;
  let field: string | undefined;
  if (err instanceof CommanderError) {
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
    message = describeUnexpected(err);
  }
  const wantsJson = argvWantsJson(f.argv) || ['json', 'ndjson'].includes(String(program.opts().output));
  if (wantsJson) {
    const error: Record<string, unknown> = { code: kind, exit_code: code, message };
    if (field !== undefined) error.field = field;
    f.io.stderr.write(JSON.stringify({ error }) + '\n');
  } else {
    f.io.stderr.write(`acctctl: ${escapeForTerminal(message)}\n`);
  }
  if (f.env.ACCTCTL_DEBUG === '1' && err instanceof Error && err.stack) f.io.stderr.write(err.stack + '\n');
  return code;
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

function describeUnexpected(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as { code?: string }).code;
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === '28P01' || code === '3D000') {
    return `cannot connect to the database: ${err.message}`;
  }
  return `${err.message.split('\n')[0]} (set ACCTCTL_DEBUG=1 for details)`;
}
