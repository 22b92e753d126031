/**
 * One change the installer made inside a file it does not own: `original` (possibly empty, for an
 * insertion) was replaced by `written`. Both are whole lines, so uninstall can find `written`
 * again and put `original` back byte for byte, as long as nobody changed those lines since.
 */
export interface TextEdit {
  /** What was changed, for messages: `qemu.conf user`, `oned.conf TM_MAD -d`. */
  label: string;
  original: string;
  written: string;
}

export interface EditResult {
  content: string;
  edits: TextEdit[];
}

/** Start indexes where `needle` occurs as whole lines of `haystack`. */
export function lineOccurrences(haystack: string, needle: string): number[] {
  if (needle === '') return [];
  const found: number[] = [];
  let from = 0;
  for (;;) {
    const index = haystack.indexOf(needle, from);
    if (index < 0) return found;
    const startsLine = index === 0 || haystack[index - 1] === '\n' || needle.startsWith('\n');
    const end = index + needle.length;
    const endsLine = end === haystack.length || needle.endsWith('\n');
    if (startsLine && endsLine) found.push(index);
    from = index + 1;
  }
}

export interface RestoreResult {
  content: string;
  restored: TextEdit[];
  /** Edits whose written lines are gone or appear twice: someone changed the file; left alone. */
  kept: TextEdit[];
}

/** Undoes `edits` (newest first). An edit whose lines were changed since is kept, never forced. */
export function restoreEdits(content: string, edits: readonly TextEdit[]): RestoreResult {
  let text = content;
  const restored: TextEdit[] = [];
  const kept: TextEdit[] = [];
  for (const edit of [...edits].reverse()) {
    const at = lineOccurrences(text, edit.written);
    const index = at[0];
    if (at.length !== 1 || index === undefined) {
      kept.push(edit);
      continue;
    }
    text = text.slice(0, index) + edit.original + text.slice(index + edit.written.length);
    restored.push(edit);
  }
  return { content: text, restored, kept };
}
