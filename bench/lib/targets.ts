/**
 * The project's performance targets, checked against a run's results: each becomes a row
 * saying what was measured and whether the target is met, so that a run states its own
 * verdicts rather than leaving them to be worked out from the tables. Every figure is a
 * ratio within the run (medians of per-round ratios), except the two that the targets state
 * in absolute terms: memory per idle connection and p99 latency, compared within the run.
 * Each verdict also says in how many rounds, taken alone, the bound held: a median that sits
 * a hair from its bound is met in about half of them, and a reader should see that.
 * @module
 */
import { aggregate, COLUMNS, ratiosByRound, type SubjectSeries } from './metrics.ts';
import type { ScenarioResults } from './report.ts';
import { median } from './stats.ts';

/** One target for one subject: what it asks, what was measured, and the verdict. */
export interface TargetVerdict {
  readonly target: string;
  readonly subject: string;
  /** What was measured, as it reads in the verdict table; `not measured` if a scenario or subject is missing. */
  readonly figure: string;
  /** Null when not measured. */
  readonly met: boolean | null;
  /** The rounds in which the bound held, of those that measured it (0 of 0 when not measured). */
  readonly roundsMet: number;
  readonly rounds: number;
}

/** The echo subjects whose targets are checked: the default and the `lentMessages` opt-in. */
const SUBJECTS = ['wspeer', 'wspeer-lent'] as const;

/** A measured figure, whether it meets its bound, and whether each round alone did (by round; undefined where one did not measure it). */
interface Check {
  readonly figure: string;
  readonly met: boolean;
  readonly byRound: ReadonlyArray<boolean | undefined>;
}

type Finder = (scenarioId: string, subject: string) => SubjectSeries | undefined;

/** Every target of the performance issue, for each subject that took part. */
export function checkTargets(results: readonly ScenarioResults[]): TargetVerdict[] {
  const find: Finder = (scenarioId, subject) => {
    const series = results.find((result) => result.scenario.id === scenarioId)?.series.find((entry) => entry.subject === subject);
    return series === undefined || series.unavailable !== undefined ? undefined : series;
  };
  const verdicts: TargetVerdict[] = [];
  const add = (target: string, subject: string, check: () => Check | null): void => {
    const outcome = check();
    if (outcome === null) return void verdicts.push({ target, subject, figure: 'not measured', met: null, roundsMet: 0, rounds: 0 });
    const measured = outcome.byRound.filter((held) => held !== undefined);
    verdicts.push({ target, subject, figure: outcome.figure, met: outcome.met, roundsMet: measured.filter((held) => held).length, rounds: measured.length });
  };
  for (const subject of SUBJECTS) {
    for (const scenarioId of ['binary-32', 'text-125']) {
      add(`${scenarioId}: server CPU ≤ 0.25× ws + add-ons, ≤ 1.3× uWS, msg/s ≥ uWS ÷ 1.3`, subject, () => smallMessages(find, scenarioId, subject));
      add(`${scenarioId}: p99 latency no worse than uWS`, subject, () => noWorseP99(find, scenarioId, subject));
    }
    add('binary-64k: ≥ 1.5× ws + add-ons (server CPU ≤ 0.67×)', subject, () => cpuAtMost(find, 'binary-64k', subject, 'ws-addons', 1 / 1.5));
    add('binary-4m: ≥ 1.2× ws + add-ons (server CPU ≤ 0.83×)', subject, () => cpuAtMost(find, 'binary-4m', subject, 'ws-addons', 1 / 1.2));
    add('binary-4m: ≥ 0.8× the raw ceiling (MB/s)', subject, () => rateAtLeast(find, 'binary-4m', subject, 'raw', 0.8, 'mbps'));
  }
  add('handshake: server CPU ≤ 0.65× ws', 'wspeer', () => cpuAtMost(find, 'handshake', 'wspeer', 'ws', 0.65));
  add('idle-memory: ≤ the raw ceiling + 512 B per connection', 'wspeer', () => idleMemory(find));
  add('client-32: ≥ 2× the ws client (msg/s)', 'wspeer', () => rateAtLeast(find, 'client-32', 'wspeer', 'ws', 2, 'rate'));
  return verdicts;
}

/** A ratio to two decimals; to three where two would show it equal to its bound, on either side of it. */
function ratio(value: number, bound?: number): string {
  const shown = value.toFixed(2);
  return bound !== undefined && shown === bound.toFixed(2) ? `${value.toFixed(3)}×` : `${shown}×`;
}

