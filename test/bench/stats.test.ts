/**
 * The runner's turn order: over a full cycle of rounds each subject takes every place in
 * the round equally often and follows every other subject equally often, so that no subject
 * is measured in a favoured place or always after the same neighbour.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { turnOrder } from '../../bench/lib/stats.ts';

/** Rounds in a full cycle of the design: as many as subjects, twice that for an odd count. */
const cycleOf = (count: number): number => (count % 2 === 0 ? count : 2 * count);

for (const count of [2, 3, 5, 6, 7]) {
  test(`${count} subjects: each round is a permutation, and over a cycle every place and every predecessor comes equally often`, () => {
    const subjects = Array.from({ length: count }, (_, i) => `s${i}`);
    const rounds = Array.from({ length: cycleOf(count) }, (_, round) => turnOrder(subjects, round));
    const places = new Map<string, number>();
    const pairs = new Map<string, number>();
    for (const order of rounds) {
      assert.deepEqual([...order].sort(), [...subjects].sort(), `round ${order.join(' ')}`);
      order.forEach((subject, place) => places.set(`${subject}@${place}`, (places.get(`${subject}@${place}`) ?? 0) + 1));
      for (let i = 1; i < order.length; i++) pairs.set(`${order[i - 1]}>${order[i]}`, (pairs.get(`${order[i - 1]}>${order[i]}`) ?? 0) + 1);
    }
    const timesInPlace = cycleOf(count) / count;
    assert.equal(places.size, count * count, 'every subject in every place');
    for (const [key, times] of places) assert.equal(times, timesInPlace, key);
    assert.equal(pairs.size, count * (count - 1), 'every subject after every other');
    const timesAfter = (cycleOf(count) * (count - 1)) / (count * (count - 1));
    for (const [key, times] of pairs) assert.equal(times, timesAfter, key);
  });
}

test('the design repeats after a cycle, leaves its input as it was, and has no turns for no subjects', () => {
  const subjects = ['ws', 'ws-addons', 'uws', 'raw', 'wspeer', 'wspeer-lent'];
  assert.deepEqual(turnOrder(subjects, 0), ['ws', 'ws-addons', 'wspeer-lent', 'uws', 'wspeer', 'raw']);
  assert.deepEqual(turnOrder(subjects, 7), turnOrder(subjects, 1));
  assert.deepEqual(subjects, ['ws', 'ws-addons', 'uws', 'raw', 'wspeer', 'wspeer-lent']);
  assert.deepEqual(turnOrder([], 3), []);
});
