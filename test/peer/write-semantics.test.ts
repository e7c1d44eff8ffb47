/**
 * What `write`, `broadcast`, the close reply and per-call timeouts promise, over loopback:
 * a buffer may be reused once `write` resolves; a write the socket never wrote fails; one
 * peer cannot stop a broadcast; async callbacks answer before the close reply (§5.5.1); and
 * timeouts past what a timer keeps mean no timeout rather than an immediate one.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test, type TestContext } from 'node:test';

import { bind, connect, ConnectionClosedError, server, UsageError, type OutgoingFrame, type Peer, type Writable } from '../../src/index.ts';
import { acceptRawClient, clientFrame, clientOverRawServer, closeCodeOf, defer, FrameReader, LOCALHOST, portOf, rawUpgrade, settlesWithin, sleep, waitFor, within } from './helpers.ts';

/** A server peer and our client to it. */
async function pair(t: TestContext, options: Parameters<typeof bind>[1] = {}): Promise<{ serverPeer: Peer; client: Peer }> {
  const bound = await bind(`ws://${LOCALHOST}:0/`, options);
  defer(t, () => bound.close(500));
  const client = await connect(bound.url);
  defer(t, () => client.close());
  return { serverPeer: await bound.accept(2000), client };
}

test('a buffer written by a server may be reused as soon as write resolves: what goes out is what it held then', async (t) => {
  const { serverPeer, client } = await pair(t);
  // 8 KiB: long enough that the writer would queue it by reference rather than copy it.
  const buffer = Buffer.alloc(8192);
  for (let i = 0; i < 3; i++) {
    buffer.fill(0x41 + i);
    await serverPeer.write(buffer);
    buffer.fill(0x7a);
  }
  for (let i = 0; i < 3; i++) {
    const data = (await client.read(2000))!.data as Uint8Array;
    assert.ok(data.every((byte) => byte === 0x41 + i), `message ${i} changed after write resolved`);
  }
});

test('so may the buffer of a frame written as { opcode, fin, data }', async (t) => {
  const { serverPeer, client } = await pair(t);
  const buffer = Buffer.alloc(8192);
  for (let i = 0; i < 3; i++) {
    buffer.fill(0x41 + i);
    await serverPeer.write({ opcode: 2, fin: true, data: buffer });
    buffer.fill(0x7a);
  }
  for (let i = 0; i < 3; i++) {
    const data = (await client.read(2000))!.data as Uint8Array;
    assert.ok(data.every((byte) => byte === 0x41 + i), `frame ${i} changed after write resolved`);
  }
});

test('a write waiting for the socket fails with ConnectionClosedError when the socket goes with its bytes unsent', async (t) => {
  const { serverPeer, client } = await pair(t, { highWaterMark: 64 * 1024 });
  client.socket.pause(); // it never reads: the write stays over the mark
  const pending = serverPeer.write(new Uint8Array(8 * 1024 * 1024));
  assert.equal(await settlesWithin(pending, 100), false);
  client.socket.destroy();
  await assert.rejects(within(pending, 2000, 'the write settles'), { name: 'ConnectionClosedError', closeCode: 1006, closeReason: '' });
});

test('broadcast reaches every other peer when one is halfway through a fragmented message of its own, and does not count it', async (t) => {
  const peers: Peer[] = [];
  const instance = await server(`ws://${LOCALHOST}:0/`, (peer) => void peers.push(peer));
  defer(t, () => instance.close(500));
  const clients = [await connect(instance.url), await connect(instance.url), await connect(instance.url)];
  defer(t, () => clients.forEach((client) => client.close()));
  await waitFor(() => peers.length === 3, 2000, 'three peers');
  await peers[1]!.write({ opcode: 1, fin: false, data: 'half ' });
  assert.equal(instance.broadcast('to all'), 2);
  // Peers are made in the order the clients connected: the second is the one skipped.
  for (const client of [clients[0]!, clients[2]!]) assert.equal((await client.read(2000))?.data, 'to all');
});

