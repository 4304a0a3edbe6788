import type { ListSpec } from '../../io/output.js';
import type { Finding, SettingChange, SettingView } from '../../core.js';

const text = (v: unknown): string => (v === null || v === undefined ? '' : Array.isArray(v) ? v.join(',') : String(v));

export const SETTING_LIST: ListSpec<SettingView> = {
  columns: [
    { header: 'KEY', value: (s) => s.key },
    { header: 'VALUE', value: (s) => text(s.value) },
    { header: 'DEFAULT', value: (s) => (s.secret ? '' : text(s.default)) },
    { header: 'CHANGED', value: (s) => (s.changed ? 'yes' : '') },
  ],
  csvFields: ['key', 'section', 'type', 'value', 'default', 'changed', 'secret', 'description'],
};

export const CHANGE_LIST: ListSpec<SettingChange> = {
  columns: [
    { header: 'KEY', value: (c) => c.key },
    { header: 'NOW', value: (c) => text(c.before) },
    { header: 'AFTER', value: (c) => (c.reset ? `${text(c.after)} (default)` : text(c.after)) },
  ],
  csvFields: ['key', 'before', 'after', 'reset', 'secret'],
};

export const FINDING_LIST: ListSpec<Finding> = {
  columns: [
    { header: 'LEVEL', value: (x) => x.level },
    { header: 'FINDING', value: (x) => x.message },
    { header: 'FIX', value: (x) => x.fix },
  ],
  csvFields: ['level', 'code', 'message', 'fix'],
};

export function changeLine(c: SettingChange): string {
  return `${c.key}: ${text(c.before) || '∅'} → ${text(c.after) || '∅'}${c.reset ? ' (default)' : ''}`;
}
