#!/usr/bin/env node
'use strict';
// The launcher: the only place that exits the process. A closed stdout (`| head`) is
// handled inside: data output stops quietly, a one-time secret that cannot be written
// fails the command and rolls its change back.
// bcrypt hashes on libuv's thread pool (4 threads unless told): an import of plaintext
// passwords should use every core. Read when the pool first starts, so set it first.
if (!process.env.UV_THREADPOOL_SIZE) process.env.UV_THREADPOOL_SIZE = String(Math.max(4, require('node:os').availableParallelism()));
const { run } = require('../dist/bundle/cli.cjs');

run(process.argv.slice(2)).then((code) => {
  // Let stdout drain, then leave even if a library keeps a handle open.
  if (process.stdout.destroyed) process.exit(code);
  else process.stdout.write('', () => process.exit(code));
});
