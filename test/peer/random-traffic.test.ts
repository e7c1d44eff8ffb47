/**
 * Seeded random traffic against every receive path of the server. Each client sends a
 * stream of messages whose sizes sit on and around the receive path's edges — the 7-, 16-
 * and 64-bit length forms (RFC 6455 §5.2), the cut under which a lent read is copied out,
 * the smallest buffer kept for lent assembly, Node's 64 KiB read, the 256 KiB read region —
 * text (with multi-byte characters) and binary, some fragmented (§5.4) with pings between
 * the fragments (§5.5.2), as raw masked frames (§5.3) written in pieces cut at random
 * places with random pauses. Some clients stop reading now and then, so that the server's
 * sends back up while it reads. Every echo must come back whole and in order, and every
 * pong must answer a ping, on a server of each kind: the default (owned messages),
 * `lentMessages` (some messages kept past their call by a copy), Node's own reads
 * (`lentReads: false`), and a `for await` reader that answers with `write`. The same
 * traffic, unmasked, goes the other way too: from a raw server to clients of ours.
 *
 * The seed is fixed so that a failure can be replayed; WSPEER_TRAFFIC_SEED picks another.
 * @module
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { test, type TestContext } from 'node:test';

import { connect, server, type Message, type Peer, type PeerOptions } from '../../src/index.ts';
import { defer, LOCALHOST, portOf, rawAcceptUpgrade, rawUpgrade, within } from './helpers.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
const BASE_SEED = Number(process.env['WSPEER_TRAFFIC_SEED'] ?? 6455);
const CLIENTS = 5;
const MESSAGES = 40;

/** Payload sizes at the receive path's edges; each is drawn with a jitter of ±3 bytes. */
const EDGES = [0, 1, 125, 126, 4 * KiB, 16 * KiB, 32 * KiB, 64 * KiB - 14, 64 * KiB, 256 * KiB - 14, 256 * KiB, 700 * KiB, MiB + 3];

/** A small seeded generator (mulberry32): the same seed gives the same traffic. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let x = state;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 0x1_0000_0000;
  };
}

type Random = () => number;
const below = (random: Random, n: number): number => Math.floor(random() * n);

/** One message of a stream: what is sent, and how it is cut into frames. */
interface Planned {
  readonly opcode: 1 | 2;
  readonly payload: Buffer;
  /** Fragment lengths, summing to the payload's; one entry for an unfragmented message. */
  readonly fragments: readonly number[];
}

/** UTF-8 text of about `size` bytes: ASCII with 2-, 3- and 4-byte characters strewn in. */
function textOf(random: Random, size: number): Buffer {
  const pieces = ['a', 'Z', ' ', 'é', '€', '😀', 'ü', '7'];
  let text = '';
  let bytes = 0;
  while (bytes < size) {
    const piece = random() < 0.8 ? pieces[below(random, 3)]! : pieces[3 + below(random, 5)]!;
    text += piece;
    bytes += Buffer.byteLength(piece);
  }
  return Buffer.from(text);
}

/** `size` random bytes, four from each draw. */
function randomBytesOf(random: Random, size: number): Buffer {
  const bytes = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i += 4) {
    const word = (random() * 0x1_0000_0000) >>> 0;
    for (let j = 0; j < 4 && i + j < size; j++) bytes[i + j] = (word >>> (8 * j)) & 0xff;
  }
  return bytes;
}

/**
 * What a client that stalls sends first: 12 MiB in 1 MiB messages, more than the kernel's
 * buffers between the two take while it does not read (4 MiB of send buffer here, and a
 * receive buffer that has not grown yet), so that the server's sends surely back up.
 */
function prelude(random: Random): Planned[] {
  return Array.from({ length: 12 }, () => ({ opcode: 2, payload: randomBytesOf(random, MiB), fragments: [MiB] }));
}

