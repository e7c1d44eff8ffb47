/**
 * Messages as a peer hands them out: text decoded lazily, relayed untouched by `send` and
 * `write`, and shown as `{ opcode, fin, data }`.
 */
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { test, type TestContext } from 'node:test';

import { connect, Opcode, server, type Message, type Peer } from '../../src/index.ts';
import { allocateUnsafe, bufferView } from '../../src/peer/buffers.ts';
import { ReceivedMessage } from '../../src/peer/message.ts';
import { acceptRawClient, clientFrame, closeCodeOf, defer, FrameReader, LOCALHOST, portOf, rawUpgrade, readPlain, sleep, waitFor, within } from './helpers.ts';

/** A client of a server that relays each message back as it came, with `send`; both go after the test. */
async function relayingClient(t: TestContext): Promise<Peer> {
  const relay = await server(`ws://${LOCALHOST}:0/`, (peer) => peer.onMessage((message) => void peer.send(message)));
  defer(t, () => relay.close(1000));
  const client = await connect(relay.url);
  defer(t, () => client.close());
  return client;
}

test('bufferView makes a Buffer in every observable way, sharing the memory it views', () => {
  const backing = new ArrayBuffer(16);
  new Uint8Array(backing).set([0x68, 0x69, 0x21, 0x00, 0x01, 0x02, 0x03], 3);
  const view = bufferView(backing, 3, 7);
  assert.ok(Buffer.isBuffer(view));
  assert.ok(view instanceof Buffer && view instanceof Uint8Array);
  assert.equal(view.constructor, Buffer);
  assert.equal(view.toString('latin1', 0, 3), 'hi!');
  assert.equal(view.readUInt32BE(3), 0x00010203);
  assert.ok(view.equals(Buffer.from([0x68, 0x69, 0x21, 0, 1, 2, 3])));
  assert.equal(inspect(view), '<Buffer 68 69 21 00 01 02 03>');
  assert.equal(JSON.stringify(view), '{"type":"Buffer","data":[104,105,33,0,1,2,3]}');
  const part = view.subarray(1, 3);
  assert.ok(Buffer.isBuffer(part));
  assert.equal(part.toString(), 'i!');
  assert.ok(Buffer.isBuffer(view.slice(0, 2)));
  assert.ok(Buffer.isBuffer(Buffer.concat([view, part])));
  view[0] = 0x48;
  assert.equal(new Uint8Array(backing)[3], 0x48, 'a view, not a copy');
});

test('small buffers are cut from 8 KiB slabs on every Node (its own pool is 64 KiB from Node 24), larger ones have memory of their own', () => {
  const cuts = [1, 100, 4095, 7].map((size) => allocateUnsafe(size));
  for (const cut of cuts) {
    assert.ok(Buffer.isBuffer(cut));
    assert.ok(cut.buffer.byteLength <= 8192, `${cut.length} bytes keep ${cut.buffer.byteLength} alive`);
    assert.equal(cut.byteOffset % 8, 0, 'aligned as Node aligns its pool');
  }
  // Cuts that share a slab do not overlap.
  cuts.forEach((cut, index) => cut.fill(index + 1));
  cuts.forEach((cut, index) => assert.ok(cut.every((byte) => byte === index + 1)));
  for (const size of [4096, 20_000]) {
    const own = allocateUnsafe(size);
    assert.ok(Buffer.isBuffer(own));
    assert.equal(own.buffer.byteLength, size);
  }
});

