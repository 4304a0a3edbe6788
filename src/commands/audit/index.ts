import type { Command } from 'commander';
import type { FactoryRef } from '../../main.js';
import { registerList } from './list.js';
import { registerVerify } from './verify.js';
import { registerAnchor } from './anchor.js';

export function registerAudit(program: Command, f: FactoryRef): Command {
  const audit = program.command('audit');
  registerList(audit, f);
  registerVerify(audit, f);
  registerAnchor(audit, f);
  return audit;
}
