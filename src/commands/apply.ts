import type { Command } from 'commander';
import type { Factory } from '../factory.js';
import type { FactoryRef } from '../main.js';
import { Option } from 'commander';
import { runOptions, type RunCliOptions } from './bulk.js';
import { intOption } from './shared.js';
import { IMPORT_WORDS } from './user/import.js';

export interface ApplyCliOptions extends RunCliOptions {
  plan: string;
  confirmDelete?: number | undefined;
}

export function registerApply(program: Command, f: FactoryRef): Command {
  const cmd = program
    .command('apply')
    .description('Apply a plan saved with --plan-out: exactly that plan, or nothing if any of its accounts changed since.')
    .argument('<plan.json>', 'the plan file');
  runOptions(cmd, false);
  return cmd
    .addHelpText('after', `
The plan someone reviewed is the plan that runs: every account it names is checked
first, and if one changed since the plan was made (or an email it creates was taken)
nothing is applied (exit 4): make a new plan. Then the plan is shown and confirmed
(--yes skips; a bulk delete needs --confirm-delete N) and applied in batches.

Examples:
  $ acctctl user import changes.csv --update-existing --plan-out plan.json
  $ acctctl apply plan.json
  $ acctctl apply plan.json --yes -o json`)
    .addOption(new Option('--confirm-delete <count>', 'for a plan that deletes accounts, without a terminal: how many it deletes').argParser(intOption('--confirm-delete', 0, Number.MAX_SAFE_INTEGER)))
    .action((plan: string, opts: Omit<ApplyCliOptions, 'plan'>) => f().run('apply', { ...opts, plan }, runApply));
}

export async function runApply(f: Factory, o: ApplyCliOptions): Promise<void> {
  const { applyPlan } = await import('../core.js');
  const { bulkOptions, runBulkCommand } = await import('./bulk.js');
  const { ConfirmationError } = await import('../errors.js');
  const opts = bulkOptions(o);
  const ctx = await f.context();
  const words: Record<string, string> = { ...IMPORT_WORDS, suspend: 'suspended', deactivate: 'deactivated', activate: 'activated', delete: 'deleted', 'set-role': 'role changed', 'set-timezone': 'time zone set', 'revoke-sessions': 'signed out', 'reset-2fa': '2FA reset' };
  await runBulkCommand(f, o, {
    words,
    confirm: async (plan) => {
      const deletes = plan.counts.delete ?? 0;
      if (deletes === 0) return f.confirm(`Apply ${plan.changes} change${plan.changes === 1 ? '' : 's'}?`);
      const typed = o.confirmDelete !== undefined ? String(o.confirmDelete)
        : f.io.isStdinTTY && f.io.isStderrTTY ? (await f.prompter.input(`This plan deletes ${deletes} account${deletes === 1 ? '' : 's'} permanently. Type ${deletes} to confirm:`)).trim()
        : undefined;
      if (typed === undefined) throw new ConfirmationError(`the plan deletes accounts: re-run with --confirm-delete ${deletes}`);
      if (typed !== String(deletes)) throw new ConfirmationError(`the plan deletes ${deletes}, not ${typed || 'nothing'}; nothing changed`);
    },
  }, (hooks) => applyPlan(ctx, o.plan, opts, hooks));
}