test('an async onMessage callback replies to the messages before the close, and its replies go before the close reply (§5.5.1)', async (t) => {
  const instance = await server(`ws://${LOCALHOST}:0/`, (peer) => {
    peer.onMessage(async (message) => {
      await null;
      peer.send(`echo:${String(message.data)}`);
    });
  });
  defer(t, () => instance.close(500));
  const client = await connect(instance.url);
  defer(t, () => client.close());
  await client.write('a');
  await client.write('b');
  const closed = client.shutdown(1000, '', 2000);
  const replies: string[] = [];
  for (let message = await client.read(2000); message !== null; message = await client.read(2000)) replies.push(String(message.data));
  assert.deepEqual(replies, ['echo:a', 'echo:b']);
  assert.equal(await closed, true);
});

for (const shape of ['for await', 'async onMessage'] as const) {
  test(`a slow ${shape} handler's reply to the last message before the close still goes before the close reply (§5.5.1)`, async (t) => {
    const answer = async (peer: Peer, data: unknown): Promise<void> => {
      await sleep(60); // a database call, say: the close frame arrives meanwhile
      peer.send(`echo:${String(data)}`);
    };
    const instance = await server(`ws://${LOCALHOST}:0/`, async (peer) => {
      if (shape === 'async onMessage') return peer.onMessage((message) => answer(peer, message.data));
      for await (const message of peer) await answer(peer, message.data);
    });
    defer(t, () => instance.close(500));
    const { socket, rest } = await rawUpgrade(portOf(instance));
    defer(t, () => socket.destroy());
    const frames = new FrameReader(socket, rest);
    socket.write(Buffer.concat([clientFrame(1, 'a'), clientFrame(1, 'b'), clientFrame(8, Buffer.from([0x03, 0xe8]))]));
    const received: string[] = [];
    for (let frame = await frames.next(); ; frame = await frames.next()) {
      if (frame.opcode === 8) {
        received.push(`close ${closeCodeOf(frame.payload)}`);
        break;
      }
      received.push(frame.payload.toString());
    }
    assert.deepEqual(received, ['echo:a', 'echo:b', 'close 1000']);
  });
}

test('a for await body that never finishes holds the close reply for half of closeTimeout at most', async (t) => {
  const instance = await server(
    `ws://${LOCALHOST}:0/`,
    async (peer) => {
      for await (const message of peer) {
        void message;
        await new Promise(() => {}); // never settles
      }
    },
    { closeTimeout: 600 },
  );
  defer(t, () => instance.close(500));
  const { socket, rest } = await rawUpgrade(portOf(instance));
  defer(t, () => socket.destroy());
  const frames = new FrameReader(socket, rest);
  const started = performance.now();
  socket.write(Buffer.concat([clientFrame(1, 'a'), clientFrame(8, Buffer.from([0x03, 0xe8]))]));
  const close = await within(frames.next(), 3000, 'the close reply');
  const waited = performance.now() - started;
  assert.deepEqual([close.opcode, closeCodeOf(close.payload)], [8, 1000]);
  assert.ok(waited >= 280, `answered after ${waited.toFixed(0)} ms, before the handler or the deadline`);
});

test('two loop steps asked for at once count as one body: once the loop asks for its next step, the close reply goes at once (§5.5.1)', async (t) => {
  const instance = await server(`ws://${LOCALHOST}:0/`, async (peer) => {
    const iterator = peer[Symbol.asyncIterator]();
    await Promise.all([iterator.next(), iterator.next()]); // two steps waiting at once, each given a message
    await sleep(100);
    await iterator.next(); // the body is done: nothing holds the reply any more
  }, { closeTimeout: 8000 });
  defer(t, () => instance.close(500));
  const client = await connect(instance.url);
  defer(t, () => client.close());
  await sleep(100); // both steps wait before the messages come
  await client.write('one');
  await client.write('two');
  await sleep(400); // the loop waits on its next step by now
  const started = performance.now();
  assert.equal(await within(client.shutdown(1000, 'bye', 10_000), 10_000, 'shutdown'), true);
  const waited = performance.now() - started;
  assert.ok(waited < 2000, `the close reply came after ${Math.round(waited)} ms: held as if a body were still running (half of closeTimeout is 4000)`);
});

test('a for await body that reads more while the close frame has come (nothing more can) does not hold the close reply', async (t) => {
  const instance = await server(
    `ws://${LOCALHOST}:0/`,
    async (peer) => {
      for await (const message of peer) {
        void message;
        await peer.read(); // within the body: more of the same request, say
      }
    },
    { closeTimeout: 20_000 },
  );
  defer(t, () => instance.close(500));
  const { socket, rest } = await rawUpgrade(portOf(instance));
  defer(t, () => socket.destroy());
  const frames = new FrameReader(socket, rest);
  socket.write(Buffer.concat([clientFrame(1, 'a'), clientFrame(8, Buffer.from([0x03, 0xe8]))]));
  // Held, the answer would come after 10 s.
  const close = await within(frames.next(), 3000, 'the close reply');
  assert.deepEqual([close.opcode, closeCodeOf(close.payload)], [8, 1000]);
});