function planMessage(random: Random): Planned {
  const edge = EDGES[below(random, EDGES.length)]!;
  const size = Math.max(0, edge + below(random, 7) - 3);
  const opcode = random() < 0.4 ? 1 : 2;
  let payload: Buffer;
  if (opcode === 1) payload = textOf(random, size);
  else {
    payload = randomBytesOf(random, size);
  }
  const fragments: number[] = [];
  if (payload.length > 1 && random() < 0.25) {
    // Cut points anywhere, in the middle of a character too: only the whole message must be UTF-8 (§5.6).
    let left = payload.length;
    for (let count = 2 + below(random, 3); count > 1 && left > 1; count--) {
      const length = 1 + below(random, left - 1);
      fragments.push(length);
      left -= length;
    }
    fragments.push(left);
  } else {
    fragments.push(payload.length);
  }
  return { opcode, payload, fragments };
}

/** A frame: masked with a key drawn from `random` as a client sends it (§5.3), unmasked as a server does. */
function frameOf(random: Random, masked: boolean, opcode: number, fin: boolean, payload: Uint8Array): Buffer {
  const length = payload.length;
  const lengthBytes = length <= 125 ? 0 : length <= 0xffff ? 2 : 8;
  const keyBytes = masked ? 4 : 0;
  const frame = Buffer.allocUnsafe(2 + lengthBytes + keyBytes + length);
  frame[0] = (fin ? 0x80 : 0) | opcode;
  frame[1] = (masked ? 0x80 : 0) | (lengthBytes === 0 ? length : lengthBytes === 2 ? 126 : 127);
  if (lengthBytes === 2) frame.writeUInt16BE(length, 2);
  else if (lengthBytes === 8) frame.writeBigUInt64BE(BigInt(length), 2);
  const at = 2 + lengthBytes;
  if (!masked) {
    frame.set(payload, at);
    return frame;
  }
  for (let i = 0; i < 4; i++) frame[at + i] = below(random, 256);
  const key = frame.subarray(at, at + 4);
  for (let i = 0; i < length; i++) frame[at + 4 + i] = payload[i]! ^ key[i & 3]!;
  return frame;
}

/** The wire bytes of a stream (masked: a client's), and the pings it carries in order. */
function wireOf(random: Random, plan: readonly Planned[], masked: boolean): { wire: Buffer; pings: Buffer[] } {
  const frames: Buffer[] = [];
  const pings: Buffer[] = [];
  for (const message of plan) {
    let at = 0;
    message.fragments.forEach((length, index) => {
      const last = index === message.fragments.length - 1;
      frames.push(frameOf(random, masked, index === 0 ? message.opcode : 0, last, message.payload.subarray(at, at + length)));
      at += length;
      if (!last && random() < 0.3) {
        const ping = Buffer.from(`ping ${pings.length} `.padEnd(1 + below(random, 125), '.'));
        pings.push(ping);
        frames.push(frameOf(random, masked, 0x9, true, ping));
      }
    });
  }
  return { wire: Buffer.concat(frames), pings };
}

/** One side's stream: its messages, their frames on the wire (masked when a client's), its pings. */
interface Traffic {
  readonly random: Random;
  readonly plan: readonly Planned[];
  readonly wire: Buffer;
  readonly pings: readonly Buffer[];
  readonly masked: boolean;
  /** Whether its reader stalls (and its plan starts with the {@link prelude}). */
  readonly stalls: boolean;
}

/** The traffic of stream `index` of `seed`; every other one stalls. */
function trafficOf(seed: number, index: number, masked: boolean): Traffic {
  const random = generator(seed * 31 + index);
  const stalls = index % 2 === 1;
  const plan = [...(stalls ? prelude(random) : []), ...Array.from({ length: MESSAGES }, () => planMessage(random))];
  return { random, plan, ...wireOf(random, plan, masked), masked, stalls };
}

/** Write `wire` in pieces of random length (1 B to 200 KiB), now and then after a pause. */
async function writeInPieces(random: Random, socket: Socket, wire: Buffer): Promise<void> {
  for (let at = 0; at < wire.length; ) {
    const piece = random() < 0.2 ? 1 + below(random, 16) : 1 + below(random, 200 * KiB);
    const end = Math.min(wire.length, at + piece);
    if (!socket.write(wire.subarray(at, end))) await once(socket, 'drain');
    at = end;
    if (random() < 0.1) await new Promise((resolve) => setTimeout(resolve, below(random, 3)));
  }
}

