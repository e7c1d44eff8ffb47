/**
 * The server's answer to every kind of bad opening handshake, sent over a raw socket
 * (RFC 6455 §4.2.1, §4.2.2, RFC 7230/7231 statuses), and subprotocol negotiation (§4.2.2
 * item 4, §1.9).
 */
import assert from 'node:assert/strict';
import { Socket as NetSocket, type Socket } from 'node:net';
import { test, type TestContext } from 'node:test';

import { connect, createUpgradeHandler, InvalidHeaderError, server, type Server, type ServerOptions } from '../../src/index.ts';
import { defer, LOCALHOST, portOf, rawConnect, rawExchange, type RawResponse, rawUpgrade, requestText, upgradeLines, waitFor, within, readPlain } from '../peer/helpers.ts';
import { closeWs, wsClient } from '../peer/ws-helpers.ts';

async function startServer(t: TestContext, url = `ws://${LOCALHOST}:0/`, options: ServerOptions = {}): Promise<Server> {
  const instance = await server(
    url,
    async (peer) => {
      for await (const message of peer) await peer.write(message.data).catch(() => {});
    },
    options,
  );
  defer(t, () => instance.close(500));
  return instance;
}

/** Replace (or with `undefined` remove) the header line starting with `name:`. */
function withHeader(lines: string[], name: string, value: string | undefined): string[] {
  const prefix = `${name.toLowerCase()}:`;
  const kept = lines.filter((line) => !line.toLowerCase().startsWith(prefix));
  return value === undefined ? kept : [...kept, `${name}: ${value}`];
}

/** A rejection: the status, a one-line reason body matching its Content-Length, and the socket ended. */
function assertRejection(response: RawResponse, status: number, reason?: RegExp): void {
  assert.equal(response.status, status, `expected ${status}, got ${response.statusLine}: ${response.body}`);
  assert.match(response.statusLine, /^HTTP\/1\.1 \d{3} [A-Za-z ]+$/);
  assert.equal(response.ended, true);
  assert.equal(response.headers.get('content-type'), 'text/plain');
  assert.equal(Number(response.headers.get('content-length')), Buffer.byteLength(response.body, 'latin1'));
  assert.match(response.headers.get('connection') ?? '', /close/);
  assert.match(response.body, /^[\x20-\x7e]+\n$/, `body is not one line: ${JSON.stringify(response.body)}`);
  if (reason !== undefined) assert.match(response.body, reason);
}

const BAD_REQUESTS: Array<{ title: string; lines: () => string[]; status: number; reason: RegExp; check?: (response: RawResponse) => void }> = [
  {
    title: 'a method other than GET is answered 405 with Allow: GET (§4.1 item 2)',
    lines: () => [`POST / HTTP/1.1`, ...upgradeLines().slice(1)],
    status: 405,
    reason: /GET/,
    check: (response) => assert.equal(response.headers.get('allow'), 'GET'),
  },
  {
    title: 'HTTP/1.0 is answered 505 HTTP Version Not Supported (§4.1 item 2: HTTP/1.1 or higher)',
    lines: () => [`GET / HTTP/1.0`, ...upgradeLines().slice(1)],
    status: 505,
    reason: /HTTP/,
  },
  {
    title: 'a request without Host is answered 400 (§4.2.1 item 2)',
    lines: () => withHeader(upgradeLines(), 'Host', undefined),
    status: 400,
    reason: /Host/,
  },
  {
    title: 'a request without Upgrade is answered 400 (§4.2.1 item 3)',
    lines: () => withHeader(upgradeLines(), 'Upgrade', undefined),
    status: 400,
    reason: /Upgrade/,
  },
  {
    title: 'an Upgrade to another protocol is answered 400 (§4.2.1 item 3)',
    lines: () => withHeader(upgradeLines(), 'Upgrade', 'h2c'),
    status: 400,
    reason: /Upgrade/,
  },
  {
    title: 'a Connection header without the upgrade token is answered 400 (§4.2.1 item 4)',
    lines: () => withHeader(upgradeLines(), 'Connection', 'keep-alive'),
    status: 400,
    reason: /Connection/,
  },
  {
    title: 'Sec-WebSocket-Version 8 is answered 426 with Sec-WebSocket-Version: 13 (§4.2.2 item 4)',
    lines: () => withHeader(upgradeLines(), 'Sec-WebSocket-Version', '8'),
    status: 426,
    reason: /13/,
    check: (response) => {
      assert.equal(response.headers.get('sec-websocket-version'), '13');
      assert.equal(response.headers.get('upgrade'), 'websocket');
    },
  },
  {
    title: 'a Sec-WebSocket-Key that is not 16 bytes of base64 is answered 400 (§4.2.1 item 5)',
    lines: () => withHeader(upgradeLines(), 'Sec-WebSocket-Key', Buffer.alloc(15).toString('base64')),
    status: 400,
    reason: /Key/,
  },
  {
    title: 'a missing Sec-WebSocket-Key is answered 400 (§4.2.1 item 5)',
    lines: () => withHeader(upgradeLines(), 'Sec-WebSocket-Key', undefined),
    status: 400,
    reason: /Key/,
  },
  {
    title: 'a request head over 16 KiB is answered 431',
    lines: () => [...upgradeLines(), `X-Padding: ${'p'.repeat(17 * 1024)}`],
    status: 431,
    reason: /large/,
  },
  {
    title: 'a request with 200 header lines is answered 431',
    lines: () => [...upgradeLines(), ...Array.from({ length: 200 }, (_, i) => `X-Header-${i}: ${i}`)],
    status: 431,
    reason: /header/,
  },
];