test('a for await step abandoned to a race does not take the next message, nor does a later step of the ended loop, nor hold the close reply', async (t) => {
  const { serverPeer, client } = await pair(t, { closeTimeout: 20_000 });
  const iterator = serverPeer[Symbol.asyncIterator]();
  const abandoned = iterator.next();
  await iterator.return!();
  await client.write('after');
  assert.deepEqual(await within(abandoned, 2000, 'the abandoned step'), { done: true, value: undefined });
  await waitFor(() => serverPeer.unread === 1, 2000, 'the message');
  // The iteration has ended: a later step of it takes nothing either.
  assert.deepEqual(await iterator.next(), { done: true, value: undefined });
  assert.equal((await within(serverPeer.read(), 2000, 'the message, put back'))?.data, 'after');
  assert.equal(await within(client.shutdown(1000, '', 3000), 4000, 'a clean close, not held'), true);
});

test('after a for await step abandoned to a race, messages go to the next reads in order, and one that came with the close frame still holds the close reply until read', async (t) => {
  for (const withClose of [false, true]) {
    const got: string[] = [];
    let finished!: () => void;
    const done = new Promise<void>((resolve) => (finished = resolve));
    const instance = await server(
      `ws://${LOCALHOST}:0/`,
      async (peer) => {
        const iterator = peer[Symbol.asyncIterator]();
        assert.equal(await Promise.race([iterator.next(), sleep(50).then(() => 'timed out')]), 'timed out');
        await iterator.return!();
        if (withClose) await sleep(200); // the message and the close frame arrive meanwhile
        for (let message = await peer.read(); message !== null; message = await peer.read()) {
          got.push(String(message.data));
          peer.send(`echo:${String(message.data)}`);
        }
        finished();
      },
      { closeTimeout: 10_000 },
    );
    defer(t, () => instance.close(500));
    const { socket, rest } = await rawUpgrade(portOf(instance));
    defer(t, () => socket.destroy());
    const frames = new FrameReader(socket, rest);
    await sleep(120); // the step has been abandoned
    const close = clientFrame(8, Buffer.from([0x03, 0xe8]));
    socket.write(Buffer.concat(withClose ? [clientFrame(1, 'a'), close] : [clientFrame(1, 'first'), clientFrame(1, 'second'), close]));
    const expected = withClose ? ['a'] : ['first', 'second'];
    for (const data of expected) assert.equal((await within(frames.next(), 3000, 'an echo')).payload.toString(), `echo:${data}`);
    assert.equal((await within(frames.next(), 3000, 'the close reply')).opcode, 8);
    await within(done, 3000, 'the reads');
    assert.deepEqual(got, expected);
  }
});

test('our client closing against a server whose handler outlasts closeTimeout still gets the close reply in time: a clean close, not 1006', async (t) => {
  const instance = await server(`ws://${LOCALHOST}:0/`, (peer) => peer.onMessage(() => new Promise<void>(() => {})), { closeTimeout: 800 });
  defer(t, () => instance.close(500));
  const client = await connect(instance.url, {}, { closeTimeout: 800 });
  defer(t, () => client.close());
  await client.write('never answered');
  assert.equal(await within(client.shutdown(), 3000, 'the shutdown'), true);
  assert.equal(client.closeCode, 1000);
});

test("a client that half-closes right after its close frame still gets the replies and the close reply, however late the handler reads (§5.5.1)", async (t) => {
  const instance = await server(`ws://${LOCALHOST}:0/`, async (peer) => {
    await sleep(100); // the client's close and FIN arrive meanwhile
    for await (const message of peer) await peer.write(`echo:${String(message.data)}`);
  });
  defer(t, () => instance.close(500));
  const { socket, rest } = await rawUpgrade(portOf(instance));
  defer(t, () => socket.destroy());
  const frames = new FrameReader(socket, rest);
  const ended = once(socket, 'end');
  socket.write(Buffer.concat([clientFrame(1, 'a'), clientFrame(1, 'b'), clientFrame(8, Buffer.from([0x03, 0xe8]))]));
  socket.end(); // our FIN: nothing more from this side, but it still reads

  const [first, second, close] = [await frames.next(), await frames.next(), await frames.next()];
  assert.deepEqual([first.payload.toString(), second.payload.toString()], ['echo:a', 'echo:b']);
  assert.deepEqual([close.opcode, closeCodeOf(close.payload)], [8, 1000]);
  await within(ended, 2000, "the server's FIN");
});

