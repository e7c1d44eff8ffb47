/**
 * `connect` against hand-written servers over real sockets: the client's checks of the
 * server's response (RFC 6455 §4.1), bytes that follow the 101, server frames that break
 * §5.1, IPv6 literals and connection errors.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { test, type TestContext } from 'node:test';

import { AbortError, connect, HandshakeResponseError, InvalidHeaderError, InvalidUrlError, server } from '../../src/index.ts';
import { acceptFor, defer, LOCALHOST, silentTcpServer, waitFor, within, readPlain } from '../peer/helpers.ts';

/**
 * A TCP server that reads one request head and answers with `respond(key)`; the sockets
 * are kept so tests can write more.
 */
async function scriptedServer(t: TestContext, respond: (key: string) => Buffer | string): Promise<{ url: string; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const listener = createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => {});
    let head = '';
    const onData = (chunk: Buffer): void => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      socket.resume();
      const key = /sec-websocket-key: *(\S+)/i.exec(head)?.[1] ?? '';
      socket.write(respond(key));
    };
    socket.on('data', onData);
  });
  listener.listen(0, LOCALHOST);
  await once(listener, 'listening');
  defer(t, async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => listener.close(() => resolve()));
  });
  return { url: `ws://${LOCALHOST}:${(listener.address() as AddressInfo).port}/`, sockets };
}

function switching(key: string, extra = ''): string {
  return `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(key)}\r\n${extra}\r\n`;
}

test('connect rejects a 101 whose Sec-WebSocket-Accept does not match the key (§4.1, client item 4)', async (t) => {
  const { url } = await scriptedServer(t, () => switching(Buffer.alloc(16).toString('base64')));
  await assert.rejects(within(connect(url), 3000, 'connect'), (error: unknown) => {
    assert.ok(error instanceof HandshakeResponseError);
    assert.equal(error.code, 'WS_RESPONSE_BAD_ACCEPT');
    assert.equal(error.status, 101);
    return true;
  });
});

test('connect rejects a non-101 answer with its status and the start of its body (§4.1)', async (t) => {
  const { url } = await scriptedServer(t, () => 'HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 12\r\nConnection: close\r\n\r\nnot allowed\n');
  await assert.rejects(within(connect(url), 3000, 'connect'), (error: unknown) => {
    assert.ok(error instanceof HandshakeResponseError);
    assert.equal(error.status, 403);
    assert.equal(error.bodyText, 'not allowed\n');
    return true;
  });
});

test('connect rejects a subprotocol the client did not offer (§4.1, client item 6)', async (t) => {
  const { url } = await scriptedServer(t, (key) => switching(key, 'Sec-WebSocket-Protocol: other\r\n'));
  await assert.rejects(within(connect(url, { protocols: ['mine'] }), 3000, 'connect'), (error: unknown) => {
    assert.ok(error instanceof HandshakeResponseError);
    assert.equal(error.code, 'WS_RESPONSE_BAD_PROTOCOL');
    return true;
  });
});

test('RFC 7692 §7.1: a 101 that accepts permessage-deflate with a parameter the client cannot take fails the connection with WS_RESPONSE_BAD_EXTENSIONS', async (t) => {
  for (const accepted of ['permessage-deflate; server_max_window_bits=7', 'permessage-deflate; x-unknown', 'permessage-deflate; client_max_window_bits=9; client_max_window_bits=9']) {
    const { url, sockets } = await scriptedServer(t, (key) => switching(key, `Sec-WebSocket-Extensions: ${accepted}\r\n`));
    await assert.rejects(within(connect(url, {}, { deflate: true }), 3000, 'connect'), (error: unknown) => {
      assert.ok(error instanceof HandshakeResponseError, `not a HandshakeResponseError: ${String(error)}`);
      assert.deepEqual([error.code, error.status], ['WS_RESPONSE_BAD_EXTENSIONS', 101], accepted);
      return true;
    });
    await waitFor(() => sockets[0]!.closed, 2000, 'the server to see the connection failed');
  }
});

test('RFC 7230 §3.2: a response head the client cannot parse, or one over maxHeadBytes, makes connect reject with its error and close the socket', async (t) => {
  const cases: Array<[string, (key: string) => string, number | undefined]> = [
    ['WS_RESPONSE_MALFORMED', (key) => `${switching(key).slice(0, -2)}no colon here\r\n\r\n`, undefined],
    ['WS_RESPONSE_MALFORMED', () => 'HTTP/1.1 101\nUpgrade: websocket\r\n\r\n', undefined],
    ['WS_RESPONSE_TOO_LARGE', (key) => switching(key, `X-Padding: ${'p'.repeat(600)}\r\n`), 512],
  ];
  for (const [code, respond, maxHeadBytes] of cases) {
    const { url, sockets } = await scriptedServer(t, respond);
    await assert.rejects(within(connect(url, {}, { maxHeadBytes }), 3000, 'connect'), (error: unknown) => {
      assert.ok(error instanceof HandshakeResponseError, `not a HandshakeResponseError: ${String(error)}`);
      assert.equal(error.code, code);
      return true;
    });
    await waitFor(() => sockets[0]!.closed, 2000, 'the server to see the socket closed');
  }
});

