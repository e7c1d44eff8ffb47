/**
 * Plain HTTP on a WebSocket server's own port (`onRequest`, seed 003): requests that do not
 * ask for a WebSocket go to a `node:http` listener, upgrades to their routes, over loopback;
 * a connection served as HTTP may upgrade later; its connections are bounded and closed
 * like the server's others.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Agent, request as httpRequest, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { test, type TestContext } from 'node:test';

import { bind, connect, createUpgradeHandler, handleUpgrade, HandshakeResponseError, server, type Peer, type Server, type ServerOptions } from '../../src/index.ts';
import { clientFrame, defer, FrameReader, LOCALHOST, portOf, rawConnect, rawExchange, requestText, upgradeLines, waitFor, within } from '../peer/helpers.ts';

/** Answers every plain request with its method, target, HTTP version and body. */
const describeRequest: RequestListener = (request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    const body = `plain ${request.method} ${request.url} ${request.httpVersion} ${Buffer.concat(chunks).toString()}`;
    response.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
    response.end(body);
  });
};

/** A routed server with `onRequest`; `/echo` echoes. */
async function site(t: TestContext, options: ServerOptions = {}): Promise<Server> {
  const instance = await server(`ws://${LOCALHOST}:0`, { '/echo': (peer) => peer.onMessage((message) => void peer.send(message)) }, { onRequest: describeRequest, ...options });
  defer(t, () => instance.close(500));
  return instance;
}

/** One HTTP request through `node:http`'s client; resolves with the status and body. */
async function fetchPlain(port: number, path: string, init: { method?: string; body?: string; agent?: Agent } = {}): Promise<{ status: number; body: string; socket: Socket }> {
  const request = httpRequest({ host: LOCALHOST, port, path, method: init.method ?? 'GET', agent: init.agent });
  const [socket] = (await once(request.end(init.body), 'socket')) as [Socket];
  const [response] = (await within(once(request, 'response'), 3000, `response to ${path}`)) as [IncomingMessage];
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  return { status: response.statusCode!, body: Buffer.concat(chunks).toString(), socket };
}

/**
 * Read one whole response off `socket`, which stays open: its head, its body (by its
 * content-length; none for a 101) and the bytes that came after it.
 */
async function readResponse(socket: Socket): Promise<{ head: string; body: string; rest: Buffer }> {
  let received = Buffer.alloc(0);
  return within(
    new Promise((resolve) => {
      const onData = (chunk: Buffer): void => {
        received = Buffer.concat([received, chunk]);
        const end = received.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = received.subarray(0, end).toString('latin1');
        const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
        if (received.length < end + 4 + length) return;
        socket.off('data', onData);
        socket.pause();
        resolve({ head, body: received.subarray(end + 4, end + 4 + length).toString(), rest: received.subarray(end + 4 + length) });
      };
      socket.on('data', onData);
      socket.resume();
    }),
    3000,
    'a response',
  );
}

test('onRequest: plain requests on the WebSocket port go to the listener, with their bodies; upgrades go to their routes; an unknown route is still 404', async (t) => {
  const instance = await site(t);
  const port = portOf(instance);
  assert.deepEqual(await fetchPlain(port, '/').then(({ status, body }) => [status, body]), [200, 'plain GET / 1.1 ']);
  assert.deepEqual(await fetchPlain(port, '/form?x=1', { method: 'POST', body: 'a=b' }).then(({ status, body }) => [status, body]), [200, 'plain POST /form?x=1 1.1 a=b']);
  // Not a WebSocket request: the listener's, even on a path that has a route.
  assert.equal((await fetchPlain(port, '/echo')).body, 'plain GET /echo 1.1 ');
  const peer = await connect(`${instance.url}echo`);
  defer(t, () => peer.close());
  await peer.write('over the same port');
  assert.equal((await peer.read(2000))?.data, 'over the same port');
  await assert.rejects(connect(`${instance.url}elsewhere`), (error: unknown) => error instanceof HandshakeResponseError && error.status === 404);
});

test('onRequest: what the upgrade parser refuses (HTTP/1.0, a malformed head) is node:http’s to answer', async (t) => {
  const instance = await site(t);
  const port = portOf(instance);
  const old = await rawExchange(port, 'GET /old HTTP/1.0\r\n\r\n');
  assert.equal(old.status, 200);
  assert.equal(old.body, 'plain GET /old 1.0 ');
  const malformed = await rawExchange(port, 'GET / HTTP/1.1\r\nHost: x\r\nbad header line\r\n\r\n');
  assert.equal(malformed.status, 400);
  // Without onRequest the same HTTP/1.0 request gets the upgrade parser's 505.
  const bare = await server(`ws://${LOCALHOST}:0`, () => {});
  defer(t, () => bare.close(500));
  assert.equal((await rawExchange(portOf(bare), 'GET /old HTTP/1.0\r\n\r\n')).status, 505);
});

