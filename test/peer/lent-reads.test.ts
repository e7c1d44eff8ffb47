/**
 * Lent reads: a socket that has read 64 KiB reads into the SIMD module's memory, shared by
 * all sockets, and everything kept is copied out of it. These tests run over loopback and
 * check that every byte still arrives right, whatever else reads into the same region.
 * @module
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { connect as netConnect, createServer, type Socket } from 'node:net';
import { test } from 'node:test';
import { connect as tlsConnect, createServer as createTlsServer } from 'node:tls';
import { fileURLToPath } from 'node:url';

import WebSocket from 'ws';

import { bind, connect, createUpgradeHandler, server, type Message, type Peer, type ServerOptions } from '../../src/index.ts';
import { Peer as PeerClass } from '../../src/peer/peer.ts';
import { READ_REGION_SIZE, simdReadRegion } from '../../src/frame/mask-simd.ts';
import { LEND_AFTER, lendReads, readsAreLent, type LendOutcome, type LentReadTarget } from '../../src/peer/lent-reads.ts';
import { defer, LOCALHOST, patternBytes, rawConnect, waitFor, within } from './helpers.ts';
import { closeWs, wsClient } from './ws-helpers.ts';

const KiB = 1024;
const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/tls/${name}`, import.meta.url));

/** Records what a socket's lent reads hand over: copies of lent chunks, owned chunks as they are. */
class Recorder implements LentReadTarget {
  readonly chunks: Buffer[] = [];
  lent = 0;
  owned = 0;
  bytes = 0;
  longest = 0;
  /** What `readRoom` answers: room for a whole region unless a test lowers it. */
  room = Number.POSITIVE_INFINITY;
  readRoom(): number {
    return this.room;
  }
  receiveRead(chunk: Uint8Array, lent: boolean): void {
    this.longest = Math.max(this.longest, chunk.length);
    if (lent) {
      assert.equal(chunk.buffer, simdReadRegion()!.buffer, 'a lent chunk lies in the read region');
      this.lent++;
      this.take(Buffer.from(chunk));
    } else {
      assert.notEqual(chunk.buffer, simdReadRegion()!.buffer, 'an owned chunk does not');
      this.owned++;
      this.take(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
    }
  }
  /** A buffer that reads may go straight into, from `directFill` on; null: none offered. */
  direct: Uint8Array | null = null;
  directFill = 0;
  directReads = 0;
  /** Bytes handed over before the first direct read. */
  bytesBeforeDirect = -1;
  /** Bytes that came through the region (lent or owned) after the direct buffer was full. */
  bytesAfterDirect = 0;
  directTarget(maxLength: number): Uint8Array | null {
    const direct = this.direct;
    if (direct === null || this.directFill === direct.length) return null;
    return direct.subarray(this.directFill, this.directFill + Math.min(maxLength, direct.length - this.directFill));
  }
  receiveDirect(length: number): void {
    assert.ok(this.direct !== null && length <= this.direct.length - this.directFill, 'a direct read stays within what was offered');
    if (this.directReads++ === 0) this.bytesBeforeDirect = this.bytes;
    this.directFill += length;
    this.bytes += length;
  }
  private take(chunk: Buffer): void {
    if (this.direct !== null && this.directFill > 0) this.bytesAfterDirect += chunk.length;
    this.chunks.push(chunk);
    this.bytes += chunk.length;
  }
}

/** A TCP server that hands every socket it accepts to `onSocket`, and a client connected to it. */
async function acceptOne(t: Parameters<typeof defer>[0], onSocket: (socket: Socket) => void): Promise<Socket> {
  const accepted: Socket[] = [];
  const listener = createServer((socket) => {
    accepted.push(socket);
    onSocket(socket);
  });
  listener.listen(0, LOCALHOST);
  await once(listener, 'listening');
  defer(t, () => {
    for (const socket of accepted) socket.destroy();
    return new Promise((resolve) => listener.close(resolve));
  });
  const address = listener.address();
  assert.ok(address !== null && typeof address === 'object');
  const client = await rawConnect(address.port);
  defer(t, () => client.destroy());
  return client;
}

test('an accepted socket switched to lent reads hands every byte over in order, bulk reads lent and short ones owned', async (t) => {
  const recorder = new Recorder();
  let switched = false;
  let ended!: Promise<unknown>;
  const client = await acceptOne(t, (socket) => {
    switched = lendReads(socket, recorder) === 'lent';
    ended = once(socket, 'end');
  });
  const sent = patternBytes(3 * 1024 * KiB + 5, 7);
  // Bulk first, then, once it has arrived, a short write: both kinds of read.
  client.write(sent.subarray(0, 3 * 1024 * KiB));
  await waitFor(() => recorder.bytes >= 3 * 1024 * KiB, 5000, 'bulk bytes arrive');
  client.end(sent.subarray(3 * 1024 * KiB));
  await within(ended, 5000, 'the socket ends');
  assert.equal(switched, true);
  assert.ok(Buffer.concat(recorder.chunks).equals(Buffer.from(sent)), 'the bytes, in order');
  assert.ok(recorder.lent > 0, 'bulk reads were lent');
  assert.ok(recorder.owned > 0, 'the short read was copied out and owned');
});

test('a lent read fills the whole region while its target has room for it, and takes Node\'s 64 KiB when it has not', async (t) => {
  for (const room of [Number.POSITIVE_INFINITY, 100 * KiB]) {
    const recorder = new Recorder();
    recorder.room = room;
    let ended!: Promise<unknown>;
    const client = await acceptOne(t, (socket) => {
      assert.equal(lendReads(socket, recorder), 'lent');
      ended = once(socket, 'end');
    });
    const sent = patternBytes(16 * 1024 * KiB, 3);
    client.end(sent);
    await within(ended, 10_000, 'the socket ends');
    assert.ok(Buffer.concat(recorder.chunks).equals(Buffer.from(sent)), 'the bytes, in order');
    if (room > READ_REGION_SIZE) assert.ok(recorder.longest > 64 * KiB, `reads up to the region: longest ${recorder.longest}`);
    else assert.ok(recorder.longest <= 64 * KiB, `reads of Node's size: longest ${recorder.longest}`);
  }
});

test('reads go straight into the buffer a target offers, then back to the region once it is full', async (t) => {
  const recorder = new Recorder();
  let ended!: Promise<unknown>;
  const client = await acceptOne(t, (socket) => {
    assert.equal(lendReads(socket, recorder), 'lent');
    ended = once(socket, 'end');
  });
  const sent = patternBytes(8 * 1024 * KiB, 11);
  const first = 64 * KiB;
  const directLength = 6 * 1024 * KiB;
  client.write(sent.subarray(0, first));
  await waitFor(() => recorder.bytes === first, 5000, 'the first bytes, through the region');
  // Offered from the next read on: the target says where, the reads say how much.
  recorder.direct = new Uint8Array(directLength);
  client.end(sent.subarray(first));
  await within(ended, 10_000, 'the socket ends');
  // The read already aimed at the region when the buffer was offered came first.
  const start = recorder.bytesBeforeDirect;
  assert.ok(start >= first && start <= first + READ_REGION_SIZE, `direct reads started at byte ${start}`);
  assert.equal(recorder.directFill, directLength, 'the offered buffer was filled');
  assert.ok(Buffer.from(recorder.direct).equals(Buffer.from(sent.subarray(start, start + directLength))), 'with the bytes that followed, in order');
  const viaRegion = Buffer.concat(recorder.chunks);
  assert.ok(viaRegion.subarray(0, start).equals(Buffer.from(sent.subarray(0, start))));
  assert.ok(viaRegion.subarray(start).equals(Buffer.from(sent.subarray(start + directLength))), 'the rest came through the region');
  assert.equal(recorder.bytesAfterDirect, sent.length - start - directLength);
});

test('lendReads leaves alone a TLS socket, a socket whose creator set onread, a paused one, and one with data queued in its stream', async (t) => {
  // TLS: the decrypted bytes do not come from the handle the region would be given to.
  const tlsServer = createTlsServer({ key: readFileSync(fixture('server.key')), cert: readFileSync(fixture('server.pem')) });
  const tlsOutcome = new Promise<LendOutcome>((resolve) => tlsServer.on('secureConnection', (socket) => resolve(lendReads(socket, new Recorder()))));
  tlsServer.listen(0, LOCALHOST);
  await once(tlsServer, 'listening');
  defer(t, () => new Promise((resolve) => tlsServer.close(resolve)));
  const { port } = tlsServer.address() as { port: number };
  const tlsClient = tlsConnect({ host: LOCALHOST, port, ca: readFileSync(fixture('ca.pem')), servername: 'localhost' });
  tlsClient.on('error', () => {});
  defer(t, () => tlsClient.destroy());
  assert.equal(await within(tlsOutcome, 3000, 'TLS accept'), 'never');

  // onread set by the socket's creator: its buffer is someone else's.
  let server!: Socket;
  const client = await acceptOne(t, (socket) => (server ??= socket));
  const withOnread = netConnect({ host: LOCALHOST, port: client.remotePort!, onread: { buffer: new Uint8Array(1024), callback: () => true } });
  withOnread.on('error', () => {});
  defer(t, () => withOnread.destroy());
  await within(once(withOnread, 'connect'), 2000, 'connect with onread');
  assert.equal(lendReads(withOnread, new Recorder()), 'never');

  // Bytes already queued in the stream would come after the lent ones.
  await waitFor(() => server !== undefined, 2000, 'accept');
  server.pause();
  assert.equal(lendReads(server, new Recorder()), 'not now', 'paused: its reads stop only once its queue is full');
  server.resume();
  assert.equal(server.readableLength, 0);
  server.pause();
  client.write('queued');
  await waitFor(() => server.readableLength > 0, 2000, 'bytes queued');
  assert.equal(lendReads(server, new Recorder()), 'not now');
  server.resume();
  await waitFor(() => server.readableLength === 0, 2000, 'queue drained');
  assert.equal(readsAreLent(server), false);
  assert.equal(lendReads(server, new Recorder()), 'lent', 'flowing with nothing queued: switched');
  assert.equal(readsAreLent(server), true);
});

/** An echo server of ours, and the peers it accepted. */
async function echoServer(t: Parameters<typeof defer>[0], options: ServerOptions = {}): Promise<{ url: string; peers: Peer[] }> {
  const peers: Peer[] = [];
  const echo = await server(
    `ws://${LOCALHOST}:0`,
    (peer) => {
      peers.push(peer);
      peer.onMessage((message) => void peer.send(message));
    },
    { maxPayload: 8 * 1024 * KiB, ...options },
  );
  defer(t, () => echo.close(500));
  return { url: echo.url, peers };
}

/** Messages of every kind that lent reads must keep apart: long, short, text split across reads. */
function messagesFor(connection: number): Array<string | Buffer> {
  const out: Array<string | Buffer> = [];
  for (let i = 0; i < 24; i++) {
    const seed = connection * 100 + i;
    if (i % 4 === 0) out.push(Buffer.from(patternBytes(64 * KiB + seed * 37, seed)));
    else if (i % 4 === 1) out.push(Buffer.from(patternBytes(1 + (seed % 300), seed)));
    else if (i % 4 === 2) out.push(`€ ${seed} ü`.repeat(5000 + seed)); // multi-byte characters across read edges
    else out.push(Buffer.from(patternBytes(700 * KiB + seed, seed)));
  }
  return out;
}

test('§5.3 many connections echo long and short messages through one shared region: every message comes back intact', async (t) => {
  const { url, peers } = await echoServer(t);
  const clients = await Promise.all(Array.from({ length: 6 }, () => wsClient(url, [], { maxPayload: 8 * 1024 * KiB })));
  for (const { ws } of clients) defer(t, () => closeWs(ws));
  const sentAll = clients.map((_, c) => messagesFor(c));
  clients.forEach(({ ws }, c) => sentAll[c]!.forEach((message) => ws.send(message)));
  await Promise.all(
    clients.map(async ({ inbox }, c) => {
      for (const [i, sent] of sentAll[c]!.entries()) {
        const got = await inbox.next(10_000);
        assert.equal(got.binary, typeof sent !== 'string', `connection ${c} message ${i}: kind`);
        assert.ok(got.data.equals(typeof sent === 'string' ? Buffer.from(sent) : sent), `connection ${c} message ${i} differs`);
      }
    }),
  );
  assert.equal(peers.length, 6);
  assert.ok(peers.every((peer) => readsAreLent(peer.socket)), 'every server socket switched to lent reads');
});

/** Counts the reads that went straight into a message being assembled, for as long as the test runs. */
function countDirectReads(t: Parameters<typeof defer>[0]): { reads: number } {
  const counter = { reads: 0 };
  const original = PeerClass.prototype.receiveDirect;
  PeerClass.prototype.receiveDirect = function (this: Peer, length: number): void {
    counter.reads++;
    original.call(this, length);
  };
  defer(t, () => {
    PeerClass.prototype.receiveDirect = original;
  });
  return counter;
}

test('§5.3 our clients read the rest of each long message straight into its own buffer: every message intact, many at once, through buffer growth', async (t) => {
  const direct = countDirectReads(t);
  const { url } = await echoServer(t, { maxPayload: 16 * 1024 * KiB });
  const clients = await Promise.all(Array.from({ length: 4 }, () => connect(url, {}, { maxPayload: 16 * 1024 * KiB })));
  for (const client of clients) defer(t, () => client.close());
  const sentAll = clients.map((_, c) => [...messagesFor(c), Buffer.from(patternBytes(3 * 1024 * KiB + c, c)), Buffer.from(patternBytes(9 * 1024 * KiB + c, c + 1))]);
  await Promise.all(
    clients.map(async (client, c) => {
      for (const message of sentAll[c]!) void client.send(message);
      for (const [i, sent] of sentAll[c]!.entries()) {
        const got = await client.read(10_000);
        assert.ok(got !== null, `connection ${c} message ${i}`);
        const data = typeof got.data === 'string' ? Buffer.from(got.data) : Buffer.from(got.data);
        assert.equal(typeof got.data === 'string', typeof sent === 'string', `connection ${c} message ${i}: kind`);
        assert.ok(data.equals(typeof sent === 'string' ? Buffer.from(sent) : sent), `connection ${c} message ${i} differs`);
      }
    }),
  );
  assert.ok(direct.reads > 0, 'reads went straight into messages');
});

test('a client whose messages are lent (lentMessages) reads none straight into a message: its assembly buffers are reused', async (t) => {
  const direct = countDirectReads(t);
  const { url } = await echoServer(t);
  const client = await connect(url, {}, { maxPayload: 8 * 1024 * KiB, lentMessages: true });
  defer(t, () => client.close());
  const sent = Buffer.from(patternBytes(3 * 1024 * KiB, 5));
  const got = new Promise<Buffer>((resolve) => client.onMessage((message) => resolve(Buffer.from(message.data as Uint8Array))));
  void client.send(sent);
  assert.ok((await within(got, 10_000, 'the echo')).equals(sent));
  assert.equal(direct.reads, 0);
});

test('after lent reads a peer still reads slowly without loss (pause and resume), answers pings and closes cleanly', async (t) => {
  const bound = await bind(`ws://${LOCALHOST}:0/`, { highWaterMark: 256 * KiB, maxPayload: 4 * 1024 * KiB });
  defer(t, () => bound.close(500));
  const ws = new WebSocket(bound.url, { maxPayload: 4 * 1024 * KiB });
  ws.on('error', () => {});
  await within(once(ws, 'open'), 3000, 'ws open');
  defer(t, () => closeWs(ws));
  const peer = await bound.accept(2000);
  const pong = once(ws, 'pong');

  const count = 40;
  const size = 300 * KiB;
  for (let i = 0; i < count; i++) ws.send(patternBytes(size, i + 1));
  ws.ping('after the bulk');
  for (let i = 0; i < count; i++) {
    if (i % 8 === 0) await new Promise((resolve) => setTimeout(resolve, 20)); // the inbox fills, the socket pauses
    const message = await peer.read(5000);
    assert.ok(message !== null);
    assert.ok(Buffer.from(message.data as Uint8Array).equals(Buffer.from(patternBytes(size, i + 1))), `message ${i} differs`);
  }
  assert.equal(readsAreLent(peer.socket), true);
  const [payload] = (await within(pong, 3000, 'pong')) as [Buffer];
  assert.equal(payload.toString(), 'after the bulk');

  const closed = once(ws, 'close');
  assert.equal(await peer.shutdown(1000, 'done', 3000), true);
  const [code, reason] = (await within(closed, 3000, 'ws close')) as [number, Buffer];
  assert.equal(code, 1000);
  assert.equal(reason.toString(), 'done');
});

test('a connection is switched once it has read LEND_AFTER bytes: short messages before and after, kept and relayed late, stay intact', async (t) => {
  const kept: Message[] = [];
  const peers: Peer[] = [];
  const relay = await server(`ws://${LOCALHOST}:0`, (peer) => {
    peers.push(peer);
    peer.onMessage((message) => {
      if (message.data === 'flush') {
        // Messages held since they arrived, their reads long since reused: relayed now.
        for (const message of kept.splice(0)) peer.send(message);
        peer.send('flushed');
      } else {
        kept.push(message);
      }
    });
  });
  defer(t, () => relay.close(500));
  const { ws, inbox } = await wsClient(relay.url);
  defer(t, () => closeWs(ws));
  const closedEarly = await wsClient(relay.url);
  await closeWs(closedEarly.ws);

  const texts = Array.from({ length: 3000 }, (_, i) => `message ${i} ${'x'.repeat(i % 40)}`);
  const before = texts.reduce((sum, text) => sum + text.length + 6, 0);
  assert.ok(before > LEND_AFTER, 'enough to switch');
  for (const text of texts) ws.send(text);
  ws.send('flush');
  for (const text of texts) assert.equal((await inbox.next(5000)).data.toString(), text);
  assert.equal((await inbox.next(5000)).data.toString(), 'flushed');
  assert.equal(kept.length, 0);
  await waitFor(() => peers.length === 2 && peers.some((peer) => peer.closed), 2000, 'the early connection closed');
  const [streaming] = peers.filter((peer) => !peer.closed);
  assert.equal(readsAreLent(streaming!.socket), true, 'the streaming connection was switched');
  assert.equal(readsAreLent(peers.find((peer) => peer.closed)!.socket), false, 'one that only opened and closed was not');
});

test('after the switch a dropped connection (no close frame) still ends the peer with 1006, and a half-read frame is let go', async (t) => {
  const bound = await bind(`ws://${LOCALHOST}:0/`, { maxPayload: 4 * 1024 * KiB });
  defer(t, () => bound.close(500));
  const ws = new WebSocket(bound.url, { maxPayload: 4 * 1024 * KiB });
  ws.on('error', () => {});
  await within(once(ws, 'open'), 3000, 'ws open');
  const peer = await bound.accept(2000);
  ws.send(patternBytes(200 * KiB, 3));
  const message = await peer.read(3000);
  assert.equal((message?.data as Uint8Array).length, 200 * KiB);
  assert.equal(readsAreLent(peer.socket), true);
  // A 1 MiB message is cut off mid-way: the socket drops while the peer assembles it.
  const raw = (ws as unknown as { _socket: Socket })._socket;
  raw.write(Buffer.from([0x82, 0xff, 0, 0, 0, 0, 0, 0x10, 0, 0, 1, 2, 3, 4]));
  raw.end(Buffer.alloc(100 * KiB));
  assert.equal(await peer.read(3000), null);
  assert.equal(peer.closeCode, 1006);
  assert.equal(peer.closed, true);
});

test('a socket handed over by a node:http server (its parser let go of the handle) is switched and echoes intact', async (t) => {
  const upgrade = createUpgradeHandler({ maxPayload: 4 * 1024 * KiB });
  const peers: Peer[] = [];
  const httpServer = createHttpServer((_request, response) => response.end('plain HTTP'));
  httpServer.on('upgrade', (request, socket, head) => {
    const peer = upgrade(request, socket, head);
    if (peer === null) return;
    peers.push(peer);
    peer.onMessage((message) => void peer.send(message));
  });
  httpServer.listen(0, LOCALHOST);
  await once(httpServer, 'listening');
  defer(t, () => new Promise((resolve) => httpServer.close(resolve)));
  const { port } = httpServer.address() as { port: number };
  const { ws, inbox } = await wsClient(`ws://${LOCALHOST}:${port}/`, [], { maxPayload: 4 * 1024 * KiB });
  defer(t, () => closeWs(ws));
  const sent = messagesFor(9);
  for (const message of sent) ws.send(message);
  for (const [i, message] of sent.entries()) {
    const got = await inbox.next(10_000);
    assert.ok(got.data.equals(typeof message === 'string' ? Buffer.from(message) : message), `message ${i} differs`);
  }
  assert.equal(readsAreLent(peers[0]!.socket), true);
});

test('lentReads: false keeps Node\'s own reads on a connection that streams', async (t) => {
  const { url, peers } = await echoServer(t, { lentReads: false });
  const { ws, inbox } = await wsClient(url, [], { maxPayload: 4 * 1024 * KiB });
  defer(t, () => closeWs(ws));
  const sent = Buffer.from(patternBytes(1024 * KiB, 11));
  ws.send(sent);
  assert.ok((await inbox.next(5000)).data.equals(sent));
  assert.equal(readsAreLent(peers[0]!.socket), false);
});
