// No function over 80 lines (conventions: functions that do one thing). Lists every function,
// method, arrow function, constructor and accessor in packages/*/src, tools/*/src and scripts whose
// body spans more than 80 lines, as `file:line name N lines`, and exits 1; exits 0 when none does.
//
// What counts: the lines from the body's first line (the `{`, or an arrow's expression) to its last,
// comments and blank lines included, nested functions included (they are part of what one reads).
// Pure data does not count: an object or array literal whose every value is a literal (string,
// template without `${}`, number, boolean, null, undefined) or another such literal counts as one
// line, its first. A table of help texts or default values may be long; a literal holding a call,
// a variable or a function is code and counts in full.
//
// Test files (`*.test.*`, anything under a `test` directory) are not checked.
//
// Usage: node scripts/check-function-length.mjs [file or directory …]   (default: the three roots)
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export const MAX_FUNCTION_LINES = 80;

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SOURCE = /\.(ts|tsx|mts|cts|js|mjs|cjs)$/;

/** True for a value a data table may hold: a literal, or an object/array literal of them. */
function isDataValue(node) {
  switch (node.kind) {
    case ts.SyntaxKind.StringLiteral:
    case ts.SyntaxKind.NoSubstitutionTemplateLiteral:
    case ts.SyntaxKind.NumericLiteral:
    case ts.SyntaxKind.BigIntLiteral:
    case ts.SyntaxKind.TrueKeyword:
    case ts.SyntaxKind.FalseKeyword:
    case ts.SyntaxKind.NullKeyword:
      return true;
    case ts.SyntaxKind.Identifier:
      return node.text === 'undefined';
    case ts.SyntaxKind.PrefixUnaryExpression:
      return ts.isNumericLiteral(node.operand) || ts.isBigIntLiteral(node.operand);
    case ts.SyntaxKind.ParenthesizedExpression:
    case ts.SyntaxKind.AsExpression:
    case ts.SyntaxKind.SatisfiesExpression:
      return isDataValue(node.expression);
    default:
      return isDataLiteral(node);
  }
}

/** True for an object or array literal that is pure data (see the header). */
export function isDataLiteral(node) {
  if (ts.isArrayLiteralExpression(node)) return node.elements.every(isDataValue);
  if (!ts.isObjectLiteralExpression(node)) return false;
  return node.properties.every(
    (p) => ts.isPropertyAssignment(p) && !ts.isComputedPropertyName(p.name) && isDataValue(p.initializer),
  );
}

const lineOf = (file, pos) => file.getLineAndCharacterOfPosition(pos).line;

/** Lines of `node` that lie inside pure-data literals, each literal's first line excepted. */
function dataLines(file, node) {
  let lines = 0;
  const visit = (child) => {
    if (isDataLiteral(child)) {
      lines += lineOf(file, child.getEnd()) - lineOf(file, child.getStart(file));
      return;
    }
    ts.forEachChild(child, visit);
  };
  ts.forEachChild(node, visit);
  return lines;
}

const propertyName = (name, file) =>
  ts.isIdentifier(name) || ts.isPrivateIdentifier(name) || ts.isStringLiteral(name)
    ? name.text
    : name.getText(file);

/** A readable name: the function's own, else the variable, property or call it is given to. */
function functionName(node, file) {
  const owner = ts.isClassLike(node.parent) && node.parent.name ? `${node.parent.name.text}.` : '';
  if (ts.isConstructorDeclaration(node)) return `${owner}constructor`;
  const accessor = ts.isGetAccessor(node) ? 'get ' : ts.isSetAccessor(node) ? 'set ' : '';
  if (node.name) return `${accessor}${owner}${propertyName(node.name, file)}`;
  const parent = node.parent;
  if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent))
    return propertyName(parent.name, file);
  if (ts.isCallExpression(parent)) return `(callback of ${parent.expression.getText(file)})`;
  if (ts.isNewExpression(parent)) return `(callback of new ${parent.expression.getText(file)})`;
  return '(anonymous)';
}

/** Every function-like node of `text` whose body spans more than `max` lines (see the header). */
export function longFunctions(fileName, text, max = MAX_FUNCTION_LINES) {
  const file = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const found = [];
  const visit = (node) => {
    if (ts.isFunctionLike(node) && node.body) {
      const span = lineOf(file, node.body.getEnd()) - lineOf(file, node.body.getStart(file)) + 1;
      const lines = span - dataLines(file, node.body);
      if (lines > max) {
        const line = lineOf(file, node.getStart(file)) + 1;
        found.push({ line, name: functionName(node, file), lines });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

/** Source files under `path` (a file or a directory), tests, dist and node_modules left out. */
export function sourceFiles(path) {
  if (!statSync(path).isDirectory()) return SOURCE.test(path) ? [path] : [];
  return readdirSync(path, { withFileTypes: true })
    .filter((entry) => !['node_modules', 'dist', 'test'].includes(entry.name))
    .filter((entry) => !entry.name.includes('.test.') && !entry.name.endsWith('.d.ts'))
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((entry) => sourceFiles(join(path, entry.name)));
}

/** The default roots: every package's and tool's src, and the repository's scripts. */
export function defaultRoots() {
  const srcs = ['packages', 'tools'].flatMap((group) =>
    readdirSync(join(root, group)).map((dir) => join(root, group, dir, 'src')),
  );
  return [...srcs, join(root, 'scripts')].filter((dir) => existsSync(dir));
}

function main(args) {
  const files = (args.length > 0 ? args.map((a) => resolve(a)) : defaultRoots()).flatMap(sourceFiles);
  const rows = files.flatMap((path) =>
    longFunctions(path, readFileSync(path, 'utf8')).map(
      (f) => `${relative(root, path)}:${f.line} ${f.name} ${f.lines} lines`,
    ),
  );
  for (const row of rows) process.stdout.write(`${row}\n`);
  if (rows.length > 0) {
    process.stderr.write(`${rows.length} function(s) over ${MAX_FUNCTION_LINES} lines: split them\n`);
    return 1;
  }
  process.stdout.write(`${files.length} files, no function over ${MAX_FUNCTION_LINES} lines\n`);
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
