/**
 * The inbox's queue: first in, first out through any mix of pushes and takes (long enough
 * to cut taken places off its head), and what its messages count for the high-water mark;
 * and when a peer makes its inbox (only once a message or a read needs it).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';

import { Inbox, QUEUED_MESSAGE_COST } from '../../src/peer/inbox.ts';
import { ReceivedMessage, type Received } from '../../src/peer/message.ts';
import type { Peer } from '../../src/peer/peer.ts';
import { acceptRawClient, clientFrame, waitFor, within } from './helpers.ts';

const message = (size: number): Received => ReceivedMessage.of(2, true, new Uint8Array(size), false, null);

test('messages come out in the order they went in, and bytes count each payload plus its cost, through thousands of pushes and takes', () => {
  // Runs of pushes and takes: thousands in a row, so that the head is cut off mid-queue.
  const runs = fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 3000 }), fc.integer({ min: 0, max: 40 })), { minLength: 1, maxLength: 12, size: 'max' });
  fc.assert(
    fc.property(runs, (steps) => {
      const inbox = new Inbox();
      const model: Received[] = [];
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

test('a queue that never empties (a reader always one behind) keeps its array bounded: the read part is cut off as it grows', () => {
  const inbox = new Inbox();
  inbox.push(message(10)); // one always waits
  for (let i = 0; i < 100_000; i++) {
    inbox.push(message(10));
    inbox.shift();
  }
  assert.equal(inbox.length, 1);
  // The array itself (private): a slot kept per message ever read would be a leak under steady load.
  const slots = (inbox as unknown as { queue: unknown[] }).queue.length;
  assert.ok(slots < 4096, `${slots} slots for 1 message`);
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

/** The peer's inbox if it has made one (it is internal, and made when first needed). */
function inboxOf(peer: Peer): Inbox | null {
  return (peer as unknown as { receiver: { madeInbox: Inbox | null } }).receiver.madeInbox;
}

test('a peer whose messages all go to its callback makes no inbox; one first needed after the close starts closed', async (t) => {
  const { peer, socket } = await acceptRawClient(t);
  const seen: unknown[] = [];
  peer.onMessage((received) => void seen.push(received.data));
  socket.write(Buffer.concat(['a', 'b', 'c'].map((text) => clientFrame(1, text))));
  await waitFor(() => seen.length === 3, 2000, 'three messages to the callback');
  assert.deepEqual(seen, ['a', 'b', 'c']);
  assert.equal(inboxOf(peer), null);

  socket.destroy();
  await waitFor(() => peer.closed, 2000, 'the peer to see its socket close');
  assert.equal(inboxOf(peer), null);
  // Each of these makes the inbox now: closed already, nothing waits on it.
  assert.equal(await within(peer.read(), 1000, 'read after the close'), null);
  await within(peer.whenClosed(), 1000, 'whenClosed after the close');
  const iterator = peer[Symbol.asyncIterator]();
  assert.deepEqual(await within(iterator.next(), 1000, 'a loop step after the close'), { done: true, value: undefined });
  assert.equal(inboxOf(peer)?.isClosed, true);
});

test('a read waiting with no inbox made yet makes it, and gets the next message', async (t) => {
  const { peer, socket } = await acceptRawClient(t);
  assert.equal(inboxOf(peer), null);
  const waiting = peer.read(2000);
  assert.notEqual(inboxOf(peer), null);
  socket.write(clientFrame(2, 'x'));
  const received = await waiting;
  assert.deepEqual(Buffer.from(received!.data as Uint8Array), Buffer.from('x'));
  socket.write(clientFrame(1, 'queued'));
  await waitFor(() => inboxOf(peer)?.length === 1, 2000, 'a message queued unread');
  assert.equal((await peer.read(1000))?.data, 'queued');
});

test('a loop that gives up on its waiting step (return() while next() waits) withdraws that step only: a read waiting beside it still gets the next message', async (t) => {
  const { peer, socket } = await acceptRawClient(t);
  const read = peer.read(3000); // waits first
  const iterator = peer[Symbol.asyncIterator]();
  const step = iterator.next(); // waits second
  await iterator.return!();
  assert.deepEqual(await within(step, 1000, 'the withdrawn step'), { done: true, value: undefined });
  socket.write(clientFrame(1, 'for the read'));
  assert.equal((await within(read, 2000, 'the read'))?.data, 'for the read');
});
