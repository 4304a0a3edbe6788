/**
 * The CLI bundle cannot drop an export: CLI code reaches core code only through
 * src/core.ts (scripts/bundle.mjs fails the build otherwise), and here every name the
 * CLI takes from it, and every name core.ts exports, is a defined value in core.cjs.
 */
import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = resolve(__dirname, '../..');
const SRC = join(ROOT, 'src');
const CLI_SIDE = new Set(['commands', 'io', 'domain']);

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('the CLI bundle', () => {
  const core = createRequire(import.meta.url)(join(ROOT, 'dist/bundle/core.cjs')) as Record<string, unknown>;

  it('has every export of src/core.ts as a defined value', async () => {
    const esm = (await import(pathToFileURL(join(ROOT, 'dist/core.js')).href)) as Record<string, unknown>;
    const names = Object.keys(esm);
    expect(names.length).toBeGreaterThan(20);
    for (const name of names) {
      expect(core[name], name).toBeDefined();
      expect(typeof core[name], name).toBe(typeof esm[name]);
    }
  });

  it('resolves every name the CLI code imports from core', () => {
    const cliFiles = files(SRC).filter((f) => {
      const top = f.slice(SRC.length + 1).split('/')[0]!;
      return !f.endsWith('/core.ts') && !f.endsWith('/index.ts') || CLI_SIDE.has(top);
    });
    const used = new Set<string>();
    for (const f of cliFiles) {
      const text = readFileSync(f, 'utf8');
      for (const m of text.matchAll(/\{([^{}]*)\}\s*=\s*await import\(\s*['"](?:\.\.?\/)+core\.js['"]\s*\)/g)) {
        for (const part of m[1]!.split(',')) {
          const name = part.trim().split(/\s*:\s*/)[0]!;
          if (name) used.add(name);
        }
      }
    }
    expect(used.size).toBeGreaterThan(15);
    for (const name of used) expect(core[name], `${name} (imported by the CLI from core.js)`).toBeDefined();
  });

  it('lists every folder of core code in scripts/bundle.mjs', () => {
    const listed = /const CORE_DIRS = \[([^\]]*)\]/.exec(readFileSync(join(ROOT, 'scripts/bundle.mjs'), 'utf8'))![1]!;
    const dirs = readdirSync(SRC).filter((d) => statSync(join(SRC, d)).isDirectory() && !CLI_SIDE.has(d));
    for (const d of dirs) expect(listed, `src/${d}/ is core code: add it to CORE_DIRS`).toContain(`'${d}'`);
  });

  it('keeps CLI code off core modules except through core.ts', () => {
    const offenders: string[] = [];
    for (const f of files(SRC)) {
      const rel = f.slice(SRC.length + 1);
      const top = rel.split('/')[0]!;
      if (!CLI_SIDE.has(top) && !['main.ts', 'cli.ts', 'factory.ts', 'config.ts'].includes(rel)) continue;
      const text = readFileSync(f, 'utf8');
      for (const m of text.matchAll(/^(?!\s*import type)[^\n]*(?:from|import\()\s*['"]((?:\.\.?\/)+(?:services|db|security|policy|bulk)\/[^'"]+)['"]/gm)) {
        offenders.push(`${rel}: ${m[1]}`);
      }
    }
    expect(offenders).toEqual([]);
  });
});
