/**
 * `wrap`: a peer over a socket that already exists, as server or client, with the opening
 * handshake still to do or already done.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect as netConnect, createServer, type AddressInfo, type Socket } from 'node:net';
import { test, type TestContext } from 'node:test';

import { AbortError, connect, ConnectionClosedError, HandshakeError, HandshakeResponseError, server, TimeoutError, wrap, type Peer } from '../../src/index.ts';
import { clientFrame, defer, LOCALHOST, portOf, requestText, sleep, socketPair, upgradeLines, waitFor, within, readPlain } from './helpers.ts';
import { closeWs, wsClient } from './ws-helpers.ts';

async function exchange(a: Peer, b: Peer): Promise<void> {
  await a.write('from a');
  assert.deepEqual(await readPlain(b, 2000), { opcode: 1, fin: true, data: 'from a' });
  await b.write(new Uint8Array([1, 2, 3]));
  const binary = await a.read(2000);
  assert.ok(binary !== null);
  assert.deepEqual([binary.opcode, [...(binary.data as Uint8Array)]], [2, [1, 2, 3]]);
}

test('wrap performs the opening handshake on a raw socket pair in both roles (§4.1, §4.2)', async (t) => {
  const [serverSocket, clientSocket] = await socketPair();
  defer(t, () => {
    serverSocket.destroy();
    clientSocket.destroy();
  });
  const [serverPeer, clientPeer] = await within(
    Promise.all([
      wrap(serverSocket, { role: 'server', protocols: ['v2', 'v1'] }),
      wrap(clientSocket, { role: 'client', url: `ws://${LOCALHOST}/room?x=1`, protocols: ['v1', 'v2'] }),
    ]),
    3000,
    'both handshakes',
  );
  assert.equal(serverPeer.handshake.path, '/room?x=1');
  assert.equal(serverPeer.handshake.protocol, 'v2');
  assert.equal(clientPeer.handshake.protocol, 'v2');
  assert.equal(serverPeer.handshake.headers.host, LOCALHOST);
  await exchange(serverPeer, clientPeer);
  // The closing handshake completes: the server end closes the TCP connection (§7.1.1).
  const closing = clientPeer.shutdown(1000, 'bye', 2000);
  assert.equal(await serverPeer.read(2000), null);
  assert.equal(serverPeer.closeCode, 1000);
  assert.equal(await closing, true);
});

test('wrap with handshaked: true speaks frames at once in both roles, the client masking (§5.1)', async (t) => {
  const [serverSocket, clientSocket] = await socketPair();
  defer(t, () => {
    serverSocket.destroy();
    clientSocket.destroy();
  });
  const serverPeer = await wrap(serverSocket, { role: 'server', handshaked: true });
  const clientPeer = await wrap(clientSocket, { role: 'client', handshaked: true });
  assert.equal(serverPeer.handshake.protocol, '');
  // A server receiving an unmasked frame would fail the connection with 1002; these pass.
  await exchange(serverPeer, clientPeer);
  await exchange(clientPeer, serverPeer);
  const closing = serverPeer.shutdown(4000, 'done', 2000);
  assert.equal(await clientPeer.read(2000), null);
  assert.equal(clientPeer.closeCode, 4000);
  assert.equal(await closing, true);
});

test('wrap with handshaked: true and head: bytes already read from the socket are the first frames', async (t) => {
  const [serverSocket, clientSocket] = await socketPair();
  defer(t, () => {
    serverSocket.destroy();
    clientSocket.destroy();
  });
  clientSocket.write(Buffer.concat([clientFrame(1, 'already read'), clientFrame(1, 'split', false)]));
  const [firstChunk] = (await within(once(serverSocket, 'data'), 2000, 'first chunk')) as [Buffer];
  serverSocket.pause();
  const serverPeer = await wrap(serverSocket, { role: 'server', handshaked: true, head: firstChunk });
  clientSocket.write(clientFrame(0, ' message', true));
  assert.deepEqual(await readPlain(serverPeer, 2000), { opcode: 1, fin: true, data: 'already read' });
  assert.deepEqual(await readPlain(serverPeer, 2000), { opcode: 1, fin: true, data: 'split message' });
});

/** Check that `error` is the HandshakeError of that status and code. */
function answeredWith(status: number, code: string): (error: unknown) => true {
  return (error) => {
    assert.ok(error instanceof HandshakeError, `not a HandshakeError: ${String(error)}`);
    assert.deepEqual([error.status, error.code], [status, code]);
    return true;
  };
}

/**
 * A socket pair, both ends destroyed after the test, whose client end has sent `request`;
 * `received` collects what the server answers it.
 */