test("a client answers a server that sent a message, its close frame and its FIN before the client read, then closes at once (§5.5.1, §7.1.1)", async (t) => {
  const { client, serverSocket } = await clientOverRawServer(t, { closeTimeout: 10_000 });
  const received: Buffer[] = [];
  serverSocket.on('data', (chunk: Buffer) => received.push(chunk));
  const clientEnded = once(serverSocket, 'end');
  serverSocket.resume();
  // 'last', close 1000, then FIN: the close reply waits for the application to read 'last'.
  serverSocket.end(Buffer.from([0x81, 0x04, ...Buffer.from('last'), 0x88, 0x02, 0x03, 0xe8]));
  await sleep(100);
  assert.equal((await client.read(2000))?.data, 'last');

  await within(client.whenClosed(), 2000, 'the client closed, well before closeTimeout');
  await within(clientEnded, 2000, "the client's FIN, after its reply");
  const reply = Buffer.concat(received);
  // A masked close frame (§5.3) echoing 1000 (§5.5.1).
  assert.deepEqual([reply[0], reply[1], ((reply[6]! ^ reply[2]!) << 8) | (reply[7]! ^ reply[3]!)], [0x88, 0x82, 1000]);
  assert.equal(client.closeCode, 1000);
});

test('a per-call timeout past what a timer keeps (Infinity included) is no timeout; a negative one is refused', async (t) => {
  const bound = await bind(`ws://${LOCALHOST}:0/`);
  defer(t, () => bound.close(500));
  const waitingAccept = bound.accept(Infinity);
  const client = await connect(bound.url);
  defer(t, () => client.close());
  const serverPeer = await within(waitingAccept, 2000, 'accept(Infinity)');
  const reading = client.read(2 ** 31);
  assert.equal(await settlesWithin(reading, 100), false, 'read(2^31) fired at once');
  await serverPeer.write('late');
  assert.equal((await reading)?.data, 'late');
  await assert.rejects(client.read(-1), RangeError);
  await assert.rejects(client.read(Number.NaN), RangeError);
  await assert.rejects(serverPeer.write('x', -1), RangeError);
  await assert.rejects(serverPeer.shutdown(1000, '', -1), RangeError);
  assert.equal(serverPeer.state, 'OPEN', 'a refused shutdown sends nothing');
  assert.equal(await within(serverPeer.shutdown(1000, '', Infinity), 2000, 'shutdown(Infinity)'), true);
  await sleep(0);
});

test('write rejects with ConnectionClosedError, not a UsageError, once the peer failed the connection and lingers before closing TCP', async (t) => {
  const { peer, socket } = await acceptRawClient(t, { closeTimeout: 2000 });
  socket.allowHalfOpen = true; // it keeps its side open after the server's FIN
  socket.resume();
  socket.write(Buffer.from([0x81, 0x01, 0x61])); // unmasked: the server fails the connection (§5.1)
  await waitFor(() => peer.state === 'CLOSED', 2000, 'the failure');
  assert.equal(peer.closed, false, 'the socket lingers');
  await assert.rejects(peer.write('x'), ConnectionClosedError);
  assert.equal(peer.send('x'), 'dropped');
});

test('write rejects with ConnectionClosedError once our close frame is sent, as send answers dropped', async (t) => {
  const { serverPeer } = await pair(t);
  const closing = serverPeer.shutdown(1000, 'bye', 2000);
  assert.equal(serverPeer.state, 'CLOSING');
  await assert.rejects(serverPeer.write('after the close'), (error: unknown) => error instanceof ConnectionClosedError && /our side/.test(error.message));
  assert.equal(serverPeer.send('after the close'), 'dropped');
  assert.equal(await closing, true);
  // Once the connection has ended, the error says how, as the peer does: the client's answer.
  await assert.rejects(serverPeer.write('after the end'), { message: 'write: the connection is closed (close code 1000)', closeCode: 1000, closeReason: '' });
  await assert.rejects(serverPeer.ping(), { name: 'ConnectionClosedError', closeCode: 1000 });
});