test('a short message copied out of its reads keeps at most an 8 KiB slab alive, whatever the Node', async (t) => {
  let received!: (data: Buffer) => void;
  const data = new Promise<Buffer>((resolve) => (received = resolve));
  const instance = await server(`ws://${LOCALHOST}:0/`, (peer) => peer.onMessage((message) => received(message.data as Buffer)));
  defer(t, () => instance.close(500));
  const { socket } = await rawUpgrade(portOf(instance));
  defer(t, () => socket.destroy());
  // In two reads: the server copies the payload's first part out to complete it.
  const frame = clientFrame(Opcode.Binary, new Uint8Array(300).fill(9));
  socket.write(frame.subarray(0, 100));
  await sleep(30);
  socket.write(frame.subarray(100));
  const payload = await within(data, 2000, 'the message');
  assert.ok(Buffer.isBuffer(payload));
  assert.ok(payload.equals(Buffer.alloc(300, 9)));
  assert.ok(payload.buffer.byteLength <= 8192, `300 bytes keep ${payload.buffer.byteLength} alive`);
});

test('a short inflated message keeps at most an 8 KiB slab alive, on either side, even where Node\'s own pool is 64 KiB', async (t) => {
  // Node 24 and later cut `Buffer.allocUnsafe` up to 32 KiB from a 64 KiB pool: made so here.
  const poolSize = Buffer.poolSize;
  Buffer.poolSize = 64 * 1024;
  defer(t, () => {
    Buffer.poolSize = poolSize;
    // Use up the 64 KiB pool, so that the tests after this one get Node's usual pool again.
    for (let i = 0; i < 64 && Buffer.allocUnsafe(4000).buffer.byteLength >= 64 * 1024; i++);
  });
  Buffer.allocUnsafe(32 * 1024 - 1); // too large for what is left of the 8 KiB pool: the next pool is 64 KiB
  assert.equal(Buffer.allocUnsafe(1).buffer.byteLength >= 64 * 1024, true, 'the pool is 64 KiB now');
  let received!: (data: Buffer) => void;
  const atServer = new Promise<Buffer>((resolve) => (received = resolve));
  const instance = await server(`ws://${LOCALHOST}:0/`, (peer) => peer.onMessage((message) => {
    received(message.data as Buffer);
    void peer.send(message.data);
  }), { deflate: { threshold: 0 } });
  defer(t, () => instance.close(500));
  const client = await connect(instance.url, {}, { deflate: { threshold: 0 } });
  defer(t, () => client.close());
  assert.match(client.handshake.extensions, /permessage-deflate/);
  const sent = Buffer.alloc(300, 'abc');
  await client.send(sent);
  const echoed = await client.read(2000);
  assert.ok(echoed !== null, 'the echo');
  for (const [side, payload] of [['server', await within(atServer, 2000, 'the message')], ['client', echoed.data as Buffer]] as const) {
    assert.ok(Buffer.isBuffer(payload), side);
    assert.ok(payload.equals(sent), side);
    assert.ok(payload.buffer.byteLength <= 8192, `${side}: 300 bytes keep ${payload.buffer.byteLength} alive`);
  }
});

test('a message held as its place in a chunk reads as the bytes at that place, whatever the chunk\'s offset in its buffer', () => {
  const backing = new Uint8Array(64);
  for (let i = 0; i < backing.length; i++) backing[i] = 0x40 + (i % 26);
  // The chunk starts 9 bytes into its ArrayBuffer; the payload 4 bytes into the chunk.
  const chunk = new DataView(backing.buffer, 9, 40);
  const binary = ReceivedMessage.at(2, chunk, 4, 6);
  assert.ok(Buffer.isBuffer(binary.data));
  assert.deepEqual([...(binary.data as Uint8Array)], [...backing.subarray(13, 19)]);
  assert.equal(binary.data, binary.data, 'made once');
  const text = ReceivedMessage.at(1, chunk, 0, 5);
  assert.equal(text.data, 'IJKLM');
  assert.equal(text.size, 5);
  assert.deepEqual(JSON.parse(JSON.stringify(text)), { opcode: 1, fin: true, data: 'IJKLM' });
});