/** A frame read back from the peer under test. */
interface Frame {
  readonly fin: boolean;
  readonly opcode: number;
  readonly payload: Buffer;
}

/**
 * Splits frames out of a socket's reads, without copying the whole stream at every read:
 * a server's, unmasked, or (`masked`) a client's, unmasked here (§5.1, §5.3).
 */
class Frames {
  private readonly pending: Buffer[] = [];
  private pendingLength = 0;

  constructor(private readonly masked: boolean) {}

  /** Add a read; returns the frames it completes. */
  add(chunk: Buffer): Frame[] {
    this.pending.push(chunk);
    this.pendingLength += chunk.length;
    const frames: Frame[] = [];
    for (;;) {
      const header = this.peek(Math.min(this.pendingLength, 14));
      if (header.length < 2) break;
      assert.equal((header[1]! & 0x80) !== 0, this.masked, this.masked ? 'a client frame is always masked (§5.1)' : 'a server frame is never masked (§5.1)');
      const length7 = header[1]! & 0x7f;
      const keyAt = length7 === 126 ? 4 : length7 === 127 ? 10 : 2;
      const at = keyAt + (this.masked ? 4 : 0);
      if (header.length < at) break;
      const length = length7 === 126 ? header.readUInt16BE(2) : length7 === 127 ? Number(header.readBigUInt64BE(2)) : length7;
      if (this.pendingLength < at + length) break;
      const bytes = this.take(at + length);
      const payload = bytes.subarray(at);
      if (this.masked) for (let i = 0; i < length; i++) payload[i] = payload[i]! ^ bytes[keyAt + (i & 3)]!;
      frames.push({ fin: (bytes[0]! & 0x80) !== 0, opcode: bytes[0]! & 0x0f, payload });
    }
    return frames;
  }

  /** The first `count` pending bytes, without taking them. */
  private peek(count: number): Buffer {
    const first = this.pending[0];
    if (first === undefined) return Buffer.alloc(0);
    if (first.length >= count) return first.subarray(0, count);
    return Buffer.concat(this.pending, this.pendingLength).subarray(0, count);
  }

  private take(count: number): Buffer {
    const parts: Buffer[] = [];
    let left = count;
    while (left > 0) {
      const first = this.pending[0]!;
      if (first.length <= left) {
        parts.push(first);
        this.pending.shift();
        left -= first.length;
      } else {
        parts.push(first.subarray(0, left));
        this.pending[0] = first.subarray(left);
        left = 0;
      }
    }
    this.pendingLength -= count;
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, count);
  }
}

/** Stops reading now and then until the server has sends the kernel did not take, then a little longer. */
interface Stall {
  /** Whether the server's side of this connection holds bytes its socket has not written yet. */
  backedUp(): boolean;
  /** Stalls that saw the server's sends back up. */
  count: number;
}

/**
 * Read the echoes of `plan` from `socket`, checking each as it completes; with `stall`, stop
 * reading now and then until the server's sends back up (or 100 ms pass). Resolves once
 * every message came back.
 */