test('ConnectionClosedError says how the connection ended: the other side\'s close code and reason', async (t) => {
  const { serverPeer, client } = await pair(t);
  assert.equal(await client.shutdown(4001, 'done for today', 2000), true);
  await waitFor(() => serverPeer.closed, 2000, 'the server side closed');
  await assert.rejects(serverPeer.write('late'), (error: unknown) => {
    assert.ok(error instanceof ConnectionClosedError);
    assert.equal(error.message, 'write: the connection is closed (close code 4001: "done for today")');
    assert.deepEqual([error.closeCode, error.closeReason], [4001, 'done for today']);
    return true;
  });
});

test('send, write and broadcast refuse what is neither text, bytes, a message nor a frame with a UsageError; write rejects rather than throws', async (t) => {
  const bound = await bind(`ws://${LOCALHOST}:0/`);
  defer(t, () => bound.close(500));
  const isInvalidArgument = (error: unknown): boolean => error instanceof UsageError && error.code === 'WS_ERR_INVALID_ARGUMENT';
  const untyped = (value: unknown): Writable => value as Writable;
  assert.throws(() => bound.broadcast(untyped(null)), isInvalidArgument, 'refused with no peer to send to');
  const client = await connect(bound.url);
  defer(t, () => client.close());
  const serverPeer = await bound.accept(2000);
  for (const value of [null, undefined, 42, new ArrayBuffer(4), { data: 'no opcode' }, { opcode: 8, data: 1000 }, { opcode: 2, data: [1, 2] }]) {
    assert.throws(() => serverPeer.send(untyped(value)), isInvalidArgument);
    assert.throws(() => bound.broadcast(untyped(value)), isInvalidArgument);
    let writing: Promise<number> | undefined;
    assert.doesNotThrow(() => (writing = serverPeer.write(untyped(value))));
    await assert.rejects(writing!, isInvalidArgument);
  }
  assert.equal(serverPeer.bufferedAmount, 0);
  await serverPeer.write('still open');
  assert.equal((await client.read(2000))?.data, 'still open');
});

test('§8.1: a text frame written as bytes that are not UTF-8 is refused with a UsageError, nothing sent, and the connection goes on', async (t) => {
  const { serverPeer, client } = await pair(t);
  await assert.rejects(serverPeer.write({ opcode: 1, data: Uint8Array.of(0x68, 0xff) }), { name: 'UsageError', code: 'WS_ERR_INVALID_UTF8' });
  assert.throws(() => serverPeer.send({ opcode: 1, data: Uint8Array.of(0xc3) }), { code: 'WS_ERR_INVALID_UTF8' });
  assert.equal(serverPeer.bufferedAmount, 0);
  await serverPeer.write({ opcode: 1, data: Uint8Array.of(0xc3), fin: false });
  await serverPeer.write({ opcode: 0, data: Uint8Array.of(0xa9) });
  assert.equal((await client.read(2000))?.data, 'é');
  assert.equal(serverPeer.state, 'OPEN');
});

