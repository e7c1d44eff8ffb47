/**
 * Markdown rendering of the results.
 * @module
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { CONTROL, DEFLATE_BASELINE, HANDSHAKE_WARMUP, referencesOf, type Scenario } from '../scenarios.ts';
import { COLUMNS, aggregate, pairedRatio, pairedRatios, type MetricColumn, type SubjectSeries } from './metrics.ts';
import { checkTargets, targetsTable } from './targets.ts';
import { THROUGH_TSX } from './processes.ts';

/** Results of one scenario, one series per subject in table order. */
export interface ScenarioResults {
  readonly scenario: Scenario;
  readonly series: readonly SubjectSeries[];
}

/** The machine, as stated at the top of the report. */
export function describeMachine(): string {
  let model = 'unknown CPU';
  try {
    model = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? model;
  } catch {
    // Not Linux: keep "unknown CPU".
  }
  return `${availableParallelism()} CPUs (nproc), ${model}, Node ${process.version}`;
}

/** Formats a figure with a precision suited to its size; `–` for a missing one. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return '–';
  if (Number.isInteger(value)) return value.toLocaleString('en-US');
  const magnitude = Math.abs(value);
  if (magnitude >= 1000) return Math.round(value).toLocaleString('en-US');
  if (magnitude >= 100) return value.toFixed(0);
  if (magnitude >= 10) return value.toFixed(1);
  if (magnitude >= 1) return value.toFixed(2);
  return value.toFixed(3);
}

function formatRatio(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)}×` : '–';
}

/** One markdown table for a scenario, with ratio columns against the references. */
export function scenarioTable(results: ScenarioResults): string {
  const columns = COLUMNS[results.scenario.kind];
  const references = referencesOf(results.scenario);
  const ratioTo = (column: MetricColumn): readonly string[] => references.slice(0, column.ratios);
  const header: string[] = [results.scenario.kind === 'client' ? 'client' : 'server'];
  for (const column of columns) {
    header.push(column.label, ...ratioTo(column).map((reference) => `vs ${reference}`));
  }
  const rows = [header, header.map(() => '---')];
  const bySubject = new Map(results.series.map((series) => [series.subject, series]));
  for (const series of results.series) {
    if (series.unavailable !== undefined) {
      rows.push([series.subject, `unavailable: ${series.unavailable.replaceAll('|', '/')}`, ...header.slice(2).map(() => '')]);
      continue;
    }
    const row = [series.subject];
    for (const column of columns) {
      row.push(formatNumber(aggregate(series, column)));
      for (const reference of ratioTo(column)) {
        const base = bySubject.get(reference);
        row.push(base === undefined ? '–' : formatRatio(pairedRatio(series, base, column.key)));
      }
    }
    rows.push(row);
  }
  const table = rows.map((row) => `| ${row.join(' | ')} |`).join('\n');
  const notes = results.series.flatMap((series) =>
    series.failures.length === 0 ? [] : [`- ${series.subject}: ${series.failures.length} failed round(s): ${series.failures[0]}`],
  );
  return [table, ...(notes.length > 0 ? ['', ...notes] : [])].join('\n');
}

/**
 * The A/A control's table: per scenario, `wspeer-twin / wspeer` on the scenario's first
 * metric (CPU, or memory when idle), as the median and the range of per-round ratios; or
 * null when no scenario ran both.
 */
export function controlTable(results: readonly ScenarioResults[]): string | null {
  const rows: string[][] = [];
  for (const { scenario, series } of results) {
    const twin = series.find((entry) => entry.subject === CONTROL.subject);
    const original = series.find((entry) => entry.subject === CONTROL.twinOf);
    if (twin === undefined || original === undefined) continue;
    const column = COLUMNS[scenario.kind][0]!;
    const ratios = pairedRatios(twin, original, column.key);
    if (ratios.length === 0) continue;
    const range = `${formatRatio(Math.min(...ratios))} – ${formatRatio(Math.max(...ratios))}`;
    rows.push([`${scenario.number}. ${scenario.id}`, column.label, formatRatio(pairedRatio(twin, original, column.key)), range, String(ratios.length)]);
  }
  if (rows.length === 0) return null;
  const header = ['scenario', 'metric', `${CONTROL.subject} / ${CONTROL.twinOf} (median)`, 'per-round range', 'rounds'];
  return [header, header.map(() => '---'), ...rows].map((row) => `| ${row.join(' | ')} |`).join('\n');
}

