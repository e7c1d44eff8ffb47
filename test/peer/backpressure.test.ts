/**
 * Flow control over real sockets: a writer facing a peer that does not read waits instead
 * of buffering without bound, a hard cap refuses writes past it, and a reader that does not
 * read stops taking bytes from the socket.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { test, type TestContext } from 'node:test';

import { bind, BufferFullError, connect, TimeoutError, type Message, type Peer } from '../../src/index.ts';
import { acceptRawClient, clientFrame, defer, FrameReader, LOCALHOST, patternBytes, rawAcceptUpgrade, settlesWithin, sleep, waitFor, within } from './helpers.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
/** How long a write may stay pending before we call it stalled. */
const STALL_MS = 300;

test('a server writing 1 MiB messages to a client that never reads stalls with bufferedAmount bounded by highWaterMark plus one message', async (t) => {
  const highWaterMark = 256 * KiB;
  const maxBufferedAmount = 2 * MiB + 512 * KiB;
  const { peer, socket } = await acceptRawClient(t, { highWaterMark, maxBufferedAmount }); // paused: it reads nothing more

  const message = patternBytes(MiB, 3);
  const frameBytes = MiB + 10; // §5.2: 64-bit length header, unmasked
  let resolved = 0;
  let maxSeen = 0;
  let stalled: Promise<number> | null = null;
  for (let i = 0; i < 64 && stalled === null; i++) {
    const written = peer.write(message);
    maxSeen = Math.max(maxSeen, peer.bufferedAmount);
    if (await settlesWithin(written, STALL_MS)) {
      assert.equal(await written, frameBytes);
      resolved++;
    } else {
      stalled = written;
    }
    maxSeen = Math.max(maxSeen, peer.bufferedAmount);
  }
  assert.ok(stalled !== null, `all ${resolved} writes resolved although the client reads nothing`);
  const bound1 = highWaterMark + frameBytes;
  assert.ok(maxSeen <= bound1, `bufferedAmount reached ${maxSeen}, more than highWaterMark + one message (${bound1})`);
  // Waiting longer does not make it grow: nothing more is queued while the write is pending.
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.ok(peer.bufferedAmount <= bound1);
  assert.ok(peer.bufferedAmount > 0);

  // A write with a timeout gives up with TimeoutError (its bytes stay queued).
  const timed = peer.write(new Uint8Array(1), 50);
  await assert.rejects(timed, TimeoutError);

  // Non-awaited writes: accepted until the cap, then refused with BufferFullError.
  const accepted: Array<Promise<number>> = [];
  let refusal: unknown = null;
  for (let i = 0; i < 4 && refusal === null; i++) {
    const before = peer.bufferedAmount;
    const written = peer.write(message);
    written.catch(() => {});
    if (await settlesWithin(written, 10)) {
      try {
        await written;
        assert.fail('a write past highWaterMark resolved at once');
      } catch (error) {
        refusal = error;
        assert.ok(before + message.length > maxBufferedAmount, `refused with only ${before} bytes buffered`);
      }
    } else {
      accepted.push(written);
    }
  }
  assert.ok(refusal instanceof BufferFullError, `expected BufferFullError, got ${String(refusal)}`);
  assert.equal(refusal.code, 'WS_ERR_BUFFER_FULL');
  assert.ok(peer.bufferedAmount <= maxBufferedAmount, `bufferedAmount ${peer.bufferedAmount} over the cap`);
  assert.equal(peer.state, 'OPEN', 'a refused write leaves the connection open');

  // Once the client reads, everything queued arrives and the pending writes resolve.
  const expected = (resolved + 1 + accepted.length) * frameBytes + 1 + 2;
  let received = 0;
  socket.on('data', (chunk: Buffer) => (received += chunk.length));
  socket.resume();
  await within(stalled, 5000, 'stalled write resolves after the client reads');
  await within(Promise.all(accepted), 5000, 'queued writes resolve');
  await waitFor(() => received >= expected, 5000, `client receives ${expected} bytes`);
  assert.equal(received, expected);
  assert.equal(peer.bufferedAmount, 0);
});

/**
 * The messages a peer has queued: those reads resolve without any I/O in between. Also
 * returns the first read that did not resolve (it gets the next message to arrive).
 */
async function takeQueued(peer: Peer): Promise<{ queued: Array<Message | null>; next: Promise<Message | null> }> {
  const queued: Array<Message | null> = [];
  for (;;) {
    const read = peer.read();
    let value: { message: Message | null } | null = null;
    read.then(
      (message) => (value = { message }),
      () => {},
    );
    // Only microtasks run here, so no socket data can arrive meanwhile.
    for (let i = 0; i < 4; i++) await Promise.resolve();
    if (value === null) return { queued, next: read };
    queued.push((value as { message: Message | null }).message);
  }
}

