/**
 * The project's performance targets, checked against a run's results: each becomes a row
 * saying what was measured and whether the target is met, so that a run states its own
 * verdicts rather than leaving them to be worked out from the tables. Every figure is a
 * ratio within the run (medians of per-round ratios), except the two that the targets state
 * in absolute terms: memory per idle connection and p99 latency, compared within the run.
 * @module
 */
import { aggregate, COLUMNS, pairedRatio, type SubjectSeries } from './metrics.ts';
import type { ScenarioResults } from './report.ts';

/** One target for one subject: what it asks, what was measured, and the verdict. */
export interface TargetVerdict {
  readonly target: string;
  readonly subject: string;
  /** What was measured, as it reads in the verdict table; `not measured` if a scenario or subject is missing. */
  readonly figure: string;
  /** Null when not measured. */
  readonly met: boolean | null;
}

/** The echo subjects whose targets are checked: the default and the `lentMessages` opt-in. */
const SUBJECTS = ['wspeer', 'wspeer-lent'] as const;

/** A measured figure and whether it meets its bound. */
interface Check {
  readonly figure: string;
  readonly met: boolean;
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
    verdicts.push(outcome === null ? { target, subject, figure: 'not measured', met: null } : { target, subject, ...outcome });
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

function cpuAtMost(find: Finder, scenarioId: string, subject: string, reference: string, bound: number): Check | null {
  const [series, base] = [find(scenarioId, subject), find(scenarioId, reference)];
  if (series === undefined || base === undefined) return null;
  const value = pairedRatio(series, base, 'cpu');
  if (!Number.isFinite(value)) return null;
  return { figure: `CPU ${ratio(value, bound)} of ${reference}`, met: value <= bound };
}

function rateAtLeast(find: Finder, scenarioId: string, subject: string, reference: string, bound: number, key: 'rate' | 'mbps'): Check | null {
  const [series, base] = [find(scenarioId, subject), find(scenarioId, reference)];
  if (series === undefined || base === undefined) return null;
  const value = pairedRatio(series, base, key);
  if (!Number.isFinite(value)) return null;
  return { figure: `${key === 'rate' ? 'msg/s' : 'MB/s'} ${ratio(value, bound)} of ${reference}`, met: value >= bound };
}

function smallMessages(find: Finder, scenarioId: string, subject: string): Check | null {
  const checks = [
    cpuAtMost(find, scenarioId, subject, 'ws-addons', 0.25),
    cpuAtMost(find, scenarioId, subject, 'uws', 1.3),
    rateAtLeast(find, scenarioId, subject, 'uws', 1 / 1.3, 'rate'),
  ];
  if (checks.some((check) => check === null)) return null;
  return { figure: checks.map((check) => check!.figure).join('; '), met: checks.every((check) => check!.met) };
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
  return { figure: `p99 ${mine.toFixed(2)} ms vs uWS ${theirs.toFixed(2)} ms`, met: mine <= theirs };
}

function idleMemory(find: Finder): Check | null {
  const [series, base] = [find('idle-memory', 'wspeer'), find('idle-memory', 'raw')];
  if (series === undefined || base === undefined) return null;
  const [mine, floor] = [medianOf(series, 'rssPerConn'), medianOf(base, 'rssPerConn')];
  if (!Number.isFinite(mine) || !Number.isFinite(floor)) return null;
  return { figure: `${Math.round(mine)} B vs raw ${Math.round(floor)} B`, met: mine <= floor + 512 };
}

/** The verdicts as a markdown table. */
export function targetsTable(verdicts: readonly TargetVerdict[]): string {
  const rows = [
    ['target', 'subject', 'measured', 'verdict'],
    ['---', '---', '---', '---'],
    ...verdicts.map((verdict) => [verdict.target, verdict.subject, verdict.figure, verdict.met === null ? '–' : verdict.met ? 'met' : 'NOT MET']),
  ];
  return rows.map((row) => `| ${row.join(' | ')} |`).join('\n');
}