function readEchoes(traffic: Traffic, socket: Socket, rest: Buffer, stall: Stall | null, label: string): Promise<void> {
  const { random, plan, pings, masked } = traffic;
  return new Promise<void>((resolve, reject) => {
    // The echoes come from the other side: masked if ours are not.
    const frames = new Frames(!masked);
    let next = 0;
    let nextPing = 0;
    let parts: Buffer[] = [];
    let opcode = 0;
    const fail = (error: unknown): void => {
      socket.destroy();
      reject(error);
    };
    const onFrame = (frame: Frame): void => {
      if (frame.opcode === 0xa) {
        // A pong answers a ping sent earlier; under load only the latest may be answered (§5.5.3).
        while (nextPing < pings.length && !pings[nextPing]!.equals(frame.payload)) nextPing++;
        assert.ok(nextPing < pings.length, `${label}: a pong that answers no ping, or out of order`);
        nextPing++;
        return;
      }
      assert.notEqual(frame.opcode, 0x8, `${label}: the server closed after ${next} of ${plan.length} messages: ${frame.payload.toString('latin1')}`);
      if (frame.opcode !== 0) opcode = frame.opcode;
      parts.push(frame.payload);
      if (!frame.fin) return;
      const expected = plan[next]!;
      const payload = Buffer.concat(parts);
      parts = [];
      assert.equal(opcode, expected.opcode, `${label}: message ${next}: opcode`);
      assert.equal(payload.length, expected.payload.length, `${label}: message ${next}: length`);
      assert.ok(payload.equals(expected.payload), `${label}: message ${next} (${payload.length} bytes) differs`);
      next++;
    };
    const onData = (chunk: Buffer): void => {
      try {
        for (const frame of frames.add(chunk)) onFrame(frame);
      } catch (error) {
        fail(error);
        return;
      }
      if (next === plan.length) {
        socket.off('data', onData);
        resolve();
      } else if (stall !== null && random() < 0.1) {
        stallUntilBackedUp(random, socket, stall, 100);
      }
    };
    socket.on('data', onData);
    socket.once('close', () => reject(new Error(`${label}: the connection closed after ${next} of ${plan.length} messages`)));
    if (rest.length > 0) onData(rest);
    if (stall === null) socket.resume();
    else stallUntilBackedUp(random, socket, stall, 10_000);
  });
}

/**
 * Stop reading until the server's sends back up (or `ms` pass), and then a little longer, so
 * that reads of the other clients fill the read region meanwhile.
 */
function stallUntilBackedUp(random: Random, socket: Socket, stall: Stall, ms: number): void {
  socket.pause();
  void waitUntil(() => stall.backedUp(), ms).then(async (backedUp) => {
    if (backedUp) {
      stall.count++;
      await new Promise((resolve) => setTimeout(resolve, 5 + below(random, 20)));
    }
    socket.resume();
  });
}