test('a peer that never reads pauses its socket: the inbox stays near highWaterMark and the sender stalls', async (t) => {
  const highWaterMark = 256 * KiB;
  const bound = await bind(`ws://${LOCALHOST}:0/`, { highWaterMark });
  defer(t, () => bound.close(200));
  const client = await connect(bound.url);
  defer(t, () => client.close());
  const peer = await bound.accept(2000);

  const size = 64 * KiB;
  let sent = 0;
  let stalled: Promise<number> | null = null;
  for (let i = 0; i < 4000 && stalled === null; i++) {
    const written = client.write(patternBytes(size, i + 1));
    if (await settlesWithin(written, STALL_MS)) sent++;
    else stalled = written;
  }
  assert.ok(stalled !== null, `the client sent ${sent} messages without stalling: the server buffers without bound`);
  assert.equal(peer.socket.isPaused(), true, 'the server paused its socket');

  const { queued, next } = await takeQueued(peer);
  const inboxBytes = queued.length * size;
  assert.ok(inboxBytes <= highWaterMark + 2 * size + 64 * KiB, `inbox holds ${inboxBytes} bytes`);
  assert.ok(sent * size > 4 * inboxBytes, `only ${sent} messages were sent before the stall`);

  // Reading everything resumes the flow: every message arrives intact and in order.
  const total = sent + 1;
  for (let i = 0; i < total; i++) {
    const message = i < queued.length ? queued[i]! : i === queued.length ? await within(next, 2000, 'next message') : await peer.read(2000);
    assert.ok(message !== null);
    assert.ok(Buffer.from(patternBytes(size, i + 1)).equals(Buffer.from(message.data as Uint8Array)), `message ${i} differs`);
  }
  await within(stalled, 2000, 'the sender un-stalls');
  assert.equal(peer.socket.isPaused(), false);
});

test('empty messages the application does not read count toward the high-water mark: a flood of them pauses reading', async (t) => {
  const highWaterMark = 64 * KiB;
  const { peer, socket } = await acceptRawClient(t, { highWaterMark });
  // 20,000 empty messages: 120 KB on the wire, nothing of payload. Each counts for what it
  // holds (QUEUED_MESSAGE_COST), so the inbox passes the mark after a few hundred.
  const count = 20_000;
  socket.write(Buffer.concat(Array.from({ length: count }, () => clientFrame(2))));
  await waitFor(() => peer.socket.isPaused(), 5000, 'the server to pause reading');
  let read = 0;
  while (read < count && (await peer.read(2000)) !== null) read++;
  assert.equal(read, count, 'every message arrives once the application reads');
  assert.equal(peer.socket.isPaused(), false);
});

test('a client that pings without reading the pongs: past highWaterMark the server holds them and keeps reading, its send buffer bounded; the latest ping is answered once it drains (§5.5.3)', async (t) => {
  const highWaterMark = 64 * KiB;
  // Every ping answered while under the mark (no coalescing per write), so that the pongs do back up.
  const { peer, socket } = await acceptRawClient(t, { highWaterMark, maxQueuedPongs: Number.MAX_SAFE_INTEGER }); // reads nothing yet

  const ping = clientFrame(9, new Uint8Array(125));
  const burst = Buffer.concat(Array.from({ length: 512 }, () => ping));
  let maxBuffered = 0;
  // 40 MiB of pings, many times what the kernel buffers of both sides hold: a server that
  // stopped reading would leave a write of ours undrained.
  for (let bursts = 0; bursts < 600; bursts++) {
    if (!socket.write(burst)) await within(once(socket, 'drain'), 5000, `the server to keep reading (burst ${bursts})`);
    maxBuffered = Math.max(maxBuffered, peer.bufferedAmount);
  }
  const last = clientFrame(9, 'the latest ping');
  socket.write(last);
  await waitFor(() => socket.writableLength === 0, 5000, 'the last ping written');
  await sleep(50);
  maxBuffered = Math.max(maxBuffered, peer.bufferedAmount);
  // One socket read of pings (up to 64 KiB) may be answered in full before the hold starts.
  assert.ok(maxBuffered <= highWaterMark + 128 * KiB, `the server buffered ${maxBuffered} bytes of pongs`);
  assert.equal(peer.state, 'OPEN');

  // Read now: the pongs sent before the hold, then the one held, for the latest ping.
  const reader = new FrameReader(socket);
  let frame = await reader.next(5000);
  let pongs = 1;
  while (frame.payload.toString() !== 'the latest ping') {
    assert.equal(frame.opcode, 10);
    frame = await reader.next(5000);
    pongs++;
  }
  assert.ok(pongs < 600 * 512, `${pongs} pongs for ${600 * 512} pings`);
  const after = await reader.next(300).catch(() => null);
  assert.equal(after, null, `after the latest ping's pong: ${JSON.stringify(after)}`);
});