async function pairAfterRequest(t: TestContext, request: string): Promise<{ serverSocket: Socket; clientSocket: Socket; received: Buffer[] }> {
  const [serverSocket, clientSocket] = await socketPair();
  defer(t, () => {
    serverSocket.destroy();
    clientSocket.destroy();
  });
  const received: Buffer[] = [];
  clientSocket.on('data', (chunk: Buffer) => received.push(chunk));
  clientSocket.on('error', () => undefined);
  clientSocket.write(request);
  return { serverSocket, clientSocket, received };
}

test('wrap as server rejects a bad request with the HandshakeError it answered, after sending the HTTP error (§4.2.1)', async (t) => {
  const noKey = 'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n';
  const { serverSocket, clientSocket, received } = await pairAfterRequest(t, noKey);
  const ended = once(clientSocket, 'end');
  await assert.rejects(within(wrap(serverSocket, { role: 'server' }), 2000, 'wrap'), answeredWith(400, 'WS_HANDSHAKE_BAD_KEY'));
  await within(ended, 2000, 'the socket is ended');
  assert.match(Buffer.concat(received).toString('latin1'), /^HTTP\/1\.1 400 Bad Request\r\n[\s\S]*Sec-WebSocket-Key/);
});

test('wrap as server rejects a malformed head with the HandshakeError the parser raised', async (t) => {
  const { serverSocket } = await pairAfterRequest(t, 'not a request line\r\n\r\n');
  await assert.rejects(within(wrap(serverSocket, { role: 'server' }), 2000, 'wrap'), answeredWith(400, 'WS_HANDSHAKE_MALFORMED_REQUEST_LINE'));
});

test("wrap as server rejects with the refusal of `verify`, status and all", async (t) => {
  const { serverSocket, received } = await pairAfterRequest(t, requestText(upgradeLines()));
  const verify = async (): Promise<{ status: number; reason: string }> => ({ status: 401, reason: 'who are you' });
  await assert.rejects(within(wrap(serverSocket, { role: 'server', verify }), 2000, 'wrap'), answeredWith(401, 'WS_HANDSHAKE_REFUSED'));
  await waitFor(() => Buffer.concat(received).includes('401'), 2000, 'the 401 answer');
});

test('wrap as server rejects with ConnectionClosedError when the client goes before its head is complete', async (t) => {
  const [serverSocket, clientSocket] = await socketPair();
  defer(t, () => serverSocket.destroy());
  clientSocket.end('GET / HTTP/1.1\r\nHost: x\r\n');
  await assert.rejects(within(wrap(serverSocket, { role: 'server' }), 2000, 'wrap'), ConnectionClosedError);
});

test('wrap as server rejects with ConnectionClosedError, not at the timeout, when the client goes while a `verify` promise is pending', async (t) => {
  const { serverSocket, clientSocket } = await pairAfterRequest(t, requestText(upgradeLines()));
  let asked = false;
  const verify = (): Promise<boolean> => ((asked = true), new Promise<boolean>(() => {}));
  const wrapped = wrap(serverSocket, { role: 'server', verify, timeout: 60_000 });
  await waitFor(() => asked, 2000, 'verify asked');
  clientSocket.destroy();
  await assert.rejects(within(wrapped, 2000, 'wrap, a minute from its timeout'), ConnectionClosedError);
});

test('wrap as server rejects with TimeoutError when the head does not come within `timeout` (slowloris)', async (t) => {
  const { serverSocket } = await pairAfterRequest(t, 'GET / HTTP/1.1\r\n');
  await assert.rejects(within(wrap(serverSocket, { role: 'server', timeout: 100 }), 2000, 'wrap'), TimeoutError);
  assert.ok(serverSocket.destroyed, 'the socket is destroyed');
});

/** A socket pair whose connecting side has closed, destroyed by us or, with `byPeer`, by the other side; its 'close' has been emitted. */
async function closedSocket(t: TestContext, byPeer: boolean): Promise<Socket> {
  const [serverSocket, clientSocket] = await socketPair();
  defer(t, () => serverSocket.destroy());
  const closed = once(clientSocket, 'close');
  (byPeer ? serverSocket : clientSocket).destroy();
  await within(closed, 2000, "the socket's close");
  return clientSocket;
}

for (const role of ['client', 'server'] as const) {
  for (const byPeer of [false, true]) {
    test(`wrap as ${role}, handshaked, over a socket already closed (${byPeer ? 'by the other side' : 'by us'}): the peer is closed at once, and nothing waits on it`, async (t) => {
      const peer = await wrap(await closedSocket(t, byPeer), { role, handshaked: true });
      assert.equal(peer.closed, true);
      assert.equal(peer.state, 'CLOSED');
      assert.equal(peer.closeCode, 1006);
      await within(peer.whenClosed(), 1000, 'whenClosed');
      assert.equal(await within(peer.read(), 1000, 'read'), null);
      assert.equal(await within(peer.shutdown(1000, '', 200), 1000, 'shutdown'), false);
      await assert.rejects(peer.write('late'), ConnectionClosedError);
    });
  }

  test(`wrap as ${role}, its handshake still to do, over a socket already closed rejects at once with ConnectionClosedError, not at the timeout`, async (t) => {
    const socket = await closedSocket(t, false);
    await assert.rejects(within(wrap(socket, { role, url: `ws://${LOCALHOST}/`, timeout: 60_000 }), 1000, 'wrap'), ConnectionClosedError);
  });
}

