/**
 * Upgrading on an existing `node:http` server: plain requests keep being served on the same
 * port while WebSocket requests are upgraded (RFC 6455 §4.2, §1.7: the handshake is a valid
 * HTTP Upgrade request, so one port serves both).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, get, type IncomingMessage, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';

import { connect, createUpgradeHandler, handleUpgrade, type Peer, type ServerOptions } from '../../src/index.ts';
import { clientFrame, defer, FrameReader, LOCALHOST, rawConnect, rawExchange, rawUpgrade, requestText, sleep, upgradeLines, waitFor, within, readPlain } from '../peer/helpers.ts';
import { closeWs, wsClient } from '../peer/ws-helpers.ts';

interface Site {
  http: HttpServer;
  port: number;
  peers: Peer[];
}

/** An HTTP server answering GET /hello, with WebSocket upgrades going to an echo loop. */
async function startSite(t: TestContext, upgradeWith: 'handler' | 'function', options: ServerOptions = {}): Promise<Site> {
  const peers: Peer[] = [];
  const http = createServer((request, response) => {
    response.writeHead(request.url === '/hello' ? 200 : 404, { 'content-type': 'text/plain' });
    response.end(request.url === '/hello' ? 'plain hello' : 'nothing here');
  });
  const upgrade = createUpgradeHandler(options);
  http.on('upgrade', (request: IncomingMessage, socket, head: Buffer) => {
    const peer = upgradeWith === 'handler' ? upgrade(request, socket, head) : handleUpgrade(request, socket, head, options);
    if (peer === null) return;
    peers.push(peer);
    void (async () => {
      for await (const message of peer) await peer.write(message.data).catch(() => {});
    })();
  });
  http.listen(0, LOCALHOST);
  await once(http, 'listening');
  defer(t, async () => {
    for (const peer of peers) peer.close();
    http.closeAllConnections();
    await new Promise<void>((resolve) => http.close(() => resolve()));
  });
  return { http, port: (http.address() as AddressInfo).port, peers };
}

function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return within(
    new Promise((resolve, reject) => {
      get({ host: LOCALHOST, port, path, agent: false }, (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      }).on('error', reject);
    }),
    3000,
    `GET ${path}`,
  );
}

test('createUpgradeHandler on a node:http server: plain GETs keep their 200 while our and ws clients upgrade on the same port', async (t) => {
  const site = await startSite(t, 'handler', { protocols: ['echo'] });
  assert.deepEqual(await httpGet(site.port, '/hello'), { status: 200, body: 'plain hello' });

  const ours = await connect(`ws://${LOCALHOST}:${site.port}/socket`, { protocols: ['echo'] });
  defer(t, () => ours.close());
  assert.equal(ours.handshake.protocol, 'echo');
  await ours.write('through http');
  assert.deepEqual(await readPlain(ours, 2000), { opcode: 1, fin: true, data: 'through http' });

  const fetched = await within(fetch(`http://${LOCALHOST}:${site.port}/hello`), 3000, 'fetch');
  assert.equal(fetched.status, 200);
  assert.equal(await fetched.text(), 'plain hello');

  const { ws, inbox } = await wsClient(`ws://${LOCALHOST}:${site.port}/socket`, ['echo']);
  defer(t, () => closeWs(ws));
  assert.equal(ws.protocol, 'echo');
  ws.send(Buffer.from([1, 2, 3]));
  const echoed = await inbox.next(2000);
  assert.deepEqual([echoed.binary, [...echoed.data]], [true, [1, 2, 3]]);

  // Plain HTTP still works while both WebSockets are open.
  assert.deepEqual(await httpGet(site.port, '/hello'), { status: 200, body: 'plain hello' });
  assert.deepEqual(await httpGet(site.port, '/missing'), { status: 404, body: 'nothing here' });
  assert.equal(site.peers.length, 2);
  assert.equal(site.peers[0]!.handshake.path, '/socket');
});

test('handleUpgrade answers a bad upgrade request with its HTTP error and returns no peer (§4.2.1)', async (t) => {
  const site = await startSite(t, 'function');
  const response = await rawExchange(site.port, requestText(upgradeLines('/').map((line) => (line.startsWith('Sec-WebSocket-Version') ? 'Sec-WebSocket-Version: 8' : line))));
  assert.equal(response.status, 426);
  assert.equal(response.headers.get('sec-websocket-version'), '13');
  assert.equal(site.peers.length, 0);
  // A good one on the same server is upgraded.
  const client = await connect(`ws://${LOCALHOST}:${site.port}/`);
  defer(t, () => client.close());
  await client.write('fine');
  assert.deepEqual(await readPlain(client, 2000), { opcode: 1, fin: true, data: 'fine' });
});

test('a frame sent right behind the upgrade request (the head bytes) is not lost', async (t) => {
  const site = await startSite(t, 'handler');
  const socket = await rawConnect(site.port);
  defer(t, () => socket.destroy());
  socket.on('error', () => {});
  // The request and the first frame in one write: node:http hands the frame over as `head`.
  socket.write(Buffer.concat([Buffer.from(requestText(upgradeLines('/'))), clientFrame(1, 'early bird')]));
  let received = Buffer.alloc(0);
  const headEnd = await within(
    new Promise<number>((resolve) => {
      const onData = (chunk: Buffer): void => {
        received = Buffer.concat([received, chunk]);
        const end = received.indexOf('\r\n\r\n');
        if (end >= 0) {
          socket.off('data', onData);
          resolve(end + 4);
        }
      };
      socket.on('data', onData);
    }),
    2000,
    '101 response',
  );
  assert.match(received.toString('latin1'), /^HTTP\/1\.1 101 /);
  const frames = new FrameReader(socket, received.subarray(headEnd));
  const echo = await frames.next();
  assert.deepEqual([echo.opcode, echo.payload.toString()], [1, 'early bird']);
});