/**
 * Two peers of ours streaming to each other at once, each pacing itself by the drain: the
 * kernel buffers between them fill both ways, and neither may stop reading for it (each
 * would wait for the other to read, for good).
 */
async function streamBothWays(t: TestContext, pace: (peer: Peer, message: Uint8Array) => Promise<unknown>): Promise<void> {
  const highWaterMark = 256 * KiB;
  const bound = await bind(`ws://${LOCALHOST}:0/`, { highWaterMark });
  defer(t, () => bound.close(200));
  const accepted = bound.accept(2000);
  const client = await connect(bound.url, {}, { highWaterMark });
  defer(t, () => client.close());
  const server = await accepted;
  const message = patternBytes(64 * KiB, 9);
  const count = 256; // 16 MiB each way
  const received = [0, 0];
  server.onMessage(() => void received[0]!++);
  client.onMessage(() => void received[1]!++);
  const stream = async (peer: Peer): Promise<void> => {
    for (let i = 0; i < count; i++) await pace(peer, message);
  };
  await within(Promise.all([stream(server), stream(client)]), 20_000, 'both streams written');
  await waitFor(() => received[0] === count && received[1] === count, 20_000, `every message read (${received.join(' / ')})`);
}

test('two peers streaming to each other with awaited writes never deadlock: a write that waits for the drain does not pause reading', async (t) => {
  await streamBothWays(t, (peer, message) => peer.write(message));
});

test('two peers streaming to each other with send() and drained() never deadlock', async (t) => {
  await streamBothWays(t, async (peer, message) => {
    if (peer.send(message) === 'backpressure') await peer.drained();
  });
});

test('two peers flooding each other with send(), both ignoring backpressure, never deadlock: the client keeps reading', async (t) => {
  // 16 MiB each way queued at once: within maxBufferedAmount, far over the mark and the kernel buffers.
  await streamBothWays(t, async (peer, message) => {
    peer.send(message);
  });
});

