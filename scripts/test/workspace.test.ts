import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

// Repository-wide rules on the workspace's own packages (packages/* published, tools/* private).
const root = resolve(import.meta.dirname, '..', '..');

interface Manifest {
  name: string;
  private?: boolean;
  [field: string]: unknown;
}

const DEPENDENCY_FIELDS = ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies'];

/** Every workspace package as [directory relative to the root, its package.json]. */
function workspacePackages(): [string, Manifest][] {
  return ['packages', 'tools'].flatMap((group) =>
    readdirSync(join(root, group))
      .map((dir) => join(group, dir))
      .filter((dir) => existsSync(join(root, dir, 'package.json')))
      .map((dir): [string, Manifest] => [
        dir,
        JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')),
      ]),
  );
}

/** `dir field name range` for every dependency on a workspace package not written `workspace:^`. */
function notCaretRanges(packages: [string, Manifest][]): string[] {
  const internal = new Set(packages.map(([, manifest]) => manifest.name));
  return packages.flatMap(([dir, manifest]) =>
    DEPENDENCY_FIELDS.flatMap((field) =>
      Object.entries((manifest[field] ?? {}) as Record<string, string>)
        .filter(([name, range]) => internal.has(name) && range !== 'workspace:^')
        .map(([name, range]) => `${dir} ${field} ${name} ${range}`),
    ),
  );
}

/** Why a README's first paragraph is not a one-line purpose, or undefined when it is. */
function purposeLineProblem(readme: string): string | undefined {
  const [title, blank, purpose, after] = readme.split('\n');
  if (!title?.startsWith('# ')) return 'line 1 is not a `# title`';
  if (blank !== '') return 'line 2 is not blank';
  if (!purpose || /^([#*>|<`-]|\d+\.|\s)/.test(purpose)) return 'line 3 is not a sentence of prose';
  if (!purpose.endsWith('.')) return 'line 3 does not end its sentence';
  if (purpose.length > 110) return `line 3 is ${purpose.length} characters (at most 110)`;
  if (after !== undefined && after !== '') return 'the first paragraph is longer than one line';
  return undefined;
}

describe('workspace packages', () => {
  const packages = workspacePackages();

  it('finds the packages and the tools', () => {
    const dirs = packages.map(([dir]) => dir);
    expect(dirs).toContain('packages/lvm');
    expect(dirs).toContain('tools/testbed');
  });

  it('depend on each other as workspace:^ in every published package (a version range once packed)', () => {
    const published = packages.filter(([dir]) => dir.startsWith('packages/'));
    expect(notCaretRanges(published)).toEqual([]);
  });

  it('the rule catches workspace:* and a plain version', () => {
    const a: Manifest = { name: 'a', dependencies: { b: 'workspace:*' } };
    const b: Manifest = { name: 'b', devDependencies: { a: '^1.0.0', zod: '^3.0.0' } };
    expect(
      notCaretRanges([
        ['packages/a', a],
        ['packages/b', b],
      ]),
    ).toEqual(['packages/a dependencies b workspace:*', 'packages/b devDependencies a ^1.0.0']);
  });

  it('each say what they are for in the first line of their README', () => {
    const problems = packages.flatMap(([dir]) => {
      const file = join(root, dir, 'README.md');
      if (!existsSync(file)) return [`${dir}: no README.md`];
      const problem = purposeLineProblem(readFileSync(file, 'utf8'));
      return problem ? [`${dir}/README.md: ${problem}`] : [];
    });
    expect(problems).toEqual([]);
  });

  it('the README rule wants one line of prose after the title', () => {
    expect(purposeLineProblem('# x\n\nRuns LVM over SSH.\n\nMore.')).toBeUndefined();
    expect(purposeLineProblem('# x\n\nRuns LVM over SSH.')).toBeUndefined();
    expect(purposeLineProblem('# x\n\nRuns LVM.\nOver SSH.\n')).toBe(
      'the first paragraph is longer than one line',
    );
    expect(purposeLineProblem('# x\n\n## Install\n')).toBe('line 3 is not a sentence of prose');
    expect(purposeLineProblem('# x\n\n* a list\n')).toBe('line 3 is not a sentence of prose');
    expect(purposeLineProblem('# x\n\nThe side of:\n')).toBe('line 3 does not end its sentence');
    expect(purposeLineProblem('x\n\nRuns.\n')).toBe('line 1 is not a `# title`');
    expect(purposeLineProblem(`# x\n\n${'a'.repeat(110)}.\n`)).toBe('line 3 is 111 characters (at most 110)');
  });
});
