/**
 * `peer.ping()`: a ping whose pong resolves it with the round trip (RFC 6455 §5.5.2,
 * §5.5.3), over loopback — against our own peers, and against a raw server that answers
 * pings as the test says, to pin which pong answers which ping.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { bind, connect, ConnectionClosedError, TimeoutError, UsageError } from '../../src/index.ts';
import { clientOverRawServer, defer, LOCALHOST, settlesWithin, within } from './helpers.ts';

/** A pong as a server sends it: unmasked, final. */
const serverPong = (payload: string): Buffer => Buffer.concat([Buffer.from([0x8a, Buffer.byteLength(payload)]), Buffer.from(payload)]);

test('ping() resolves with the round trip once the pong comes, from either side, several at once', async (t) => {
  const bound = await bind(`ws://${LOCALHOST}:0/`);
  defer(t, () => bound.close(500));
  const client = await connect(bound.url);
  defer(t, () => client.close());
  const serverPeer = await bound.accept(2000);
  const [first, second, named] = await within(Promise.all([client.ping(), client.ping(), serverPeer.ping('from the server')]), 2000, 'the pongs');
  for (const rtt of [first, second, named]) assert.ok(typeof rtt === 'number' && rtt >= 0 && rtt < 2000, `round trip ${rtt}`);
  // Messages still flow around the pings.
  await client.write('after the pings');
  assert.equal((await serverPeer.read(2000))?.data, 'after the pings');
});

test('a pong answers the ping whose payload it carries and every earlier one (§5.5.3); an unsolicited pong, or one to another payload, answers none', async (t) => {
  const { client, serverSocket } = await clientOverRawServer(t);
  serverSocket.resume(); // the pings are read and ignored: the test answers them itself
  const a = client.ping('a');
  const b = client.ping('b');
  const c = client.ping('c');
  serverSocket.write(serverPong('unsolicited'));
  assert.equal(await settlesWithin(a, 200), false, 'an unsolicited pong answers nothing');
  serverSocket.write(serverPong('b'));
  assert.equal(await settlesWithin(Promise.all([a, b]), 2000), true, 'the pong to b answers a and b');
  assert.equal(await settlesWithin(c, 200), false, 'c was sent after b: not answered');
  serverSocket.write(serverPong('c'));
  assert.ok((await within(c, 2000, 'c')) >= 0);
});

test('ping() with a timeout rejects with a TimeoutError and leaves the connection open; a ping still waiting when the socket closes rejects with ConnectionClosedError', async (t) => {
  const { client, serverSocket } = await clientOverRawServer(t);
  serverSocket.resume();
  await assert.rejects(client.ping('never answered', 100), (error: unknown) => error instanceof TimeoutError && /ping timed out after 100 ms/.test(error.message));
  assert.equal(client.state, 'OPEN');
  const waiting = client.ping('still waiting');
  serverSocket.destroy();
  await assert.rejects(within(waiting, 2000, 'the rejection'), ConnectionClosedError);
  await assert.rejects(client.ping(), ConnectionClosedError);
});

test('ping() refuses a payload over 125 bytes (§5.5) or of the wrong type, and a negative timeout, before anything is sent', async (t) => {
  const { client } = await clientOverRawServer(t);
  await assert.rejects(client.ping('x'.repeat(126)), (error: unknown) => error instanceof UsageError && error.code === 'WS_ERR_CONTROL_PAYLOAD_TOO_LONG');
  await assert.rejects(client.ping(42 as unknown as string), (error: unknown) => error instanceof UsageError && error.code === 'WS_ERR_INVALID_ARGUMENT');
  await assert.rejects(client.ping('x', -1), RangeError);
  assert.equal(client.bufferedAmount, 0);
});

test('PingWaiters: a pong to another ping sent later (the heartbeat\'s, a ping frame written) answers the ping() before it; one to an earlier other ping does not (§5.5.3)', async () => {
  const { PingWaiters } = await import('../../src/peer/pings.ts');
  const waiters = new PingWaiters();
  const empty = new Uint8Array(0);
  waiters.sentOther(empty); // no ping() waits: not noted
  const mine = waiters.add(Uint8Array.of(1), undefined);
  waiters.sentOther(empty); // the heartbeat's, after mine
  waiters.pong(Uint8Array.of(9)); // answers nothing
  assert.equal(await settlesWithin(mine, 50), false);
  waiters.pong(empty); // the heartbeat's pong: mine was sent before it
  assert.ok((await within(mine, 1000, 'mine')) >= 0);
  // An empty ping() of ours after a heartbeat ping: the heartbeat's pong comes first and is not ours.
  waiters.add(Uint8Array.of(2), undefined).catch(() => {}); // keeps the list noting others
  waiters.sentOther(empty);
  const emptyMine = waiters.add(empty, undefined);
  waiters.pong(empty);
  assert.equal(await settlesWithin(emptyMine, 50), false, 'the first empty pong answers the heartbeat ping, sent first');
  waiters.pong(empty);
  assert.ok((await within(emptyMine, 1000, 'the empty ping')) >= 0);
});
