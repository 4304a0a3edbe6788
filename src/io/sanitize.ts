/**
 * User-supplied strings must never drive the terminal or a spreadsheet.
 * Tables show control, bidi and invisible characters escaped (src/domain/text.ts);
 * CSV cells that a spreadsheet would run as a formula get a leading quote.
 */
export { escapeForTerminal } from '../domain/text.js';

/** One CSV cell per RFC 4180, formula-neutralised (OWASP CSV injection). */
export function csvCell(value: unknown): string {
  let text = value === null || value === undefined ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value);
  // Numbers and booleans are ours; only text can carry a formula.
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) || text !== text.trim() ? `"${text.replace(/"/g, '""')}"` : text;
}