/** The median of the per-round ratios, and whether each round's ratio passes `holds`. */
function pairedCheck(series: SubjectSeries, base: SubjectSeries, key: string, holds: (ratio: number) => boolean): { value: number; byRound: Array<boolean | undefined> } | null {
  const ratios = ratiosByRound(series, base, key);
  const measured = ratios.filter((value): value is number => value !== undefined);
  if (measured.length === 0) return null;
  return { value: median(measured), byRound: ratios.map((value) => (value === undefined ? undefined : holds(value))) };
}

function cpuAtMost(find: Finder, scenarioId: string, subject: string, reference: string, bound: number): Check | null {
  const [series, base] = [find(scenarioId, subject), find(scenarioId, reference)];
  if (series === undefined || base === undefined) return null;
  const paired = pairedCheck(series, base, 'cpu', (value) => value <= bound);
  if (paired === null) return null;
  return { figure: `CPU ${ratio(paired.value, bound)} of ${reference}`, met: paired.value <= bound, byRound: paired.byRound };
}

function rateAtLeast(find: Finder, scenarioId: string, subject: string, reference: string, bound: number, key: 'rate' | 'mbps'): Check | null {
  const [series, base] = [find(scenarioId, subject), find(scenarioId, reference)];
  if (series === undefined || base === undefined) return null;
  const paired = pairedCheck(series, base, key, (value) => value >= bound);
  if (paired === null) return null;
  return { figure: `${key === 'rate' ? 'msg/s' : 'MB/s'} ${ratio(paired.value, bound)} of ${reference}`, met: paired.value >= bound, byRound: paired.byRound };
}

function smallMessages(find: Finder, scenarioId: string, subject: string): Check | null {
  const checks = [
    cpuAtMost(find, scenarioId, subject, 'ws-addons', 0.25),
    cpuAtMost(find, scenarioId, subject, 'uws', 1.3),
    rateAtLeast(find, scenarioId, subject, 'uws', 1 / 1.3, 'rate'),
  ];
  if (checks.some((check) => check === null)) return null;
  const all = checks as Check[];
  // A round meets the target when it meets all three bounds.
  const byRound = all[0]!.byRound.map((_, index) => (all.some((check) => check.byRound[index] === undefined) ? undefined : all.every((check) => check.byRound[index])));
  return { figure: all.map((check) => check.figure).join('; '), met: all.every((check) => check.met), byRound };
}

function medianOf(series: SubjectSeries, key: string): number {
  const column = Object.values(COLUMNS).flat().find((entry) => entry.key === key)!;
  return aggregate(series, column);
}

function noWorseP99(find: Finder, scenarioId: string, subject: string): Check | null {
  const [series, base] = [find(scenarioId, subject), find(scenarioId, 'uws')];
  if (series === undefined || base === undefined) return null;
  const [mine, theirs] = [medianOf(series, 'p99'), medianOf(base, 'p99')];
  if (!Number.isFinite(mine) || !Number.isFinite(theirs)) return null;
  const byRound = ratiosByRound(series, base, 'p99').map((value) => (value === undefined ? undefined : value <= 1));
  return { figure: `p99 ${mine.toFixed(2)} ms vs uWS ${theirs.toFixed(2)} ms`, met: mine <= theirs, byRound };
}

function idleMemory(find: Finder): Check | null {
  const [series, base] = [find('idle-memory', 'wspeer'), find('idle-memory', 'raw')];
  if (series === undefined || base === undefined) return null;
  // RSS once settled: what the connections keep, without the young generation's burst (control.ts).
  const [mine, floor] = [medianOf(series, 'settledRssPerConn'), medianOf(base, 'settledRssPerConn')];
  if (!Number.isFinite(mine) || !Number.isFinite(floor)) return null;
  const byRound = series.rounds.map((round, index) => {
    const [own, raw] = [round?.['settledRssPerConn'], base.rounds[index]?.['settledRssPerConn']];
    return own === undefined || raw === undefined || !Number.isFinite(own) || !Number.isFinite(raw) ? undefined : own <= raw + 512;
  });
  return { figure: `${Math.round(mine)} B vs raw ${Math.round(floor)} B (RSS, settled)`, met: mine <= floor + 512, byRound };
}

/** The verdicts as a markdown table. */
export function targetsTable(verdicts: readonly TargetVerdict[]): string {
  const rows = [
    ['target', 'subject', 'measured', 'verdict', 'rounds that meet it alone'],
    ['---', '---', '---', '---', '---'],
    ...verdicts.map((verdict) => [verdict.target, verdict.subject, verdict.figure, verdict.met === null ? '–' : verdict.met ? 'met' : 'NOT MET', verdict.rounds === 0 ? '–' : `${verdict.roundsMet} of ${verdict.rounds}`]),
  ];
  return rows.map((row) => `| ${row.join(' | ')} |`).join('\n');
}
