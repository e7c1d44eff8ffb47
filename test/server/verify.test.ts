/**
 * `verify`, the server's say on each upgrade request once it is known to be valid
 * (RFC 6455 §4.2.1, then §4.2.2 item 1's "the server may … refuse"): accepting, refusing with
 * a status, waiting for a promise with the request's next bytes held, failing safely, and the
 * same hook in `createUpgradeHandler`.
 */
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';

import { connect, createUpgradeHandler, HandshakeResponseError, InvalidHeaderError, server, TimeoutError, wrap, type Peer, type ServerOptions, type UpgradeRequestInfo, type VerifyResult } from '../../src/index.ts';
import { clientFrame, defer, LOCALHOST, portOf, rawConnect, rawExchange, rawUpgrade, requestText, sleep, socketPair, upgradeLines, waitFor, within } from '../peer/helpers.ts';

/** A server of ours with `options`, whose handler reads every message into `heard`. */
async function verifyingServer(t: TestContext, options: ServerOptions): Promise<{ url: string; port: number; heard: string[]; errors: unknown[] }> {
  const heard: string[] = [];
  const errors: unknown[] = [];
  const instance = await server(
    `ws://${LOCALHOST}:0`,
    async (peer) => {
      for await (const message of peer) heard.push(String(message.data));
    },
    { onError: (error) => void errors.push(error), ...options },
  );
  defer(t, () => instance.close(500));
  return { url: instance.url, port: portOf(instance), heard, errors };
}

test('verify sees the path with its query, lower-case headers, the origin, the offered subprotocols and the address; true accepts', async (t) => {
  const seen: UpgradeRequestInfo[] = [];
  const { url } = await verifyingServer(t, { verify: (request) => (seen.push(request), true), protocols: ['b'] });
  const peer = await connect(`${url}room?id=7`, { headers: { 'X-Token': 'abc' }, origin: 'https://app.example', protocols: ['a', 'b'] });
  defer(t, () => peer.close());
  assert.equal(peer.handshake.protocol, 'b');
  assert.equal(seen.length, 1);
  const request = seen[0]!;
  assert.equal(request.path, '/room?id=7');
  assert.equal(request.headers['x-token'], 'abc');
  assert.equal(request.origin, 'https://app.example');
  assert.deepEqual(request.protocols, ['a', 'b']);
  assert.equal(request.remoteAddress, LOCALHOST);
});

test('{ accept: true, data } accepts, and data is the peer\'s for its handler, from a plain answer or a promise; the application may set it too', async (t) => {
  const users = new Map([['t-ann', { name: 'ann' }], ['t-bob', { name: 'bob' }]]);
  const seen: unknown[] = [];
  const instance = await server(
    `ws://${LOCALHOST}:0`,
    (peer) => {
      seen.push(peer.data);
      peer.data = { ...(peer.data as object), greeted: true };
      seen.push(peer.data);
    },
    {
      verify: async ({ headers }) => {
        const user = users.get(headers['authorization'] ?? '');
        if (user === undefined) return { status: 401 };
        return headers['x-wait'] === undefined ? { accept: true, data: user } : sleep(20).then(() => ({ accept: true as const, data: user }));
      },
    },
  );
  defer(t, () => instance.close(500));
  const headerSets: Array<Record<string, string>> = [{ Authorization: 't-ann' }, { Authorization: 't-bob', 'X-Wait': '1' }];
  for (const headers of headerSets) {
    const client = await connect(instance.url, { headers });
    defer(t, () => client.close());
    assert.equal(client.data, undefined, 'a client peer has no data until set');
  }
  await waitFor(() => seen.length === 4, 2000, 'both handlers');
  assert.deepEqual(seen, [{ name: 'ann' }, { name: 'ann', greeted: true }, { name: 'bob' }, { name: 'bob', greeted: true }]);
  // `true` accepts with no data; { accept: false } is no answer: 500, reported.
  const errors: unknown[] = [];
  const plain = await verifyingServer(t, { verify: () => true });
  (await connect(plain.url)).close();
  const confused = await verifyingServer(t, { verify: () => ({ accept: false }) as never, onError: (error) => void errors.push(error) });
  assert.equal((await rawExchange(confused.port, requestText(upgradeLines()))).status, 500);
  assert.match(String(errors[0]), /verify answered \{"accept":false\}: it must answer true, false, \{ accept: true, data\? \} or \{ status, reason\?, headers\? \}/);
});

