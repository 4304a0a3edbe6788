import { ConfirmationError } from '../errors.js';
import { canPrompt, type IOStreams } from './iostreams.js';

/** Questions to a person; mockable. Never asked without a terminal. */
export interface Prompter {
  confirm(message: string): Promise<boolean>;
  /** A line of text ('' when the person gives up with Ctrl-C). */
  input(message: string): Promise<string>;
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
    async input(message) {
      const { input } = await import('@inquirer/prompts');
      try {
        return await input({ message }, { input: io.stdin, output: io.stderr });
      } catch (err) {
        if ((err as Error).name === 'ExitPromptError') return '';
        throw err;
      }
    },
  };
}

/** A prompter that answers from a script, and records what it was asked. */
export function scriptedPrompter(answers: (boolean | string)[]): Prompter & { asked: string[] } {
  const asked: string[] = [];
  const next = (message: string, kind: 'boolean' | 'string') => {
    asked.push(message);
    const answer = answers.shift();
    if (typeof answer !== kind) throw new Error(`unexpected prompt (${kind}): ${message}`);
    return answer;
  };
  return {
    asked,
    confirm: async (message) => next(message, 'boolean') as boolean,
    input: async (message) => next(message, 'string') as string,
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
