import { Option, type Command } from 'commander';
import type { Factory } from '../factory.js';
import type { FactoryRef } from '../main.js';
import { STDIN_NOTE } from './shared.js';

export interface InitOptions {
  adminEmail?: string | undefined;
  adminUsername?: string | undefined;
  adminName?: string | undefined;
  adminPasswordStdin?: boolean | undefined;
  generatePassword?: boolean | undefined;
}

export function registerInit(program: Command, f: FactoryRef): Command {
  return program
    .command('init')
    .option('--admin-email <email>', 'create the first super admin with this email')
    .option('--admin-username <name>', 'username for the first super admin')
    .option('--admin-name <name>', 'display name for the first super admin')
    .addOption(new Option('--admin-password-stdin', 'read the admin password from stdin').conflicts('generatePassword'))
    .addOption(new Option('--generate-password', 'generate the admin password and print it once'))
    .addHelpText(
      'after',
      `
Safe to run again: the schema is migrated only where it is behind, and the first
super admin is created only while there is none. Only init and db migrate create a
database; every other command needs one that exists.
--admin-password-stdin: ${STDIN_NOTE}

Examples:
  $ acctctl init --admin-email root@example.com --generate-password
  $ printf '%s' "$PW" | acctctl --db postgres://acct@db/acct init --admin-email root@example.com --admin-password-stdin`,
    )
    .action((opts: InitOptions) => f().run('init', opts, runInit));
}

export async function runInit(f: Factory, opts: InitOptions): Promise<void> {
  const { initialize } = await import('../core.js');
  const { passwordFromStdin, reportMutation, deliverSecret } = await import('./shared.js');
  const { UsageError } = await import('../errors.js');
  if (opts.adminEmail === undefined && (opts.adminPasswordStdin || opts.generatePassword || opts.adminUsername || opts.adminName)) {
    throw new UsageError('--admin-email is needed to create the first super admin', { field: 'admin-email' });
  }
  const password = opts.adminPasswordStdin ? await passwordFromStdin(f, 'admin-password') : undefined;
  const out = f.output;
  type Init = import('../core.js').InitResult;
  const { DatabaseMissingError } = await import('../errors.js');
  const ctx = await f.context({ mode: f.options.dryRun ? 'read' : 'create', checkSchema: false, createSecretKey: true }).catch(async (err: unknown) => {
    if (!(f.options.dryRun && err instanceof DatabaseMissingError)) throw err;
    // A dry run creates nothing: check the input and report what init would do to a new database.
    const { newDatabaseStatus, checkFirstAdmin } = await import('../core.js');
    if (opts.adminEmail !== undefined) {
      checkFirstAdmin({ email: opts.adminEmail, username: opts.adminUsername, displayName: opts.adminName, password, generatePassword: opts.generatePassword });
    }
    const pending = newDatabaseStatus().pending;
    const location = await f.dbUrl();
    if (out.isJson) await out.record({ database: location, dialect: 'sqlite', schema_version: 0, applied_versions: pending, admin: null, dry_run: true }, []);
    out.info(`Dry run: would create ${location} and apply schema versions ${pending.join(', ')}${opts.adminEmail ? ` and create super admin ${opts.adminEmail}` : ''}. Nothing changed.`);
    return null;
  });
  if (ctx === null) return;
  const summary = (r: Init) => ({
    database: ctx.db.displayUrl,
    dialect: ctx.db.dialect,
    schema_version: r.schema_version,
    applied_versions: r.applied_versions,
    admin: r.admin?.result.user ?? null,
    ...(r.admin?.result.generated_password ? { generated_password: r.admin.result.generated_password } : {}),
    ...(ctx.dryRun ? { dry_run: true } : {}),
  });
  let shown = false;
  // A generated password reaches stdout before the admin commits: lost output means no admin.
  const beforeAdminCommit = opts.generatePassword
    ? async (r: Init) => {
        shown = true;
        await deliverSecret(f, 'the generated password', async () => {
          if (out.isJson) await out.record(summary(r), []);
          else await out.value(r.admin!.result.generated_password!);
        });
      }
    : undefined;
  const result = await initialize(ctx, opts.adminEmail === undefined ? undefined : {
    email: opts.adminEmail, username: opts.adminUsername, displayName: opts.adminName, password, generatePassword: opts.generatePassword,
  }, { beforeAdminCommit });
  if (out.isJson && !shown) await out.record(summary(result), []);
  out.info(ctx.dryRun
    ? `Dry run: would apply ${result.applied_versions.length === 0 ? 'nothing' : 'schema versions ' + result.applied_versions.join(', ')} to ${ctx.db.displayUrl}. Nothing changed.`
    : result.applied_versions.length > 0
      ? `Database ${ctx.db.displayUrl} is at schema version ${result.schema_version} (applied ${result.applied_versions.join(', ')}).`
      : `Database ${ctx.db.displayUrl} is already at schema version ${result.schema_version}.`);
  if (result.admin) {
    if (!out.isJson) await reportMutation(f, result.admin, { done: 'Created super admin', would: 'create super admin' });
    if (shown) out.info(`The generated password for ${result.admin.result.user.email} is on stdout above: shown once, not stored.`);
  }
}
