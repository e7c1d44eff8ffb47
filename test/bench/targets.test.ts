/**
 * The bench's target verdicts: each target is met, not met, or not measured exactly as its
 * bound says, from per-round figures, so that a run's "met" can be trusted.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { Metrics, SubjectSeries } from '../../bench/lib/metrics.ts';
import type { ScenarioResults } from '../../bench/lib/report.ts';
import { checkTargets, targetsTable, type TargetVerdict } from '../../bench/lib/targets.ts';
import { SCENARIOS } from '../../bench/scenarios.ts';

/** A scenario's results: each subject's figures, the same in each of three rounds. */
function results(scenarioId: string, figures: Record<string, Metrics>): ScenarioResults {
  const scenario = SCENARIOS.find((entry) => entry.id === scenarioId)!;
  const series: SubjectSeries[] = Object.entries(figures).map(([subject, metrics]) => ({ subject, rounds: [metrics, metrics, metrics], failures: [] }));
  return { scenario, series };
}

function verdict(verdicts: readonly TargetVerdict[], target: string, subject = 'wspeer'): TargetVerdict {
  const found = verdicts.find((entry) => entry.target.startsWith(target) && entry.subject === subject);
  assert.ok(found !== undefined, `${target} (${subject})`);
  return found;
}

test('a CPU target is met at or under its bound and not met over it; one whose scenario did not run is not measured', () => {
  const verdicts = checkTargets([
    results('binary-64k', { 'ws-addons': { cpu: 60 }, wspeer: { cpu: 39 }, 'wspeer-lent': { cpu: 41 } }),
  ]);
  assert.equal(verdict(verdicts, 'binary-64k').met, true);
  assert.equal(verdict(verdicts, 'binary-64k').figure, 'CPU 0.65× of ws-addons');
  assert.equal(verdict(verdicts, 'binary-64k', 'wspeer-lent').met, false);
  assert.equal(verdict(verdicts, 'binary-4m: ≥ 1.2×').met, null);
  assert.equal(verdict(verdicts, 'binary-4m: ≥ 1.2×').figure, 'not measured');
});

test('a ratio that two decimals would show equal to its bound is shown to three, so that "0.67×" is never NOT MET against 0.67×', () => {
  const verdicts = checkTargets([results('binary-64k', { 'ws-addons': { cpu: 60 }, wspeer: { cpu: 40.2 }, 'wspeer-lent': { cpu: 30 } })]);
  // 40.2 / 60 = 0.670, over the bound of 1 / 1.5 = 0.6667.
  assert.equal(verdict(verdicts, 'binary-64k').figure, 'CPU 0.670× of ws-addons');
  assert.equal(verdict(verdicts, 'binary-64k').met, false);
  assert.equal(verdict(verdicts, 'binary-64k', 'wspeer-lent').figure, 'CPU 0.50× of ws-addons');
});

test('small messages need all three bounds: CPU against ws + add-ons and uWS, and throughput against uWS', () => {
  const base = { 'ws-addons': { cpu: 8, rate: 100 }, uws: { cpu: 1, rate: 1000 } };
  const within = checkTargets([results('binary-32', { ...base, wspeer: { cpu: 1.2, rate: 800 } })]);
  assert.equal(verdict(within, 'binary-32: server CPU').met, true);
  const slow = checkTargets([results('binary-32', { ...base, wspeer: { cpu: 1.2, rate: 700 } })]);
  assert.equal(verdict(slow, 'binary-32: server CPU').met, false, 'msg/s under uWS ÷ 1.3');
  const costly = checkTargets([results('binary-32', { ...base, wspeer: { cpu: 1.4, rate: 1000 } })]);
  assert.equal(verdict(costly, 'binary-32: server CPU').met, false, 'CPU over 1.3× uWS');
  const noUws = checkTargets([results('binary-32', { 'ws-addons': base['ws-addons'], wspeer: { cpu: 1, rate: 1000 } })]);
  assert.equal(verdict(noUws, 'binary-32: server CPU').met, null);
});