test('a client does not stop reading for its own backlog, even one sent past the mark: send refuses past maxBufferedAmount instead', async (t) => {
  const highWaterMark = 64 * KiB;
  const maxBufferedAmount = 4 * MiB;
  const listener = createServer((socket) => void rawAcceptUpgrade(socket).then(() => sockets.push(socket)));
  const sockets: Socket[] = [];
  listener.listen(0, LOCALHOST);
  await once(listener, 'listening');
  defer(t, () => {
    for (const socket of sockets) socket.destroy();
    listener.close();
  });
  const client = await connect(`ws://${LOCALHOST}:${(listener.address() as AddressInfo).port}/`, {}, { highWaterMark, maxBufferedAmount });
  defer(t, () => client.close());
  await waitFor(() => sockets.length === 1, 2000, 'the raw server');
  const server = sockets[0]!; // paused: it never reads
  const chunk = patternBytes(256 * KiB, 2);
  const results: string[] = [];
  for (let i = 0; i < 100 && results.at(-1) !== 'dropped'; i++) {
    results.push(client.send(chunk));
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.equal(results.at(-1), 'dropped', 'send refuses at maxBufferedAmount');
  assert.equal(client.socket.isPaused(), false, 'the client still reads');
  server.write(Buffer.concat([Buffer.from([0x81, 11]), Buffer.from('still heard')])); // §5.2: text, unmasked
  const message = await client.read(2000);
  assert.equal(message?.data, 'still heard');
});

test('a backlog pauses reading only once the application sends past the mark; a write that waits does not', async (t) => {
  const highWaterMark = 64 * KiB;
  const { peer, socket } = await acceptRawClient(t, { highWaterMark }); // never reads
  const big = patternBytes(8 * MiB, 4);
  const waiting = peer.write(big); // more than the kernel takes while nobody reads
  waiting.catch(() => undefined);
  assert.equal(await settlesWithin(waiting, STALL_MS), false, 'the write waits for the drain');
  assert.ok(peer.bufferedAmount > highWaterMark);
  // The client's messages are still read while the write waits.
  socket.write(clientFrame(2, 'one'));
  const first = await peer.read(2000);
  assert.equal(Buffer.from(first!.data as Uint8Array).toString(), 'one');
  assert.equal(peer.socket.isPaused(), false);
  // An echo sent on the backlog ignores it: now reading pauses.
  assert.equal(peer.send(first!.data), 'backpressure');
  await waitFor(() => peer.socket.isPaused(), 2000, 'reading paused');
  socket.write(clientFrame(2, 'two'));
  await assert.rejects(peer.read(STALL_MS), TimeoutError, 'a paused peer reads nothing more');
});

test('once a backlog has drained, a ping is answered at once again, though nothing else is sent (§5.5.2: "as soon as is practical")', async (t) => {
  const { peer, socket, rest } = await acceptRawClient(t, { highWaterMark: 256 * KiB }); // reads nothing yet
  for (let i = 0; i < 8; i++) peer.send(new Uint8Array(MiB));
  await sleep(100);
  assert.ok(peer.bufferedAmount > 256 * KiB, 'a backlog over the mark');
  const reader = new FrameReader(socket, rest);
  for (let i = 0; i < 8; i++) assert.equal((await reader.next(5000)).opcode, 2);
  await waitFor(() => peer.bufferedAmount === 0, 2000, 'the backlog written');
  socket.write(clientFrame(9, 'are you there?'));
  const pong = await reader.next(2000);
  assert.deepEqual([pong.opcode, pong.payload.toString()], [10, 'are you there?']);
});

test('a highWaterMark under the socket\'s own (16 KiB): a server paused by echoes sent past it resumes once its client reads them', async (t) => {
  const { peer, socket, rest } = await acceptRawClient(t, { highWaterMark: 4 * KiB }); // reads nothing yet
  let received: (() => void) | null = null;
  peer.onMessage((message) => {
    peer.send(message);
    received?.();
  });
  // Echoes of 7 KiB, one message per read: once the kernel's buffers are full, the second
  // passes the mark and pauses reading with 14 KiB buffered, short of the socket's own
  // 16 KiB, so no 'drain' event is due.
  const frame = clientFrame(2, new Uint8Array(7 * KiB));
  let sent = 0;
  while (!peer.socket.isPaused() && sent < 10_000) {
    const read = new Promise<void>((resolve) => (received = resolve));
    socket.write(frame);
    sent++;
    await Promise.race([read, sleep(50)]); // not read once paused
    await new Promise((resolve) => setImmediate(resolve)); // its flush
  }
  assert.ok(peer.socket.isPaused(), 'reading paused'); // the client does not read the echoes yet
  assert.ok(peer.socket.writableLength < 16 * KiB, `paused with ${peer.socket.writableLength} bytes buffered`);
  const reader = new FrameReader(socket, rest);
  for (let i = 0; i < sent; i++) assert.equal((await reader.next(3000)).payload.length, 7 * KiB, `echo ${i} of ${sent}`);
  assert.equal(peer.socket.isPaused(), false);
});

test('a write waiting for the drain resolves once the buffer is back under the mark, not only once it is empty (drained() too)', async (t) => {
  // The second message is larger than the kernel's buffers take: it stays in ours, under the mark.
  const highWaterMark = 16 * MiB;
  const { peer, socket, rest } = await acceptRawClient(t, { highWaterMark, maxBufferedAmount: 64 * MiB }); // reads nothing yet
  const first = 2 * highWaterMark;
  peer.send(new Uint8Array(first));
  await new Promise((resolve) => setImmediate(resolve)); // the first message leaves in a flush of its own
  const written = peer.write(new Uint8Array(highWaterMark - 2 * MiB));
  const drained = peer.drained();
  // Read the first message whole, then nothing more: what is left is under the mark.
  let need = first + 10 - rest.length;
  socket.on('data', (chunk: Buffer) => {
    need -= chunk.length;
    if (need <= 0) socket.pause();
  });
  socket.resume();
  await within(Promise.all([written, drained]), 5000, 'the write and drained() to settle under the mark');
  assert.ok(peer.bufferedAmount <= highWaterMark);
});

test('send() reports sent, then backpressure past highWaterMark, then dropped at maxBufferedAmount; drained() waits for the reader', async (t) => {
  const highWaterMark = 64 * KiB;
  const maxBufferedAmount = 8 * MiB;
  const { peer, socket } = await acceptRawClient(t, { highWaterMark, maxBufferedAmount }); // paused: reads nothing

  assert.equal(peer.send('small'), 'sent');
  const chunk = patternBytes(256 * KiB, 5);
  const results: string[] = [];
  for (let i = 0; i < 200 && results.at(-1) !== 'dropped'; i++) {
    results.push(peer.send(chunk));
    // Let the socket hand what it can to the kernel between sends.
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.equal(results[0], 'backpressure', 'a 256 KiB message passes a 64 KiB mark at once');
  assert.equal(results.at(-1), 'dropped', `never dropped: ${results.length} sends accepted`);
  assert.ok(peer.bufferedAmount <= maxBufferedAmount, `bufferedAmount ${peer.bufferedAmount} over the cap`);
  assert.equal(peer.state, 'OPEN');

  const drained = peer.drained();
  assert.equal(await settlesWithin(drained, 100), false, 'drained() resolved while nothing is read');
  socket.resume();
  await within(drained, 5000, 'drained() once the client reads');
  assert.ok(peer.bufferedAmount <= highWaterMark);
  assert.equal(peer.send('after'), 'sent');
});

test('close() drops what was queued and not written: bufferedAmount reads 0 once the peer is closed', async (t) => {
  const { peer } = await acceptRawClient(t, { highWaterMark: 64 * KiB }); // paused: reads nothing
  assert.equal(peer.send('never to go'), 'sent');
  assert.ok(peer.bufferedAmount > 0);
  peer.close();
  await within(peer.whenClosed(), 2000, 'the socket to close');
  assert.equal(peer.bufferedAmount, 0);
});

for (const lentReads of [true, false]) {
  test(`unread tiny messages padded out to whole reads hold about what the inbox counts, not their reads${lentReads ? '' : ' (lentReads: false)'}`, async (t) => {
    const { peer, socket } = await acceptRawClient(t, { lentReads }, 500);
    // Each 1-byte message comes behind 100 unsolicited pongs (§5.5.3: ignored), about 13 KiB:
    // left as views, the queued messages would keep every read alive.
    const count = 400;
    const padding = Buffer.concat(Array.from({ length: 100 }, () => clientFrame(0xa, new Uint8Array(125))));
    for (let i = 0; i < count; i++) {
      socket.write(Buffer.concat([padding, clientFrame(2, new Uint8Array([i & 0xff]))]));
      if (i % 20 === 19) await new Promise((resolve) => setImmediate(resolve));
    }
    // A ping behind them all: once its pong is back, every message was parsed and queued.
    socket.write(clientFrame(0x9, 'last'));
    const frames = new FrameReader(socket);
    assert.equal((await frames.next(3000)).opcode, 0xa);
    const held = new Set<ArrayBufferLike>();
    let heldBytes = 0;
    for (let i = 0; i < count; i++) {
      const data = (await peer.read(1000))!.data as Uint8Array;
      assert.deepEqual([...data], [i & 0xff]);
      if (held.has(data.buffer)) continue;
      held.add(data.buffer);
      heldBytes += data.buffer.byteLength;
    }
    // Sent: 400 × 13 KiB. Kept: a copy of each byte, in memory of its own (a slab of Node's
    // pool would keep 8 KiB each, the pongs' copies having filled the rest).
    assert.ok(heldBytes <= 4 * count, `the queued messages hold ${heldBytes} bytes of buffers`);
  });
}

test('RFC 6455 §7.1.2: a shutdown with reading paused by unread messages waits on them; once they are read, the close reply behind them completes it', async (t) => {
  const highWaterMark = 64 * KiB;
  const count = 24;
  const size = 16 * KiB;
  const server = await bind(`ws://${LOCALHOST}:0/`);
  defer(t, () => server.close(500));
  const client = await connect(server.url, {}, { highWaterMark });
  defer(t, () => client.close());
  const peer = await server.accept();
  // The server sends them all before it sees the client's close; the client reads none yet.
  for (let i = 0; i < count; i++) peer.send(patternBytes(size, i));
  await waitFor(() => client.unread * (size + 256) > highWaterMark, 3000, 'the inbox over the mark');
  const shutdown = client.shutdown(1000, 'done', 10_000);
  // The server's answer lies behind messages the client has not taken from the socket yet.
  assert.equal(await settlesWithin(shutdown, 300), false, 'settled with reading paused');
  for (let i = 0; i < count; i++) {
    const message = await within(client.read(), 3000, `message ${i}`);
    assert.ok(message !== null && Buffer.from(patternBytes(size, i)).equals(message.data as Buffer), `message ${i} intact`);
  }
  assert.equal(await within(shutdown, 3000, 'the shutdown'), true, 'both close frames exchanged');
  assert.equal(client.closeCode, 1000);
  assert.equal(await client.read(), null);
});
