/**
 * The server factories over real sockets: `bind` + `accept`, handler failures (1011,
 * §7.4.1), `Server.close` (1001 to everyone), `broadcast`, and a handler per path.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect as netConnect } from 'node:net';
import { test, type TestContext } from 'node:test';

import { bind, connect, ConnectionClosedError, server, TimeoutError, type Message, type Peer, type Routes, type Server, type ServerOptions } from '../../src/index.ts';
import { defer, LOCALHOST, parseResponse, portOf, rawConnect, rawExchange, rawUpgrade, requestText, sleep, upgradeLines, waitFor, within, readPlain } from '../peer/helpers.ts';
import { closeWs, wsClient } from '../peer/ws-helpers.ts';

function tcpHandles(): number {
  return process.getActiveResourcesInfo().filter((name) => name.startsWith('TCP')).length;
}

test('accept(timeout) rejects with TimeoutError when nobody connects, and a later accept still gets the next peer', async (t) => {
  const bound = await bind(`ws://${LOCALHOST}:0/`);
  defer(t, () => bound.close(500));
  const started = performance.now();
  await assert.rejects(bound.accept(80), TimeoutError);
  const waited = performance.now() - started;
  assert.ok(waited >= 75 && waited < 1000, `accept gave up after ${waited} ms`);

  const client = await connect(bound.url);
  defer(t, () => client.close());
  const peer = await bound.accept(2000);
  await client.write('first');
  assert.deepEqual(await readPlain(peer, 2000), { opcode: 1, fin: true, data: 'first' });
  assert.equal(bound.peers.size, 1);
});

test('accept hands out peers in the order they connected, including those that came before any accept', async (t) => {
  const bound = await bind(`ws://${LOCALHOST}:0/`);
  defer(t, () => bound.close(500));
  const clients: Peer[] = [];
  for (const path of ['/one', '/two', '/three']) clients.push(await connect(bound.url, { path }));
  defer(t, () => clients.forEach((client) => client.close()));
  await waitFor(() => bound.peers.size === 3, 2000, 'three peers');
  const paths: string[] = [];
  for (let i = 0; i < 3; i++) paths.push((await bound.accept(1000)).handshake.path);
  assert.deepEqual(paths, ['/one', '/two', '/three']);
  await assert.rejects(bound.accept(30), TimeoutError);
});

test('once the server closes, a waiting accept and any later one reject with ConnectionClosedError, and peers never accepted are let go', async () => {
  const bound = await bind(`ws://${LOCALHOST}:0/`);
  const waiting = bound.accept();
  const taken = await connect(bound.url);
  assert.equal((await within(waiting, 2000, 'the first accept')).closed, false);
  const waitingAgain = bound.accept(); // nobody else connects
  const unaccepted = await connect(bound.url);
  const third = await connect(bound.url); // queued: the waiting accept took `unaccepted`
  await waitFor(() => bound.peers.size === 3, 2000, 'three peers');
  assert.ok(await within(waitingAgain, 2000, 'the second accept'));
  await within(bound.close(500), 3000, 'close');
  await assert.rejects(bound.accept(), (error: Error) => error instanceof ConnectionClosedError && /the server is closed/.test(error.message));
  for (const client of [taken, unaccepted, third]) assert.equal(await within(client.read(), 2000, 'the client sees the close'), null);
  assert.equal(third.closeCode, 1001);
});

test('bind: clients that connect and leave before accept are dropped, not queued without bound; one that left messages is still handed out, and read', async (t) => {
  const bound = await bind(`ws://${LOCALHOST}:0/`);
  defer(t, () => bound.close(500));
  for (let i = 0; i < 5; i++) {
    const client = await connect(bound.url);
    await client.shutdown(1000, '', 1000);
  }
  await waitFor(() => bound.peers.size === 0, 2000, 'the five to close');
  const left = await connect(bound.url);
  await left.write('kept for accept');
  await left.shutdown(1000, '', 1000);
  await waitFor(() => bound.peers.size === 0, 2000, 'the sixth to close');
  const peer = await within(bound.accept(1000), 2000, 'the peer with a message');
  assert.equal(peer.closed, true);
  assert.deepEqual(await readPlain(peer, 1000), { opcode: 1, fin: true, data: 'kept for accept' });
  assert.equal(await peer.read(), null);
  await assert.rejects(bound.accept(50), TimeoutError, 'the five that left nothing are gone');
});

test('bind: an unaccepted peer closed with messages to read holds a maxConnections slot until accepted', async (t) => {
  const bound = await bind(`ws://${LOCALHOST}:0/`, { maxConnections: 1 });
  defer(t, () => bound.close(500));
  const left = await connect(bound.url);
  await left.write('unread');
  await left.shutdown(1000, '', 1000);
  await waitFor(() => bound.peers.size === 0, 2000, 'the first to close');
  const refused = await rawExchange(portOf(bound), requestText(upgradeLines('/')));
  assert.equal(refused.status, 503);
  const held = await within(bound.accept(1000), 2000, 'the held peer');
  assert.deepEqual(await readPlain(held, 1000), { opcode: 1, fin: true, data: 'unread' });
  const next = await within(connect(bound.url), 2000, 'a client once the slot is free');
  defer(t, () => next.close());
  assert.equal((await within(bound.accept(1000), 2000, 'the next peer')).closed, false);
});

test('an accept waiting when the server closes rejects with ConnectionClosedError', async () => {
  const bound = await bind(`ws://${LOCALHOST}:0/`);
  const waiting = bound.accept();
  await within(bound.close(500), 3000, 'close');
  await assert.rejects(within(waiting, 1000, 'the waiting accept settles'), ConnectionClosedError);
});

test('server options that could never work are refused when listening, not at each connection: a timeout past what a timer keeps, head limits too small', async () => {
  for (const options of [{ timeout: 2 ** 31 }, { timeout: Infinity }, { maxHeadBytes: 2 }, { maxHeaders: -1 }, { closeTimeout: 2 ** 31 }]) {
    await assert.rejects(server(`ws://${LOCALHOST}:0/`, () => {}, options), RangeError, JSON.stringify(options));
  }
});

test('broadcast of an incompressible message to deflate peers never sends the caller\'s buffer by reference; a bad frame still throws', async (t) => {
  const instance = await server(`ws://${LOCALHOST}:0/`, () => {}, { deflate: true });
  defer(t, () => instance.close(500));
  const client = await connect(instance.url, {}, { deflate: true });
  defer(t, () => client.close());
  await waitFor(() => instance.peers.size === 1, 2000, 'the peer');
  const random = Buffer.from(Array.from({ length: 8192 }, (_, i) => (i * 7919 + 13) % 251));
  const sent = Buffer.from(random);
  assert.equal(instance.broadcast(random), 1);
  random.fill(0); // it would grow if compressed: sent uncompressed, from the frame made for it
  assert.ok(Buffer.from((await client.read(2000))!.data as Uint8Array).equals(sent));
  assert.throws(() => instance.broadcast({ opcode: 9, data: new Uint8Array(200) }), /125/);
});

test('an async onMessage callback whose promise rejects, before or after its first await, closes its connection with 1011 and goes to onError; the process goes on', async (t) => {
  const errors: unknown[] = [];
  const instance = await server(
    `ws://${LOCALHOST}:0/`,
    (peer) => {
      peer.onMessage(async (message) => {
        if (message.data === 'throw') throw new Error('callback threw');
        await Promise.resolve();
        if (message.data === 'reject') throw new Error('callback rejected');
        peer.send(message.data);
      });
    },
    { onError: (error) => errors.push(error) },
  );
  defer(t, () => instance.close(500));
  for (const word of ['throw', 'reject']) {
    const client = await connect(instance.url);
    defer(t, () => client.close());
    await client.write('fine');
    assert.equal((await client.read(2000))?.data, 'fine');
    await client.write(word);
    assert.equal(await client.read(2000), null);
    assert.equal(client.closeCode, 1011);
  }
  assert.deepEqual(
    errors.map((error) => (error as Error).message),
    ['callback threw', 'callback rejected'],
  );
});

test('a handler that throws closes its connection with 1011, onError gets the error, and the server keeps serving (§7.4.1)', async (t) => {
  const errors: unknown[] = [];
  const instance = await server(
    `ws://${LOCALHOST}:0/`,
    async (peer) => {
      const path = peer.handshake.path;
      if (path === '/throw') throw new Error('handler exploded');
      if (path === '/reject') {
        await peer.read(2000);
        throw new Error('handler rejected');
      }
      for await (const message of peer) await peer.write(message.data);
    },
    { onError: (error) => errors.push(error) },
  );
  defer(t, () => instance.close(500));

  // Synchronous throw: the handler is a plain function here.
  const syncServer = await server(
    `ws://${LOCALHOST}:0/`,
    () => {
      throw new Error('sync throw');
    },
    { onError: (error) => errors.push(error) },
  );
  defer(t, () => syncServer.close(500));

  const thrown = await connect(instance.url, { path: '/throw' });
  assert.equal(await thrown.read(2000), null);
  assert.equal(thrown.closeCode, 1011);

  const rejected = await connect(instance.url, { path: '/reject' });
  await rejected.write('go');
  assert.equal(await rejected.read(2000), null);
  assert.equal(rejected.closeCode, 1011);

  const sync = await connect(syncServer.url);
  assert.equal(await sync.read(2000), null);
  assert.equal(sync.closeCode, 1011);

  assert.deepEqual(
    errors.map((error) => (error as Error).message),
    ['handler exploded', 'handler rejected', 'sync throw'],
  );

  // Others are still served, by both servers' listeners.
  const fine = await connect(instance.url, { path: '/echo' });
  defer(t, () => fine.close());
  await fine.write('still serving');
  assert.deepEqual(await readPlain(fine, 2000), { opcode: 1, fin: true, data: 'still serving' });
  await waitFor(() => instance.peers.size === 1, 2000, 'failed peers are forgotten');
});

test('Server.close sends 1001 to every open peer, resolves, refuses new connections and leaves no TCP handle (§7.4.1)', async () => {
  const before = tcpHandles();
  const instance = await server(`ws://${LOCALHOST}:0/`, async (peer) => {
    for await (const message of peer) await peer.write(message.data).catch(() => {});
  });
  const port = portOf(instance);
  const ours = await connect(instance.url);
  const { ws } = await wsClient(instance.url);
  const wsClosed = once(ws, 'close');
  await waitFor(() => instance.peers.size === 2, 2000, 'two peers');

  const started = performance.now();
  await within(instance.close(3000), 4000, 'Server.close');
  assert.ok(performance.now() - started < 2000, 'close waited for a timeout instead of the closing handshakes');
  assert.equal(instance.peers.size, 0);

  assert.equal(await ours.read(2000), null);
  assert.equal(ours.closeCode, 1001);
  assert.equal(ours.closeReason, 'server shutting down');
  const [wsCode] = (await within(wsClosed, 2000, 'ws close')) as [number, Buffer];
  assert.equal(wsCode, 1001);

  const refused = netConnect({ host: LOCALHOST, port });
  const [error] = (await within(once(refused, 'error'), 2000, 'connection refused')) as [NodeJS.ErrnoException];
  assert.equal(error.code, 'ECONNREFUSED');
  await waitFor(() => tcpHandles() <= before, 2000, `TCP handles back to ${before} (now ${tcpHandles()})`);
});

test('Server.close resolves at once after a 503 rejection whose client has gone', async () => {
  const instance = await server(`ws://${LOCALHOST}:0/`, () => {}, { maxConnections: 1 });
  const holder = await connect(instance.url);
  const response = await rawExchange(portOf(instance), requestText(upgradeLines()));
  assert.equal(response.status, 503);
  const closing = instance.close(3000);
  assert.equal(await holder.read(2000), null);
  await within(closing, 500, 'Server.close after a rejected connection');
});

/**
 * A client that reads its refusal and the server's FIN but never ends its own side (as a
 * half-open socket may): the server lingers a second for it, unless it is closing. Returns
 * the status of the last response read.
 */
