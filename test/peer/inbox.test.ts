/**
 * The inbox's queue: first in, first out through any mix of pushes and takes (long enough
 * to cut taken places off its head), and what its messages count for the high-water mark.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';

import { Inbox, QUEUED_MESSAGE_COST } from '../../src/peer/inbox.ts';
import { ReceivedMessage } from '../../src/peer/message.ts';

const message = (size: number): ReceivedMessage => ReceivedMessage.of(2, true, new Uint8Array(size), false, null);

test('messages come out in the order they went in, and bytes count each payload plus its cost, through thousands of pushes and takes', () => {
  // Runs of pushes and takes: thousands in a row, so that the head is cut off mid-queue.
  const runs = fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 3000 }), fc.integer({ min: 0, max: 40 })), { minLength: 1, maxLength: 12 });
  fc.assert(
    fc.property(runs, (steps) => {
      const inbox = new Inbox();
      const model: ReceivedMessage[] = [];
      for (const [pushing, count, size] of steps) {
        for (let i = 0; i < count; i++) {
          if (pushing) {
            const each = message((size + i) % 41);
            inbox.push(each);
            model.push(each);
          } else {
            assert.equal(inbox.shift(), model.shift());
          }
        }
        assert.equal(inbox.length, model.length);
        assert.equal(inbox.bytes, model.reduce((sum, each) => sum + each.size + QUEUED_MESSAGE_COST, 0));
      }
      while (model.length > 0) assert.equal(inbox.shift(), model.shift());
      assert.equal(inbox.shift(), undefined);
      assert.equal(inbox.bytes, 0);
    }),
    { numRuns: 200 },
  );
});

test('an empty message counts for its cost: a flood of them reaches the high-water mark', () => {
  const inbox = new Inbox();
  for (let i = 0; i < 1000; i++) inbox.push(message(0));
  assert.equal(inbox.bytes, 1000 * QUEUED_MESSAGE_COST);
});

test('a message pushed while a read waits goes to it and counts nothing', async () => {
  const inbox = new Inbox();
  const waiting = inbox.wait(undefined);
  const sent = message(10);
  inbox.push(sent);
  assert.equal(await waiting, sent);
  assert.equal(inbox.length, 0);
  assert.equal(inbox.bytes, 0);
});
