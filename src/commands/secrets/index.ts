import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import type { FactoryRef } from '../../main.js';

export function registerSecrets(program: Command, f: FactoryRef): Command {
  const secrets = program.command('secrets');
  secrets
    .command('rotate-key')
    .description('Re-encrypt every secret under a new key, in one transaction, and store the new key where the old one came from.')
    .addHelpText('after', `
The key comes from --secret-key-file, ACCTCTL_SECRET_KEY, ACCTCTL_SECRET_KEY_FILE or
acctctl.key beside an SQLite database. A key file is rewritten (mode 0600); a key from
ACCTCTL_SECRET_KEY is printed once on stdout for you to store: if it cannot be written,
nothing is re-encrypted.

Examples:
  $ acctctl secrets rotate-key
  $ ACCTCTL_SECRET_KEY=$OLD acctctl secrets rotate-key -q > new-key.txt`)
    .action(() => f().run('secrets rotate-key', {}, runRotate));
  return secrets;
}

export async function runRotate(f: Factory): Promise<void> {
  const core = await import('../../core.js');
  const { deliverSecret } = await import('../shared.js');
  const { existsSync, readFileSync, rmSync } = await import('node:fs');
  const ctx = await f.context();
  const current = ctx.secretBox!();
  const source = current.source!;
  const key = core.generateKey();
  const next = new core.SecretBox(key, source);
  const plan = core.rotationPlan(source);
  let restore: (() => void) | undefined;
  let cleanup: (() => void) | undefined;
  const outcome = await core.rotateSecrets({
    ...ctx,
    beforeCommit: async (o) => {
      if (o.dryRun) return;
      if (plan === 'print-once') {
        await deliverSecret(f, 'the new key', () =>
          f.output.format === 'table' ? f.output.value(core.encodeKey(key)) : f.output.record({ new_key: core.encodeKey(key), new_key_id: next.keyId, resealed: (o.result as { resealed: number }).resealed }, []));
        return;
      }
      // The new key is on disk before the database commits; if the commit fails, the old one is put back.
      const path = source.path!;
      const old = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
      // If the process dies between the file and the commit, the old key is still at hand.
      if (old !== undefined) core.writeKeyFileAtomically(`${path}.previous`, Buffer.from(old.trim(), 'base64'));
      core.writeKeyFileAtomically(path, key);
      cleanup = () => rmSync(`${path}.previous`, { force: true });
      restore = () => {
        if (old !== undefined) core.writeKeyFileAtomically(path, Buffer.from(old.trim(), 'base64'));
      };
    },
  }, next).catch((err: unknown) => {
    restore?.();
    throw err;
  });
  cleanup?.();
  const r = outcome.result;
  if (f.output.format !== 'table' && plan !== 'print-once') await f.output.record({ ...r, key_stored_in: source.description, dry_run: outcome.dryRun }, []);
  f.output.info(outcome.dryRun
    ? `Dry run: would re-encrypt ${r.resealed} secret(s) under a new key. Nothing changed.`
    : plan === 'print-once'
      ? `Re-encrypted ${r.resealed} secret(s) under key ${r.new_key_id}. The new key is on stdout above, shown once: put it in ACCTCTL_SECRET_KEY now.`
      : `Re-encrypted ${r.resealed} secret(s) under key ${r.new_key_id}; ${source.description} now holds it.`);
}
