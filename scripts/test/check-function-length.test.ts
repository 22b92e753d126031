import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { longFunctions } from '../check-function-length.mjs';

const script = resolve(import.meta.dirname, '..', 'check-function-length.mjs');

/** A function whose body (from its `{` line to its `}` line) spans exactly `lines` lines. */
function functionOf(name: string, lines: number): string {
  const statements = Array.from({ length: lines - 2 }, (_, i) => `  total += ${i};`);
  return [`function ${name}() {`, ...statements, '}', ''].join('\n');
}

/** A function of 10 code lines around a pure-data table of `rows` rows. */
function tableFunction(rows: number, value: (i: number) => string): string {
  const table = Array.from(
    { length: rows },
    (_, i) => `    { name: 'row${i}', size: ${value(i)}, on: true },`,
  );
  return ['function table() {', '  const rows = [', ...table, '  ];', '  return rows;', '}', ''].join('\n');
}

describe('check-function-length', () => {
  it('flags a function of 81 lines, with its line and name', () => {
    expect(longFunctions('a.ts', `// head\n${functionOf('tooLong', 81)}`)).toEqual([
      { line: 2, name: 'tooLong', lines: 81 },
    ]);
  });

  it('passes a function of exactly 80 lines', () => {
    expect(longFunctions('a.ts', functionOf('justRight', 80))).toEqual([]);
  });

  it('names methods, accessors, arrow functions and callbacks', () => {
    const body = functionOf('x', 81).replace('function x() ', '');
    const text = [
      `class Pool { run() ${body} get size() ${body} }`,
      `const arrow = () => ${body}`,
      `describe('x', () => ${body});`,
    ].join('\n');
    expect(longFunctions('a.ts', text).map((f) => f.name)).toEqual([
      'Pool.run',
      'get Pool.size',
      'arrow',
      '(callback of describe)',
    ]);
  });

  it('counts a pure-data table as one line, however long', () => {
    expect(
      longFunctions(
        'a.ts',
        tableFunction(200, (i) => String(i)),
      ),
    ).toEqual([]);
  });

  it('counts a table that holds code (a call, a variable) in full', () => {
    expect(
      longFunctions(
        'a.ts',
        tableFunction(200, (i) => `size(${i})`),
      ),
    ).toEqual([{ line: 1, name: 'table', lines: 205 }]);
  });

  describe('as a command', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fn-length-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('exits 1 with `file:line name N lines` rows', async () => {
      writeFileSync(join(dir, 'long.ts'), functionOf('tooLong', 81));
      writeFileSync(join(dir, 'short.mjs'), functionOf('fine', 80));
      const run = promisify(execFile)('node', [script, dir]);
      await expect(run).rejects.toMatchObject({
        code: 1,
        stdout: expect.stringMatching(/^\S*long\.ts:1 tooLong 81 lines\n$/),
      });
    });
  });
});