test('memory, latency, handshake and client targets compare as their bounds say', () => {
  const verdicts = checkTargets([
    // The settled figures decide; the one taken at once (young-generation pages and all) does not.
    results('idle-memory', { raw: { settledRssPerConn: 2000, rssPerConn: 4000 }, wspeer: { settledRssPerConn: 2512, rssPerConn: 5600 } }),
    results('text-125', { uws: { p99: 2.5 }, wspeer: { p99: 2.6 }, 'wspeer-lent': { p99: 2.5 } }),
    results('handshake', { ws: { cpu: 100 }, wspeer: { cpu: 66 } }),
    results('client-32', { ws: { rate: 100 }, wspeer: { rate: 200 } }),
  ]);
  assert.equal(verdict(verdicts, 'idle-memory').met, true, 'raw + 512 B exactly');
  assert.equal(verdict(verdicts, 'text-125: p99').met, false);
  assert.equal(verdict(verdicts, 'text-125: p99', 'wspeer-lent').met, true);
  assert.equal(verdict(verdicts, 'handshake').met, false);
  assert.equal(verdict(verdicts, 'client-32').met, true);
  assert.match(targetsTable(verdicts), /\| handshake: server CPU ≤ 0\.65× ws \| wspeer \| CPU 0\.66× of ws \| NOT MET \|/);
});

test('idle memory counts only rounds that settled at both marks, and gives no verdict if none did', () => {
  const settledOnce = checkTargets([
    roundResults('idle-memory', {
      raw: [{ settledRssPerConn: 2000 }, { settledRssPerConn: Number.NaN }, { settledRssPerConn: 2100 }],
      wspeer: [{ settledRssPerConn: 2400 }, { settledRssPerConn: 2300 }, { settledRssPerConn: 2700 }],
    }),
  ]);
  const idle = verdict(settledOnce, 'idle-memory');
  assert.equal(idle.met, true, 'medians 2,400 vs 2,050 B');
  assert.deepEqual([idle.roundsMet, idle.rounds], [1, 2]);
  const never = checkTargets([roundResults('idle-memory', { raw: [{ settledRssPerConn: Number.NaN }], wspeer: [{ settledRssPerConn: 100, rssPerConn: 100 }] })]);
  assert.equal(verdict(never, 'idle-memory').met, null);
});

/** A scenario's results with each subject's figures given round by round (undefined: the round failed). */
function roundResults(scenarioId: string, rounds: Record<string, Array<Metrics | undefined>>): ScenarioResults {
  const scenario = SCENARIOS.find((entry) => entry.id === scenarioId)!;
  return { scenario, series: Object.entries(rounds).map(([subject, figures]) => ({ subject, rounds: figures, failures: [] })) };
}

test('each verdict counts the rounds that meet its bound alone, over the rounds both subjects completed', () => {
  const verdicts = checkTargets([
    // Ratios 0.60, 0.66, 0.64 and a failed round: the median 0.64 meets 0.65, two rounds of three do.
    roundResults('handshake', { ws: [{ cpu: 100 }, { cpu: 100 }, { cpu: 100 }, { cpu: 100 }], wspeer: [{ cpu: 60 }, { cpu: 66 }, { cpu: 64 }, undefined] }),
    roundResults('text-125', { uws: [{ p99: 2 }, { p99: 2 }, { p99: 3 }], wspeer: [{ p99: 2.1 }, { p99: 1.9 }, { p99: 2.5 }] }),
  ]);
  const handshake = verdict(verdicts, 'handshake');
  assert.deepEqual([handshake.met, handshake.roundsMet, handshake.rounds], [true, 2, 3]);
  // Compared round by round: 2.1 > 2 misses; 1.9 and 2.5 meet their own round's uWS.
  const p99 = verdict(verdicts, 'text-125: p99');
  assert.deepEqual([p99.roundsMet, p99.rounds], [2, 3]);
  assert.match(targetsTable(verdicts), /\| handshake: server CPU ≤ 0\.65× ws \| wspeer \| CPU 0\.64× of ws \| met \| 2 of 3 \|/);
  assert.match(targetsTable(verdicts), /\| binary-64k: [^|]+\| wspeer \| not measured \| – \| – \|/);
});

test('a round meets the small-message target only if it meets all three of its bounds', () => {
  const base = { 'ws-addons': [{ cpu: 8, rate: 100 }, { cpu: 8, rate: 100 }], uws: [{ cpu: 1, rate: 1000 }, { cpu: 1, rate: 1000 }] };
  // Round 1 within every bound; round 2 cheap enough but under uWS ÷ 1.3 in msg/s.
  const verdicts = checkTargets([roundResults('binary-32', { ...base, wspeer: [{ cpu: 1.2, rate: 800 }, { cpu: 1.2, rate: 700 }] })]);
  const small = verdict(verdicts, 'binary-32: server CPU');
  assert.deepEqual([small.roundsMet, small.rounds], [1, 2]);
});