/** Polls `condition` every 2 ms until it holds (true) or `ms` pass (false). */
async function waitUntil(condition: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; ) {
    if (condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return condition();
}

/** How a server of the test echoes. */
type Echo = (peer: Peer) => void;

/** Sends each message back as it is, from the callback. */
const relay: Echo = (peer) => peer.onMessage((message) => void peer.send(message));

/**
 * From the callback, but now and then keeps messages past the call by a copy, and sends
 * them (and every later one, so that the order holds) a little later.
 */
function relayWithCopies(seed: number): Echo {
  return (peer) => {
    const random = generator(seed);
    const held: Array<string | Buffer> = [];
    let draining = false;
    const drain = (): void => {
      for (const data of held.splice(0)) peer.send(data);
      draining = false;
    };
    peer.onMessage((message: Message) => {
      if (!draining && random() >= 0.15) {
        peer.send(message);
        return;
      }
      held.push(typeof message.data === 'string' ? message.data : Buffer.from(message.data));
      if (!draining) {
        draining = true;
        setTimeout(drain, below(random, 5));
      }
    });
  };
}

/** Reads with `for await` and answers with `write`, awaited. */
const readAndWrite: Echo = (peer) => {
  void (async () => {
    for await (const message of peer) await peer.write(message.data);
  })().catch(() => {});
};

async function randomTraffic(t: TestContext, seed: number, echo: Echo, options: PeerOptions): Promise<void> {
  // The server's peers by their client's port, for the clients that stall to look at.
  const peers = new Map<number, Peer>();
  const onPeer = (peer: Peer): void => {
    peers.set(peer.socket.remotePort!, peer);
    echo(peer);
  };
  const instance = await server(`ws://${LOCALHOST}:0`, onPeer, { maxPayload: 4 * MiB, ...options });
  defer(t, () => instance.close(500));
  const port = portOf(instance);
  const stalled: Stall[] = [];
  // All traffic is made before any client connects: making it takes a while, and would hold
  // up the connections already under way.
  const clients = Array.from({ length: CLIENTS }, (_, client) => trafficOf(seed, client, true));
  await within(
    Promise.all(
      clients.map(async (traffic, client) => {
        const { socket, rest } = await rawUpgrade(port);
        defer(t, () => socket.destroy());
        const localPort = socket.localPort!;
        const stall = traffic.stalls ? stallOn(() => peers.get(localPort), stalled) : null;
        const echoed = readEchoes(traffic, socket, rest, stall, `seed ${seed}, client ${client}`);
        await Promise.all([writeInPieces(traffic.random, socket, traffic.wire), echoed]);
      }),
    ),
    60_000,
    `random traffic, seed ${seed}`,
  );
  assertBackedUp(stalled, seed);
}

/** A stall that waits for `peer()` (the peer under test) to back up; listed in `stalled`. */
function stallOn(peer: () => Peer | undefined, stalled: Stall[]): Stall {
  const stall = { backedUp: () => (peer()?.socket.writableLength ?? 0) > 0, count: 0 };
  stalled.push(stall);
  return stall;
}

/** Else the path where the kernel takes a write in part went untested. */
function assertBackedUp(stalled: readonly Stall[], seed: number): void {
  assert.ok(stalled.every((stall) => stall.count > 0), `seed ${seed}: a reader stalled, but the sends to it never backed up`);
}

/**
 * The same traffic the other way: a raw server sends it, unmasked, to clients of ours that
 * echo it (each connection gets the traffic of its place in the order of arrival).
 */
async function randomTrafficToClients(t: TestContext, seed: number, echo: Echo, options: PeerOptions): Promise<void> {
  const streams = Array.from({ length: CLIENTS }, (_, index) => trafficOf(seed, index, false));
  const clients = new Map<number, Peer>();
  const stalled: Stall[] = [];
  const served: Array<Promise<void>> = [];
  const listener = createServer((socket) => {
    const traffic = streams[served.length]!;
    const label = `seed ${seed}, server stream ${served.length}`;
    served.push(
      rawAcceptUpgrade(socket).then(async () => {
        const remotePort = socket.remotePort!;
        const stall = traffic.stalls ? stallOn(() => clients.get(remotePort), stalled) : null;
        const echoed = readEchoes(traffic, socket, Buffer.alloc(0), stall, label);
        await Promise.all([writeInPieces(traffic.random, socket, traffic.wire), echoed]);
      }),
    );
  });
  listener.listen(0, LOCALHOST);
  await once(listener, 'listening');
  defer(t, () => new Promise((resolve) => listener.close(resolve)));
  const { port } = listener.address() as AddressInfo;
  await within(
    (async () => {
      for (let i = 0; i < CLIENTS; i++) {
        const peer = await connect(`ws://${LOCALHOST}:${port}/`, {}, { maxPayload: 4 * MiB, ...options });
        defer(t, () => peer.close());
        clients.set(peer.socket.localPort!, peer);
        echo(peer);
      }
      await waitUntil(() => served.length === CLIENTS, 5000);
      await Promise.all(served);
    })(),
    60_000,
    `random traffic to clients, seed ${seed}`,
  );
  assertBackedUp(stalled, seed);
}

test('random traffic (seeded): the default server echoes every message whole and in order', async (t) => {
  await randomTraffic(t, BASE_SEED, relay, {});
});

test('random traffic (seeded): lentMessages, some messages kept by a copy past their call, echoes every message whole and in order', async (t) => {
  await randomTraffic(t, BASE_SEED + 1, relayWithCopies(BASE_SEED), { lentMessages: true });
});

test("random traffic (seeded): on Node's own reads (lentReads: false) every message is echoed whole and in order", async (t) => {
  await randomTraffic(t, BASE_SEED + 2, relay, { lentReads: false });
});

test('random traffic (seeded): a for-await reader answering with write echoes every message whole and in order', async (t) => {
  await randomTraffic(t, BASE_SEED + 3, readAndWrite, {});
});

test('random traffic (seeded), the other way: default clients echo every message a raw server sends, whole and in order', async (t) => {
  await randomTrafficToClients(t, BASE_SEED + 4, relay, {});
});

test('random traffic (seeded), the other way: lentMessages clients, some messages kept by a copy, echo every message whole and in order', async (t) => {
  await randomTrafficToClients(t, BASE_SEED + 5, relayWithCopies(BASE_SEED), { lentMessages: true });
});
