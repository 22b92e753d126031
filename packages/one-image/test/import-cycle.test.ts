/*
 * No import circle between the DS driver's own modules (issue 15: action-data.ts and
 * permissions.ts imported each other). A plain scan of the import/export statements of src/:
 * static, type-only and dynamic imports of relative paths all count.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../src');

/** Every `.ts` file under `dir`. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

const IMPORT = /(?:\bimport|\bexport)\s[^;]*?\bfrom\s*['"](\.[^'"]+)['"]|\bimport\s*\(\s*['"](\.[^'"]+)['"]/g;

/** The src files a source imports (relative specifiers, `.js` written for the `.ts` file). */
function importsOf(file: string, text: string): string[] {
  return [...text.matchAll(IMPORT)].map((m) =>
    resolve(dirname(file), (m[1] ?? m[2] ?? '').replace(/\.js$/, '.ts')),
  );
}

/** The first circle found, as the files' paths from `root` (`a → b → a`); undefined when none. */
function findCycle(graph: Map<string, string[]>, root: string): string | undefined {
  const done = new Set<string>();
  const path: string[] = [];
  const visit = (file: string): string | undefined => {
    const at = path.indexOf(file);
    if (at >= 0) return [...path.slice(at), file].map((f) => relative(root, f)).join(' → ');
    if (done.has(file)) return undefined;
    path.push(file);
    for (const next of graph.get(file) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    path.pop();
    done.add(file);
    return undefined;
  };
  for (const file of graph.keys()) {
    const cycle = visit(file);
    if (cycle) return cycle;
  }
  return undefined;
}

function graphOf(dir: string): Map<string, string[]> {
  return new Map(sources(dir).map((file) => [file, importsOf(file, readFileSync(file, 'utf8'))]));
}

describe('one-image src: no import circle', () => {
  it('the scan sees imports and finds a circle when there is one', () => {
    const a = join(SRC, 'a.ts');
    const b = join(SRC, 'b.ts');
    const c = join(SRC, 'c.ts');
    expect(importsOf(a, "import { x } from './b.js';\nimport type { Y } from '../c.js';")).toEqual([
      b,
      resolve(SRC, '../c.ts'),
    ]);
    expect(importsOf(a, "export {\n  x,\n} from './b.js';\nconst m = await import('./c.js');")).toEqual([
      b,
      c,
    ]);
    expect(importsOf(a, "import { q } from '@one-gfs2clvm/one-tm';")).toEqual([]);
    expect(
      findCycle(
        new Map([
          [a, [b]],
          [b, [c]],
          [c, [a]],
        ]),
        SRC,
      ),
    ).toBe('a.ts → b.ts → c.ts → a.ts');
    expect(
      findCycle(
        new Map([
          [a, [b, c]],
          [b, [c]],
          [c, []],
        ]),
        SRC,
      ),
    ).toBeUndefined();
  });

  it('src/ has none', () => {
    const graph = graphOf(SRC);
    expect(graph.size).toBeGreaterThan(10);
    expect(findCycle(graph, SRC)).toBeUndefined();
  });
});
