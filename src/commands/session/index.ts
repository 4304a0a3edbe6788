import type { Command } from 'commander';
import type { FactoryRef } from '../../main.js';
import { registerList } from './list.js';
import { registerShow } from './show.js';
import { registerRevoke } from './revoke.js';
import { registerPurge } from './purge.js';

export function registerSession(program: Command, f: FactoryRef): Command {
  const session = program
    .command('session')
    .addHelpText('after', '\nA session is named by its public id (ses_…; ses_legacy_<n> for one made before schema version 3). Tokens and their hashes are never shown.');
  registerList(session, f);
  registerShow(session, f);
  registerRevoke(session, f);
  registerPurge(session, f);
  return session;
}
