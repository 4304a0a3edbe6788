#!/usr/bin/env node
'use strict';
// The launcher: the only place that exits the process.
const { run } = require('../dist/bundle/cli.cjs');

// A closed pipe (acctctl … | head) is not an error worth a stack trace.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});
run(process.argv.slice(2)).then((code) => {
  // Let stdout drain, then leave even if a library keeps a handle open.
  process.stdout.write('', () => process.exit(code));
});
