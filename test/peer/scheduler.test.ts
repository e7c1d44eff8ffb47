/**
 * The shared flush scheduler: every target queued in a tick is flushed once, in order, at its
 * end; work queued while flushing is picked up in the same pass; a target whose flush throws
 * does not keep the others from being written.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { scheduleFlush, startHeartbeat, stopHeartbeat, type Flushable } from '../../src/peer/scheduler.ts';

function recorder(log: string[], name: string, onFlush?: () => void): Flushable {
  return {
    flushQueued: false,
    flush() {
      log.push(name);
      onFlush?.();
    },
  };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('targets queued in one tick are flushed once each, in order, after the synchronous code', async () => {
  const log: string[] = [];
  const a = recorder(log, 'a');
  const b = recorder(log, 'b');
  scheduleFlush(a);
  scheduleFlush(b);
  scheduleFlush(a);
  assert.deepEqual(log, []);
  await tick();
  assert.deepEqual(log, ['a', 'b']);
  assert.equal(a.flushQueued, false);
});

test('a target queued by a flush is flushed in the same pass, and the next tick starts afresh', async () => {
  const log: string[] = [];
  const later = recorder(log, 'later');
  const first = recorder(log, 'first', () => scheduleFlush(later));
  scheduleFlush(first);
  await tick();
  assert.deepEqual(log, ['first', 'later']);
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 40; i++) scheduleFlush(recorder(log, `r${round}.${i}`));
    await tick();
  }
  assert.equal(log.length, 2 + 3 * 40);
  assert.equal(log.at(-1), 'r2.39');
});

test('a flush that throws surfaces as an uncaught error and the other targets are still flushed', () => {
  const fixture = fileURLToPath(new URL('../fixtures/throwing-flush.ts', import.meta.url));
  const run = spawnSync(process.execPath, ['--import', 'tsx', fixture], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(run.status, 0, run.stderr);
  assert.deepEqual(run.stdout.trim().split('\n'), ['flush a', 'flush b', 'uncaught b failed', 'flush c', 'flush d']);
});

test('a period\'s shared heartbeat timer goes with its last member: one that joins later waits a whole period for its first beat', async () => {
  const period = 200;
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
  const first = startHeartbeat({ beat() {} }, period);
  await sleep(60);
  stopHeartbeat(first); // the last member: its timer must go (a kept one would tick at 200, 400, …)
  await sleep(240);
  const keepAlive = setTimeout(() => {}, 5000); // heartbeat timers are unref'd: they keep no process alive
  const joined = performance.now();
  const firstBeat = await new Promise<number>((resolve) => {
    const membership = startHeartbeat({ beat: () => (stopHeartbeat(membership), resolve(performance.now() - joined)) }, period);
  });
  clearTimeout(keepAlive);
  // Timers fire late, never early: a beat at the old timer's phase would come some 100 ms after joining.
  assert.ok(firstBeat >= period - 20, `first beat ${Math.round(firstBeat)} ms after joining, period ${period} ms`);
});