async function refusedAndLingering(t: TestContext, port: number, request: string): Promise<number> {
  const socket = await rawConnect(port);
  defer(t, () => socket.destroy());
  socket.allowHalfOpen = true;
  socket.on('error', () => {});
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  const ended = once(socket, 'end');
  socket.write(request);
  await within(ended, 2000, 'the server ends its side after the refusal');
  const bytes = Buffer.concat(chunks);
  return parseResponse(bytes.subarray(bytes.lastIndexOf('HTTP/1.1 '))).status;
}

test('Server.close(timeout) ends refused clients that keep their side open by the timeout, not after their second of lingering', async (t) => {
  const upgrade = requestText(upgradeLines());
  const cases: Array<{ what: string; status: number; options: ServerOptions; request: string; holder?: boolean }> = [
    { what: 'a malformed head', status: 400, options: {}, request: `GET / HTTP/1.1\r\nHost ${LOCALHOST}\r\n\r\n` },
    { what: 'no endpoint at the path', status: 404, options: {}, request: requestText(upgradeLines('/elsewhere')) },
    { what: 'a verify refusal', status: 403, options: { verify: () => false }, request: upgrade },
    { what: 'maxConnections', status: 503, options: { maxConnections: 1 }, request: upgrade, holder: true },
    {
      what: 'too many header fields in an upgrade after a plain request (onRequest)',
      status: 431,
      options: { maxHeaders: 8, onRequest: (_request, response) => response.end('plain') },
      request: requestText([`GET /page HTTP/1.1`, `Host: ${LOCALHOST}`]) + requestText([...upgradeLines(), 'A: 1', 'B: 2', 'C: 3', 'D: 4']),
    },
  ];
  for (const { what, status, options, request, holder } of cases) {
    const routes: Routes = { '/': () => {} };
    const instance = await server(`ws://${LOCALHOST}:0/`, routes, options);
    const held = holder === true ? await connect(instance.url) : null;
    defer(t, () => held?.close());
    assert.equal(await refusedAndLingering(t, portOf(instance), request), status, what);
    // The refusal lingers a second; with 50 ms allowed, a server that waited for it would
    // still be closing at 500 (it resolves once the listener holds no socket).
    await within(instance.close(50), 500, `Server.close after ${what}`);
  }
});

