import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// Issue 15: the TM and the DS driver stand side by side on this runtime; neither imports the other.
const packages = fileURLToPath(new URL('../..', import.meta.url));
const DRIVERS = { 'one-tm': '@one-gfs2clvm/one-tm', 'one-image': '@one-gfs2clvm/one-image' } as const;
type Driver = keyof typeof DRIVERS;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && /\.(ts|mts|js|mjs)$/.test(entry.name))
    .map((entry) => join(entry.parentPath, entry.name));
}

/** Every module specifier a source file imports or re-exports (static and dynamic). */
export function specifiers(text: string): string[] {
  const found: string[] = [];
  const patterns = [
    /\bfrom\s+['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]/g,
    /\bimport\s+['"]([^'"]+)['"]/g,
  ];
  for (const pattern of patterns) for (const match of text.matchAll(pattern)) found.push(match[1] as string);
  return found;
}

/** `file:specifier` for each import of `driver`'s src that reaches into `other` (by name or by path). */
function crossImports(driver: Driver, other: Driver): string[] {
  const src = join(packages, driver, 'src');
  const otherDir = join(packages, other);
  return sources(src).flatMap((file) =>
    specifiers(readFileSync(file, 'utf8'))
      .filter((spec) =>
        spec.startsWith('.')
          ? !relative(otherDir, resolve(file, '..', spec)).startsWith('..')
          : spec === DRIVERS[other] || spec.startsWith(`${DRIVERS[other]}/`),
      )
      .map((spec) => `${relative(packages, file)}: ${spec}`),
  );
}

describe('the two drivers import nothing from each other', () => {
  it('finds the imports it looks for (static, dynamic, re-exports)', () => {
    const text = "import { a } from 'x';\nexport { b } from '../y.js';\nawait import('z');\nimport 'w';";
    expect(specifiers(text)).toEqual(['x', '../y.js', 'z', 'w']);
  });

  it('one-tm/src imports nothing of one-image, one-image/src nothing of one-tm', () => {
    expect(sources(join(packages, 'one-tm', 'src')).length).toBeGreaterThan(10);
    expect(sources(join(packages, 'one-image', 'src')).length).toBeGreaterThan(10);
    expect(crossImports('one-tm', 'one-image')).toEqual([]);
    expect(crossImports('one-image', 'one-tm')).toEqual([]);
  });

  it('neither package.json depends on the other; both on driver-runtime', () => {
    for (const [driver, other] of [
      ['one-tm', 'one-image'],
      ['one-image', 'one-tm'],
    ] as const) {
      const pkg = JSON.parse(readFileSync(join(packages, driver, 'package.json'), 'utf8'));
      const all = { ...pkg.dependencies, ...pkg.devDependencies, ...pkg.peerDependencies };
      expect(Object.keys(all), driver).not.toContain(DRIVERS[other]);
      expect(pkg.dependencies['@one-gfs2clvm/driver-runtime'], driver).toBe('workspace:^');
    }
  });
});
