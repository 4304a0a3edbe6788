/** What bin/acctctl runs: real streams, the real prompter, the process environment (read once). */
import { loadConfig } from './config.js';
import { main } from './main.js';
import { systemIO } from './io/iostreams.js';
import { inquirerPrompter } from './io/prompter.js';

export async function run(argv: string[]): Promise<number> {
  const config = loadConfig(process.env);
  const io = systemIO(config);
  return main(argv, { io, config, prompter: inquirerPrompter(io) });
}