test('false refuses with 403; an object refuses with its status, reason and headers', async (t) => {
  const { url, port } = await verifyingServer(t, {
    verify: ({ headers }) => (headers['authorization'] === undefined ? { status: 401, reason: 'token required', headers: { 'WWW-Authenticate': 'Bearer' } } : false),
  });
  const unauthenticated = await rawExchange(port, requestText(upgradeLines()));
  assert.equal(unauthenticated.status, 401);
  assert.equal(unauthenticated.headers.get('www-authenticate'), 'Bearer');
  assert.equal(unauthenticated.body, 'token required\n');
  await assert.rejects(connect(url, { headers: { Authorization: 'Bearer wrong' } }), (error: unknown) => {
    assert.ok(error instanceof HandshakeResponseError);
    assert.equal(error.status, 403);
    return true;
  });
});

test('a promise is waited for, the bytes that followed the request held until the peer takes them', async (t) => {
  const { port, heard } = await verifyingServer(t, {
    verify: async () => {
      await sleep(100);
      return true;
    },
  });
  const socket = await rawConnect(port);
  defer(t, () => socket.destroy());
  socket.on('error', () => {});
  // A message in the request's write, and one while verify decides: both wait for the peer.
  socket.write(Buffer.concat([Buffer.from(requestText(upgradeLines())), clientFrame(1, 'sent with the request')]));
  await sleep(20);
  socket.write(clientFrame(1, 'sent while verify decides'));
  await waitFor(() => heard.length === 2, 3000, 'the early messages read');
  assert.deepEqual(heard, ['sent with the request', 'sent while verify decides']);
});

test('a verify that throws, rejects, answers a status that is not an error, headers that would break the head, or nothing is answered 500 and reported', async (t) => {
  const failures = [
    () => {
      throw new Error('sync failure');
    },
    async () => {
      throw new Error('async failure');
    },
    () => ({ status: 200 }),
    () => ({ status: 401, headers: { 'WWW-Authenticate': 'Basic\r\nSet-Cookie: injected=1' } }),
    async () => ({ status: 401, headers: { 'Content-Length': '0' } }),
    () => undefined as unknown as boolean,
  ];
  for (const verify of failures) {
    const { port, errors } = await verifyingServer(t, { verify });
    const response = await rawExchange(port, requestText(upgradeLines()));
    assert.equal(response.status, 500);
    assert.equal(errors.length, 1);
  }
});

test('a verify that does not decide within the handshake timeout has its socket closed', async (t) => {
  const { port } = await verifyingServer(t, { verify: () => new Promise(() => {}), timeout: 100 });
  const socket = await rawConnect(port);
  defer(t, () => socket.destroy());
  socket.on('error', () => {});
  let answered = 0;
  socket.on('data', (chunk: Buffer) => (answered += chunk.length));
  socket.write(requestText(upgradeLines()));
  await within(once(socket, 'close'), 3000, 'the socket closed');
  assert.equal(answered, 0, 'nothing was answered');
});

test('a verify that never decides holds nothing past the handshake timeout: its slot under maxConnections is freed, and wrap rejects', async (t) => {
  let deciding = true;
  const verify = (): boolean | Promise<boolean> => (deciding ? new Promise<boolean>(() => {}) : true);
  const instance = await server(`ws://${LOCALHOST}:0`, () => {}, { verify, timeout: 100, maxConnections: 1 });
  defer(t, () => instance.close(500));
  const stuck = await rawConnect(portOf(instance));
  defer(t, () => stuck.destroy());
  stuck.on('error', () => {});
  stuck.write(requestText(upgradeLines()));
  await within(once(stuck, 'close'), 3000, 'the undecided socket closed');
  deciding = false;
  // Upgraded (101), not 503: the slot of the undecided request was given back.
  const { socket: next } = await rawUpgrade(portOf(instance));
  next.destroy();
  // wrap: the same verdict that never comes rejects once the timeout passes.
  const [ours, theirs] = await socketPair();
  defer(t, () => (ours.destroy(), theirs.destroy()));
  theirs.on('error', () => {});
  theirs.write(requestText(upgradeLines()));
  const wrapped = wrap(ours, { role: 'server', verify: () => new Promise<boolean>(() => {}), timeout: 100 });
  await assert.rejects(within(wrapped, 2000, 'wrap settles'), TimeoutError);
});

