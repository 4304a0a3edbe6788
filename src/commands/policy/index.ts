import type { Command } from 'commander';
import type { FactoryRef } from '../../main.js';
import { registerShow } from './show.js';
import { registerGet } from './get.js';
import { registerSet } from './set.js';
import { registerExport } from './export.js';
import { registerImport } from './import.js';
import { registerCheck } from './check.js';

export function registerPolicy(program: Command, f: FactoryRef): Command {
  const policy = program.command('policy');
  registerShow(policy, f);
  registerGet(policy, f);
  registerSet(policy, f);
  registerExport(policy, f);
  registerImport(policy, f);
  registerCheck(policy, f);
  return policy;
}