for (const bad of BAD_REQUESTS) {
  test(`rejection: ${bad.title}`, async (t) => {
    const instance = await startServer(t);
    const response = await rawExchange(portOf(instance), requestText(bad.lines()));
    assertRejection(response, bad.status, bad.reason);
    bad.check?.(response);
    assert.equal(instance.peers.size, 0);
    // The server keeps serving well-formed requests.
    const { socket } = await rawUpgrade(portOf(instance));
    socket.destroy();
  });
}

test('rejection: a head over 16 KiB is answered 431 before its end arrives', async (t) => {
  const instance = await startServer(t);
  const head = `${upgradeLines().join('\r\n')}\r\nX-Padding: ${'p'.repeat(17 * 1024)}`; // no blank line
  const response = await rawExchange(portOf(instance), head);
  assertRejection(response, 431);
});

test('rejection: a HEAD request gets the header fields of its 405 and no body (RFC 7231 §4.3.2)', async (t) => {
  const instance = await startServer(t);
  const lines = upgradeLines();
  lines[0] = 'HEAD / HTTP/1.1';
  const response = await rawExchange(portOf(instance), requestText(lines));
  assert.equal(response.status, 405);
  assert.equal(response.headers.get('allow'), 'GET');
  assert.ok(Number(response.headers.get('content-length')) > 0, 'the length a GET would have');
  assert.equal(response.body, '');
});

test('close refuses a negative or NaN timeout with a RangeError, before closing anything', async (t) => {
  const instance = await startServer(t);
  await assert.rejects(instance.close(-1), RangeError);
  await assert.rejects(instance.close(Number.NaN), RangeError);
  const client = await connect(instance.url);
  defer(t, () => client.close());
  await client.write('still serving');
  assert.equal((await client.read(2000))?.data, 'still serving');
  await within(instance.close(500), 2000, 'a close with a valid timeout');
  assert.equal(await within(client.read(), 2000, 'the client closed'), null);
});

test('rejection: a path other than the one in the server URL is answered 404', async (t) => {
  const instance = await startServer(t, `ws://${LOCALHOST}:0/chat`);
  assert.match(instance.url, /\/chat$/);
  assertRejection(await rawExchange(portOf(instance), requestText(upgradeLines('/other'))), 404);
  assertRejection(await rawExchange(portOf(instance), requestText(upgradeLines('/'))), 404);
  // The right path, with or without a query, is upgraded.
  (await rawUpgrade(portOf(instance), '/chat')).socket.destroy();
  (await rawUpgrade(portOf(instance), '/chat?room=1')).socket.destroy();
  const client = await connect(instance.url);
  assert.equal(client.handshake.path, '/chat');
  client.close();
});

test('rejection: an Origin outside the origins option is answered 403 (§10.2)', async (t) => {
  const instance = await startServer(t, `ws://${LOCALHOST}:0/`, { origins: ['https://good.example'] });
  const port = portOf(instance);
  assertRejection(await rawExchange(port, requestText([...upgradeLines(), 'Origin: https://evil.example'])), 403, /origin/i);
  const allowed = await connect(instance.url, { origin: 'https://good.example' });
  await allowed.write('ok');
  assert.deepEqual(await readPlain(allowed, 2000), { opcode: 1, fin: true, data: 'ok' });
  allowed.close();
  await assert.rejects(connect(instance.url, { origin: 'https://evil.example' }), (error: Error & { status?: number }) => {
    assert.equal(error.status, 403);
    return true;
  });
});

