/**
 * Pass/fail gate over an Autobahn|Testsuite report directory.
 *
 * Usage: `npx tsx autobahn/gate.ts <report dir> [--agent <name>]`
 *
 * Reads `<report dir>/index.json`, prints a per-family summary, lists
 * NON-STRICT cases as warnings and exits with:
 *
 * - `0` when every case is OK or INFORMATIONAL (NON-STRICT only warns),
 * - `1` when any case has another verdict (FAILED, UNIMPLEMENTED,
 *   WRONG CODE, UNCLEAN, ...), naming each such case,
 * - `2` when the input is missing, malformed, or lacks the agent.
 *
 * @module
 */

import { readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One case's result as recorded by the suite in `index.json`. */
export interface CaseResult {
  /** Verdict on the case's main behaviour (e.g. `OK`, `FAILED`). */
  readonly behavior: string;
  /** Verdict on the closing handshake (e.g. `OK`, `WRONG CODE`, `UNCLEAN`). */
  readonly behaviorClose: string;
  /** Wall-clock duration of the case in milliseconds, when recorded. */
  readonly duration?: number;
  /** Close code received from the peer, or `null` when none was received. */
  readonly remoteCloseCode?: number | null;
  /** Name of the case's detailed report file, when recorded. */
  readonly reportfile?: string;
}

/** Parsed `index.json`: agent name → case id → result. */
export type ReportIndex = ReadonlyMap<string, ReadonlyMap<string, CaseResult>>;

/** Outcome buckets used in the summary table, best first. */
export const OUTCOMES = ['OK', 'NON-STRICT', 'INFORMATIONAL', 'UNIMPLEMENTED', 'FAILED'] as const;

/** One summary-table bucket. Any verdict the gate does not know counts as `FAILED`. */
export type Outcome = (typeof OUTCOMES)[number];

/** Human names of the suite's case families, keyed by the case id's first number. */
export const CATEGORY_NAMES: Readonly<Record<number, string>> = {
  1: 'Framing',
  2: 'Pings/Pongs',
  3: 'Reserved bits',
  4: 'Opcodes',
  5: 'Fragmentation',
  6: 'UTF-8 handling',
  7: 'Close handling',
  9: 'Limits/Performance',
  10: 'Misc',
  12: 'WebSocket compression (different payloads)',
  13: 'WebSocket compression (different parameters)',
};

/** Counts of each outcome within one case family. */
export interface CategorySummary {
  /** First number of the family's case ids. */
  readonly category: number;
  /** Family name, or `Other` for a number the gate does not know. */
  readonly name: string;
  /** Number of cases per outcome. */
  readonly counts: Readonly<Record<Outcome, number>>;
  /** Number of cases in the family. */
  readonly total: number;
}

/** A case singled out by {@link judge}. */
export interface FlaggedCase {
  /** Case id, e.g. `6.4.1`. */
  readonly id: string;
  /** The case's `behavior` verdict. */
  readonly behavior: string;
  /** The case's `behaviorClose` verdict. */
  readonly behaviorClose: string;
}

/** The gate's decision over one agent's cases. */
export interface Judgement {
  /** Cases with a verdict other than OK, INFORMATIONAL or NON-STRICT, sorted by id. */
  readonly failures: readonly FlaggedCase[];
  /** Cases with a NON-STRICT verdict and no failing one, sorted by id. */
  readonly warnings: readonly FlaggedCase[];
  /** `1` when there is any failure, otherwise `0`. */
  readonly exitCode: 0 | 1;
}

/** Raised for input the gate cannot judge; the CLI maps it to exit code 2. */
export class GateInputError extends Error {
  override readonly name = 'GateInputError';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Parses the text of an `index.json` file.
 *
 * Only `behavior` and `behaviorClose` are required per case; the other
 * fields are kept when they have the expected type and ignored otherwise.
 *
 * @param text - The file's contents.
 * @returns The agents and their cases.
 * @throws {@link GateInputError} when the text is not JSON of the expected shape.
 */
export function parseIndex(text: string): ReportIndex {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new GateInputError(`index.json is not valid JSON: ${(error as Error).message}`);
  }
  if (!isRecord(raw)) {
    throw new GateInputError('index.json must be an object mapping agent names to their cases');
  }
  const agents = new Map<string, Map<string, CaseResult>>();
  for (const [agent, cases] of Object.entries(raw)) {
    if (!isRecord(cases)) {
      throw new GateInputError(`agent "${agent}": expected an object mapping case ids to results`);
    }
    const parsed = new Map<string, CaseResult>();
    for (const [id, entry] of Object.entries(cases)) {
      if (!/^\d+(\.\d+)*$/.test(id)) {
        throw new GateInputError(`agent "${agent}": "${id}" is not a case id`);
      }
      if (!isRecord(entry)) {
        throw new GateInputError(`agent "${agent}", case ${id}: expected an object`);
      }
      const { behavior, behaviorClose, duration, remoteCloseCode, reportfile } = entry;
      if (typeof behavior !== 'string' || typeof behaviorClose !== 'string') {
        throw new GateInputError(
          `agent "${agent}", case ${id}: "behavior" and "behaviorClose" must be strings`,
        );
      }
      const result: {
        behavior: string;
        behaviorClose: string;
        duration?: number;
        remoteCloseCode?: number | null;
        reportfile?: string;
      } = { behavior, behaviorClose };
      if (typeof duration === 'number') result.duration = duration;
      if (typeof remoteCloseCode === 'number' || remoteCloseCode === null) {
        result.remoteCloseCode = remoteCloseCode;
      }
      if (typeof reportfile === 'string') result.reportfile = reportfile;
      parsed.set(id, result);
    }
    agents.set(agent, parsed);
  }
  return agents;
}

/**
 * Picks one agent's cases out of a parsed index.
 *
 * @param index - The parsed index.
 * @param agent - Agent to select; when omitted, the index must hold exactly one agent.
 * @returns The selected agent's name and cases.
 * @throws {@link GateInputError} when the agent is absent, has no cases, or
 *   no agent was named and the choice is ambiguous.
 */
export function selectAgent(
  index: ReportIndex,
  agent?: string,
): { readonly agent: string; readonly cases: ReadonlyMap<string, CaseResult> } {
  const known = [...index.keys()].sort();
  const list = known.length > 0 ? known.map((name) => `"${name}"`).join(', ') : 'none';
  let name = agent;
  if (name === undefined) {
    if (known.length !== 1) {
      throw new GateInputError(`cannot guess the agent; pass --agent (agents in report: ${list})`);
    }
    name = known[0] as string;
  }
  const cases = index.get(name);
  if (cases === undefined) {
    throw new GateInputError(`agent "${name}" is not in the report (agents in report: ${list})`);
  }
  if (cases.size === 0) {
    throw new GateInputError(`agent "${name}" has no cases in the report`);
  }
  return { agent: name, cases };
}

/**
 * Orders case ids number by number, so `1.1.10` comes after `1.1.9` and
 * `10.1.1` after `9.8.6`. Usable as an `Array.prototype.sort` comparator.
 *
 * @param a - First case id.
 * @param b - Second case id.
 * @returns Negative, zero or positive, as `sort` expects.
 */
export function compareCaseIds(a: string, b: string): number {
  const left = a.split('.').map(Number);
  const right = b.split('.').map(Number);
  const length = Math.max(left.length, right.length);
  for (let i = 0; i < length; i++) {
    const x = left[i];
    const y = right[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (x !== y) return x - y;
  }
  return 0;
}

/**
 * Sorts case ids numerically (see {@link compareCaseIds}).
 *
 * @param ids - Case ids in any order.
 * @returns A new, sorted array.
 */
export function sortCaseIds(ids: Iterable<string>): string[] {
  return [...ids].sort(compareCaseIds);
}

const RANK: Readonly<Record<Outcome, number>> = {
  OK: 0,
  INFORMATIONAL: 1,
  'NON-STRICT': 2,
  UNIMPLEMENTED: 3,
  FAILED: 4,
};

function verdictOutcome(verdict: string): Outcome {
  switch (verdict) {
    case 'OK':
    case 'INFORMATIONAL':
    case 'NON-STRICT':
    case 'UNIMPLEMENTED':
      return verdict;
    default:
      return 'FAILED';
  }
}

/**
 * Reduces a case's two verdicts to one summary bucket: the worse of the two,
 * ranking OK < INFORMATIONAL < NON-STRICT < UNIMPLEMENTED < FAILED, where any
 * verdict not in that list (e.g. `WRONG CODE`, `UNCLEAN`) counts as FAILED.
 *
 * @param result - The case's result.
 * @returns The bucket the case is counted in.
 */
export function caseOutcome(result: CaseResult): Outcome {
  const main = verdictOutcome(result.behavior);
  const close = verdictOutcome(result.behaviorClose);
  return RANK[close] > RANK[main] ? close : main;
}

/**
 * Counts outcomes per case family (first number of the case id).
 *
 * @param cases - One agent's cases.
 * @returns One row per family present, in ascending family order.
 */
export function summarize(cases: ReadonlyMap<string, CaseResult>): CategorySummary[] {
  const rows = new Map<number, { counts: Record<Outcome, number>; total: number }>();
  for (const [id, result] of cases) {
    const category = Number(id.split('.')[0]);
    let row = rows.get(category);
    if (row === undefined) {
      row = {
        counts: { OK: 0, 'NON-STRICT': 0, INFORMATIONAL: 0, UNIMPLEMENTED: 0, FAILED: 0 },
        total: 0,
      };
      rows.set(category, row);
    }
    row.counts[caseOutcome(result)]++;
    row.total++;
  }
  return [...rows.entries()]
    .sort(([a], [b]) => a - b)
    .map(([category, row]) => ({
      category,
      name: CATEGORY_NAMES[category] ?? 'Other',
      counts: row.counts,
      total: row.total,
    }));
}

/**
 * Decides whether one agent's results pass.
 *
 * A case fails when either verdict is neither OK nor INFORMATIONAL nor
 * NON-STRICT; UNIMPLEMENTED fails too, since compression is required. A case
 * whose worst verdict is NON-STRICT is a warning and does not affect the exit
 * code.
 *
 * @param cases - One agent's cases.
 * @returns Failures and warnings, both sorted by case id, and the exit code.
 */
export function judge(cases: ReadonlyMap<string, CaseResult>): Judgement {
  const failures: FlaggedCase[] = [];
  const warnings: FlaggedCase[] = [];
  for (const id of sortCaseIds(cases.keys())) {
    const result = cases.get(id) as CaseResult;
    const flagged = { id, behavior: result.behavior, behaviorClose: result.behaviorClose };
    const outcome = caseOutcome(result);
    if (outcome === 'FAILED' || outcome === 'UNIMPLEMENTED') failures.push(flagged);
    else if (outcome === 'NON-STRICT') warnings.push(flagged);
  }
  return { failures, warnings, exitCode: failures.length > 0 ? 1 : 0 };
}

/**
 * Renders the summary as a plain-text table with a totals row.
 *
 * @param rows - Output of {@link summarize}.
 * @returns The table, one line per array element.
 */
export function formatSummary(rows: readonly CategorySummary[]): string[] {
  const header = ['Category', ...OUTCOMES, 'Total'];
  const body = rows.map((row) => [
    `${row.category} ${row.name}`,
    ...OUTCOMES.map((outcome) => String(row.counts[outcome])),
    String(row.total),
  ]);
  const totals = [
    'All',
    ...OUTCOMES.map((outcome) => String(rows.reduce((sum, row) => sum + row.counts[outcome], 0))),
    String(rows.reduce((sum, row) => sum + row.total, 0)),
  ];
  const table = [header, ...body, totals];
  const widths = header.map((_, column) =>
    Math.max(...table.map((line) => (line[column] ?? '').length)),
  );
  const render = (line: readonly string[]): string =>
    line
      .map((cell, column) => {
        const width = widths[column] ?? 0;
        return column === 0 ? cell.padEnd(width) : cell.padStart(width);
      })
      .join('  ');
  const rule = widths.map((width) => '-'.repeat(width)).join('  ');
  return [render(header), rule, ...body.map(render), rule, render(totals)];
}

function describe(flagged: FlaggedCase): string {
  return `${flagged.id} (behavior ${flagged.behavior}, close ${flagged.behaviorClose})`;
}

/**
 * Produces the full report text and exit code for an `index.json` text.
 *
 * @param text - Contents of `index.json`.
 * @param agent - Agent to judge; see {@link selectAgent}.
 * @param expected - How many cases the suite said it would run; a report holding another
 *   number fails as incomplete.
 * @returns The lines to print and the exit code (0 or 1).
 * @throws {@link GateInputError} on malformed input or a missing agent.
 */
export function evaluate(
  text: string,
  agent?: string,
  expected?: number,
): { readonly lines: string[]; readonly exitCode: 0 | 1 } {
  const selected = selectAgent(parseIndex(text), agent);
  const verdict = judge(selected.cases);
  const incomplete = expected !== undefined && selected.cases.size !== expected;
  const lines = [
    `Autobahn results for agent "${selected.agent}" (${selected.cases.size} cases)`,
    '',
    ...formatSummary(summarize(selected.cases)),
    '',
  ];
  if (verdict.warnings.length > 0) {
    lines.push(
      `WARNING: ${verdict.warnings.length} NON-STRICT case(s) (tolerated, but worth a look):`,
      ...verdict.warnings.map((flagged) => `  ! ${describe(flagged)}`),
      '',
    );
  }
  if (incomplete) {
    // The suite writes its report even when the run stops partway (the testee died, or a
    // connection could not be made), so a report that looks clean may lack cases.
    lines.push(`INCOMPLETE: the report holds ${selected.cases.size} case(s), but the suite said it would run ${expected}.`);
  }
  if (verdict.failures.length > 0) {
    lines.push(
      `FAIL: ${verdict.failures.length} case(s) neither OK nor INFORMATIONAL:`,
      ...verdict.failures.map((flagged) => `  x ${describe(flagged)}`),
    );
  } else if (!incomplete) {
    lines.push('PASS: every case is OK or INFORMATIONAL (NON-STRICT aside).');
  }
  return { lines, exitCode: incomplete ? 1 : verdict.exitCode };
}

const USAGE = 'usage: gate.ts <report dir> [--agent <name>] [--expect <number of cases>]';

/**
 * Command-line entry point.
 *
 * @param argv - Arguments after the script name.
 * @returns The process exit code: 0 pass, 1 fail, 2 unusable input.
 */
export function main(argv: readonly string[]): number {
  let dir: string | undefined;
  let agent: string | undefined;
  let expected: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--agent') {
      agent = argv[++i];
      if (agent === undefined || agent === '') {
        console.error(`gate: --agent needs a value\n${USAGE}`);
        return 2;
      }
    } else if (arg.startsWith('--agent=')) {
      agent = arg.slice('--agent='.length);
    } else if (arg === '--expect') {
      expected = Number(argv[++i]);
      if (!Number.isSafeInteger(expected) || expected < 1) {
        console.error(`gate: --expect needs a number of cases\n${USAGE}`);
        return 2;
      }
    } else if (arg === '-h' || arg === '--help') {
      console.log(USAGE);
      return 0;
    } else if (arg.startsWith('-') || dir !== undefined) {
      console.error(`gate: unexpected argument "${arg}"\n${USAGE}`);
      return 2;
    } else {
      dir = arg;
    }
  }
  if (dir === undefined) {
    console.error(`gate: missing report directory\n${USAGE}`);
    return 2;
  }
  const file = join(dir, 'index.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : (error as Error).message;
    console.error(`gate: cannot read ${file}: ${reason} (has the suite been run?)`);
    return 2;
  }
  try {
    const { lines, exitCode } = evaluate(text, agent, expected);
    console.log(lines.join('\n'));
    return exitCode;
  } catch (error) {
    if (error instanceof GateInputError) {
      console.error(`gate: ${file}: ${error.message}`);
      return 2;
    }
    throw error;
  }
}

function isMainModule(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMainModule()) {
  process.exitCode = main(process.argv.slice(2));
}
