/**
 * Turning rounds into figures: per-round metrics, medians, and per-round ratios.
 * @module
 */
import type { Scenario } from '../scenarios.ts';
import { median } from './stats.ts';
import type { RoundResult } from './round.ts';

/** One figure of one round, by metric key. */
export type Metrics = Readonly<Record<string, number>>;

/** A table column: which metric, how to label it, and which references to show ratios against. */
export interface MetricColumn {
  readonly key: string;
  readonly label: string;
  /** Reference subjects for ratio columns, e.g. `['ws-addons', 'ws']`. */
  readonly ratioTo: readonly string[];
  /** Errors are totals over all rounds; everything else is a median. */
  readonly total?: boolean;
}

/** The metric that the chart plots for each kind of scenario (CPU per unit of work). */
export const CHART_METRIC = 'cpu';

const errorsColumn: MetricColumn = { key: 'errors', label: 'errors (all rounds)', ratioTo: [], total: true };

/** Table columns for each kind of scenario. */
export const COLUMNS: Readonly<Record<Scenario['kind'], readonly MetricColumn[]>> = {
  echo: [
    { key: 'cpu', label: 'server CPU µs/msg', ratioTo: ['ws-addons', 'ws'] },
    { key: 'rate', label: 'msg/s', ratioTo: ['ws-addons'] },
    { key: 'mbps', label: 'MB/s', ratioTo: [] },
    { key: 'p50', label: 'p50 ms', ratioTo: [] },
    { key: 'p99', label: 'p99 ms', ratioTo: [] },
    { key: 'p999', label: 'p99.9 ms', ratioTo: [] },
    { key: 'rss', label: 'server RSS MiB', ratioTo: [] },
    { key: 'loadCpu', label: 'loadgen CPU %', ratioTo: [] },
    errorsColumn,
  ],
  handshake: [
    { key: 'cpu', label: 'server CPU µs/conn', ratioTo: ['ws-addons', 'ws'] },
    { key: 'rate', label: 'conn/s', ratioTo: ['ws-addons'] },
    { key: 'p50', label: 'upgrade p50 ms', ratioTo: [] },
    { key: 'p99', label: 'upgrade p99 ms', ratioTo: [] },
    { key: 'loadCpu', label: 'loadgen CPU %', ratioTo: [] },
    errorsColumn,
  ],
  idle: [
    { key: 'rssPerConn', label: 'server RSS B/conn', ratioTo: ['ws-addons', 'ws'] },
    { key: 'heapPerConn', label: 'JS heap+external B/conn', ratioTo: ['ws-addons'] },
    { key: 'held', label: 'conns held', ratioTo: [] },
    errorsColumn,
  ],
  client: [
    { key: 'cpu', label: 'client CPU µs/msg', ratioTo: ['ws-addons', 'ws'] },
    { key: 'rate', label: 'msg/s', ratioTo: ['ws-addons'] },
    { key: 'p50', label: 'p50 ms', ratioTo: [] },
    { key: 'p99', label: 'p99 ms', ratioTo: [] },
    { key: 'serverCpu', label: 'server CPU µs/msg', ratioTo: [] },
    errorsColumn,
  ],
};

/** The figures of one completed round. */
export function metricsOf(kind: Scenario['kind'], round: RoundResult): Metrics {
  const { load, before, after } = round;
  const seconds = load.elapsedMs / 1000;
  const serverCpuUs = after.cpuUs - before.cpuUs;
  const errors = load.errors + load.mismatches;
  const loadCpu = (load.ownCpuUs / (load.elapsedMs * 1000)) * 100;
  switch (kind) {
    case 'echo':
      return {
        cpu: serverCpuUs / load.completed,
        rate: load.completed / seconds,
        mbps: load.bytes / seconds / 1e6,
        p50: load.latencyMs.p50,
        p99: load.latencyMs.p99,
        p999: load.latencyMs.p999,
        rss: after.rss / 2 ** 20,
        loadCpu,
        errors,
      };
    case 'handshake':
      return { cpu: serverCpuUs / load.completed, rate: load.completed / seconds, p50: load.latencyMs.p50, p99: load.latencyMs.p99, loadCpu, errors };
    case 'idle':
      return {
        rssPerConn: (after.rss - before.rss) / load.completed,
        heapPerConn: (after.heapUsed + after.external - before.heapUsed - before.external) / load.completed,
        held: load.completed,
        errors,
      };
    case 'client':
      return {
        cpu: load.ownCpuUs / load.completed,
        rate: load.completed / seconds,
        p50: load.latencyMs.p50,
        p99: load.latencyMs.p99,
        serverCpu: serverCpuUs / load.completed,
        errors,
      };
  }
}

/** Everything recorded for one subject (server or client) in one scenario. */
export interface SubjectSeries {
  readonly subject: string;
  /** Indexed by round; `undefined` where the round failed. */
  readonly rounds: Array<Metrics | undefined>;
  readonly failures: string[];
  unavailable?: string;
  details?: string;
}

/** Median (or total, for error counts) of one metric over the rounds that completed. */
export function aggregate(series: SubjectSeries, column: MetricColumn): number {
  const values = series.rounds.flatMap((round) => (round?.[column.key] === undefined ? [] : [round[column.key]!]));
  if (values.length === 0) return Number.NaN;
  return column.total ? values.reduce((sum, value) => sum + value, 0) : median(values);
}

/**
 * Median over rounds of `subject / reference` taken within the same round. Pairing by round
 * cancels the machine's drift between rounds, which a ratio of two medians would not.
 */
export function pairedRatio(series: SubjectSeries, reference: SubjectSeries, key: string): number {
  const ratios: number[] = [];
  series.rounds.forEach((round, index) => {
    const value = round?.[key];
    const base = reference.rounds[index]?.[key];
    if (value !== undefined && base !== undefined && base > 0) ratios.push(value / base);
  });
  return median(ratios);
}