test('rejection: a connection beyond maxConnections is answered 503, and a slot frees when a peer leaves', async (t) => {
  const instance = await startServer(t, `ws://${LOCALHOST}:0/`, { maxConnections: 2 });
  const port = portOf(instance);
  const first = await connect(instance.url);
  const second = await connect(instance.url);
  defer(t, () => {
    first.close();
    second.close();
  });
  assertRejection(await rawExchange(port, requestText(upgradeLines())), 503);
  await assert.rejects(connect(instance.url), (error: Error & { status?: number }) => {
    assert.equal(error.status, 503);
    return true;
  });
  assert.equal(await first.shutdown(1000, '', 2000), true);
  await waitFor(() => instance.peers.size <= 1, 2000, 'the server forgets the closed peer');
  const third = await connect(instance.url);
  await third.write('in');
  assert.deepEqual(await readPlain(third, 2000), { opcode: 1, fin: true, data: 'in' });
  third.close();
});

test('subprotocol: the server picks by its own preference order, not the client\'s (§4.2.2 item 4)', async (t) => {
  const instance = await startServer(t, `ws://${LOCALHOST}:0/`, { protocols: ['a', 'b'] });
  const client = await connect(instance.url, { protocols: ['b', 'a'] });
  defer(t, () => client.close());
  assert.equal(client.handshake.protocol, 'a');
  assert.equal(client.handshake.headers['sec-websocket-protocol'], 'a');
  const only = await connect(instance.url, { protocols: ['c', 'b'] });
  assert.equal(only.handshake.protocol, 'b');
  only.close();
  const { ws } = await wsClient(instance.url, ['b', 'a']);
  assert.equal(ws.protocol, 'a');
  await closeWs(ws);
});

/** Against a server speaking chat.v2, chat.v1 on /chat and feed on /feed: each path gets its own, any other none (§4.2.2 item 4). */
async function assertChosenPerPath(instance: { url: string }): Promise<void> {
  const offered = ['chat.v1', 'chat.v2', 'feed'];
  const chosen: string[] = [];
  for (const path of ['/chat?room=5', '/feed', '/other']) {
    const peer = await connect(instance.url, { path, protocols: offered });
    chosen.push(peer.handshake.protocol);
    peer.close();
  }
  assert.deepEqual(chosen, ['chat.v2', 'feed', '']);
}

test('subprotocol: the function form chooses the list per path', async (t) => {
  const seen: string[] = [];
  const instance = await startServer(t, `ws://${LOCALHOST}:0/`, {
    protocols: (path) => {
      seen.push(path);
      return path === '/chat' ? ['chat.v2', 'chat.v1'] : path === '/feed' ? ['feed'] : [];
    },
  });
  await assertChosenPerPath(instance);
  assert.deepEqual(seen, ['/chat', '/feed', '/other'], 'the function gets the path without its query');
});

test('subprotocol: the record form gives each path its list; a path it does not name speaks none; bad records are refused when the server is made', async (t) => {
  const instance = await startServer(t, `ws://${LOCALHOST}:0/`, { protocols: { '/chat': ['chat.v2', 'chat.v1'], '/feed': 'feed' } });
  await assertChosenPerPath(instance);
  assert.throws(() => createUpgradeHandler({ protocols: { chat: ['a'] } }), /"chat" is no request path/);
  assert.throws(() => createUpgradeHandler({ protocols: { '/chat': ['a b'] } }), /protocols\["\/chat"\]: "a b" is not a token/);
  assert.throws(() => createUpgradeHandler({ protocols: { '/chat': [1] } as never }), /protocols\["\/chat"\] must be a string or an array of strings/);
  assert.throws(() => createUpgradeHandler({ protocols: 5 as never }), /protocols must be a string, an array of strings, a record of them by path, or a function of the path, got 5/);
});

test('extra response headers that would break the head, or that the handshake sets itself, are refused when the server is made', async (t) => {
  const bad: Array<Record<string, string>> = [{ 'X-Info': 'a\r\nSet-Cookie: injected=1' }, { 'Bad Name': 'v' }, { 'Sec-WebSocket-Accept': 'forged' }];
  for (const headers of bad) {
    const making = server(`ws://${LOCALHOST}:0/`, () => {}, { headers });
    defer(t, () => making.then((made) => made.close(0), () => {})); // should this test fail
    await assert.rejects(making, InvalidHeaderError, JSON.stringify(headers));
    assert.throws(() => createUpgradeHandler({ headers }), InvalidHeaderError, JSON.stringify(headers));
  }
});

