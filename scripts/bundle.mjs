// Bundles the compiled CLI (dist/cli.js, from tsc) into dist/bundle/ for start-up speed:
// one file for `--help` and the command table, and lazily loaded chunks for the
// services and Kysely. Loading ~400 small ES modules costs far more than one file
// (kysely alone: ~100 ms as files, ~40 ms bundled on our CI machine).
import { build } from 'esbuild';
import { rmSync } from 'node:fs';

rmSync('dist/bundle', { recursive: true, force: true });
await build({
  entryPoints: ['dist/cli.js'],
  outdir: 'dist/bundle',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Native addons and pg (optional native bindings) stay ordinary packages.
  external: ['better-sqlite3', 'bcrypt', 'pg'],
  chunkNames: 'chunks/[name]-[hash]',
  // CommonJS dependencies (commander, cli-table3) call require() for Node built-ins.
  banner: { js: "import { createRequire as __acctctlCreateRequire } from 'node:module'; const require = __acctctlCreateRequire(import.meta.url);" },
  legalComments: 'none',
  logLevel: 'warning',
});
