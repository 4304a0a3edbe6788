import { Option, type Command } from 'commander';
import type { Factory } from '../../factory.js';
import type { FactoryRef } from '../../main.js';
import { STDIN_NOTE } from '../shared.js';

export interface CheckOptions {
  user: string;
  passwordStdin?: boolean | undefined;
  totp?: string | undefined;
  recoveryCode?: string | undefined;
  ip?: string | undefined;
  createSession?: boolean | undefined;
}

export function registerAuth(program: Command, f: FactoryRef): Command {
  const auth = program.command('auth');
  auth
    .command('check')
    .description('Why can (or can\'t) a user sign in? Every check, line by line; exit 0 when sign-in would succeed, 4 when refused.')
    .argument('<user>', 'numeric id, public id (usr_…), email or username')
    .option('--password-stdin', 'also check a password read from stdin')
    .addOption(new Option('--totp <code>', 'also check a 2FA code (not consumed)').conflicts('recoveryCode'))
    .option('--recovery-code <code>', 'also check a recovery code (not consumed)')
    .option('--ip <ip>', 'the address the sign-in comes from (recorded with --create-session)')
    .option('--create-session', 'really sign in when every check passes (needs --password-stdin; the token is printed once)')
    .addHelpText('after', `
Nothing is counted, consumed or recorded unless --create-session signs in for real.
--password-stdin: ${STDIN_NOTE}

Examples:
  $ acctctl auth check bob@example.com
  $ printf '%s' "$PW" | acctctl auth check bob --password-stdin --totp 123456
  $ acctctl auth check bob -o json | jq '.checks[] | select(.ok | not)'`)
    .action((user: string, opts: Omit<CheckOptions, 'user'>) => f().run('auth check', { user, ...opts }, runCheck));
  return auth;
}

export async function runCheck(f: Factory, o: CheckOptions): Promise<void> {
  const { explainSignIn } = await import('../../core.js');
  const { passwordFromStdin, deliverSecret } = await import('../shared.js');
  const { RefusedError, UsageError } = await import('../../errors.js');
  if (o.createSession && !o.passwordStdin) throw new UsageError('--create-session needs --password-stdin', { field: 'create-session' });
  const password = o.passwordStdin ? await passwordFromStdin(f, 'password') : undefined;
  const ctx = await f.context({ mode: o.createSession ? 'write' : 'read' });
  const v = await explainSignIn(ctx, o.user, { password, totp: o.totp, recovery_code: o.recoveryCode, ip: o.ip, createSession: o.createSession });
  const out = f.output;
  if (out.format === 'table') {
    for (const c of v.checks) out.info(`${c.ok ? '✓' : '✗'} ${c.check}: ${c.detail}`);
    out.info(v.allowed ? 'Sign-in would succeed.' : 'Sign-in would be refused.');
    if (v.session_token) await deliverSecret(f, 'the session token', () => out.value(v.session_token!));
  } else {
    await out.record(v, []);
  }
  if (!v.allowed) throw new RefusedError(`sign-in refused: ${v.checks.filter((c) => !c.ok).map((c) => c.check).join(', ')}`);
}
