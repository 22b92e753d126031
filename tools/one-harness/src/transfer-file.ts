import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HarnessError } from './errors.js';
import { rubySplitWords } from './ruby.js';

/**
 * The commands of a transfer file as `one_tm.rb` reads them: one per line, comment lines (`#`
 * after optional blanks) and blank lines skipped, each split on whitespace — so an argument can
 * never contain a blank, and a `#` later in a line is an ordinary word.
 */
export function parseTransferFile(text: string): string[][] {
  const commands: string[][] = [];
  for (const line of text.split('\n')) {
    if (/^[ \t\n\v\f\r]*#/.test(line) || /^[ \t\n\v\f\r]*$/.test(line)) continue;
    commands.push(rubySplitWords(line));
  }
  return commands;
}

/** Checks a VM id that will become a path component (`<vmsDir>/<vmid>/…`). */
export function assertVmId(vmId: number | string): string {
  const text = String(vmId);
  if (!/^(0|[1-9]\d{0,9})$/.test(text)) {
    throw new HarnessError(
      'INVALID_ARGUMENT',
      `VM id must be a non-negative integer, got ${JSON.stringify(text)}`,
    );
  }
  return text;
}

/** Checks a transfer-file operation suffix (`prolog`, `epilog`, `prolog_attach` …). */
export function assertOperation(op: string): string {
  if (!/^[a-z][a-z0-9_]{0,63}$/.test(op)) {
    throw new HarnessError(
      'INVALID_ARGUMENT',
      `transfer operation must match [a-z][a-z0-9_]*, got ${JSON.stringify(op)}`,
    );
  }
  return op;
}

/**
 * Writes `<vmsDir>/<vmid>/transfer.<seq>.<op>` as oned does (one command per line, newline
 * terminated) and returns its path. Lines are written verbatim, comments and blanks included,
 * but a line may not contain a newline: it would silently become two commands. Synchronous, so
 * that transfers queue in the order they were asked for (the FIFO the tests rely on).
 */
export function writeTransferFile(
  vmsDir: string,
  vmId: string,
  seq: number,
  op: string,
  lines: readonly string[],
): string {
  for (const line of lines) {
    if (line.includes('\n')) {
      throw new HarnessError('INVALID_ARGUMENT', `transfer line contains a newline: ${JSON.stringify(line)}`);
    }
  }
  const dir = join(vmsDir, vmId);
  const path = join(dir, `transfer.${seq}.${assertOperation(op)}`);
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(path, lines.map((line) => `${line}\n`).join(''));
  } catch (cause) {
    throw new HarnessError('IO_FAILED', `cannot write transfer file ${path}: ${(cause as Error).message}`, {
      cause,
    });
  }
  return path;
}