test('a message\'s opcode narrows its data: a string for text, bytes for binary, with no cast (a wrong type fails the typecheck)', async (t) => {
  const client = await relayingClient(t);
  await client.write('{"n":1}');
  await client.write(new Uint8Array([7, 8, 9]));
  const described: string[] = [];
  for (let i = 0; i < 2; i++) {
    const message = await client.read(5000);
    assert.ok(message !== null);
    if (message.opcode === Opcode.Text) {
      const parsed: { n: number } = JSON.parse(message.data);
      described.push(`text ${message.data.length} n=${parsed.n}`);
    } else if (message.opcode === Opcode.Binary) {
      const bytes: Uint8Array = message.data;
      described.push(`binary ${bytes.byteLength} last=${bytes[bytes.length - 1]}`);
    }
  }
  assert.deepEqual(described, ['text 7 n=1', 'binary 3 last=9']);
});

test('binary messages and text bytes reach the application as Buffers, short and long, whole in a chunk or split', async (t) => {
  const seen: boolean[] = [];
  const echo = await server(`ws://${LOCALHOST}:0/`, (peer) =>
    peer.onMessage((message) => {
      seen.push(Buffer.isBuffer(message.data));
      void peer.send(message);
    }),
  );
  defer(t, () => echo.close(1000));
  const client = await connect(echo.url);
  defer(t, () => client.close());
  for (const size of [3, 125, 300, 70_000]) {
    await client.write(new Uint8Array(size).fill(size & 0xff));
    const reply = await readPlain(client, 2000);
    assert.ok(Buffer.isBuffer(reply?.data), `the client's reply of ${size} bytes`);
    assert.equal((reply?.data as Buffer).length, size);
  }
  assert.deepEqual(seen, [true, true, true, true]);
});

test('what a peer writes to its socket is already Buffers, which Node takes as they are rather than converting each', async (t) => {
  const written: boolean[] = [];
  const echo = await server(`ws://${LOCALHOST}:0/`, (peer) => {
    const socket = peer.socket;
    const write = socket.write.bind(socket) as (chunk: Uint8Array, callback?: () => void) => boolean;
    socket.write = ((chunk: Uint8Array, callback?: () => void) => {
      written.push(Buffer.isBuffer(chunk));
      return write(chunk, callback);
    }) as typeof socket.write;
    peer.onMessage((message) => {
      void peer.send(message);
      void peer.send('and a string');
    });
  });
  defer(t, () => echo.close(1000));
  const client = await connect(echo.url);
  defer(t, () => client.close());
  await client.write('short');
  assert.deepEqual(await readPlain(client, 2000), { opcode: 1, fin: true, data: 'short' });
  assert.deepEqual(await readPlain(client, 2000), { opcode: 1, fin: true, data: 'and a string' });
  await client.write(new Uint8Array(20_000).fill(7)); // a header chunk, then the payload as it is
  assert.equal(((await readPlain(client, 2000))?.data as Uint8Array).length, 20_000);
  assert.ok(written.length >= 2, `${written.length} writes`);
  assert.deepEqual(written, written.map(() => true));
});

test('a message read is relayed by send() as it was received: text stays text, binary stays binary', async (t) => {
  const client = await relayingClient(t);
  await client.write('héllo ✓');
  await client.write(new Uint8Array([0, 255, 7]));
  assert.deepEqual(await readPlain(client, 2000), { opcode: 1, fin: true, data: 'héllo ✓' });
  const binary = await readPlain(client, 2000);
  assert.deepEqual([binary?.opcode, [...(binary?.data as Uint8Array)]], [2, [0, 255, 7]]);
});