test('wrap as client without a url, when the handshake is still to do, is a TypeError', async (t) => {
  const [serverSocket, clientSocket] = await socketPair();
  defer(t, () => {
    serverSocket.destroy();
    clientSocket.destroy();
  });
  await assert.rejects(wrap(clientSocket, { role: 'client' }), { name: 'TypeError', message: 'wrap: a client that still has to handshake needs options.url' });
});

test('wrap as client on a socket that allows half-open connections rejects as soon as the server ends it without answering', async (t) => {
  const listener = createServer({ allowHalfOpen: true }, (socket) => {
    socket.on('error', () => {});
    socket.once('data', () => socket.end()); // reads the request, answers nothing
  });
  listener.listen(0, LOCALHOST);
  await once(listener, 'listening');
  defer(t, () => new Promise<void>((resolve) => listener.close(() => resolve())));
  const socket = netConnect({ host: LOCALHOST, port: (listener.address() as AddressInfo).port, allowHalfOpen: true });
  defer(t, () => socket.destroy());
  await once(socket, 'connect');
  // Its only sign of the server's FIN is 'end': 'close' waits for our side to end too.
  await assert.rejects(within(wrap(socket, { role: 'client', url: `ws://${LOCALHOST}/`, timeout: 10_000 }), 2000, 'wrap'), (error: unknown) => {
    assert.ok(error instanceof HandshakeResponseError);
    assert.equal(error.code, 'WS_RESPONSE_CLOSED');
    return true;
  });
});

test('wrap as client with a signal already aborted rejects with AbortError and destroys the socket, sending nothing', async (t) => {
  const [serverSocket, clientSocket] = await socketPair();
  defer(t, () => serverSocket.destroy());
  serverSocket.on('error', () => {});
  let received = 0;
  serverSocket.on('data', (chunk: Buffer) => (received += chunk.length));
  const reason = new Error('not wanted any more');
  const signal = AbortSignal.abort(reason);
  await assert.rejects(within(wrap(clientSocket, { role: 'client', url: `ws://${LOCALHOST}/`, signal }), 1000, 'wrap'), (error: unknown) => {
    assert.ok(error instanceof AbortError);
    assert.equal(error.cause, reason);
    return true;
  });
  assert.ok(clientSocket.destroyed, 'the socket is destroyed');
  await within(once(serverSocket, 'end'), 2000, 'the other side sees the socket go');
  assert.equal(received, 0, 'no request went out');
});

test('wrap as client on a socket handed over paused still reads the answer', async (t) => {
  const instance = await server(`ws://${LOCALHOST}:0/`, async (peer) => {
    for await (const message of peer) await peer.write(message.data);
  });
  defer(t, () => instance.close(500));
  const socket = netConnect({ host: LOCALHOST, port: instance.address.port });
  defer(t, () => socket.destroy());
  await once(socket, 'connect');
  socket.pause();
  const peer = await within(wrap(socket, { role: 'client', url: instance.url, timeout: 10_000 }), 2000, 'wrap');
  await peer.write('through a paused socket');
  assert.deepEqual(await readPlain(peer, 2000), { opcode: 1, fin: true, data: 'through a paused socket' });
  peer.close();
});

/** A net server whose sockets go to `handle`; closed after the test. */
async function netServerOf(t: TestContext, handle: (socket: Socket) => void): Promise<number> {
  const listener = createServer(handle);
  listener.listen(0, LOCALHOST);
  await once(listener, 'listening');
  defer(t, () => listener.close());
  return (listener.address() as AddressInfo).port;
}

test('wrap as server on a socket handed over paused reads the request (a paused stream does not flow for a data listener)', async (t) => {
  const wrapped: Promise<Peer>[] = [];
  const port = await netServerOf(t, (socket) => {
    socket.pause(); // as an owner that sniffed the first bytes would leave it
    wrapped.push(wrap(socket, { role: 'server', timeout: 3000 }));
  });
  const client = await within(connect(`ws://${LOCALHOST}:${port}/`), 2000, 'the client handshake');
  defer(t, () => client.close());
  const peer = await within(wrapped[0]!, 2000, 'the server side');
  defer(t, () => peer.close());
  await client.write('over a socket handed over paused');
  assert.deepEqual(await readPlain(peer, 2000), { opcode: 1, fin: true, data: 'over a socket handed over paused' });
});