test('onRequest: a connection served as plain HTTP may upgrade on a later request, and its frames reach the route', async (t) => {
  const instance = await site(t);
  const socket = await rawConnect(portOf(instance));
  defer(t, () => socket.destroy());
  socket.write(requestText(['GET /page HTTP/1.1', `Host: ${LOCALHOST}`]));
  const first = await readResponse(socket);
  assert.match(first.head, /^HTTP\/1\.1 200 /);
  assert.equal(first.body, 'plain GET /page 1.1 ');
  // The upgrade and a first frame in one write: the frame must not be lost to node:http.
  socket.write(Buffer.concat([Buffer.from(requestText(upgradeLines('/echo'))), clientFrame(1, 'late upgrade')]));
  const second = await readResponse(socket);
  assert.match(second.head, /^HTTP\/1\.1 101 /);
  const frames = new FrameReader(socket, second.rest);
  const echo = await frames.next();
  assert.equal(echo.payload.toString(), 'late upgrade');
  await waitFor(() => instance.peers.size === 1, 2000, 'the peer to be counted');
});

test('onRequest: requests pipelined in one write are answered in order, an h2c offer among them ignored, and an upgrade behind them waits for their answers (RFC 7230 §6.3.2)', async (t) => {
  // Answers late, as a listener that awaits something does: the requests behind it wait.
  const instance = await server(`ws://${LOCALHOST}:0`, { '/echo': (peer) => peer.onMessage((message) => void peer.send(message)) }, {
    onRequest: (request, response) => void setTimeout(() => describeRequest(request, response), 30),
  });
  defer(t, () => instance.close(500));
  const socket = await rawConnect(portOf(instance));
  defer(t, () => socket.destroy());
  const plain = (path: string): string => requestText([`GET ${path} HTTP/1.1`, `Host: ${LOCALHOST}`]);
  const h2c = (path: string): string => requestText([`GET ${path} HTTP/1.1`, `Host: ${LOCALHOST}`, 'Connection: Upgrade, HTTP2-Settings', 'Upgrade: h2c', 'HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA']);
  socket.write(plain('/a') + h2c('/b') + h2c('/c') + plain('/d') + requestText(upgradeLines('/echo')));
  const bodies: string[] = [];
  for (let i = 0; i < 4; i++) {
    const response = await readResponse(socket);
    assert.match(response.head, /^HTTP\/1\.1 200 /);
    bodies.push(response.body);
    if (response.rest.length > 0) socket.unshift(response.rest);
  }
  assert.deepEqual(bodies, ['/a', '/b', '/c', '/d'].map((path) => `plain GET ${path} 1.1 `));
  const upgraded = await readResponse(socket);
  assert.match(upgraded.head, /^HTTP\/1\.1 101 /, 'the 101 comes after every answer before it');
  socket.write(clientFrame(1, 'upgraded last'));
  const echo = await new FrameReader(socket, upgraded.rest).next();
  assert.equal(echo.payload.toString(), 'upgraded last');
});

test('onRequest: plain connections count against maxConnections, and close() ends them, kept alive or not', async (t) => {
  const instance = await site(t, { maxConnections: 1 });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  defer(t, () => agent.destroy());
  const { socket: kept } = await fetchPlain(portOf(instance), '/', { agent });
  assert.equal(kept.destroyed, false, 'the connection is kept alive');
  // The kept-alive connection holds the only slot.
  await assert.rejects(connect(`${instance.url}echo`), (error: unknown) => error instanceof HandshakeResponseError && error.status === 503);
  const closed = once(kept, 'close');
  await within(instance.close(500), 2000, 'close()');
  await within(closed, 2000, 'the kept-alive connection to close');
});

test('onRequest: timeout bounds each request head on a connection served as plain HTTP (slowloris)', async (t) => {
  const instance = await site(t, { timeout: 300 });
  const socket = await rawConnect(portOf(instance));
  defer(t, () => socket.destroy());
  socket.on('error', () => {});
  socket.write(requestText(['GET / HTTP/1.1', `Host: ${LOCALHOST}`]));
  await readResponse(socket);
  socket.resume();
  const closed = once(socket, 'close');
  socket.write('GET /slow HTTP/1.1\r\nHost: '); // and nothing more
  await within(closed, 5000, 'the slow connection to be closed');
});

