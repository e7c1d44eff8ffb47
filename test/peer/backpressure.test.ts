/**
 * Flow control over real sockets: a writer facing a peer that does not read waits instead
 * of buffering without bound, a hard cap refuses writes past it, and a reader that does not
 * read stops taking bytes from the socket.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { bind, BufferFullError, connect, TimeoutError, type Message, type Peer } from '../../src/index.ts';
import { acceptRawClient, clientFrame, defer, FrameReader, LOCALHOST, patternBytes, settlesWithin, waitFor, within } from './helpers.ts';

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
  // holds (QUEUED_MESSAGE_COST), so the inbox passes the mark after about a thousand.
  const count = 20_000;
  socket.write(Buffer.concat(Array.from({ length: count }, () => clientFrame(2))));
  await waitFor(() => peer.socket.isPaused(), 5000, 'the server to pause reading');
  let read = 0;
  while (read < count && (await peer.read(2000)) !== null) read++;
  assert.equal(read, count, 'every message arrives once the application reads');
  assert.equal(peer.socket.isPaused(), false);
});

test('a client that sends pings but never reads the pongs makes the server pause reading: its send buffer stays bounded', async (t) => {
  const highWaterMark = 64 * KiB;
  // Every ping answered (no §5.5.3 coalescing), so that the pongs do back up.
  const { peer, socket } = await acceptRawClient(t, { highWaterMark, maxQueuedPongs: Number.MAX_SAFE_INTEGER }); // never reads

  const ping = clientFrame(9, new Uint8Array(125));
  const burst = Buffer.concat(Array.from({ length: 512 }, () => ping));
  let bursts = 0;
  let maxBuffered = 0;
  let sawPaused = false;
  let clientStalled = false;
  const sample = (): void => {
    maxBuffered = Math.max(maxBuffered, peer.bufferedAmount);
    sawPaused ||= peer.socket.isPaused();
  };
  while (bursts < 2000) {
    const more = socket.write(burst);
    bursts++;
    sample();
    if (!more) {
      const drained = new Promise<void>((resolve) => socket.once('drain', resolve));
      const came = await settlesWithin(drained, STALL_MS);
      sample();
      // Stalled: our writes are not drained, because the server stopped reading.
      if (!came && sawPaused) {
        clientStalled = true;
        break;
      }
    }
  }
  assert.ok(clientStalled, `the server took ${bursts} bursts of pings without pushing back`);
  // The server may resume briefly whenever the kernel takes some pongs, but its buffer stays bounded.
  for (let i = 0; i < 10; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    sample();
  }
  // One socket read of pings (up to 64 KiB) becomes at most that much in pongs past the mark.
  assert.ok(maxBuffered <= highWaterMark + 128 * KiB, `the server buffered ${maxBuffered} bytes of pongs`);
  assert.equal(peer.state, 'OPEN');
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
