// Module hooks that append every resolved module URL to $ACCTCTL_TRACE_FILE.
import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  if (process.env.ACCTCTL_TRACE_FILE) appendFileSync(process.env.ACCTCTL_TRACE_FILE, result.url + '\n');
  return result;
}