test('wrap as server keeps the chunks read behind the request head for the peer, when its owner awaited before wrapping', async (t) => {
  const wrapped: Promise<Peer>[] = [];
  const port = await netServerOf(t, (socket) => {
    // The owner checks something first; meanwhile the request and, in a second read, a frame arrive.
    wrapped.push(sleep(300).then(() => wrap(socket, { role: 'server', timeout: 3000 })));
  });
  const socket = netConnect({ host: LOCALHOST, port });
  defer(t, () => socket.destroy());
  await once(socket, 'connect');
  socket.write(requestText(upgradeLines('/')));
  await sleep(100);
  // Not waiting for the 101 is a client's fault (§4.1), but its bytes are still not ours to drop.
  socket.write(clientFrame(1, 'sent before the 101'));
  const peer = await within(wrapped[0]!, 2000, 'the server side');
  defer(t, () => peer.close());
  assert.deepEqual(await readPlain(peer, 2000), { opcode: 1, fin: true, data: 'sent before the 101' });
});

test('a net server wrapping each accepted socket serves a ws client', async (t) => {
  const peers: Peer[] = [];
  const listener = createServer((socket: Socket) => {
    void wrap(socket, { role: 'server' }).then(async (peer) => {
      peers.push(peer);
      for await (const message of peer) await peer.write(message.data);
    });
  });
  listener.listen(0, LOCALHOST);
  await once(listener, 'listening');
  defer(t, async () => {
    for (const peer of peers) peer.close();
    await new Promise<void>((resolve) => listener.close(() => resolve()));
  });
  const { ws, inbox } = await wsClient(`ws://${LOCALHOST}:${(listener.address() as AddressInfo).port}/`);
  defer(t, () => closeWs(ws));
  ws.send('wrapped');
  const echoed = await inbox.next(2000);
  assert.deepEqual([echoed.binary, echoed.data.toString()], [false, 'wrapped']);
});

test('a frame read behind the request head while an async `verify` decides waits in the socket for the peer (server and wrap alike)', async (t) => {
  const verify = (): Promise<boolean> => sleep(250).then(() => true);
  const peers: Peer[] = [];
  const viaServer = await server(`ws://${LOCALHOST}:0/`, (peer) => void peers.push(peer), { verify });
  defer(t, () => viaServer.close(500));
  const wrapped: Promise<Peer>[] = [];
  const wrapPort = await netServerOf(t, (socket) => wrapped.push(wrap(socket, { role: 'server', timeout: 3000, verify })));
  for (const port of [portOf(viaServer), wrapPort]) {
    const socket = netConnect({ host: LOCALHOST, port });
    defer(t, () => socket.destroy());
    await once(socket, 'connect');
    socket.write(requestText(upgradeLines('/')));
    await sleep(100);
    // Not waiting for the 101 is a client's fault (§4.1), but its bytes are still not ours to drop.
    socket.write(clientFrame(1, `sent to ${port} before the 101`));
    const peer = port === wrapPort ? await within(wrapped[0]!, 2000, 'the wrapped side') : await waitFor(() => peers.length === 1, 2000, 'the server made the peer').then(() => peers[0]!);
    defer(t, () => peer.close());
    assert.deepEqual(await readPlain(peer, 2000), { opcode: 1, fin: true, data: `sent to ${port} before the 101` });
  }
});

test('an upgrade answered at once hands the socket\'s read and close listeners to the peer without removing any', async (t) => {
  const removed: (string | symbol)[] = [];
  const wrapped: Promise<Peer>[] = [];
  const port = await netServerOf(t, (socket) => {
    const removeListener = socket.removeListener;
    socket.removeListener = function (this: Socket, event: string | symbol, listener: (...args: unknown[]) => void) {
      removed.push(event);
      return removeListener.call(this, event, listener);
    } as Socket['removeListener'];
    wrapped.push(wrap(socket, { role: 'server', timeout: 3000 }));
  });
  const client = await within(connect(`ws://${LOCALHOST}:${port}/`), 2000, 'the client handshake');
  defer(t, () => client.close());
  const peer = await within(wrapped[0]!, 2000, 'the server side');
  defer(t, () => peer.close());
  assert.deepEqual(removed.filter((event) => event === 'data' || event === 'close' || event === 'error'), []);
  assert.equal(peer.socket.listenerCount('data'), 1);
  assert.equal(peer.socket.listenerCount('close'), 1);
  assert.equal(peer.socket.listenerCount('error'), 1);
  await client.write('read by the peer');
  assert.deepEqual(await readPlain(peer, 2000), { opcode: 1, fin: true, data: 'read by the peer' });
});
