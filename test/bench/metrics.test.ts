/**
 * Per-round figures from the server's own accounting: CPU per message, the kernel's part of
 * it, and page faults per message, each over the measured interval only.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { COLUMNS, metricsOf } from '../../bench/lib/metrics.ts';
import type { LoadResult, ServerStats } from '../../bench/lib/protocol.ts';
import { parseServerStats } from '../../bench/lib/protocol.ts';
import { roundOutcome } from '../../bench/lib/round.ts';
import { IDLE_ROUNDS, idleRounds, roundsOf, SCENARIOS, timingFor } from '../../bench/scenarios.ts';

const load: LoadResult = {
  completed: 1000,
  bytes: 1000 * 65_536,
  errors: 0,
  mismatches: 0,
  elapsedMs: 2000,
  latencyMs: { count: 1000, p50: 1, p99: 2, p999: 3 },
  ownCpuUs: 1_000_000,
};
const before: ServerStats = { cpuUs: 5_000_000, systemUs: 2_000_000, minorFaults: 40_000, fullGcs: 3, rss: 100 * 2 ** 20, heapUsed: 0, external: 0 };
const after: ServerStats = { cpuUs: 5_050_000, systemUs: 2_030_000, minorFaults: 40_250, fullGcs: 5, rss: 120 * 2 ** 20, heapUsed: 0, external: 0 };

test('an echo round counts the server CPU, its kernel share, its page faults and its full collections over the interval', () => {
  const metrics = metricsOf('echo', { ok: true, load, before, after, serverDetails: '' });
  assert.equal(metrics['cpu'], 50); // 50,000 µs over 1,000 messages
  assert.equal(metrics['kernel'], 60); // 30,000 of the 50,000 µs
  assert.equal(metrics['faults'], 0.25);
  assert.equal(metrics['fullGcs'], 2 / (load.elapsedMs / 1000)); // 2 over the interval, per second
  assert.equal(metrics['rss'], 120);
});

test('a handshake round reports the kernel share too, and every column has its metric', () => {
  const metrics = metricsOf('handshake', { ok: true, load, before, after, serverDetails: '' });
  assert.equal(metrics['kernel'], 60);
  for (const kind of ['echo', 'handshake'] as const) {
    const figures = metricsOf(kind, { ok: true, load, before, after, serverDetails: '' });
    for (const column of COLUMNS[kind]) assert.ok(column.key in figures, `${kind}: ${column.key}`);
  }
});

test('a STATS line without the kernel time or the fault count is refused', () => {
  assert.throws(() => parseServerStats('{"cpuUs":1,"rss":1,"heapUsed":1,"external":1}'), /bad STATS line/);
  assert.deepEqual(parseServerStats(JSON.stringify(after)), after);
});

test('a round that completed nothing is a failure, not an infinite CPU figure nor a 0× reference', () => {
  const stalled = roundOutcome({ ...load, completed: 0, errors: 0 }, before, after, '');
  assert.equal(stalled.ok, false);
  assert.match(stalled.ok ? '' : stalled.reason, /nothing completed/);
  assert.equal(roundOutcome(load, before, after, 'details').ok, true);
});

test('an idle round takes memory per connection from the settled samples, and has none unless both marks settled', () => {
  const settle = (rss: number, heapUsed: number, reached = true): ServerStats['settled'] => ({ rss, heapUsed, external: 0, waitedMs: 12_000, reached });
  const start: ServerStats = { ...before, rss: 60_000_000, settled: settle(50_000_000, 5_000_000) };
  const end: ServerStats = { ...after, rss: 100_000_000, settled: settle(52_500_000, 6_000_000) };
  const metrics = metricsOf('idle', { ok: true, load, before: start, after: end, serverDetails: '' });
  assert.equal(metrics['settledRssPerConn'], 2500); // 2.5 MB over 1,000 connections
  assert.equal(metrics['settledHeapPerConn'], 1000);
  assert.equal(metrics['rssPerConn'], 40_000, 'at once: the burst\'s pages counted');
  assert.equal(metrics['settleSeconds'], 12);
  for (const column of COLUMNS.idle) assert.ok(column.key in metrics, `idle: ${column.key}`);
  const unsettled = metricsOf('idle', { ok: true, load, before: start, after: { ...end, settled: settle(52_500_000, 6_000_000, false) }, serverDetails: '' });
  assert.ok(Number.isNaN(unsettled['settledRssPerConn']));
  const unasked = metricsOf('idle', { ok: true, load, before, after, serverDetails: '' });
  assert.ok(Number.isNaN(unasked['settledRssPerConn']));
});

test('a STATS line with a settled part is checked too', () => {
  const settled = { ...after, settled: { rss: 1, heapUsed: 1, external: 1, waitedMs: 1, reached: true } };
  assert.deepEqual(parseServerStats(JSON.stringify(settled)), settled);
  assert.throws(() => parseServerStats(JSON.stringify({ ...after, settled: { rss: 1 } })), /bad STATS line/);
});

test('idle scenarios run their own number of rounds, unless --rounds sets every scenario\'s', () => {
  const idle = SCENARIOS.find((entry) => entry.id === 'idle-memory')!;
  const echo = SCENARIOS.find((entry) => entry.id === 'binary-32')!;
  const [full, quick] = [timingFor(false), timingFor(true)];
  assert.equal(roundsOf(idle, full, false, false), IDLE_ROUNDS.full);
  assert.equal(roundsOf(idle, quick, true, false), IDLE_ROUNDS.quick);
  assert.equal(roundsOf(echo, full, false, false), full.rounds);
  assert.equal(roundsOf(idle, { ...full, rounds: 5 }, false, true), 5);
  assert.equal(idleRounds(full, false, false), IDLE_ROUNDS.full);
});