/** The whole `results.md`. */
export function renderReport(options: {
  readonly date: Date;
  readonly command: string;
  readonly rounds: number;
  readonly idleRounds: number;
  readonly pinned: boolean;
  readonly results: readonly ScenarioResults[];
  readonly details: ReadonlyMap<string, string>;
}): string {
  const lines = [
    '# WebSocket server benchmarks',
    '',
    `- Date: ${options.date.toISOString()}`,
    `- Machine: ${describeMachine()}`,
    `- Command: \`${options.command}\``,
    `- Pinning: ${options.pinned ? 'server on core 0, load on core 1 (taskset)' : 'none (taskset unavailable)'}`,
    '',
    `Figures are medians of ${options.rounds} interleaved rounds (${options.idleRounds} for idle memory; each round a fresh server process, servers taking turns in an order that changes each round:`,
    'a Williams design, in which over a cycle of rounds each takes every place in the round, and follows every other, equally often;',
    'a cycle is as many rounds as subjects, twice as many for an odd number, so a run that ends inside one is only nearly balanced);',
    '"vs" columns are medians of per-round ratios. Absolute numbers drift with the machine: only the ratios are meant to compare.',
    'CPU is the measured process\'s own `process.cpuUsage()` over the measured interval (the server\'s; the client\'s in the client scenarios).',
    '"kernel %" is the system part of the server\'s CPU (socket copies, TCP, page faults), and "page faults/msg" its minor faults per message:',
    'memory it touched for the first time, which the kernel zeroed. Whether the allocator reuses freed memory or asks for fresh pages differs',
    'between processes, so with large messages these columns explain much of how far one subject\'s rounds stray. "full GCs/s" counts V8\'s',
    'mark-compact collections: a heap just past 8 MB that churns large Buffers can make dozens a second, each marking the whole heap.',
    'Idle memory is measured twice at each mark: "at once", after a full collection, and "settled", once V8 has given back the young',
    'generation it grew during the burst of handshakes (the server collects until it has: V8 shrinks it only in a collection). Until then its pages count in RSS, up to 3 KB a',
    'connection at 10,000 that no connection holds and that differ with how much each server allocated on the way; the target takes the settled figure.',
    THROUGH_TSX
      ? 'Every process measured ran its TypeScript through tsx (BENCH_TSX=1), not compiled as it normally runs.'
      : 'Every process measured runs compiled JavaScript (tsconfig.bench.json), with no TypeScript loader in it.',
    'MB/s counts payload bytes echoed (one direction). `raw` answers the upgrade and then writes every byte it reads back: no WebSocket work at all,',
    'so it marks the cost of the transport for small messages; for large ones its stream writes are no hard ceiling.',
    `The deflate scenarios negotiate permessage-deflate (RFC 7692) and run only against the servers that enable it, compared with ${DEFLATE_BASELINE};`,
    'their echoes are inflated and checked byte for byte, and MB/s counts uncompressed payload bytes.',
    'wspeer runs as it ships: the JavaScript `npm run build` makes in dist/ (compiled, then bundled per entry point). Handshake rounds first warm up with',
    `${HANDSHAKE_WARMUP.full.toLocaleString('en-US')} connections (${HANDSHAKE_WARMUP.quick.toLocaleString('en-US')} quick), so that the figure is the steady state rather than the JIT compiling per-connection code.`,
    '',
  ];
  if (options.details.size > 0) {
    lines.push('Servers as they reported themselves:', '');
    for (const [name, detail] of options.details) lines.push(`- ${name}: ${detail}`);
    lines.push('');
  }
  lines.push('## Targets', '', 'The performance targets, checked against this run (`–`: a scenario or subject it needs was not run).', '');
  lines.push(targetsTable(checkTargets(options.results)), '');
  const control = controlTable(options.results);
  if (control !== null) {
    lines.push(
      '## A/A control',
      '',
      `\`${CONTROL.subject}\` is \`${CONTROL.twinOf}\` under another name, in its own process and its own place in each round. On an unbiased harness`,
      'and a quiet machine its ratios would be 1.00×: their distance from 1 is how small a difference between two subjects this run can resolve.',
      '',
      control,
      '',
    );
  }
  for (const results of options.results) {
    lines.push(`## ${results.scenario.number}. ${results.scenario.id} — ${results.scenario.title}`, '', scenarioTable(results), '');
  }
  lines.push(`Chart: \`results.svg\` (CPU per message / connection, normalised to ws-addons = 1, or ${DEFLATE_BASELINE} = 1 for the deflate scenarios).`, '');
  return lines.join('\n');
}
