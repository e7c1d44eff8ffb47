/**
 * A small command-line parser: `command --name value --flag`, nothing more.
 * @module
 */

/** The command line is wrong: the command prints why and exits 2, as for an unknown command. */
export class ArgumentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArgumentError';
  }
}

/** Parsed command line: the command and its options. */
export interface ParsedArgs {
  command: string | undefined;
  /** Each option's value (the last, if it was given more than once), or `true` for a flag. */
  options: Map<string, string | true>;
  /** Every value each option was given, in order: for an option that may repeat (`--header`). */
  repeated: Map<string, Array<string | true>>;
}

/** Split `argv` (without node and the script) into a command and `--name value` / `--flag` options. */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  const options = new Map<string, string | true>();
  const repeated = new Map<string, Array<string | true>>();
  const set = (name: string, value: string | true): void => {
    options.set(name, value);
    const values = repeated.get(name);
    if (values === undefined) repeated.set(name, [value]);
    else values.push(value);
  };
  let command: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (!word.startsWith('--')) {
      if (command !== undefined) throw new ArgumentError(`unexpected argument: ${word}`);
      command = word;
      continue;
    }
    const eq = word.indexOf('=');
    if (eq > 0) {
      set(word.slice(2, eq), word.slice(eq + 1));
      continue;
    }
    const next = argv[i + 1];
    if (next !== undefined && !next.startsWith('--')) {
      set(word.slice(2), next);
      i++;
    } else {
      set(word.slice(2), true);
    }
  }
  return { command, options, repeated };
}

/** A string option, or `fallback`. */
export function stringOption(options: Map<string, string | true>, name: string, fallback: string): string {
  const value = options.get(name);
  if (value === true) throw new ArgumentError(`--${name} needs a value`);
  return value ?? fallback;
}

/** A whole-number option in decimal digits, or `fallback`: `Number` would read '' as 0 and take 0x10 or 1e3. */
export function integerOption(options: Map<string, string | true>, name: string, fallback: number): number {
  const value = options.get(name);
  if (value === undefined) return fallback;
  const number = value === true || !/^[0-9]+$/.test(value) ? NaN : Number(value);
  if (!Number.isSafeInteger(number)) throw new ArgumentError(`--${name} needs a whole number, got ${value === true ? 'nothing' : JSON.stringify(value)}`);
  return number;
}

/** A flag: whether it was given; a value given to it is refused (`--deflate false` must not turn it on). */
export function flagOption(options: Map<string, string | true>, name: string): boolean {
  const value = options.get(name);
  if (value !== undefined && value !== true) throw new ArgumentError(`--${name} takes no value, got ${value}`);
  return value === true;
}

/** Refuse an option the command does not take: a misspelt one must not be silently ignored. */
export function checkKnownOptions(options: Map<string, string | true>, known: readonly string[]): void {
  for (const name of options.keys()) {
    if (!known.includes(name)) throw new ArgumentError(`unknown option --${name}; this command takes ${known.map((each) => `--${each}`).join(', ')}`);
  }
}
