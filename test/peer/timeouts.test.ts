/**
 * Every wait of the socket layer is bounded: reads, the closing handshake, and the opening
 * handshake on both sides.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';

import { bind, connect, ConnectionClosedError, server, TimeoutError } from '../../src/index.ts';
import { acceptRawClient, clientFrame, clientOverRawServer, defer, FrameReader, LOCALHOST, portOf, rawConnect, settlesWithin, silentTcpServer, waitFor, within, readPlain } from './helpers.ts';

test('read(timeout) rejects with TimeoutError and the connection stays usable: a later read gets the next message', async (t) => {
  const bound = await bind(`ws://${LOCALHOST}:0/`);
  defer(t, () => bound.close(500));
  const client = await connect(bound.url);
  defer(t, () => client.close());
  const peer = await bound.accept(2000);

  const started = performance.now();
  await assert.rejects(peer.read(50), (error: unknown) => {
    assert.ok(error instanceof TimeoutError);
    assert.equal(error.code, 'WS_ERR_TIMEOUT');
    return true;
  });
  const waited = performance.now() - started;
  assert.ok(waited >= 45 && waited < 1000, `read timed out after ${waited} ms`);
  assert.equal(peer.state, 'OPEN');

  await client.write('first after the timeout');
  await client.write('second');
  // The timed-out reader must not have swallowed a message.
  assert.deepEqual(await readPlain(peer, 2000), { opcode: 1, fin: true, data: 'first after the timeout' });
  assert.deepEqual(await readPlain(peer, 2000), { opcode: 1, fin: true, data: 'second' });
  // And writing back still works.
  await peer.write('reply');
  assert.deepEqual(await readPlain(client, 2000), { opcode: 1, fin: true, data: 'reply' });
});

test('shutdown(1000, "", 100) against a peer that never answers the close resolves false and destroys the socket (§7.1.2)', async (t) => {
  const { peer, socket, rest } = await acceptRawClient(t, {}, 500);
  const frames = new FrameReader(socket, rest); // reads and ignores, never answers

  const started = performance.now();
  const clean = await within(peer.shutdown(1000, '', 100), 2000, 'shutdown');
  const waited = performance.now() - started;
  assert.equal(clean, false);
  assert.ok(waited >= 95 && waited < 1500, `shutdown gave up after ${waited} ms`);
  assert.equal(peer.socket.destroyed, true);
  assert.equal(peer.closed, true);
  assert.equal(peer.closeCode, 1006, 'no close frame came back');
  // Our close frame did go out.
  const close = await frames.next();
  assert.equal(close.opcode, 8);
  assert.equal(close.payload.readUInt16BE(0), 1000);
  assert.equal(await peer.read(), null);
});

test('a second shutdown with a longer timeout does not put off the first one\'s deadline: the earliest holds', async (t) => {
  const { peer, socket, rest } = await acceptRawClient(t, {}, 500);
  new FrameReader(socket, rest); // reads and ignores, never answers
  const first = peer.shutdown(1000, '', 100);
  const second = peer.shutdown(1000, '', 5000);
  const [clean, again] = await within(Promise.all([first, second]), 2000, 'both shutdowns, by the first deadline');
  assert.deepEqual([clean, again, peer.socket.destroyed], [false, false, true]);
});

test('a second shutdown with a shorter timeout brings the deadline forward: the earliest holds', async (t) => {
  const { peer, socket, rest } = await acceptRawClient(t, {}, 500);
  new FrameReader(socket, rest); // reads and ignores, never answers
  const first = peer.shutdown(1000, '', 5000);
  const second = peer.shutdown(1000, '', 100);
  const [clean, again] = await within(Promise.all([first, second]), 2000, 'both shutdowns, by the second deadline');
  assert.deepEqual([clean, again, peer.socket.destroyed], [false, false, true]);
});

test('RFC 6455 §7.1.1, §7.1.7: a server that failed the connection ends TCP first; a client that never closes its side is cut off after closeTimeout', async (t) => {
  // The raw client never reads: it sees neither our close frame nor our FIN, and never ends.
  const { peer, socket } = await acceptRawClient(t, { closeTimeout: 200 }, 500);
  socket.write(clientFrame(0x3)); // a reserved opcode (§5.2): the server fails with 1002
  await within(peer.whenClosed(), 3000, 'the lingering client cut off');
  assert.equal(peer.socket.destroyed, true);
  assert.equal(peer.error?.closeCode, 1002);
});

test('RFC 6455 §7.1.5: a client whose FIN came without a close frame and reads no more is not waited for past closeTimeout: our queued bytes are dropped, 1006', async (t) => {
  const { peer, socket } = await acceptRawClient(t, { closeTimeout: 200, highWaterMark: 64 * 1024 }, 500);
  socket.pause(); // reads nothing: what we queue stays queued
  // More than the kernel's buffers take (as above): our end waits behind it.
  const write = peer.write(new Uint8Array(16 * 1024 * 1024)).then(() => 'written', (error: unknown) => error);
  socket.end(); // its FIN, with no close frame
  await within(peer.whenClosed(), 3000, 'the peer closed by its closeTimeout');
  assert.equal(peer.closeCode, 1006);
  assert.ok((await write) instanceof ConnectionClosedError);
});

test('RFC 6455 §7.1.5: the same for a client over a server that sent its FIN without a close frame and reads no more', async (t) => {
  const { client, serverSocket } = await clientOverRawServer(t, { closeTimeout: 200, highWaterMark: 64 * 1024 });
  const write = client.write(new Uint8Array(16 * 1024 * 1024)).then(() => 'written', (error: unknown) => error);
  serverSocket.end(); // paused, so it reads nothing; its FIN, with no close frame
  await within(client.whenClosed(), 3000, 'the client closed by its closeTimeout');
  assert.equal(client.closeCode, 1006);
  assert.ok((await write) instanceof ConnectionClosedError);
});

test('RFC 6455 §7.1.2: a close frame written as a frame (send) starts a closing handshake bounded by closeTimeout, as shutdown\'s is: a client that never answers it is cut off, 1006', async (t) => {
  const { peer, socket, rest } = await acceptRawClient(t, { closeTimeout: 200 }, 500);
  const frames = new FrameReader(socket, rest); // reads and ignores, never answers
  assert.equal(peer.send({ opcode: 8, data: new Uint8Array([0x03, 0xe8]) }), 'sent');
  assert.equal((await frames.next()).opcode, 8);
  assert.equal(peer.state, 'CLOSING');
  await within(peer.whenClosed(), 3000, 'the peer closed by its closeTimeout');
  assert.equal(peer.closeCode, 1006, 'no close frame came back');
});

test('RFC 6455 §7.1.2: the same for a client whose close went by write() to a server that never answers it', async (t) => {
  const { client, serverSocket } = await clientOverRawServer(t, { closeTimeout: 200 });
  serverSocket.resume(); // reads and ignores, never answers
  await client.write({ opcode: 8, data: new Uint8Array(0) });
  assert.equal(client.state, 'CLOSING');
  await within(client.whenClosed(), 3000, 'the client closed by its closeTimeout');
  assert.equal(client.closeCode, 1006);
});

test('write(data, timeout) still waiting for the drain at its timeout rejects with TimeoutError, that write only; its bytes stay queued and go once the client reads', async (t) => {
  const { peer, socket, rest } = await acceptRawClient(t, { highWaterMark: 64 * 1024 }); // the client reads nothing yet
  // More than the kernel's buffers take (Linux's send buffer grows to 4 MiB by default, and the
  // receive buffer of a socket that never reads does not grow): the rest stays over the mark.
  const big = 16 * 1024 * 1024;
  const first = peer.write(new Uint8Array(big), 100);
  const second = peer.write('late', 300);
  await assert.rejects(within(first, 2000, 'the first write'), (error: unknown) => error instanceof TimeoutError && /write timed out after 100 ms/.test(error.message));
  assert.equal(await settlesWithin(second, 0), false, 'the other write waits on');
  await assert.rejects(within(second, 2000, 'the second write'), TimeoutError);
  assert.equal(peer.state, 'OPEN');
  // Both messages were queued before they timed out: every byte reaches the client, then a third.
  const total = 10 + big + 2 + 4 + 2 + 5;
  let received = rest.length;
  const all = new Promise<void>((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      if ((received += chunk.length) >= total) resolve();
    });
  });
  socket.resume();
  await within(peer.write('after'), 5000, 'a write once the client reads');
  await within(all, 5000, 'every byte');
  assert.equal(received, total);
});

test('shutdown resolves true once both close frames are exchanged, though the server then keeps TCP open; the socket goes at the timeout (§7.1.1, §7.1.2)', async (t) => {
  const { client, serverSocket } = await clientOverRawServer(t);
  const received = once(serverSocket, 'data') as Promise<[Buffer]>;
  serverSocket.resume();

  const shutdown = client.shutdown(1000, '', 200);
  const [close] = await within(received, 2000, 'our close frame');
  // FIN + close, masked (§5.3), 2-byte payload: status 1000 under the mask key.
  assert.deepEqual([close[0], close[1], ((close[6]! ^ close[2]!) << 8) | (close[7]! ^ close[3]!)], [0x88, 0x82, 1000]);
  serverSocket.write(Buffer.from([0x88, 0x02, 0x03, 0xe8])); // our close answered; no FIN follows
  assert.equal(await within(shutdown, 2000, 'shutdown'), true);
  assert.equal(client.socket.destroyed, true, 'the socket is destroyed at the timeout');
  assert.equal(client.closeCode, 1000);
});

test('connect rejects with TimeoutError when the server accepts TCP but never answers the opening handshake', async (t) => {
  const silent = await silentTcpServer();
  defer(t, () => silent.close());
  const started = performance.now();
  await assert.rejects(within(connect(`ws://${LOCALHOST}:${silent.port}/`, {}, { timeout: 150 }), 3000, 'connect'), TimeoutError);
  const waited = performance.now() - started;
  assert.ok(waited >= 140 && waited < 2000, `connect gave up after ${waited} ms`);
  // The client's socket is gone: the server sees it close.
  await waitFor(() => silent.sockets.size === 0, 2000, 'client socket closed');
});

test('the server disconnects a client whose request head is still incomplete when the handshake timeout runs out (slowloris)', async (t) => {
  const instance = await server(`ws://${LOCALHOST}:0/`, () => {}, { timeout: 150 });
  defer(t, () => instance.close(500));
  const socket = await rawConnect(portOf(instance));
  defer(t, () => socket.destroy());
  socket.on('error', () => {});
  const received: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => received.push(chunk));
  const started = performance.now();
  socket.write(`GET / HTTP/1.1\r\nHost: ${LOCALHOST}\r\nUpgrade: websocket\r\n`);
  await within(once(socket, 'close'), 3000, 'server drops the slow client');
  const waited = performance.now() - started;
  assert.ok(waited >= 140 && waited < 2000, `dropped after ${waited} ms`);
  assert.equal(Buffer.concat(received).length, 0, 'no response is sent to an incomplete request');
  assert.equal(instance.peers.size, 0);
});

test('a client that completes its request in time is not affected by the handshake timeout', async (t) => {
  const instance = await server(
    `ws://${LOCALHOST}:0/`,
    async (peer) => {
      for await (const message of peer) await peer.write(message.data);
    },
    { timeout: 150 },
  );
  defer(t, () => instance.close(500));
  const client = await connect(instance.url);
  defer(t, () => client.close());
  await new Promise((resolve) => setTimeout(resolve, 300));
  await client.write('still here');
  assert.deepEqual(await readPlain(client, 2000), { opcode: 1, fin: true, data: 'still here' });
});