test('one onMessage callback serves every peer: it is given the peer each message came to', async (t) => {
  const served: Peer[] = [];
  function answer(message: Message, peer: Peer): void {
    served.push(peer);
    peer.send(`${String(message.data)} from ${peer.handshake.path}`);
  }
  const shared = await server(`ws://${LOCALHOST}:0/`, (peer) => peer.onMessage(answer));
  defer(t, () => shared.close(1000));
  const [first, second] = await Promise.all([connect(`${shared.url}one`), connect(`${shared.url}two`)]);
  defer(t, () => first.close());
  defer(t, () => second.close());
  await second.write('b');
  await first.write('a');
  assert.deepEqual(await readPlain(second, 2000), { opcode: 1, fin: true, data: 'b from /two' });
  assert.deepEqual(await readPlain(first, 2000), { opcode: 1, fin: true, data: 'a from /one' });
  assert.equal(served.length, 2);
  assert.notEqual(served[0], served[1]);
});

test('short messages kept after their callback keep their bytes, relayed later or read later, among other messages', async (t) => {
  // Short binary and ASCII text are held as their place in the received chunk; the others
  // as views or assembled buffers. Keep them all, relay them once every one has arrived.
  const kept: Message[] = [];
  const payloads: (string | Uint8Array)[] = [];
  for (let i = 0; i < 40; i++) {
    const size = [1, 31, 125, 511, 512, 3000][i % 6]!;
    payloads.push(i % 3 === 0 ? `${i} ${'é'.repeat(i % 2)}${'a'.repeat(size)}` : new Uint8Array(size).fill(i));
  }
  const relay = await server(`ws://${LOCALHOST}:0/`, (peer) =>
    peer.onMessage((message) => {
      kept.push(message);
      if (kept.length < payloads.length) return;
      for (const each of kept) peer.send(each);
    }),
  );
  defer(t, () => relay.close(1000));
  const client = await connect(relay.url);
  defer(t, () => client.close());
  for (const payload of payloads) await client.write(payload);
  for (const [i, payload] of payloads.entries()) {
    const reply = await readPlain(client, 2000);
    if (typeof payload === 'string') assert.equal(reply?.data, payload, `message ${i}`);
    else assert.deepEqual([...(reply?.data as Uint8Array)], [...payload], `message ${i}`);
  }
  // Read on the server only now: the data is still the bytes that came.
  assert.deepEqual(kept.map((message) => (typeof message.data === 'string' ? message.data : [...message.data])), payloads.map((p) => (typeof p === 'string' ? p : [...p])));
  assert.ok(kept.every((message) => typeof message.data === 'string' || Buffer.isBuffer(message.data)));
});

test('a message relayed with write() resolves with the bytes queued, like any other write', async (t) => {
  const relay = await server(`ws://${LOCALHOST}:0/`, async (peer) => {
    for await (const message of peer) await peer.write(message);
  });
  defer(t, () => relay.close(1000));
  const client = await connect(relay.url);
  defer(t, () => client.close());
  await client.write('x'.repeat(200));
  assert.deepEqual(await readPlain(client, 2000), { opcode: 1, fin: true, data: 'x'.repeat(200) });
});

test('a message shows as { opcode, fin, data } in JSON and in util.inspect', async (t) => {
  const client = await relayingClient(t);
  await client.write('shown');
  const message = (await client.read(2000)) as Message;
  assert.equal(JSON.stringify(message), '{"opcode":1,"fin":true,"data":"shown"}');
  assert.equal(inspect(message), "{ opcode: 1, fin: true, data: 'shown' }");
  assert.equal(message.data, 'shown');
});

/** Whether `peer` holds `count` messages unread (its inbox is internal). */
function peerHasQueued(peer: Peer, count: number): boolean {
  return (peer as unknown as { receiver: { queuedCount: number } }).receiver.queuedCount === count;
}

test('onMessage: a callback that switches itself off while waiting messages are passed leaves the rest for read(), in order', async (t) => {
  const { peer, socket } = await acceptRawClient(t);
  socket.write(Buffer.concat(['a', 'b', 'c', 'd'].map((text) => clientFrame(1, text))));
  await waitFor(() => peerHasQueued(peer, 4), 2000, 'four messages waiting');
  const seen: unknown[] = [];
  peer.onMessage((message) => {
    seen.push(message.data);
    if (seen.length === 2) peer.onMessage(null);
  });
  assert.deepEqual(seen, ['a', 'b']);
  assert.deepEqual([(await peer.read(1000))?.data, (await peer.read(1000))?.data], ['c', 'd']);
});

