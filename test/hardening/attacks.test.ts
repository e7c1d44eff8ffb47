/**
 * Hostile peers over real sockets: each attack gets its answer (close code or pause), the
 * memory it can make the server hold stays bounded, and the server keeps serving others.
 */
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

import { BufferFullError, connect, server, type Peer } from '../../src/index.ts';
import { clientFrame, closeCodeOf, defer, FrameReader, LOCALHOST, portOf, rawUpgrade, readPlain, sleep, waitFor, within } from '../peer/helpers.ts';

setFlagsFromString('--expose-gc');
const ignore = (): void => {};
const collectGarbage = runInNewContext('gc') as () => void;

/** Heap in use after a full collection, in bytes. */
function heapAfterGc(): number {
  collectGarbage();
  collectGarbage();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

test('a flood of one-byte fragments costs its bytes, not an object per fragment, and ends in 1009 at the limit (§5.4, §7.4.1)', async (t) => {
  const maxPayload = 256 * 1024;
  const peers: Peer[] = [];
  const target = await server(`ws://${LOCALHOST}:0/`, (peer) => void peers.push(peer), { maxPayload });
  defer(t, () => target.close(1000));
  const { socket, rest } = await rawUpgrade(portOf(target));
  defer(t, () => socket.destroy());
  const reader = new FrameReader(socket, rest);
  // 200,000 one-byte fragments: 1,000,000+ bytes on the wire, 200,000 payload bytes held.
  const fragments: Buffer[] = [clientFrame(2, 'x', false)];
  for (let i = 1; i < 200_000; i++) fragments.push(clientFrame(0, 'x', false));
  const before = heapAfterGc();
  socket.write(Buffer.concat(fragments));
  await waitFor(() => peers.length === 1, 2000, 'the peer');
  await sleep(300);
  const held = heapAfterGc() - before;
  // Views kept per fragment would cost ~20 MB here; bytes in a growing buffer cost ~0.5 MB.
  assert.ok(held < 6 * 1024 * 1024, `the server held ${(held / 1048576).toFixed(1)} MB for 200 KB of fragments`);
  // Past the limit the message is refused from the header of the fragment that crosses it.
  const more: Buffer[] = [];
  for (let i = 0; i < 70_000; i++) more.push(clientFrame(0, 'x', false));
  socket.write(Buffer.concat(more));
  const close = await reader.next(5000);
  assert.equal(close.opcode, 8);
  assert.equal(closeCodeOf(close.payload), 1009);
});

test('headers that declare 64 MiB with one byte behind them do not make the server claim 64 MiB each: a split payload gets memory as its bytes come', async (t) => {
  const target = await server(`ws://${LOCALHOST}:0/`, () => {});
  defer(t, () => target.close(1000));
  const attackers = 32;
  const sockets: Socket[] = [];
  for (let i = 0; i < attackers; i++) {
    const { socket } = await rawUpgrade(portOf(target));
    defer(t, () => socket.destroy());
    sockets.push(socket);
  }
  await waitFor(() => target.peers.size === attackers, 2000, 'the peers');
  const peers = [...target.peers];
  const readBefore = peers.map((peer) => peer.socket.bytesRead);
  const before = heapAfterGc();
  // FIN + binary, masked, 64-bit length 64 MiB - 1 (within maxPayload), the key, one byte (§5.2).
  const frameStart = Buffer.from('82ff0000000003ffffff010203042a', 'hex');
  for (const socket of sockets) socket.write(frameStart);
  // A socket's data is parsed in the same turn as its read is counted.
  await waitFor(() => peers.every((peer, i) => peer.socket.bytesRead === readBefore[i]! + frameStart.length), 2000, 'the frames read');
  const held = heapAfterGc() - before;
  // 1 MiB each as the buffers are made now; 64 MiB each (2 GiB) when the declared length was taken at its word.
  assert.ok(held < 256 * 1024 * 1024, `${(held / 1024 / 1024).toFixed(0)} MiB held for ${attackers} headers`);
  assert.equal(target.peers.size, attackers, 'all still open, waiting for their payloads');
});

test('a ping flood from a peer that never reads is bounded: past the high-water mark pongs are held, the latest answered once it drains (§5.5.3), so the send buffer stays near the mark', async (t) => {
  const highWaterMark = 64 * 1024;
  const peers: Peer[] = [];
  const target = await server(`ws://${LOCALHOST}:0/`, (peer) => void peers.push(peer), { highWaterMark });
  defer(t, () => target.close(1000));
  const { socket } = await rawUpgrade(portOf(target));
  defer(t, () => socket.destroy());
  // The attacker never reads: the kernel buffers fill, then the server's own.
  const ping = clientFrame(9, 'p'.repeat(125));
  const burst = Buffer.concat(Array.from({ length: 2000 }, () => ping));
  let sent = 0;
  const started = Date.now();
  while (Date.now() - started < 2000) {
    if (!socket.write(burst)) await Promise.race([new Promise((resolve) => socket.once('drain', resolve)), sleep(200)]);
    sent += burst.length;
  }
  await waitFor(() => peers.length === 1, 2000, 'the peer');
  const peer = peers[0]!;
  assert.ok(sent > 4 * 1024 * 1024, `the flood was only ${sent} bytes`);
  // Each ping owes a pong of the same size: without the hold the server would buffer ~all of them.
  assert.ok(peer.bufferedAmount < highWaterMark + 512 * 1024, `the server buffered ${peer.bufferedAmount} bytes of pongs`);
  // The server still serves everyone else.
  const other = await connect(target.url);
  defer(t, () => other.close());
  await other.write('still here');
  const reply = await within(
    new Promise<string>((resolve) => {
      const check = setInterval(() => {
        const second = peers[1];
        if (second === undefined) return;
        clearInterval(check);
        void second.read(1000).then((message) => resolve(String(message?.data)));
      }, 10);
    }),
    3000,
    'the other client to be served',
  );
  assert.equal(reply, 'still here');
});

test('a ping flood from a peer that reads: past maxQueuedPongs per write only the latest ping is answered (§5.5.3)', async (t) => {
  const target = await server(`ws://${LOCALHOST}:0/`, () => {});
  defer(t, () => target.close(1000));
  const { socket, rest } = await rawUpgrade(portOf(target));
  defer(t, () => socket.destroy());
  const frames = new FrameReader(socket, rest);
  const ping = clientFrame(9, 'flood');
  const burst = Buffer.concat(Array.from({ length: 5000 }, () => ping));
  const bursts = 20;
  for (let i = 0; i < bursts; i++) {
    if (!socket.write(burst)) await new Promise((resolve) => socket.once('drain', resolve));
  }
  socket.write(clientFrame(9, 'last'));
  let pongs = 0;
  for (;;) {
    const frame = await frames.next(5000);
    assert.equal(frame.opcode, 10, 'only pongs come back');
    pongs++;
    if (frame.payload.toString() === 'last') break;
  }
  const pings = bursts * 5000 + 1;
  // Each write answers at most 16 pings in full plus the latest; the kernel hands the server
  // the flood in chunks of tens of KiB, so at most a few hundred writes.
  assert.ok(pongs * 20 < pings, `${pongs} pongs for ${pings} pings`);
  assert.ok(pongs > 16, `only ${pongs} pongs`);
});

const MAX_BUFFERED = 2 * 1024 * 1024;

/** A server peer with `closeOnBufferFull` whose client (a raw socket, paused) never reads. */
async function peerThatNeverReads(t: TestContext): Promise<{ peer: Peer; socket: Socket }> {
  const peers: Peer[] = [];
  const target = await server(`ws://${LOCALHOST}:0/`, (peer) => void peers.push(peer), { maxBufferedAmount: MAX_BUFFERED, highWaterMark: 256 * 1024, closeOnBufferFull: true });
  defer(t, () => target.close(1000));
  const { socket } = await rawUpgrade(portOf(target));
  defer(t, () => socket.destroy());
  await waitFor(() => peers.length === 1, 2000, 'the peer');
  return { peer: peers[0]!, socket };
}

test('closeOnBufferFull: a peer that never reads is dropped when a send would pass maxBufferedAmount', async (t) => {
  const { peer, socket } = await peerThatNeverReads(t);
  const message = new Uint8Array(256 * 1024);
  const results: string[] = [];
  for (let i = 0; i < 200 && !peer.closed; i++) {
    results.push(peer.send(message));
    assert.ok(peer.bufferedAmount <= MAX_BUFFERED, `bufferedAmount ${peer.bufferedAmount} over the cap`);
    await sleep(1);
  }
  assert.equal(results.at(-1), 'dropped');
  assert.ok(results.includes('backpressure'), 'the buffer filled before the drop');
  await waitFor(() => peer.closed, 2000, 'the peer to be dropped');
  assert.equal(peer.closeCode, 1006);
  assert.equal(await peer.read(), null);
  await within(peer.whenClosed(), 2000, 'the socket to close');
  assert.equal(peer.bufferedAmount, 0, 'what was queued for it is dropped with it');
  const ended = new Promise((resolve) => socket.once('close', resolve));
  socket.resume();
  await within(ended, 3000, 'the client socket to end');
});

test('closeOnBufferFull: a write() that would pass maxBufferedAmount rejects with BufferFullError and drops the peer', async (t) => {
  const { peer } = await peerThatNeverReads(t);
  const message = new Uint8Array(256 * 1024);
  let refusal: unknown = null;
  const writes: Array<Promise<number>> = [];
  for (let i = 0; i < 200 && refusal === null; i++) {
    const written = peer.write(message);
    writes.push(written.catch(() => 0));
    // A write past the high-water mark waits for a drain that never comes: go on without it.
    await Promise.race([written.then(ignore, (error: unknown) => void (refusal = error)), sleep(5)]);
  }
  assert.ok(refusal instanceof BufferFullError, `expected BufferFullError, got ${String(refusal)}`);
  await waitFor(() => peer.closed, 2000, 'the peer to be dropped');
  assert.equal(peer.closeCode, 1006);
  await Promise.all(writes); // the writes still waiting settle once the peer is gone
});

test('a peer that vanishes in the middle of a frame: the read ends with null, closeCode 1006, nothing crashes', async (t) => {
  const peers: Peer[] = [];
  const target = await server(`ws://${LOCALHOST}:0/`, (peer) => void peers.push(peer));
  defer(t, () => target.close(1000));
  const { socket } = await rawUpgrade(portOf(target));
  const frame = clientFrame(2, Buffer.alloc(100_000, 7));
  socket.write(frame.subarray(0, 50_000));
  await waitFor(() => peers.length === 1, 2000, 'the peer');
  const reading = peers[0]!.read(5000);
  await sleep(50);
  socket.destroy();
  assert.equal(await reading, null);
  assert.equal(peers[0]!.closeCode, 1006);
  const other = await connect(target.url);
  defer(t, () => other.close());
  await other.write('next');
  await waitFor(() => peers.length === 2, 2000, 'the next peer');
  assert.deepEqual(await readPlain(peers[1]!, 2000), { opcode: 1, fin: true, data: 'next' });
});
