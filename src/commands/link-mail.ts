/**
 * A verb that emails a one-time link (a reset, an invitation): the message is queued with
 * the change; without SMTP the link goes to stderr before the commit (if it cannot be
 * shown, nothing is issued) and the message stays queued; with SMTP it is sent after the
 * commit and the server's reply (or error) is reported.
 */
import type { Factory } from '../factory.js';
import type { MutationOutcome, ServiceContext } from '../core.js';
import { deliverSecret } from './shared.js';

export interface LinkOf<R> {
  what: string;
  link: (r: R) => string | null;
  mailId: (r: R) => number | null | undefined;
  expiresAt: (r: R) => string;
}

export async function withLinkMail<R>(f: Factory, spec: LinkOf<R>, call: (ctx: ServiceContext) => Promise<MutationOutcome<R>>): Promise<MutationOutcome<R>> {
  const { smtpConfigured, sendQueued } = await import('../core.js');
  const ctx0 = await f.context({ createSecretKey: true }); // the emailed link is sealed at rest
  const smtp = await smtpConfigured(ctx0);
  let shown = false;
  const ctx: ServiceContext = smtp ? ctx0 : {
    ...ctx0,
    beforeCommit: async (oc) => {
      if (oc.dryRun) return;
      shown = true;
      const { write } = await import('../io/iostreams.js');
      await deliverSecret(f, spec.what, async () => {
        await write(f.io.stderr, `${spec.link(oc.result as R)}\n`);
      }, 'stderr');
    },
  };
  const outcome = await call(ctx);
  if (outcome.dryRun) return outcome;
  const id = spec.mailId(outcome.result);
  if (shown) {
    f.output.info(`SMTP is not configured (smtp.host): message ${id} stays queued; the link above works once, until ${spec.expiresAt(outcome.result)}.`);
    return outcome;
  }
  if (id === null || id === undefined) return outcome;
  const [sent] = await sendQueued(ctx0, [id]);
  if (sent?.status === 'sent') f.output.info(`Emailed ${spec.what} (message ${sent.id}): ${sent.reply}`);
  else f.output.warn(`${spec.what[0]!.toUpperCase()}${spec.what.slice(1)} is queued as message ${id} but could not be sent${sent?.error ? `: ${sent.error}` : ''}; \`acctctl mail send\` retries it.`);
  return outcome;
}
