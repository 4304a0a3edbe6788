import type { Command } from 'commander';
import type { FactoryRef } from '../../main.js';
import { registerCreate } from './create.js';
import { registerList } from './list.js';
import { registerShow } from './show.js';
import { registerEdit } from './edit.js';
import { registerRole } from './role.js';
import { registerStatusVerbs } from './status.js';
import { registerDelete } from './delete.js';
import { registerExport } from './export.js';
import { registerImport } from './import.js';
import { registerBulk } from './bulk.js';
import { registerVerify } from './verify.js';
import { registerResetPassword } from './reset-password.js';
import { registerTwoFactor } from './two-factor.js';
import { registerRevokeSessions } from './revoke-sessions.js';
import { registerHistory } from './history.js';
import { registerActivity } from './activity.js';
import { registerImpersonate } from './impersonate.js';

export function registerUser(program: Command, f: FactoryRef): Command {
  const user = program
    .command('user')
    .addHelpText('after', '\nA <user> is a numeric id, a public id (usr_…), an email (any case) or a username.');
  registerCreate(user, f);
  registerList(user, f);
  registerShow(user, f);
  registerEdit(user, f);
  registerRole(user, f);
  registerStatusVerbs(user, f);
  registerDelete(user, f);
  registerExport(user, f);
  registerImport(user, f);
  registerBulk(user, f);
  registerVerify(user, f);
  registerResetPassword(user, f);
  registerTwoFactor(user, f);
  registerRevokeSessions(user, f);
  registerHistory(user, f);
  registerActivity(user, f);
  registerImpersonate(user, f);
  return user;
}
