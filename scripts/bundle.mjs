// Bundles the compiled CLI (tsc's dist/) into dist/bundle/ for start-up speed.
//   cli.cjs     commander, main, the command table, io, domain: all that `--help` needs
//   core.cjs    src/core.ts: services, db, security, policy, bulk and Kysely, required on
//               the first real verb. core.ts re-exports by name (a clash is a type error);
//               CLI code reaches core code only through it, and the build fails otherwise,
//               so no import can become `undefined` at run time.
//   errors.cjs  the error classes, shared by both so `instanceof` holds across them
// CommonJS, because Node's ES module loader costs ~10 ms before the first line runs, and
// one file per part, because loading ~400 small modules (Kysely's) costs far more than
// one bundle. Native addons, pg and the presentation libraries stay in node_modules and
// are required only by the verbs that use them.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const dist = resolve('dist');
const out = join(dist, 'bundle');
/** Folders of core code: a new one must be listed here (test/e2e/bundle.test.ts checks). */
const CORE_DIRS = ['services', 'db', 'security', 'policy', 'bulk'].map((d) => join(dist, d) + '/');
const CORE = join(dist, 'core.js');
const ERRORS = join(dist, 'errors.js');
// ~170 KB of data that only setting a password needs: a file of its own, so every other
// verb does not parse it at start-up.
const COMMON_PASSWORDS = join(dist, 'security', 'common-passwords.js');
const external = ['better-sqlite3', 'bcrypt', 'pg', 'chalk', 'cli-table3', '@inquirer/prompts', 'uqr', 'nodemailer'];

/** Redirects imports of another part to that part's file, kept external. */
function parts(which) {
  return {
    name: 'acctctl-parts',
    setup(b) {
      b.onResolve({ filter: /^\.\.?\// }, (args) => {
        if (args.kind === 'entry-point') return undefined;
        const target = resolve(args.resolveDir, args.path);
        if (target === ERRORS && which !== 'errors') return { path: './errors.cjs', external: true };
        if (target === COMMON_PASSWORDS && which === 'core') return { path: './common-passwords.cjs', external: true };
        if (which === 'cli' && target === CORE) return { path: './core.cjs', external: true };
        if (which === 'cli' && CORE_DIRS.some((d) => target.startsWith(d))) {
          return { errors: [{ text: `${relative(dist, args.importer)} imports ${relative(dist, target)}: CLI code must import core code through src/core.ts` }] };
        }
        return undefined;
      });
      // commander requires child_process for executable subcommands, which acctctl does
      // not use; loading it (and net, dgram) costs a few ms on every start.
      b.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
        /[\\/]commander[\\/]/.test(args.importer) ? { path: 'child_process', namespace: 'acctctl-stub' } : undefined,
      );
      b.onLoad({ filter: /.*/, namespace: 'acctctl-stub' }, () => ({
        contents: "module.exports = { spawn() { throw new Error('executable subcommands are not supported'); } };",
        loader: 'js',
      }));
    },
  };
}

const common = {
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  // import() becomes require(): through the ES module loader a CommonJS file is parsed
  // twice (once by cjs-module-lexer), ~20 ms for core.cjs. chalk is an ES module and
  // loads through require() on Node >= 20.19.
  supported: { 'dynamic-import': false },
  external,
  minify: true,
  // Error classes name themselves from new.target.name.
  keepNames: true,
  legalComments: 'none',
  logLevel: 'warning',
  // src/db/migrate.ts falls back to __filename where import.meta.url is empty.
  logOverride: { 'empty-import-meta': 'silent' },
};

rmSync(out, { recursive: true, force: true });
await Promise.all([
  build({ ...common, entryPoints: [ERRORS], outfile: join(out, 'errors.cjs'), plugins: [parts('errors')] }),
  build({ ...common, entryPoints: [CORE], outfile: join(out, 'core.cjs'), plugins: [parts('core')] }),
  build({ ...common, entryPoints: [COMMON_PASSWORDS], outfile: join(out, 'common-passwords.cjs'), plugins: [parts('data')] }),
  build({ ...common, entryPoints: [join(dist, 'cli.js')], outfile: join(out, 'cli.cjs'), plugins: [parts('cli')] }),
]);
