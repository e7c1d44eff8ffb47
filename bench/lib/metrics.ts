/**
 * Turning rounds into figures: per-round metrics, medians, and per-round ratios.
 * @module
 */
import type { Scenario } from '../scenarios.ts';
import { median } from './stats.ts';
import type { ServerStats } from './protocol.ts';
import type { RoundResult } from './round.ts';

/** One figure of one round, by metric key. */
export type Metrics = Readonly<Record<string, number>>;

/** A table column: which metric, how to label it, and how many ratio columns follow it. */
export interface MetricColumn {
  readonly key: string;
  readonly label: string;
  /** Ratio columns against the first this many of the scenario's references (`referencesOf`). */
  readonly ratios: number;
  /** Errors are totals over all rounds; everything else is a median. */
  readonly total?: boolean;
}

/** The metric that the chart plots for each kind of scenario (CPU per unit of work). */
export const CHART_METRIC = 'cpu';

const errorsColumn: MetricColumn = { key: 'errors', label: 'errors (all rounds)', ratios: 0, total: true };

/** Table columns for each kind of scenario. */
export const COLUMNS: Readonly<Record<Scenario['kind'], readonly MetricColumn[]>> = {
  echo: [
    { key: 'cpu', label: 'server CPU µs/msg', ratios: 2 },
    { key: 'rate', label: 'msg/s', ratios: 1 },
    { key: 'mbps', label: 'MB/s', ratios: 0 },
    { key: 'p50', label: 'p50 ms', ratios: 0 },
    { key: 'p99', label: 'p99 ms', ratios: 0 },
    { key: 'p999', label: 'p99.9 ms', ratios: 0 },
    { key: 'kernel', label: 'kernel % of server CPU', ratios: 0 },
    { key: 'faults', label: 'page faults/msg', ratios: 0 },
    { key: 'fullGcs', label: 'full GCs/s', ratios: 0 },
    { key: 'rss', label: 'server RSS MiB', ratios: 0 },
    { key: 'loadCpu', label: 'loadgen CPU %', ratios: 0 },
    errorsColumn,
  ],
  handshake: [
    { key: 'cpu', label: 'server CPU µs/conn', ratios: 2 },
    { key: 'rate', label: 'conn/s', ratios: 1 },
    { key: 'p50', label: 'upgrade p50 ms', ratios: 0 },
    { key: 'p99', label: 'upgrade p99 ms', ratios: 0 },
    { key: 'kernel', label: 'kernel % of server CPU', ratios: 0 },
    { key: 'loadCpu', label: 'loadgen CPU %', ratios: 0 },
    errorsColumn,
  ],
  idle: [
    { key: 'settledRssPerConn', label: 'server RSS B/conn, settled', ratios: 2 },
    { key: 'settledHeapPerConn', label: 'JS heap+external B/conn, settled', ratios: 1 },
    { key: 'rssPerConn', label: 'server RSS B/conn, at once', ratios: 0 },
    { key: 'settleSeconds', label: 'settling s (at the end)', ratios: 0 },
    { key: 'held', label: 'conns held', ratios: 0 },
    errorsColumn,
  ],
  client: [
    { key: 'cpu', label: 'client CPU µs/msg', ratios: 2 },
    { key: 'rate', label: 'msg/s', ratios: 1 },
    { key: 'p50', label: 'p50 ms', ratios: 0 },
    { key: 'p99', label: 'p99 ms', ratios: 0 },
    { key: 'serverCpu', label: 'server CPU µs/msg', ratios: 0 },
    errorsColumn,
  ],
};

/** The figures of one completed round. */
export function metricsOf(kind: Scenario['kind'], round: RoundResult): Metrics {
  const { load, before, after } = round;
  const seconds = load.elapsedMs / 1000;
  const serverCpuUs = after.cpuUs - before.cpuUs;
  // Where the server's time went: the kernel's socket copies and page faults, or its own code.
  const kernel = serverCpuUs > 0 ? ((after.systemUs - before.systemUs) / serverCpuUs) * 100 : Number.NaN;
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
        kernel,
        faults: (after.minorFaults - before.minorFaults) / load.completed,
        fullGcs: (after.fullGcs - before.fullGcs) / seconds,
        rss: after.rss / 2 ** 20,
        loadCpu,
        errors,
      };
    case 'handshake':
      return { cpu: serverCpuUs / load.completed, rate: load.completed / seconds, p50: load.latencyMs.p50, p99: load.latencyMs.p99, kernel, loadCpu, errors };
    case 'idle':
      return { ...settledMemory(before, after, load.completed), rssPerConn: (after.rss - before.rss) / load.completed, held: load.completed, errors };
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
  return median(pairedRatios(series, reference, key));
}

/** `subject / reference` for each round in which both completed, in round order. */
export function pairedRatios(series: SubjectSeries, reference: SubjectSeries, key: string): number[] {
  return ratiosByRound(series, reference, key).filter((ratio): ratio is number => ratio !== undefined);
}

/** `subject / reference` in each round, indexed by round: undefined where either did not complete it. */
export function ratiosByRound(series: SubjectSeries, reference: SubjectSeries, key: string): Array<number | undefined> {
  return series.rounds.map((round, index) => {
    const value = round?.[key];
    const base = reference.rounds[index]?.[key];
    return value !== undefined && base !== undefined && base > 0 ? value / base : undefined;
  });
}

/**
 * Memory per connection from the samples taken once settled, at both marks; NaN (no figure)
 * unless both settled (see control.ts), so that a burst's pages never pass for connections'.
 */
function settledMemory(before: ServerStats, after: ServerStats, count: number): Metrics {
  const [start, end] = [before.settled, after.settled];
  if (start === undefined || end === undefined || !start.reached || !end.reached) {
    return { settledRssPerConn: Number.NaN, settledHeapPerConn: Number.NaN, settleSeconds: end === undefined ? Number.NaN : end.waitedMs / 1000 };
  }
  return {
    settledRssPerConn: (end.rss - start.rss) / count,
    settledHeapPerConn: (end.heapUsed + end.external - start.heapUsed - start.external) / count,
    settleSeconds: end.waitedMs / 1000,
  };
}
