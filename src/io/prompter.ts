import { ConfirmationError } from '../errors.js';
import { canPrompt, type IOStreams } from './iostreams.js';

/** Questions to a person; mockable. Never asked without a terminal. */
export interface Prompter {
  confirm(message: string): Promise<boolean>;
}

/** @inquirer/prompts on stderr, loaded only when a question is really asked. */
export function inquirerPrompter(io: IOStreams): Prompter {
  return {
    async confirm(message) {
      const { confirm } = await import('@inquirer/prompts');
      try {
        return await confirm({ message, default: false }, { input: io.stdin, output: io.stderr });
      } catch (err) {
        if ((err as Error).name === 'ExitPromptError') return false; // Ctrl-C
        throw err;
      }
    },
  };
}

/** A prompter that answers from a script, and records what it was asked. */
export function scriptedPrompter(answers: boolean[]): Prompter & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    async confirm(message) {
      asked.push(message);
      const next = answers.shift();
      if (next === undefined) throw new Error(`unexpected prompt: ${message}`);
      return next;
    },
  };
}

export interface ConfirmOptions {
  yes: boolean;
  dryRun: boolean;
}

/**
 * The one confirmation rule: --yes or --dry-run skip the question; without a terminal
 * the answer is "no" with exit 5 (never a hang, never a silent yes); a "no" is exit 5.
 */
export async function confirmOrAbort(io: IOStreams, prompter: Prompter, opts: ConfirmOptions, question: string): Promise<void> {
  if (opts.yes || opts.dryRun) return;
  if (!canPrompt(io)) throw new ConfirmationError(`${question.replace(/\?$/, '')}: confirmation needed and no terminal to ask; re-run with --yes`);
  if (!(await prompter.confirm(question))) throw new ConfirmationError('declined; nothing changed');
}