test('read() and for await refuse with a UsageError, rather than wait for nothing, while an onMessage callback takes every message of an open connection', async (t) => {
  const { peer, socket } = await acceptRawClient(t);
  const seen: unknown[] = [];
  peer.onMessage((message) => seen.push(message.data));
  await assert.rejects(peer.read(), { name: 'UsageError', code: 'WS_ERR_CALLBACK_SET', message: /onMessage\(null\)/ });
  await assert.rejects(peer[Symbol.asyncIterator]().next(), { code: 'WS_ERR_CALLBACK_SET', message: /^for await:/ });
  socket.write(clientFrame(1, 'still to the callback'));
  await waitFor(() => seen.length === 1, 2000, 'the message at the callback');
  peer.onMessage(null);
  socket.write(clientFrame(1, 'now to read'));
  assert.equal((await peer.read(2000))?.data, 'now to read');
});

test('§5.5.1: a close that came behind unread messages is answered as soon as a callback takes them, not at closeTimeout', async (t) => {
  const { peer, socket, rest } = await acceptRawClient(t, { closeTimeout: 60_000 });
  const frames = new FrameReader(socket, rest);
  socket.write(Buffer.concat([clientFrame(1, 'one'), clientFrame(1, 'two'), clientFrame(8, Buffer.from([0x0f, 0xa1]))]));
  await waitFor(() => peerHasQueued(peer, 2) && peer.closeCode === 4001, 2000, 'the messages and the close received');
  const seen: unknown[] = [];
  peer.onMessage((message) => seen.push(message.data));
  assert.deepEqual(seen, ['one', 'two']);
  const reply = await frames.next(5000);
  assert.equal(reply.opcode, 8);
  assert.equal(closeCodeOf(reply.payload), 4001);
});

test('onMessage: a callback that returns null (or any value that is no promise) is done with the message, as one that returns nothing', async (t) => {
  const errors: unknown[] = [];
  const { peer, socket, rest } = await acceptRawClient(t, { onError: (error) => errors.push(error) });
  const frames = new FrameReader(socket, rest);
  const seen: unknown[] = [];
  peer.onMessage((message) => {
    seen.push(message.data);
    return (message.data === 'null' ? null : 0) as unknown as undefined;
  });
  socket.write(Buffer.concat(['null', 'zero'].map((text) => clientFrame(1, text))));
  await waitFor(() => seen.length === 2, 2000, 'both messages handled');
  socket.write(clientFrame(9, 'still open?'));
  const pong = await frames.next(2000);
  assert.deepEqual([pong.opcode, pong.payload.toString()], [10, 'still open?']);
  assert.deepEqual(errors, []);
  assert.equal(peer.state, 'OPEN');
});

test('onMessage: a callback that throws on a waiting message is switched off: one error, 1011, and the rest stay for read()', async (t) => {
  const errors: unknown[] = [];
  const { peer, socket, rest } = await acceptRawClient(t, { onError: (error) => errors.push(error) });
  const frames = new FrameReader(socket, rest);
  socket.write(Buffer.concat(['a', 'b', 'c'].map((text) => clientFrame(1, text))));
  await waitFor(() => peerHasQueued(peer, 3), 2000, 'three messages waiting');
  peer.onMessage(() => {
    throw new Error('cannot handle it');
  });
  assert.equal(errors.length, 1);
  const close = await frames.next(2000);
  assert.deepEqual([close.opcode, closeCodeOf(close.payload)], [8, 1011]);
  assert.deepEqual([(await peer.read(1000))?.data, (await peer.read(1000))?.data], ['b', 'c']);
});