test('a refused client that then resets its connection does not crash the process (node:http hands the socket over without an error listener)', async (t) => {
  const site = await startSite(t, 'handler');
  const socket = await rawConnect(site.port);
  defer(t, () => socket.destroy());
  socket.on('error', () => {});
  // No Sec-WebSocket-Key: refused with 400 (§4.2.1), and the server lingers to be read.
  socket.write(requestText(upgradeLines('/').filter((line) => !line.startsWith('Sec-WebSocket-Key'))));
  const [answer] = (await within(once(socket, 'data'), 2000, 'the refusal')) as [Buffer];
  assert.match(answer.toString('latin1'), /^HTTP\/1\.1 400 /);
  // A reset makes the server's socket emit ECONNRESET: without a listener, an uncaught
  // exception, which fails this test.
  socket.resetAndDestroy();
  await sleep(200);
});

test("a client that leaves with a TCP FIN and no close frame closes the peer (1006, §7.1.5) although node:http's sockets allow half-open connections", async (t) => {
  const site = await startSite(t, 'handler');
  const { socket } = await rawUpgrade(site.port);
  defer(t, () => socket.destroy());
  await waitFor(() => site.peers.length === 1, 2000, 'the peer');
  const peer = site.peers[0]!;
  socket.end();
  await within(peer.whenClosed(), 2000, 'the peer closes after the FIN');
  assert.equal(peer.closeCode, 1006);
  assert.equal(peer.state, 'CLOSED');
  // Our side ended too: the client sees the FIN.
  await within(once(socket, 'end'), 2000, 'our FIN');
});

test('a client that leaves while the application decides on its upgrade gets a peer that closes at once', async (t) => {
  const http = createServer();
  defer(t, () => new Promise<void>((resolve) => http.close(() => resolve())));
  const upgrade = createUpgradeHandler();
  const made = new Promise<Peer | null>((resolve) => {
    http.on('upgrade', (request: IncomingMessage, socket, head: Buffer) => {
      // The README's pattern: check asynchronously, then upgrade. The client's FIN comes first.
      socket.once('end', () => setImmediate(() => resolve(upgrade(request, socket, head))));
      socket.resume();
    });
  });
  http.listen(0, LOCALHOST);
  await once(http, 'listening');
  const client = await rawConnect((http.address() as AddressInfo).port);
  defer(t, () => client.destroy());
  client.on('error', () => {});
  client.end(requestText(upgradeLines('/')));
  const peer = await within(made, 2000, 'the upgrade');
  assert.ok(peer !== null);
  assert.equal(await within(peer.read(), 2000, 'read after the FIN'), null);
  assert.equal(peer.closeCode, 1006);
  assert.equal(peer.state, 'CLOSED');
});

test('a client that resets its connection while the application decides gets a peer already closed, which holds no maxConnections slot', async (t) => {
  const http = createServer();
  defer(t, () => {
    http.closeAllConnections();
    return new Promise<void>((resolve) => http.close(() => resolve()));
  });
  const upgrade = createUpgradeHandler({ maxConnections: 1 });
  const made: Array<Peer | null> = [];
  http.on('upgrade', (request: IncomingMessage, socket, head: Buffer) => {
    socket.on('error', () => {});
    // Decided only once the socket has closed: no 'close' is left to come.
    if (made.length === 0) socket.once('close', () => made.push(upgrade(request, socket, head)));
    else made.push(upgrade(request, socket, head));
  });
  http.listen(0, LOCALHOST);
  await once(http, 'listening');
  const port = (http.address() as AddressInfo).port;
  const leaving = await rawConnect(port);
  leaving.on('error', () => {});
  leaving.write(requestText(upgradeLines('/')));
  await sleep(50);
  leaving.resetAndDestroy();
  await waitFor(() => made.length === 1, 2000, 'the late upgrade');
  const dead = made[0]!;
  assert.ok(dead !== null);
  assert.equal(dead.closed, true);
  assert.equal(dead.closeCode, 1006);
  assert.equal(await within(dead.read(), 1000, 'read'), null);
  const live = await within(connect(`ws://${LOCALHOST}:${port}/`), 2000, 'a live client within maxConnections');
  defer(t, () => live.close());
  assert.equal(live.state, 'OPEN');
});

test('createUpgradeHandler honours maxConnections: past it an upgrade is answered 503, and a slot comes back when its peer closes', async (t) => {
  const site = await startSite(t, 'handler', { maxConnections: 1 });
  const first = await connect(`ws://${LOCALHOST}:${site.port}/`);
  defer(t, () => first.close());
  const refused = await rawExchange(site.port, requestText(upgradeLines('/')));
  assert.equal(refused.status, 503);
  first.close();
  await waitFor(() => site.peers[0]!.closed, 2000, 'the first peer closes');
  const again = await connect(`ws://${LOCALHOST}:${site.port}/`);
  defer(t, () => again.close());
  await again.write('back');
  assert.deepEqual(await readPlain(again, 2000), { opcode: 1, fin: true, data: 'back' });
});
