/**
 * The load generator's latency recorder: every sample kept, across its fixed-size blocks, and
 * what was recorded before `reset` (the warm-up) left out of the percentiles.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { LatencyRecorder } from '../../bench/lib/stats.ts';

test('percentiles are exact over samples that fill several blocks', () => {
  const recorder = new LatencyRecorder();
  // 1 … 200,000 in a scrambled order (a multiplier coprime with the count), over three blocks.
  const total = 200_000;
  for (let i = 0; i < total; i++) recorder.record(((i * 7919) % total) + 1);
  const summary = recorder.summary();
  assert.equal(summary.count, total);
  assert.equal(summary.p50, 100_000);
  assert.equal(summary.p99, 198_000);
  assert.equal(summary.p999, 199_800);
});

test('reset drops the warm-up, and the blocks it filled take the measured samples', () => {
  const recorder = new LatencyRecorder();
  recorder.recordMany(1000, 150_000); // warm-up: slow
  recorder.reset();
  recorder.recordMany(1, 70_000);
  recorder.recordMany(2, 1000);
  const summary = recorder.summary();
  assert.equal(summary.count, 71_000);
  assert.equal(summary.p50, 1);
  assert.equal(summary.p999, 2, 'no warm-up sample left behind in a reused block');
});
