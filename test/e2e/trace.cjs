// Preloaded with --require: appends every module request to $ACCTCTL_TRACE_FILE.
const Module = require('node:module');
const { appendFileSync } = require('node:fs');
const load = Module._load;
Module._load = function (request, ...rest) {
  if (process.env.ACCTCTL_TRACE_FILE) appendFileSync(process.env.ACCTCTL_TRACE_FILE, request + '\n');
  return load.call(this, request, ...rest);
};