test('a frame sent in the same write as the 101 response is delivered to the client', async (t) => {
  const { url } = await scriptedServer(t, (key) => Buffer.concat([Buffer.from(switching(key), 'latin1'), Buffer.from([0x81, 0x05]), Buffer.from('early')]));
  const client = await within(connect(url), 3000, 'connect');
  defer(t, () => client.close());
  assert.deepEqual(await readPlain(client, 2000), { opcode: 1, fin: true, data: 'early' });
});

test('a masked frame from the server fails the connection with 1002 (§5.1)', async (t) => {
  const { url, sockets } = await scriptedServer(t, (key) => switching(key));
  const client = await within(connect(url), 3000, 'connect');
  defer(t, () => client.close());
  const serverSide = sockets[0]!;
  const received: Buffer[] = [];
  serverSide.on('data', (chunk: Buffer) => received.push(chunk));
  const ended = once(serverSide, 'end');
  serverSide.write(Buffer.from([0x81, 0x82, 0, 0, 0, 0, 0x68, 0x69])); // "hi", masked with a zero key
  assert.equal(await client.read(2000), null);
  assert.equal(client.error?.closeCode, 1002);
  assert.equal(client.closeCode, 1006, 'the server sent no close frame');
  await within(ended, 2000, 'the failing client ends the TCP connection (§7.1.7)');
  const bytes = Buffer.concat(received);
  assert.equal(bytes[0], 0x88, 'a close frame');
  assert.equal(bytes[1]! & 0x80, 0x80, 'masked, as clients must (§5.3)');
});

test('connect to an IPv6 literal URL (ws://[::1]:port/)', async (t) => {
  const instance = await server('ws://[::1]:0/', async (peer) => {
    for await (const message of peer) await peer.write(message.data);
  });
  defer(t, () => instance.close(500));
  assert.match(instance.url, /^ws:\/\/\[::1\]:\d+\/$/);
  const client = await within(connect(instance.url), 3000, 'connect');
  defer(t, () => client.close());
  await client.write('over v6');
  assert.deepEqual(await readPlain(client, 2000), { opcode: 1, fin: true, data: 'over v6' });
});

test('connect fails fast with the socket error when nothing listens, and on an invalid URL', async () => {
  const silent = await silentTcpServer();
  const port = silent.port;
  await silent.close(); // the port is now free
  await assert.rejects(within(connect(`ws://${LOCALHOST}:${port}/`), 3000, 'connect'), (error: NodeJS.ErrnoException) => {
    assert.equal(error.code, 'ECONNREFUSED');
    return true;
  });
  await assert.rejects(connect('http2://example.com/'), InvalidUrlError);
  await assert.rejects(connect(`ws://${LOCALHOST}:${port}/#fragment`), InvalidUrlError);
});

test('bad headers, subprotocols or options are refused before anything goes on the network', async (t) => {
  // A listener that counts connections: none may come.
  const { server: listener, port, close } = await silentTcpServer();
  defer(t, close);
  let connections = 0;
  listener.on('connection', () => connections++);
  const url = `ws://${LOCALHOST}:${port}/`;
  await assert.rejects(connect(url, { headers: { 'X-Info': 'a\r\nInjected: 1' } }), InvalidHeaderError);
  await assert.rejects(connect(url, { headers: { 'Sec-WebSocket-Key': 'forged' } }), InvalidHeaderError);
  await assert.rejects(connect(url, { protocols: ['two words'] }), InvalidHeaderError);
  await assert.rejects(connect(url, {}, { maxPayload: -1 }), RangeError);
  await assert.rejects(connect(url, {}, { maxHeadBytes: 2 }), /head size limit/);
  // Past 2³¹ − 1 ms, Node's timers fire after 1 ms: such a timeout is refused.
  for (const timeout of [Infinity, 2 ** 31, 0, -5]) await assert.rejects(connect(url, {}, { timeout }), /timeout must be a number of milliseconds/);
  for (const option of ['closeTimeout', 'pingFrequency'] as const) await assert.rejects(connect(url, {}, { [option]: 2 ** 31 }), new RegExp(option));
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(connections, 0, 'a connection was opened for a request that could never be sent');
});