/** The status a fresh upgrade request to `port` is answered with. */
async function upgradeStatus(port: number): Promise<number> {
  const socket = await rawConnect(port);
  try {
    socket.on('error', () => {});
    socket.write(requestText(upgradeLines()));
    const [chunk] = (await within(once(socket, 'data'), 2000, 'an answer')) as [Buffer];
    return Number(/^HTTP\/1\.1 (\d{3})/.exec(chunk.toString('latin1'))?.[1]);
  } finally {
    socket.destroy();
  }
}

test('a client that goes while verify is pending gives its slot under maxConnections back at once, not at the handshake timeout', async (t) => {
  let pending = 0;
  const verify = (): boolean | Promise<boolean> => (pending++ === 0 ? new Promise<boolean>(() => {}) : true);
  const instance = await server(`ws://${LOCALHOST}:0`, () => {}, { verify, timeout: 10_000, maxConnections: 1 });
  defer(t, () => instance.close(500));
  const leaving = await rawConnect(portOf(instance));
  leaving.on('error', () => {});
  leaving.write(requestText(upgradeLines()));
  await waitFor(() => pending === 1, 2000, 'verify called');
  leaving.destroy();
  // A few tries while the server sees the close; the handshake timeout is 10 s away.
  let status = 503;
  for (let tries = 0; tries < 20 && status === 503; tries++) {
    await sleep(50);
    status = await upgradeStatus(portOf(instance));
  }
  assert.equal(status, 101);
});

test('the handshake timeout covers the request head and a verify that waits together, not each in turn', async (t) => {
  // 600 ms for the head, then 600 ms for verify: each within 1000 ms, together past it.
  const { port } = await verifyingServer(t, { verify: () => new Promise<boolean>((resolve) => setTimeout(() => resolve(true), 600)), timeout: 1000 });
  const socket = await rawConnect(port);
  defer(t, () => socket.destroy());
  socket.on('error', () => {});
  let answered = '';
  socket.on('data', (chunk: Buffer) => (answered += chunk.toString('latin1')));
  const started = performance.now();
  const closed = once(socket, 'close');
  await sleep(600);
  socket.write(requestText(upgradeLines()));
  await within(closed, 3000, 'the socket closed');
  assert.equal(answered, '', 'no 101 after the deadline');
  assert.ok(performance.now() - started < 1150, `closed after ${Math.round(performance.now() - started)} ms`);
});

test('a verify that rejects, with an onError that throws, still gives its slot back', async (t) => {
  let calls = 0;
  const instance = await server(`ws://${LOCALHOST}:0`, () => {}, {
    verify: () => (calls++ === 0 ? Promise.reject(new Error('no')) : true),
    onError: () => {
      throw new Error('onError bug');
    },
    maxConnections: 1,
  });
  defer(t, () => instance.close(500));
  const refused = await rawExchange(portOf(instance), requestText(upgradeLines()));
  assert.equal(refused.status, 500);
  const { socket } = await rawUpgrade(portOf(instance)); // 101, not 503
  socket.destroy();
});

test('a verify promise that rejects after its client has gone is still reported, and no refusal is published for the socket that went', async (t) => {
  const refused: unknown[] = [];
  const onReject = (event: unknown): void => void refused.push(event);
  subscribe('wspeer:reject', onReject);
  defer(t, () => unsubscribe('wspeer:reject', onReject));
  let fail: ((error: Error) => void) | undefined;
  const verify = (): boolean | Promise<boolean> => (fail === undefined ? new Promise<boolean>((_resolve, reject) => (fail = reject)) : true);
  const { port, errors } = await verifyingServer(t, { verify, maxConnections: 1 });
  const leaving = await rawConnect(port);
  leaving.on('error', () => {});
  leaving.write(requestText(upgradeLines()));
  await waitFor(() => fail !== undefined, 2000, 'verify called');
  leaving.destroy();
  // The server has seen the close once the slot is free again (a 101, not a 503).
  let status = 503;
  for (let tries = 0; tries < 20 && status === 503; tries++) {
    await sleep(50);
    status = await upgradeStatus(port);
  }
  assert.equal(status, 101);
  refused.length = 0; // the 503s of the tries
  const late = new Error('decided after the client went');
  fail!(late);
  await waitFor(() => errors.length === 1, 2000, 'onError told');
  assert.equal(errors[0], late);
  assert.deepEqual(refused, [], 'no HTTP error went to the socket that has gone');
});

