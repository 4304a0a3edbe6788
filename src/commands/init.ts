import { Option, type Command } from 'commander';
import type { Factory } from '../factory.js';

interface InitOptions {
  adminEmail?: string;
  adminUsername?: string;
  adminName?: string;
  adminPasswordStdin?: boolean;
  generatePassword?: boolean;
}

export function registerInit(program: Command, f: Factory): Command {
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
super admin is created only while there is none.

Examples:
  $ acctctl init --admin-email root@example.com --generate-password
  $ printf '%s' "$PW" | acctctl --db postgres://acct@db/acct init --admin-email root@example.com --admin-password-stdin`,
    )
    .action(async (opts: InitOptions) => {
      const { initialize } = await import('../services/setup.js');
      const { passwordFromStdin, reportMutation } = await import('./shared.js');
      const { UsageError } = await import('../errors.js');
      if (opts.adminEmail === undefined && (opts.adminPasswordStdin || opts.generatePassword || opts.adminUsername || opts.adminName)) {
        throw new UsageError('--admin-email is needed to create the first super admin');
      }
      if (opts.adminEmail !== undefined && !opts.adminPasswordStdin && !opts.generatePassword) {
        throw new UsageError('the first super admin needs a password: add --admin-password-stdin or --generate-password');
      }
      const password = opts.adminPasswordStdin ? await passwordFromStdin(f, 'admin-password') : undefined;
      const ctx = await f.context({ checkSchema: false });
      const result = await initialize(ctx, opts.adminEmail === undefined ? undefined : {
        email: opts.adminEmail, username: opts.adminUsername, displayName: opts.adminName, password, generatePassword: opts.generatePassword,
      });
      const out = f.output;
      const summary = {
        database: ctx.db.displayUrl,
        dialect: ctx.db.dialect,
        schema_version: result.schema_version,
        applied_versions: result.applied_versions,
        admin: result.admin?.result.user ?? null,
        ...(result.admin?.result.generated_password ? { generated_password: result.admin.result.generated_password } : {}),
      };
      if (out.isJson) await out.record(summary, []);
      out.info(result.applied_versions.length > 0
        ? `Database ${ctx.db.displayUrl} is at schema version ${result.schema_version} (applied ${result.applied_versions.join(', ')}).`
        : `Database ${ctx.db.displayUrl} is already at schema version ${result.schema_version}.`);
      if (result.admin) {
        if (!out.isJson) await reportMutation(f, result.admin, 'Created super admin');
        const pw = result.admin.result.generated_password;
        if (pw && !out.isJson && !result.admin.dryRun) {
          out.info(`Generated password for ${result.admin.result.user.email} (shown once, not stored):`);
          await out.value(pw);
        }
      }
    });
}