test('a server that closes during the opening handshake makes connect reject, not hang', async (t) => {
  const listener = createServer((socket) => {
    socket.on('error', () => {});
    socket.resume(); // read, so the client's end is seen and the socket goes
    socket.end();
  });
  listener.listen(0, LOCALHOST);
  await once(listener, 'listening');
  defer(t, () => new Promise<void>((resolve) => listener.close(() => resolve())));
  await assert.rejects(within(connect(`ws://${LOCALHOST}:${(listener.address() as AddressInfo).port}/`, {}, { timeout: 2000 }), 3000, 'connect'), (error: unknown) => {
    assert.ok(error instanceof HandshakeResponseError, `not a HandshakeResponseError: ${String(error)}`);
    assert.deepEqual([error.code, error.status], ['WS_RESPONSE_CLOSED', 0]);
    assert.match(error.message, /without a byte of response \(a wss:\/\/ server, reached with ws:\/\/, does so\)$/);
    return true;
  });
});

test('a server that closes in the middle of its response head makes connect reject with WS_RESPONSE_CLOSED, which says so', async (t) => {
  const listener = createServer((socket) => {
    socket.on('error', () => {});
    socket.once('data', () => socket.end('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n'));
  });
  listener.listen(0, LOCALHOST);
  await once(listener, 'listening');
  defer(t, () => new Promise<void>((resolve) => listener.close(() => resolve())));
  await assert.rejects(within(connect(`ws://${LOCALHOST}:${(listener.address() as AddressInfo).port}/`, {}, { timeout: 2000 }), 3000, 'connect'), {
    code: 'WS_RESPONSE_CLOSED',
    message: 'the server closed the connection during the opening handshake, before the end of its response head',
  });
});

/** Check that `error` is our AbortError carrying `reason`. */
function abortedWith(reason: unknown): (error: unknown) => true {
  return (error) => {
    assert.ok(error instanceof AbortError);
    assert.equal(error.name, 'AbortError');
    assert.equal(error.code, 'WS_ERR_ABORTED');
    assert.equal(error.cause, reason);
    return true;
  };
}

test('connect with an aborted signal rejects with AbortError before anything goes on the network', async (t) => {
  const silent = await silentTcpServer();
  defer(t, silent.close);
  let connections = 0;
  silent.server.on('connection', () => connections++);
  const reason = new Error('not wanted');
  await assert.rejects(connect(`ws://${LOCALHOST}:${silent.port}/`, {}, { signal: AbortSignal.abort(reason) }), abortedWith(reason));
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(connections, 0, 'a connection was opened for an aborted attempt');
});

test('aborting the signal during the opening handshake rejects at once with AbortError and closes the socket', async (t) => {
  const silent = await silentTcpServer(); // accepts, never answers the upgrade
  defer(t, silent.close);
  const controller = new AbortController();
  const attempt = connect(`ws://${LOCALHOST}:${silent.port}/`, {}, { timeout: 20_000, signal: controller.signal });
  attempt.catch(() => {}); // judged below, once aborted
  await waitFor(() => silent.sockets.size === 1, 3000, 'the server accepted the attempt');
  const reason = new Error('changed my mind');
  controller.abort(reason);
  await assert.rejects(within(attempt, 1000, 'connect, 20 s from its timeout'), abortedWith(reason));
  await waitFor(() => silent.sockets.size === 0, 1000, 'the server saw the socket closed');
});

test('connect takes from `request` only its own fields, where given: an undefined there keeps the option, a connection option put there is not obeyed', async (t) => {
  const instance = await server(`ws://${LOCALHOST}:0/`, (peer) => void peer.send(`${peer.handshake.path} ${peer.handshake.headers['x-token'] ?? '-'}`));
  defer(t, () => instance.close(500));
  const untyped = (value: unknown): Parameters<typeof connect>[1] => value as Parameters<typeof connect>[1];
  // `timeout: 1` in the request would fail the connection at once if it were taken.
  const peer = await connect(instance.url, untyped({ headers: undefined, path: '/given', timeout: 1 }), { headers: { 'X-Token': 'from options' }, path: '/ignored' });
  defer(t, () => peer.close());
  assert.equal((await peer.read(2000))?.data, '/given from options');
  await assert.rejects(connect(instance.url, untyped(null)), /the request must be an object, got null/);
  // A subprotocol passed where the request goes (it belongs in `request.protocols`).
  await assert.rejects(connect(instance.url, untyped('chat')), { name: 'TypeError', message: 'connect: the request must be an object, got string' });
});