test('onRequest works with bind() too, and is refused where plain requests are the HTTP server’s own', async (t) => {
  const bound = await bind(`ws://${LOCALHOST}:0`, { onRequest: describeRequest });
  defer(t, () => bound.close(500));
  assert.equal((await fetchPlain(portOf(bound), '/x')).body, 'plain GET /x 1.1 ');
  const client = await connect(bound.url);
  defer(t, () => client.close());
  const peer: Peer = await bound.accept(2000);
  assert.equal(peer.state, 'OPEN');
  const listener = (_request: IncomingMessage, response: ServerResponse): void => void response.end();
  assert.throws(() => createUpgradeHandler({ onRequest: listener }), /createUpgradeHandler: onRequest is for server\(\) and bind\(\)/);
  assert.throws(() => handleUpgrade({} as IncomingMessage, {} as Socket, Buffer.alloc(0), { onRequest: listener }), /handleUpgrade: onRequest/);
  await assert.rejects(server(`ws://${LOCALHOST}:0`, () => {}, { onRequest: 'index.html' as unknown as RequestListener }), /onRequest must be a function/);
});

test('onRequest: an offer to upgrade to another protocol (h2c) is ignored and the request served, first on its connection or later (RFC 7230 §6.7)', async (t) => {
  const instance = await site(t);
  const socket = await rawConnect(portOf(instance));
  defer(t, () => socket.destroy());
  const h2c = (path: string): string => requestText([`GET ${path} HTTP/1.1`, `Host: ${LOCALHOST}`, 'Connection: Upgrade, HTTP2-Settings', 'Upgrade: h2c', 'HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA']);
  for (const path of ['/first', '/later']) {
    socket.write(h2c(path));
    const { head, body } = await readResponse(socket);
    assert.match(head, /^HTTP\/1\.1 200 /, path);
    assert.equal(body, `plain GET ${path} 1.1 `);
  }
});

test('onRequest: the head limits stay the server’s: too many header fields is 431 for a first request, plain or upgrade, and for a later upgrade on a kept-alive connection', async (t) => {
  const instance = await site(t, { maxHeaders: 20 });
  const padding = Array.from({ length: 30 }, (_, i) => `X-Pad-${i}: v`);
  assert.equal((await rawExchange(portOf(instance), requestText([...upgradeLines('/echo'), ...padding]))).status, 431);
  assert.equal((await rawExchange(portOf(instance), requestText(['GET / HTTP/1.1', `Host: ${LOCALHOST}`, ...padding]))).status, 431);
  const socket = await rawConnect(portOf(instance));
  defer(t, () => socket.destroy());
  socket.write(requestText(['GET / HTTP/1.1', `Host: ${LOCALHOST}`]));
  assert.match((await readResponse(socket)).head, /^HTTP\/1\.1 200 /);
  socket.write(requestText([...upgradeLines('/echo'), ...padding]));
  assert.match((await readResponse(socket)).head, /^HTTP\/1\.1 431 /);
});

test('onRequest: a listener that fails after sending its head cannot be answered 500: its response is cut off, onError told, the server goes on', async (t) => {
  const errors: unknown[] = [];
  const instance = await server(`ws://${LOCALHOST}:0`, () => {}, {
    onError: (error) => void errors.push(error),
    onRequest: async (request, response) => {
      if (request.url !== '/partial') return void response.end('fine');
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.write('partial');
      throw new Error('failed after its head');
    },
  });
  defer(t, () => instance.close(500));
  const port = portOf(instance);
  const outcome = await new Promise<string>((resolve) => {
    const call = httpRequest({ host: LOCALHOST, port, path: '/partial', agent: false }, (response) => {
      response.on('data', () => {});
      response.on('end', () => resolve('ended as if complete'));
      response.on('error', () => resolve(`cut off after ${response.statusCode}`));
      response.on('aborted', () => resolve(`cut off after ${response.statusCode}`));
    });
    call.on('error', (error) => resolve(`request failed: ${error.message}`));
    call.end();
  });
  assert.equal(outcome, 'cut off after 200');
  await waitFor(() => errors.length === 1, 2000, 'onError');
  assert.equal((errors[0] as Error).message, 'failed after its head');
  assert.deepEqual(await fetchPlain(port, '/ok').then(({ status, body }) => [status, body]), [200, 'fine']);
});

test('onRequest: a listener that throws, or whose promise rejects, is answered 500 and told to onError; the server goes on', async (t) => {
  const errors: unknown[] = [];
  const instance = await server(`ws://${LOCALHOST}:0`, () => {}, {
    onError: (error) => void errors.push(error),
    onRequest: (request, response) => {
      if (request.url === '/throws') throw new Error('sync part failed');
      return (async () => {
        await Promise.resolve();
        if (request.url === '/rejects') throw new Error('async part failed');
        response.end('fine');
      })();
    },
  });
  defer(t, () => instance.close(500));
  const port = portOf(instance);
  assert.equal((await fetchPlain(port, '/throws')).status, 500);
  assert.equal((await fetchPlain(port, '/rejects')).status, 500);
  assert.deepEqual(await fetchPlain(port, '/ok').then(({ status, body }) => [status, body]), [200, 'fine']);
  assert.deepEqual(errors.map((error) => (error as Error).message), ['sync part failed', 'async part failed']);
});