test('a 101 that cannot be built (extra headers made invalid after the server checked them) closes that connection, goes to onError and frees its slot, verify or not', async (t) => {
  for (const verify of [undefined, () => Promise.resolve(true)]) {
    const headers: Record<string, string> = { 'X-Server': 'ok' };
    const errors: unknown[] = [];
    const instance = await server(`ws://${LOCALHOST}:0`, () => {}, { headers, verify, maxConnections: 1, onError: (error) => void errors.push(error) });
    defer(t, () => instance.close(500));
    headers['X-Bad'] = 'a\r\nInjected: 1'; // options are the application's own object: it can still change it
    const socket = await rawConnect(portOf(instance));
    socket.on('error', () => {});
    let answered = '';
    socket.on('data', (chunk: Buffer) => (answered += chunk.toString('latin1')));
    socket.write(requestText(upgradeLines()));
    await within(once(socket, 'close'), 2000, 'the connection closed');
    assert.equal(answered, '', 'no head went out');
    assert.equal(errors.length, 1);
    assert.ok(errors[0] instanceof InvalidHeaderError, String(errors[0]));
    delete headers['X-Bad'];
    const { socket: next } = await rawUpgrade(portOf(instance)); // 101, not 503: the slot came back
    next.destroy();
  }
});

test('a request that breaks §4.2.1 is refused before verify is asked', async (t) => {
  let asked = 0;
  const { port } = await verifyingServer(t, { verify: () => (asked++, true) });
  const lines = upgradeLines().filter((line) => !line.startsWith('Sec-WebSocket-Key'));
  const response = await rawExchange(port, requestText(lines));
  assert.equal(response.status, 400);
  assert.equal(asked, 0);
});

test('requests waiting for verify count against maxConnections and are closed by Server.close', async (t) => {
  let release!: (value: boolean) => void;
  const decided = new Promise<boolean>((resolve) => (release = resolve));
  const instance = await server(`ws://${LOCALHOST}:0`, () => {}, { verify: () => decided, maxConnections: 1 });
  let closed = false;
  defer(t, () => (closed ? undefined : instance.close(500)));
  const waiting = await rawConnect(portOf(instance));
  waiting.on('error', () => {});
  waiting.write(requestText(upgradeLines()));
  await sleep(50);
  const second = await rawExchange(portOf(instance), requestText(upgradeLines()));
  assert.equal(second.status, 503);
  const gone = once(waiting, 'close');
  await within(instance.close(500), 3000, 'close');
  closed = true;
  await within(gone, 3000, 'the waiting socket closed');
  release(true);
});

test('createUpgradeHandler asks verify too, and refuses a promise it cannot wait for with 500', async (t) => {
  const errors: unknown[] = [];
  let answer: () => VerifyResult | Promise<boolean> = () => false;
  const upgrade = createUpgradeHandler({ verify: () => answer(), onError: (error) => void errors.push(error) });
  const http = createHttpServer((_request, response) => response.end('plain HTTP\n'));
  http.on('upgrade', (request, socket, head) => void upgrade(request, socket, head));
  http.listen(0, LOCALHOST);
  await once(http, 'listening');
  defer(t, () => new Promise((resolve) => http.close(resolve)));
  const { port } = http.address() as AddressInfo;
  assert.equal((await rawExchange(port, requestText(upgradeLines()))).status, 403);
  answer = () => Promise.resolve(true);
  assert.equal((await rawExchange(port, requestText(upgradeLines()))).status, 500);
  assert.ok(errors[0] instanceof TypeError);
  // A promise that fails later is not left unhandled (the test runner would report it).
  answer = () => Promise.reject(new Error('decided too late'));
  assert.equal((await rawExchange(port, requestText(upgradeLines()))).status, 500);
  assert.equal(errors.length, 2);
  // Data it accepts with is the peer's there too.
  const peers: Peer[] = [];
  const withData = createUpgradeHandler({ verify: () => ({ accept: true, data: 'from verify' }) });
  http.removeAllListeners('upgrade');
  http.on('upgrade', (request, socket, head) => {
    const peer = withData(request, socket, head);
    if (peer !== null) peers.push(peer);
  });
  const client = await connect(`ws://${LOCALHOST}:${port}/`);
  defer(t, () => client.close());
  await waitFor(() => peers.length === 1, 2000, 'the peer');
  assert.equal(peers[0]!.data, 'from verify');
  peers[0]!.close();
});