test('broadcast queues one message for every open peer (ours and ws) and returns how many', async (t) => {
  const peers: Peer[] = [];
  const instance = await server(`ws://${LOCALHOST}:0/`, (peer) => {
    peers.push(peer);
  });
  defer(t, () => instance.close(500));
  const a = await connect(instance.url);
  const b = await connect(instance.url);
  const { ws, inbox } = await wsClient(instance.url);
  defer(t, () => {
    a.close();
    b.close();
    return closeWs(ws);
  });
  await waitFor(() => instance.peers.size === 3, 2000, 'three peers');

  assert.equal(instance.broadcast('to all'), 3);
  assert.equal(instance.broadcast(new Uint8Array([7, 7])), 3);
  for (const client of [a, b]) {
    assert.deepEqual(await readPlain(client, 2000), { opcode: 1, fin: true, data: 'to all' });
    const binary = await client.read(2000);
    assert.ok(binary !== null);
    assert.deepEqual([binary.opcode, [...(binary.data as Uint8Array)]], [2, [7, 7]]);
  }
  const first = await inbox.next(2000);
  assert.deepEqual([first.binary, first.data.toString()], [false, 'to all']);
  const second = await inbox.next(2000);
  assert.deepEqual([second.binary, [...second.data]], [true, [7, 7]]);

  // A peer that has left is not counted.
  assert.equal(await b.shutdown(1000, '', 2000), true);
  await waitFor(() => instance.peers.size === 2, 2000, 'peer removed');
  assert.equal(instance.broadcast('fewer'), 2);
  assert.deepEqual(await readPlain(a, 2000), { opcode: 1, fin: true, data: 'fewer' });
});

