/**
 * A small command-line parser: `command --name value --flag`, nothing more.
 * @module
 */

/** Parsed command line: the command and its options. */
export interface ParsedArgs {
  command: string | undefined;
  options: Map<string, string | true>;
}

/** Split `argv` (without node and the script) into a command and `--name value` / `--flag` options. */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  const options = new Map<string, string | true>();
  let command: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (!word.startsWith('--')) {
      if (command !== undefined) throw new Error(`unexpected argument: ${word}`);
      command = word;
      continue;
    }
    const eq = word.indexOf('=');
    if (eq > 0) {
      options.set(word.slice(2, eq), word.slice(eq + 1));
      continue;
    }
    const next = argv[i + 1];
    if (next !== undefined && !next.startsWith('--')) {
      options.set(word.slice(2), next);
      i++;
    } else {
      options.set(word.slice(2), true);
    }
  }
  return { command, options };
}

/** A string option, or `fallback`. */
export function stringOption(options: Map<string, string | true>, name: string, fallback: string): string {
  const value = options.get(name);
  if (value === true) throw new Error(`--${name} needs a value`);
  return value ?? fallback;
}

/** A whole-number option, or `fallback`. */
export function integerOption(options: Map<string, string | true>, name: string, fallback: number): number {
  const value = options.get(name);
  if (value === undefined) return fallback;
  const number = value === true ? NaN : Number(value);
  if (!Number.isSafeInteger(number) || number < 0) throw new Error(`--${name} needs a whole number, got ${String(value)}`);
  return number;
}