test('subprotocol: a protocols function that throws or answers nonsense is the server\'s fault: 500, onError, and the server keeps serving', async (t) => {
  const errors: unknown[] = [];
  const instance = await startServer(t, `ws://${LOCALHOST}:0/`, {
    protocols: (path) => {
      if (path === '/throws') throw new Error('protocols exploded');
      if (path === '/nonsense') return 'chat' as unknown as string[];
      return ['chat'];
    },
    onError: (error) => errors.push(error),
  });
  for (const path of ['/throws', '/nonsense']) {
    const response = await rawExchange(portOf(instance), requestText([...upgradeLines(path), 'Sec-WebSocket-Protocol: chat']));
    assert.equal(response.status, 500, path);
  }
  assert.equal(errors.length, 2);
  assert.equal((errors[0] as Error).message, 'protocols exploded');
  assert.ok(errors[1] instanceof TypeError && errors[1].message.startsWith('protocols answered chat'), String(errors[1]));
  const fine = await connect(instance.url, { protocols: ['chat'] });
  assert.equal(fine.handshake.protocol, 'chat');
  fine.close();
});

test('subprotocol: a client offering only protocols the server does not speak gets none, and no header (§4.2.2 item 4)', async (t) => {
  const instance = await startServer(t, `ws://${LOCALHOST}:0/`, { protocols: ['a'] });
  const socket = (await rawUpgradeWith(portOf(instance), [...upgradeLines(), 'Sec-WebSocket-Protocol: x, y'])).socket;
  socket.destroy();
  const client = await connect(instance.url, { protocols: ['x', 'y'] });
  assert.equal(client.handshake.protocol, '');
  assert.equal(client.handshake.headers['sec-websocket-protocol'], undefined);
  await client.write('no protocol');
  assert.deepEqual(await readPlain(client, 2000), { opcode: 1, fin: true, data: 'no protocol' });
  client.close();
  // A server without protocols answers none either.
  const plain = await startServer(t);
  const offered = await connect(plain.url, { protocols: ['a'] });
  assert.equal(offered.handshake.protocol, '');
  offered.close();
});

test('the 101 response carries the configured extra headers and the server sees the request headers', async (t) => {
  let seenHeaders: Record<string, string> = {};
  const instance = await server(
    `ws://${LOCALHOST}:0/`,
    (peer) => {
      seenHeaders = { ...peer.handshake.headers };
      peer.close();
    },
    { headers: { 'X-Served-By': 'wspeer-test' } },
  );
  defer(t, () => instance.close(500));
  const client = await connect(instance.url, { headers: { 'X-Token': 'abc' } });
  assert.equal(client.handshake.headers['x-served-by'], 'wspeer-test');
  await client.read(2000);
  assert.equal(seenHeaders['x-token'], 'abc');
  client.close();
});

/** Upgrade with exactly these request lines; checks for a 101 and that no subprotocol header came back. */
async function rawUpgradeWith(port: number, lines: string[]): Promise<{ socket: Socket }> {
  const socket = await rawConnect(port);
  socket.on('error', () => {});
  socket.write(requestText(lines));
  let head = '';
  await within(
    new Promise<void>((resolve) => {
      socket.on('data', (chunk: Buffer) => {
        head += chunk.toString('latin1');
        if (head.includes('\r\n\r\n')) resolve();
      });
    }),
    2000,
    'response head',
  );
  assert.match(head, /^HTTP\/1\.1 101 /);
  assert.doesNotMatch(head, /sec-websocket-protocol/i);
  return { socket };
}