test('broadcast of a string, bytes or a message read reaches every peer as it was, short and long, with and without permessage-deflate (ours and ws)', async (t) => {
  // A message a peer sends is broadcast as it was read.
  const relay = (message: Message): void => void instance.broadcast(message);
  const instance: Server = await server(`ws://${LOCALHOST}:0/`, (peer) => peer.onMessage(relay), { deflate: true });
  defer(t, () => instance.close(500));
  const plain = await connect(instance.url);
  const deflating = await connect(instance.url, undefined, { deflate: true });
  const { ws, inbox } = await wsClient(instance.url, [], { perMessageDeflate: true });
  defer(t, () => {
    plain.close();
    deflating.close();
    return closeWs(ws);
  });
  await waitFor(() => instance.peers.size === 3, 2000, 'three peers');
  assert.equal(deflating.handshake.extensions.startsWith('permessage-deflate'), true);
  assert.equal(plain.handshake.extensions, '');

  // Under and over the length from which a payload is queued as it is rather than copied.
  const texts = ['short ü', 'long ✓ '.repeat(3000), ''];
  for (const text of texts) assert.equal(instance.broadcast(text), 3);
  for (const text of texts) {
    for (const client of [plain, deflating]) assert.deepEqual(await readPlain(client, 2000), { opcode: 1, fin: true, data: text });
    const received = await inbox.next(2000);
    assert.deepEqual([received.binary, received.data.toString()], [false, text]);
  }

  const binaries = [Uint8Array.of(1, 2, 3), new Uint8Array(70_000).fill(9)];
  for (const bytes of binaries) assert.equal(instance.broadcast(bytes), 3);
  for (const bytes of binaries) {
    for (const client of [plain, deflating]) {
      const message = await readPlain(client, 2000);
      assert.deepEqual([message?.opcode, Buffer.compare(Buffer.from(message?.data as Uint8Array), Buffer.from(bytes))], [2, 0]);
    }
    const received = await inbox.next(2000);
    assert.deepEqual([received.binary, Buffer.compare(received.data, Buffer.from(bytes))], [true, 0]);
  }

  // ASCII text short enough to be held as its place in the received chunk, and text that is not.
  for (const text of ['relayed', 'relayed ✓']) {
    await plain.write(text);
    for (const client of [plain, deflating]) assert.deepEqual(await readPlain(client, 2000), { opcode: 1, fin: true, data: text });
    const relayed = await inbox.next(2000);
    assert.deepEqual([relayed.binary, relayed.data.toString()], [false, text]);
  }
});

