/** What bin/acctctl runs: real streams, the real prompter, the process environment. */
import { main } from './main.js';
import { systemIO } from './io/iostreams.js';
import { inquirerPrompter } from './io/prompter.js';

export async function run(argv: string[]): Promise<number> {
  const io = systemIO(process.env);
  return main(argv, { io, env: process.env, prompter: inquirerPrompter(io) });
}
