#!/usr/bin/env node
'use strict';
// The launcher: the only place that exits the process. A closed stdout (`| head`) is
// handled inside: data output stops quietly, a one-time secret that cannot be written
// fails the command and rolls its change back.
const { run } = require('../dist/bundle/cli.cjs');

run(process.argv.slice(2)).then((code) => {
  // Let stdout drain, then leave even if a library keeps a handle open.
  if (process.stdout.destroyed) process.exit(code);
  else process.stdout.write('', () => process.exit(code));
});