test('Server.close also ends a connection still in its opening handshake, without waiting for the handshake timeout', async () => {
  const instance = await server(`ws://${LOCALHOST}:0/`, () => {});
  const socket = await rawConnect(portOf(instance));
  socket.on('error', () => {});
  socket.resume();
  const gone = once(socket, 'close');
  socket.write(`GET / HTTP/1.1\r\nHost: ${LOCALHOST}\r\n`); // and never the rest
  await sleep(50);
  const started = performance.now();
  await within(instance.close(3000), 1000, 'Server.close with a half-sent request');
  await within(gone, 1000, 'the half-open handshake is closed');
  assert.ok(performance.now() - started < 1000);
});

test('broadcast skips a peer whose send buffer is at maxBufferedAmount and does not count it', async (t) => {
  const maxBufferedAmount = 256 * 1024;
  const peers: Peer[] = [];
  const instance = await server(`ws://${LOCALHOST}:0/`, (peer) => void peers.push(peer), { highWaterMark: 16 * 1024, maxBufferedAmount });
  defer(t, () => instance.close(300));
  const reader = await connect(instance.url);
  defer(t, () => reader.close());
  await waitFor(() => peers.length === 1, 2000, 'first peer');
  const { socket: stuck } = await rawUpgrade(portOf(instance)); // never reads
  defer(t, () => stuck.destroy());
  await waitFor(() => peers.length === 2, 2000, 'second peer');
  const stuckPeer = peers[1]!;

  // Broadcast until a round reaches only the reading client.
  const message = new Uint8Array(64 * 1024);
  let rounds = 0;
  let count = 2;
  while (count === 2 && rounds < 2000) {
    count = instance.broadcast(message);
    rounds++;
    assert.ok((await reader.read(2000)) !== null, 'the reading client gets every broadcast');
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.equal(count, 1, `after ${rounds} rounds broadcast still counts the peer that reads nothing`);
  assert.ok(stuckPeer.bufferedAmount <= maxBufferedAmount, `${stuckPeer.bufferedAmount} bytes buffered`);
  assert.equal(stuckPeer.state, 'OPEN');
});

test('routes: each path has its handler, whatever the query; another path is answered 404', async (t) => {
  const instance = await server(`ws://${LOCALHOST}:0`, {
    '/chat': (peer) => peer.onMessage((message) => void peer.send(`chat:${String(message.data)}`)),
    '/feed': (peer) => void peer.send(`feed for ${peer.handshake.path}`),
  });
  defer(t, () => instance.close(500));
  const chat = await connect(`${instance.url}chat?room=1`);
  defer(t, () => chat.close());
  await chat.write('hi');
  assert.equal((await chat.read(2000))?.data, 'chat:hi');
  const feed = await connect(`${instance.url}feed`);
  defer(t, () => feed.close());
  assert.equal((await feed.read(2000))?.data, 'feed for /feed');
  const elsewhere = await rawExchange(portOf(instance), requestText(upgradeLines('/chat/other')));
  assert.equal(elsewhere.status, 404);
});

test('routes with a path in the URL, or a route that is not a function, are refused at once', async () => {
  await assert.rejects(server(`ws://${LOCALHOST}:0/app`, { '/chat': () => {} }), /with routes, the URL names no path/);
  await assert.rejects(server(`ws://${LOCALHOST}:0`, { '/chat': 'nope' as unknown as () => void }), /route \/chat is not a function/);
  await assert.rejects(server(`ws://${LOCALHOST}:0`, undefined as unknown as Routes), /the handler must be a function or routes .*, got undefined/);
  await assert.rejects(server(`ws://${LOCALHOST}:0`, null as unknown as Routes), /the handler must be a function or routes .*, got null$/);
});

test('a route no request can reach (no leading /, a query, a fragment, a whole URL) is refused at once, not answered 404 forever', async () => {
  for (const path of ['chat', '/chat?room=1', '/chat#top', 'ws://host/chat', '', '/a b', '/café']) {
    await assert.rejects(server(`ws://${LOCALHOST}:0`, { [path]: () => {} }), (error: Error) => error instanceof TypeError && error.message.includes(`route ${JSON.stringify(path)} can never match`), path);
  }
});

test('an onError that throws cannot take the process down: a rejecting handler and a throwing onMessage still close their connection with 1011', async (t) => {
  const instance = await server(
    `ws://${LOCALHOST}:0/`,
    async (peer) => {
      if (peer.handshake.path === '/reject') throw new Error('handler rejected');
      peer.onMessage(() => {
        throw new Error('callback threw');
      });
    },
    {
      onError: () => {
        throw new Error('onError threw too');
      },
    },
  );
  defer(t, () => instance.close(500));
  const rejected = await connect(`${instance.url}reject`);
  assert.equal(await within(rejected.read(), 2000, 'the close'), null);
  assert.equal(rejected.closeCode, 1011);
  const throwing = await connect(instance.url);
  await throwing.write('boom');
  assert.equal(await within(throwing.read(), 2000, 'the close'), null);
  assert.equal(throwing.closeCode, 1011);
});

test('options that would switch a defence off are refused when the server is made: a timeout given as a string, maxConnections or maxQueuedPongs that is not a whole number from 1, an onError that is not a function', async () => {
  const untyped = (value: unknown): never => value as never;
  for (const options of [{ timeout: untyped('300') }, { closeTimeout: untyped('300') }, { pingFrequency: untyped('200') }]) {
    await assert.rejects(server(`ws://${LOCALHOST}:0/`, () => {}, options), RangeError, JSON.stringify(options));
  }
  for (const maxConnections of [Number.NaN, -1, 0, 0.5, untyped('two'), untyped({})]) {
    await assert.rejects(server(`ws://${LOCALHOST}:0/`, () => {}, { maxConnections }), RangeError, String(maxConnections));
  }
  await assert.rejects(server(`ws://${LOCALHOST}:0/`, () => {}, { onError: untyped(42) }), TypeError);
  for (const maxQueuedPongs of [0, 0.5, untyped('2'), untyped(() => 2)]) {
    await assert.rejects(server(`ws://${LOCALHOST}:0/`, () => {}, { maxQueuedPongs }), (error: unknown) => error instanceof RangeError && /^maxQueuedPongs must be a whole number of at least 1, got /.test(error.message), String(maxQueuedPongs));
  }
  // A function is named as one, not printed as its source.
  await assert.rejects(server(`ws://${LOCALHOST}:0/`, () => {}, { closeTimeout: untyped(() => 300) }), /^RangeError: closeTimeout must be .*, got a function$/);
});

test('without onError, what an onMessage callback throws is printed to stderr (the default), and its connection closes with 1011', async (t) => {
  const printed = t.mock.method(console, 'error', () => {});
  const failure = new Error('callback threw');
  const instance = await server(`ws://${LOCALHOST}:0/`, (peer) => {
    peer.onMessage(() => {
      throw failure;
    });
  });
  defer(t, () => instance.close(500));
  const client = await connect(instance.url);
  defer(t, () => client.close());
  await client.write('boom');
  assert.equal(await within(client.read(), 2000, 'the close'), null);
  assert.equal(client.closeCode, 1011);
  assert.deepEqual(printed.mock.calls.map((call) => call.arguments), [['wspeer: application callback failed:', failure]]);
});

test('a per-call timeout that is not a number (null, a string) is a RangeError, not 0', async (t) => {
  const bound = await bind(`ws://${LOCALHOST}:0/`);
  defer(t, () => bound.close(500));
  await assert.rejects(bound.accept(null as never), RangeError);
  const client = await connect(bound.url);
  defer(t, () => client.close());
  await assert.rejects(client.read(null as never), RangeError);
  await assert.rejects(client.read('5' as never), RangeError);
  await assert.rejects(client.shutdown(1000, '', null as never), RangeError);
  assert.equal(client.state, 'OPEN');
});
