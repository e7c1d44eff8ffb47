/**
 * Benchmark runner: `npm run bench [-- --quick] [--only 1,handshake] [--servers ws,uws] [--rounds N]`.
 * Runs every scenario with rounds interleaved across servers, each round on a fresh server
 * process, then writes `results.md` and `results.svg` next to this file.
 * @module
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { renderChart } from './lib/chart.ts';
import { COLUMNS, metricsOf, type SubjectSeries } from './lib/metrics.ts';
import { canPin } from './lib/processes.ts';
import { formatNumber, renderReport, scenarioTable, type ScenarioResults } from './lib/report.ts';
import { runRound } from './lib/round.ts';
import { checkTargets, targetsTable } from './lib/targets.ts';
import { turnOrder } from './lib/stats.ts';
import { buildShipped } from './lib/shipped.ts';
import { CLIENTS, DEFLATE_SERVERS, idleRounds, LENT_SERVERS, roundsOf, SCENARIOS, SERVERS, subjectsOf as allSubjectsOf, timingFor, type Scenario } from './scenarios.ts';

const USAGE = `usage: npm run bench [-- [--quick] [--only N,id,...] [--servers a,b,...] [--rounds N]]
  --quick     a short pass: fewer rounds and shorter measurements
  --only      scenarios by number or id: ${SCENARIOS.map((s) => `${s.number}=${s.id}`).join(', ')}
  --servers   subjects to run (the baseline is always needed for the ratios)
  --rounds    rounds per scenario (default ${timingFor(false).rounds}, quick ${timingFor(true).rounds})`;

function parseOptions(): { quick?: boolean; only?: string; servers?: string; rounds?: string; help?: boolean } {
  try {
    return parseArgs({
      options: {
        quick: { type: 'boolean', default: false },
        only: { type: 'string' },
        servers: { type: 'string' },
        rounds: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n${USAGE}\n`);
    process.exit(2);
  }
}

const options = parseOptions();
if (options.help === true) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
if (options.rounds !== undefined && !(Number.isInteger(Number(options.rounds)) && Number(options.rounds) >= 1)) {
  process.stderr.write(`--rounds needs a whole number of at least 1, got ${options.rounds}\n${USAGE}\n`);
  process.exit(2);
}

const quick = options.quick ?? false;
const baseTiming = timingFor(quick);
const timing = options.rounds === undefined ? baseTiming : { ...baseTiming, rounds: Number(options.rounds) };
const wanted = options.servers?.split(',').map((name) => name.trim()).filter((name) => name !== '');
const known = new Set<string>([...SERVERS, ...LENT_SERVERS, ...DEFLATE_SERVERS, ...CLIENTS]);
const unknown = wanted?.filter((name) => !known.has(name)) ?? [];
if (unknown.length > 0) {
  process.stderr.write(`unknown server(s): ${unknown.join(', ')}; known: ${[...known].join(', ')}\n`);
  process.exit(1);
}
const onlyKeys = options.only?.split(',').map((key) => key.trim());
const scenarios = SCENARIOS.filter((scenario) => onlyKeys === undefined || onlyKeys.includes(scenario.id) || onlyKeys.includes(String(scenario.number)));
if (scenarios.length === 0) {
  process.stderr.write(`no scenario matches --only ${options.only}; scenarios: ${SCENARIOS.map((s) => `${s.number}=${s.id}`).join(', ')}\n`);
  process.exit(1);
}

progress('building dist/ (wspeer is measured as it ships)');
buildShipped();

/** Subjects that could not start, keyed `server:name` / `client:name`, with the reason. */
const unavailable = new Map<string, string>();
const details = new Map<string, string>();

function subjectsOf(scenario: Scenario): readonly string[] {
  return allSubjectsOf(scenario).filter((name) => wanted === undefined || wanted.includes(name));
}

function progress(text: string): void {
  process.stderr.write(`${text}\n`);
}

function summaryOf(scenario: Scenario, metrics: Readonly<Record<string, number>>): string {
  const [first, second] = COLUMNS[scenario.kind];
  return [first, second]
    .flatMap((column) => (column === undefined ? [] : [`${formatNumber(metrics[column.key] ?? Number.NaN)} ${column.label}`]))
    .join(', ');
}

async function runScenario(scenario: Scenario): Promise<ScenarioResults> {
  const role = scenario.kind === 'client' ? 'client' : 'server';
  const series: SubjectSeries[] = subjectsOf(scenario).map((subject) => ({ subject, rounds: [], failures: [] }));
  const rounds = roundsOf(scenario, timing, quick, options.rounds !== undefined);
  for (let round = 0; round < rounds; round++) {
    for (const entry of turnOrder(series, round)) {
      const key = `${role}:${entry.subject}`;
      const reason = unavailable.get(key);
      if (reason !== undefined) {
        entry.unavailable = reason;
        continue;
      }
      const label = `[${scenario.number}. ${scenario.id}] round ${round + 1}/${rounds} ${role} ${entry.subject}`;
      progress(`${label} …`);
      const outcome = await runRound(scenario, entry.subject, timing, quick);
      if (!outcome.ok) {
        entry.rounds[round] = undefined;
        if (outcome.unavailable) {
          unavailable.set(key, outcome.reason);
          entry.unavailable = outcome.reason;
          progress(`${label}: UNAVAILABLE — ${outcome.reason}`);
        } else {
          entry.failures.push(outcome.reason);
          progress(`${label}: FAILED — ${outcome.reason}`);
        }
        continue;
      }
      const metrics = metricsOf(scenario.kind, outcome);
      entry.rounds[round] = metrics;
      if (role === 'server') details.set(entry.subject, outcome.serverDetails);
      const errors = metrics['errors'] ?? 0;
      progress(`${label}: ${summaryOf(scenario, metrics)}${errors > 0 ? `, ${errors} ERRORS` : ''}`);
    }
  }
  return { scenario, series };
}

const results: ScenarioResults[] = [];
for (const scenario of scenarios) {
  if (subjectsOf(scenario).length === 0) {
    progress(`[${scenario.number}. ${scenario.id}] skipped: none of --servers ${options.servers ?? ''} takes part`);
    continue;
  }
  const scenarioResults = await runScenario(scenario);
  results.push(scenarioResults);
  process.stdout.write(`\n## ${scenario.number}. ${scenario.id} — ${scenario.title}\n\n${scenarioTable(scenarioResults)}\n`);
}

process.stdout.write(`\n## Targets\n\n${targetsTable(checkTargets(results))}\n`);

const argv = process.argv.slice(2);
const report = renderReport({
  date: new Date(),
  command: `npm run bench${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}`,
  rounds: timing.rounds,
  idleRounds: idleRounds(timing, quick, options.rounds !== undefined),
  pinned: canPin(),
  results,
  details,
});
writeFileSync(new URL('results.md', import.meta.url), report);
writeFileSync(new URL('results.svg', import.meta.url), renderChart(results));
progress('\nwrote bench/results.md and bench/results.svg');
