/**
 * The reconnecting client's backoff: the wait grows by `factor` from `initialDelay`, stops
 * at `maxDelay`, and jitter takes up to its share off each wait.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { backoffDelay, resolveReconnectOptions } from '../../src/engines/backoff.ts';

test('the defaults: 250 ms doubling up to 30 s, half of each wait left to chance, retries without end, stable after 5 s', () => {
  assert.deepEqual(resolveReconnectOptions(), { initialDelay: 250, maxDelay: 30_000, factor: 2, jitter: 0.5, maxRetries: Infinity, stableAfter: 5000 });
});

test('without jitter the waits grow by the factor from the initial delay and stop at the cap', () => {
  const options = resolveReconnectOptions({ initialDelay: 100, factor: 3, maxDelay: 2000, jitter: 0 });
  const waits = [1, 2, 3, 4, 5, 40].map((retry) => backoffDelay(options, retry, 0.99));
  assert.deepEqual(waits, [100, 300, 900, 2000, 2000, 2000]);
});

test('jitter takes up to its share off the wait: the draw 0 keeps it whole, a draw near 1 takes the whole share', () => {
  const options = resolveReconnectOptions({ initialDelay: 1000, jitter: 0.25 });
  assert.equal(backoffDelay(options, 1, 0), 1000);
  assert.equal(backoffDelay(options, 1, 0.5), 875);
  assert.equal(backoffDelay(options, 1, 0.999_999), 750);
  assert.equal(backoffDelay(options, 2, 0.5), 1750);
});

test('settings that make no sense are refused with the name of the setting', () => {
  assert.throws(() => resolveReconnectOptions({ initialDelay: -1 }), /reconnect\.initialDelay/);
  assert.throws(() => resolveReconnectOptions({ maxDelay: Number.NaN }), /reconnect\.maxDelay/);
  assert.throws(() => resolveReconnectOptions({ factor: 0.5 }), /reconnect\.factor must be ≥ 1/);
  assert.throws(() => resolveReconnectOptions({ jitter: 1.5 }), /reconnect\.jitter/);
  assert.throws(() => resolveReconnectOptions({ maxRetries: -3 }), /reconnect\.maxRetries/);
  assert.doesNotThrow(() => resolveReconnectOptions({ initialDelay: 0, jitter: 1, maxRetries: 0 }));
});

test('no wait passes the longest delay a timer keeps (2³¹ − 1 ms), which would fire at once: maxDelay Infinity grows to it and stays', () => {
  const options = resolveReconnectOptions({ maxDelay: Infinity, jitter: 0 });
  const waits = [1, 24, 25, 26, 200].map((retry) => backoffDelay(options, retry, 0));
  assert.deepEqual(waits, [250, 250 * 2 ** 23, 2_147_483_647, 2_147_483_647, 2_147_483_647]);
});

test('an initial delay of 0 stays 0 however many the retries (never 0 × Infinity)', () => {
  const options = resolveReconnectOptions({ initialDelay: 0, jitter: 0 });
  assert.deepEqual([1, 1024, 1025, 5000].map((retry) => backoffDelay(options, retry, 0)), [0, 0, 0, 0]);
});
