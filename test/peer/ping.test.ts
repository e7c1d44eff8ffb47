/**
 * `peer.ping()`: a ping whose pong resolves it with the round trip (RFC 6455 §5.5.2,
 * §5.5.3), over loopback — against our own peers, and against a raw server that answers
 * pings as the test says, to pin which pong answers which ping. And `onPing` / `onPong`,
 * which tell the application of the control frames that come.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { bind, connect, ConnectionClosedError, TimeoutError, UsageError } from '../../src/index.ts';
import { acceptRawClient, clientFrame, clientOverRawServer, closeCodeOf, defer, FrameReader, LOCALHOST, settlesWithin, sleep, waitFor, within } from './helpers.ts';

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

test('ping() with bytes sends them as they were at the call (the caller may reuse its array), and their pong answers it (§5.5.2)', async (t) => {
  const { peer, socket, rest } = await acceptRawClient(t);
  const frames = new FrameReader(socket, rest);
  const payload = Uint8Array.of(1, 2, 3);
  const answered = peer.ping(payload);
  payload.fill(9);
  const ping = await frames.next();
  assert.deepEqual([ping.opcode, [...ping.payload]], [0x9, [1, 2, 3]]);
  socket.write(clientFrame(0xa, Buffer.from([1, 2, 3])));
  assert.ok((await within(answered, 2000, 'the pong')) >= 0);
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

test('RFC 6455 §5.5.3: a pong to a ping frame written later answers a waiting ping(); so does one to the heartbeat\'s ping', async (t) => {
  // The raw client answers only the latest ping, as §5.5.3 allows.
  const { peer, socket, rest } = await acceptRawClient(t);
  const frames = new FrameReader(socket, rest);
  const waiting = peer.ping('a');
  peer.send({ opcode: 9, data: 'b' });
  assert.deepEqual([(await frames.next()).payload.toString(), (await frames.next()).payload.toString()], ['a', 'b']);
  socket.write(clientFrame(0xa, 'b'));
  assert.ok((await within(waiting, 2000, 'the ping answered through the written one')) >= 0);

  const beating = await acceptRawClient(t, { pingFrequency: 50 });
  const beats = new FrameReader(beating.socket, beating.rest);
  const beforeBeat = beating.peer.ping('c');
  assert.equal((await beats.next()).payload.toString(), 'c');
  // The heartbeat's ping carries no payload: answering it alone answers 'c', sent before it.
  let beat = await beats.next();
  while (beat.opcode !== 0x9 || beat.payload.length !== 0) beat = await beats.next();
  beating.socket.write(clientFrame(0xa));
  assert.ok((await within(beforeBeat, 2000, 'the ping answered through the heartbeat\'s')) >= 0);
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

test('onPing is told of each ping with a payload of its own, its pong already queued (§5.5.2), however the frame is cut', async (t) => {
  const { peer, socket, rest } = await acceptRawClient(t);
  const frames = new FrameReader(socket, rest);
  const seen: Buffer[] = [];
  peer.onPing((data) => {
    seen.push(data);
  });
  // Byte by byte, a pause after each so that they come in reads of their own: a ping split
  // across reads is assembled in a buffer the parser reuses.
  for (const payload of ['first', 'second']) {
    for (const byte of clientFrame(0x9, payload)) {
      socket.write(Buffer.of(byte));
      await sleep(2);
    }
    const pong = await frames.next();
    assert.deepEqual([pong.opcode, pong.payload.toString()], [0xa, payload]);
  }
  socket.write(clientFrame(0x9));
  await frames.next();
  await waitFor(() => seen.length === 3, 2000, 'three pings seen');
  assert.deepEqual(seen.map((data) => [Buffer.isBuffer(data), data.toString()]), [[true, 'first'], [true, 'second'], [true, '']]);
  peer.onPing(null);
  socket.write(clientFrame(0x9, 'unseen'));
  assert.equal((await frames.next()).payload.toString(), 'unseen');
  assert.equal(seen.length, 3);
});

test('onPong is told of every pong, the answers to ping() and unsolicited ones (§5.5.3)', async (t) => {
  const { client, serverSocket } = await clientOverRawServer(t);
  serverSocket.resume();
  const seen: string[] = [];
  client.onPong((data) => {
    seen.push(data.toString());
  });
  const answered = client.ping('asked');
  serverSocket.write(serverPong('unasked'));
  serverSocket.write(serverPong('asked'));
  await within(answered, 2000, 'the pong');
  await waitFor(() => seen.length === 2, 2000, 'two pongs seen');
  assert.deepEqual(seen, ['unasked', 'asked']);
});

test('an onPing that throws, or an onPong whose promise rejects, closes the connection with 1011 and goes to onError', async (t) => {
  for (const which of ['ping', 'pong'] as const) {
    const errors: unknown[] = [];
    const { peer, socket, rest } = await acceptRawClient(t, { onError: (error) => errors.push(error) });
    const frames = new FrameReader(socket, rest);
    const failure = new Error(`${which} callback failed`);
    if (which === 'ping') {
      peer.onPing(() => {
        throw failure;
      });
    } else {
      peer.onPong(() => Promise.reject(failure));
    }
    socket.write(clientFrame(which === 'ping' ? 0x9 : 0xa, 'x'));
    let frame = await frames.next();
    if (which === 'ping') frame = await frames.next(); // its pong went first
    assert.deepEqual([frame.opcode, closeCodeOf(frame.payload)], [0x8, 1011], which);
    await waitFor(() => errors.length === 1, 2000, 'onError');
    assert.equal(errors[0], failure);
  }
});

test('onPing and onPong take a function or null', async (t) => {
  const { client } = await clientOverRawServer(t);
  assert.throws(() => client.onPing('no' as unknown as () => void), /onPing takes a function or null, got string/);
  assert.throws(() => client.onPong(1 as unknown as () => void), /onPong takes a function or null, got number/);
});