test('peer.handshake.headers, made from the request head when first read: names lower-cased, repeated fields joined, whitespace trimmed, the same object each time', async (t) => {
  const peers: Array<{ handshake: { headers: Readonly<Record<string, string>> }; close(): void }> = [];
  const seenByVerify: Array<Record<string, string>> = [];
  const lazy = await server(`ws://${LOCALHOST}:0/`, (peer) => void peers.push(peer));
  const verified = await server(`ws://${LOCALHOST}:0/`, (peer) => void peers.push(peer), {
    verify: ({ headers }) => (seenByVerify.push({ ...headers }), true),
  });
  defer(t, () => lazy.close(500));
  defer(t, () => verified.close(500));
  const lines = [...upgradeLines('/room?x=1'), 'X-Tag:  first \t', 'x-TAG: second', 'Cookie: a=1; b=2', '__proto__: odd'];
  for (const port of [portOf(lazy), portOf(verified)]) {
    const socket = await rawConnect(port);
    socket.on('error', () => {});
    defer(t, () => socket.destroy());
    socket.write(requestText(lines));
    await waitFor(() => peers.length === (port === portOf(lazy) ? 1 : 2), 2000, 'the server made the peer');
  }
  const key = lines.find((line) => line.startsWith('Sec-WebSocket-Key: '))!.slice('Sec-WebSocket-Key: '.length);
  for (const peer of peers) {
    const { headers } = peer.handshake;
    assert.equal(headers['x-tag'], 'first, second');
    assert.equal(headers['cookie'], 'a=1; b=2');
    assert.equal(headers['sec-websocket-key'], key);
    assert.equal(headers['host'], LOCALHOST);
    assert.equal(Object.getOwnPropertyDescriptor(headers, '__proto__')?.value, 'odd');
    assert.equal(peer.handshake, peer.handshake, 'made once, then kept');
    assert.equal((peer.handshake as { path?: string }).path, '/room?x=1');
    assert.equal(JSON.parse(JSON.stringify(peer.handshake)).headers['x-tag'], 'first, second');
  }
  assert.deepEqual({ ...peers[0]!.handshake.headers }, { ...peers[1]!.handshake.headers });
  assert.deepEqual({ ...peers[1]!.handshake.headers }, seenByVerify[0]);
});

test('an accepted peer\'s socket carries one error listener and one end listener (Node\'s own does nothing on a half-open socket), the FIN is still seen, and a reset crashes nothing', async (t) => {
  let accepted: { socket: Socket; whenClosed(): Promise<unknown> } | null = null;
  const instance = await server(`ws://${LOCALHOST}:0/`, (peer) => void (accepted = peer));
  defer(t, () => instance.close(500));
  const { socket } = await rawUpgrade(portOf(instance));
  await waitFor(() => accepted !== null, 2000, 'the server made the peer');
  const peer = accepted!;
  assert.equal(peer.socket.listenerCount('error'), 1);
  // Node's own listener goes only where it is the known no-op (Node 20's source); elsewhere both stay.
  const nodeOwn = String(new NetSocket().listeners('end')[0]);
  const knownNoop = /^function onReadableStreamEnd\(\) \{\s*if \(!this\.allowHalfOpen\) \{\s*this\.write = writeAfterFIN;\s*\}\s*\}$/.test(nodeOwn);
  assert.equal(peer.socket.listenerCount('end'), knownNoop ? 1 : 2);
  assert.equal(peer.socket.allowHalfOpen, true);
  socket.resetAndDestroy();
  await within(peer.whenClosed(), 2000, 'the peer closes after the reset');
  // A FIN with no close frame: the peer hears it through its own listener and closes (1006).
  let second: { closeCode: number; whenClosed(): Promise<unknown> } | null = null;
  const other = await server(`ws://${LOCALHOST}:0/`, (peer) => void (second = peer));
  defer(t, () => other.close(500));
  const { socket: half } = await rawUpgrade(portOf(other));
  await waitFor(() => second !== null, 2000, 'the server made the second peer');
  half.end();
  await within(second!.whenClosed(), 3000, 'the peer closes after the FIN');
  assert.equal(second!.closeCode, 1006);
});

test('peer.handshake made on first read keeps the negotiated subprotocol, and the path of an absolute-form request target (RFC 7230 §5.3.2)', async (t) => {
  const peers: Array<{ handshake: { path: string; protocol: string; headers: Readonly<Record<string, string>> } }> = [];
  const instance = await server(`ws://${LOCALHOST}:0/abs`, (peer) => void peers.push(peer), { protocols: ['chat'] });
  defer(t, () => instance.close(500));
  const requests = [
    [...upgradeLines('/abs?q=1'), 'Sec-WebSocket-Protocol: other, chat'],
    [`GET ws://${LOCALHOST}/abs?q=2 HTTP/1.1`, ...upgradeLines().slice(1)],
  ];
  for (const [index, lines] of requests.entries()) {
    const socket = await rawConnect(portOf(instance));
    socket.on('error', () => {});
    defer(t, () => socket.destroy());
    socket.write(requestText(lines));
    await waitFor(() => peers.length === index + 1, 2000, 'the server made the peer');
  }
  assert.equal(peers[0]!.handshake.protocol, 'chat');
  assert.equal(peers[0]!.handshake.path, '/abs?q=1');
  assert.equal(peers[0]!.handshake.headers['sec-websocket-protocol'], 'other, chat');
  assert.equal(peers[1]!.handshake.protocol, '');
  assert.equal(peers[1]!.handshake.path, '/abs?q=2');
  assert.equal(peers[1]!.handshake.headers['host'], LOCALHOST);
});
