/**
 * The runner's turn order: over as many rounds as there are subjects, each subject takes
 * every place in the round exactly once, so no subject is measured in a favoured place.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { turnOrder } from '../../bench/lib/stats.ts';

test('each round starts one subject later than the one before', () => {
  const subjects = ['a', 'b', 'c', 'd'];
  assert.deepEqual(turnOrder(subjects, 0), ['a', 'b', 'c', 'd']);
  assert.deepEqual(turnOrder(subjects, 1), ['b', 'c', 'd', 'a']);
  assert.deepEqual(turnOrder(subjects, 5), ['b', 'c', 'd', 'a']);
});

test('over as many rounds as subjects, every subject takes every place once', () => {
  const subjects = ['ws', 'ws-addons', 'uws', 'raw', 'wspeer', 'wspeer-lent'];
  for (let place = 0; place < subjects.length; place++) {
    const takers = subjects.map((_, round) => turnOrder(subjects, round)[place]);
    assert.deepEqual([...takers].sort(), [...subjects].sort(), `place ${place}`);
  }
  assert.deepEqual(subjects, ['ws', 'ws-addons', 'uws', 'raw', 'wspeer', 'wspeer-lent'], 'the input is left as it was');
});

test('no subjects, no turns', () => {
  assert.deepEqual(turnOrder([], 3), []);
});
