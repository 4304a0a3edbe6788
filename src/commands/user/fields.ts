/** The user verbs' field options, built from the one user input schema (src/domain/user-input.ts). */
import { Option, type Command } from 'commander';
import { ROLES } from '../../domain/enums.js';
import { USER_FIELDS, type UserInput } from '../../domain/user-input.js';

/** Adds one option per field: every field on create, the editable ones on edit ("" clears a clearable one). */
export function addUserFieldOptions(cmd: Command, mode: 'create' | 'edit'): void {
  for (const spec of USER_FIELDS) {
    if (mode === 'edit' && !spec.editable) continue;
    const help = mode === 'edit' && spec.clearable ? `${spec.help}; "" clears it` : spec.help;
    const opt = new Option(spec.arg ? `${spec.flag} ${spec.arg}` : spec.flag, help);
    if (spec.key === 'role') opt.choices(ROLES).default('user');
    if (mode === 'create' && spec.requiredOnCreate) opt.makeOptionMandatory();
    cmd.addOption(opt);
  }
}

/** Commander's parsed options → the services' input, field by field. */
export function userInputFrom(opts: Record<string, unknown>): UserInput {
  const input: Record<string, unknown> = {};
  for (const spec of USER_FIELDS) {
    const attr = spec.flag.replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    if (opts[attr] !== undefined) input[spec.key] = opts[attr];
  }
  return input as UserInput;
}