test('a close frame written as a frame goes as its bytes say (§5.5.1); a string, one byte or a reason not in UTF-8 is refused and nothing is sent', async (t) => {
  const { serverPeer, client } = await pair(t);
  const isInvalidArgument = (error: unknown): boolean => error instanceof UsageError && error.code === 'WS_ERR_INVALID_ARGUMENT';
  // A string's first two characters are not taken for a code: '\x0f\xa0' would be 4000 as
  // bytes, and as UTF-8 (C2 A0 …) another code altogether.
  // The types refuse a string for a close frame and an opcode RFC 6455 does not define;
  // JavaScript callers (and casts) still get there, and are refused at run time.
  // @ts-expect-error a close frame's data is bytes
  assert.throws(() => serverPeer.send({ opcode: 8, data: 'bye' }), isInvalidArgument);
  for (const data of ['\x0f\xa0bye', Uint8Array.of(0x0f), Uint8Array.of(0x0f, 0xa0, 0xff, 0x62)]) {
    const frame = { opcode: 8, data } as unknown as OutgoingFrame;
    assert.throws(() => serverPeer.send(frame), (error) => isInvalidArgument(error) && /^send: a close frame's/.test((error as Error).message), String(data));
    await assert.rejects(serverPeer.write(frame), (error) => isInvalidArgument(error) && /^write: a close frame's/.test((error as Error).message), String(data));
  }
  // @ts-expect-error opcode 3 is reserved (§5.2)
  assert.throws(() => serverPeer.send({ opcode: 3, data: 'x' }), (error: unknown) => error instanceof UsageError && error.code === 'WS_ERR_INVALID_OPCODE' && /8 \(close\)/.test(error.message));
  assert.throws(() => serverPeer.send({ opcode: 1, fin: 'no' as unknown as boolean, data: 'x' }), isInvalidArgument);
  assert.equal(serverPeer.state, 'OPEN');
  assert.equal(serverPeer.bufferedAmount, 0);
  await serverPeer.write({ opcode: 8, data: Uint8Array.of(0x0f, 0xa0, ...Buffer.from('fin de séance')) });
  assert.equal(serverPeer.state, 'CLOSING');
  assert.equal(await client.read(2000), null);
  assert.equal(client.closeCode, 4000);
  assert.equal(client.closeReason, 'fin de séance');
});

test('RFC 6455 §5.5.1, §7.1.5: a close frame written without data goes with no code; the other side reads 1005 and answers with 1000', async (t) => {
  for (const frame of [{ opcode: 8 }, { opcode: 8, data: new Uint8Array(0) }] as const) {
    const { serverPeer, client } = await pair(t);
    await serverPeer.write(frame);
    assert.equal(serverPeer.state, 'CLOSING');
    assert.equal(await client.read(2000), null);
    assert.equal(client.closeCode, 1005);
    // The reply to a close without a code carries 1000 (normal): that is what this side reads.
    assert.equal(await within(serverPeer.whenClosed().then(() => serverPeer.closeCode), 2000, 'the close reply'), 1000);
  }
});

test('RFC 6455 §5.5.3: a pong written as a frame goes as a pong, unsolicited, with its payload; the connection goes on', async (t) => {
  const { serverPeer, client } = await pair(t);
  const pongs: string[] = [];
  client.onPong((payload) => void pongs.push(Buffer.from(payload).toString()));
  await serverPeer.write({ opcode: 10, data: 'heartbeat' });
  serverPeer.send({ opcode: 10 });
  await serverPeer.write('after');
  assert.equal((await client.read(2000))?.data, 'after');
  assert.deepEqual(pongs, ['heartbeat', '']);
});

test('after close() the peer is CLOSED at once, though its socket closes on a later tick: send answers dropped and write rejects', async (t) => {
  const { serverPeer, client } = await pair(t);
  serverPeer.close();
  assert.equal(serverPeer.state, 'CLOSED');
  assert.equal(serverPeer.send('lost'), 'dropped');
  await assert.rejects(serverPeer.write('lost'), ConnectionClosedError);
  assert.equal(await serverPeer.read(2000), null);
  assert.equal(serverPeer.closed, true);
  assert.equal(await client.read(2000), null);
  assert.equal(client.closeCode, 1006);
});

test('shutdown called many times waits on one timer and adds no listener to the socket', async (t) => {
  const { serverPeer } = await pair(t);
  const listeners = serverPeer.socket.listenerCount('close');
  const calls = Array.from({ length: 20 }, () => serverPeer.shutdown(1000, '', 5000));
  assert.equal(serverPeer.socket.listenerCount('close'), listeners);
  assert.deepEqual(await within(Promise.all(calls), 2000, 'the shutdowns'), Array(20).fill(true));
});

test('an empty binary message is a Buffer like every other payload, whole and in fragments', async (t) => {
  for (const fragments of [false, true]) {
    const { serverPeer, client } = await pair(t, { fragments });
    await client.write(new Uint8Array(0));
    await client.write({ opcode: 2, fin: false, data: new Uint8Array(0) });
    await client.write({ opcode: 0, fin: true, data: new Uint8Array(0) });
    for (let i = 0; i < (fragments ? 3 : 2); i++) {
      const data = (await serverPeer.read(2000))!.data;
      assert.ok(Buffer.isBuffer(data), `message ${i}${fragments ? ' (fragments)' : ''} is ${data.constructor.name}`);
      assert.equal((data as Buffer).length, 0);
    }
  }
});
