/** A function-like node over the limit: its first line (1-based), a readable name, its line count. */
export interface LongFunction {
  line: number;
  name: string;
  lines: number;
}

export const MAX_FUNCTION_LINES: number;
export function longFunctions(fileName: string, text: string, max?: number): LongFunction[];
export function sourceFiles(path: string): string[];
export function defaultRoots(): string[];
