/**
 * Lent messages (`lentMessages`): a long message read in bulk reaches `onMessage` as it lies
 * in the shared read region, and is sent on from there. These tests run over loopback and
 * check that no byte sent on, kept for `read`, or held back by a slow reader is lost to the
 * next read that fills the region, and that a message kept past its call says so.
 * @module
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { writeSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import type WebSocket from 'ws';

import { connect, MessageExpiredError, Peer, server, type Message, type ServerOptions } from '../../src/index.ts';
import { simdReadRegion } from '../../src/frame/mask-simd.ts';
import { writeBeforeReuse } from '../../src/peer/lent-messages.ts';
import { clientFrame, defer, LOCALHOST, patternBytes, portOf, rawUpgrade, sleep, socketPair, waitFor, within } from './helpers.ts';
import { closeWs, wsClient, type WsInbox } from './ws-helpers.ts';

const KiB = 1024;

const tlsFixture = (name: string): string => fileURLToPath(new URL(`../fixtures/tls/${name}`, import.meta.url));

/** Whether `data` lies in the shared read region, i.e. was lent rather than copied out. */
const inRegion = (data: string | Uint8Array): boolean => typeof data !== 'string' && data.buffer === simdReadRegion()!.buffer;

/** A server of ours with `lentMessages` on; `onPeer` sets up each peer. */
async function lendingServer(t: Parameters<typeof defer>[0], onPeer: (peer: Peer) => void, options: ServerOptions = {}): Promise<string> {
  const instance = await server(`ws://${LOCALHOST}:0`, onPeer, { maxPayload: 8 * 1024 * KiB, lentMessages: true, ...options });
  defer(t, () => instance.close(500));
  lastPort = portOf(instance);
  return instance.url;
}

/** The port of the last server `lendingServer` started. */
let lastPort = 0;

async function client(t: Parameters<typeof defer>[0], url: string): Promise<{ ws: WebSocket; inbox: WsInbox }> {
  const connected = await wsClient(url, [], { maxPayload: 8 * 1024 * KiB });
  defer(t, () => closeWs(connected.ws));
  return connected;
}

/** Message `i` of a stream: mostly 64 KiB (several whole in a bulk read), some odd sizes between. */
function messageOf(stream: number, i: number): Buffer {
  const size = i % 5 === 4 ? 1 + ((i * 977) % 3000) : 64 * KiB + (i % 3);
  return Buffer.from(patternBytes(size, stream * 10_000 + i + 1));
}

/** Message `i` of a stream of long messages: 300–400 KiB, longer than a read, so always assembled. */
function longMessageOf(stream: number, i: number): Buffer {
  return Buffer.from(patternBytes(300 * KiB + ((i * 7919) % (100 * KiB)), stream * 10_000 + i + 1));
}

async function expectEchoes(inbox: WsInbox, makeMessage: (stream: number, i: number) => Buffer, stream: number, count: number, ms = 15_000): Promise<void> {
  for (let i = 0; i < count; i++) {
    const got = await inbox.next(ms);
    assert.ok(got.data.equals(makeMessage(stream, i)), `stream ${stream}: message ${i} differs`);
  }
}

test('lentMessages: long messages read in bulk reach onMessage as they lie in the read region, and echo intact', async (t) => {
  let lent = 0;
  let copied = 0;
  const url = await lendingServer(t, (peer) =>
    peer.onMessage((message) => {
      if (inRegion(message.data)) lent++;
      else copied++;
      peer.send(message);
    }),
  );
  const { ws, inbox } = await client(t, url);
  const count = 300;
  for (let i = 0; i < count; i++) ws.send(messageOf(1, i));
  await expectEchoes(inbox, messageOf, 1, count);
  assert.ok(lent > 0, 'some messages were lent');
  assert.ok(copied > 0, 'short ones, and those split across reads, were not');
});

test("lentMessages: bytes written straight to the socket's descriptor count in its bytesWritten", async (t) => {
  let serverSocket: Peer['socket'] | null = null;
  const url = await lendingServer(t, (peer) => {
    serverSocket = peer.socket;
    peer.onMessage((message) => peer.send(message));
  });
  const { ws, inbox } = await client(t, url);
  const count = 100;
  for (let i = 0; i < count; i++) ws.send(messageOf(9, i));
  await expectEchoes(inbox, messageOf, 9, count);
  const clientSocket = (ws as unknown as { _socket: { bytesRead: number } })._socket;
  // Everything the server wrote (its 101 response, then the echoes) is what the client read.
  assert.ok(clientSocket.bytesRead > count * 50 * KiB);
  assert.equal(serverSocket!.bytesWritten, clientSocket.bytesRead);
});

/**
 * A client that stops reading while another streams: the server's echoes to the first fill
 * the kernel's buffers and then wait in its socket's stream, while the second's reads keep
 * refilling the memory they were lent from. Every echo must still arrive intact.
 */
async function slowBesideBusy(t: Parameters<typeof defer>[0], makeMessage: (stream: number, i: number) => Buffer, streams: [number, number], counts: [number, number]): Promise<void> {
  let mostBuffered = 0;
  const url = await lendingServer(t, (peer) =>
    peer.onMessage((message) => {
      peer.send(message);
      mostBuffered = Math.max(mostBuffered, peer.bufferedAmount);
    }),
  );
  const slow = await client(t, url);
  const busy = await client(t, url);
  const slowSocket = (slow.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
  slowSocket.pause();
  for (let i = 0; i < counts[0]; i++) slow.ws.send(makeMessage(streams[0], i));
  await waitFor(() => mostBuffered > 0, 10_000, 'echoes wait in the server socket');
  for (let i = 0; i < counts[1]; i++) busy.ws.send(makeMessage(streams[1], i));
  await expectEchoes(busy.inbox, makeMessage, streams[1], counts[1]);
  slowSocket.resume();
  await expectEchoes(slow.inbox, makeMessage, streams[0], counts[0]);
}

test('lentMessages: what the kernel does not take at once is copied before the region is read into again (a client that stops reading, another that streams)', async (t) => {
  await slowBesideBusy(t, messageOf, [2, 3], [400, 200]);
});

test('lentMessages: a lent message sent on to another peer (whose client reads late) arrives intact', async (t) => {
  const peers: Peer[] = [];
  const url = await lendingServer(t, (peer) => {
    peers.push(peer);
    peer.onMessage((message) => {
      for (const other of peers) if (other !== peer) other.send(message);
    });
  });
  const source = await client(t, url);
  const sink = await client(t, url);
  await waitFor(() => peers.length === 2, 3000, 'both peers');
  const sinkSocket = (sink.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
  sinkSocket.pause();
  const count = 300;
  for (let i = 0; i < count; i++) source.ws.send(messageOf(4, i));
  await sleep(300);
  sinkSocket.resume();
  await expectEchoes(sink.inbox, messageOf, 4, count);
});

test('lentMessages: a lent message sent on to a wss:// peer goes through its TLS stream, copied, and arrives intact', async (t) => {
  // Its descriptor carries ciphertext: the direct write would put plaintext on the wire.
  const received: Buffer[] = [];
  const wss = await server(`wss://${LOCALHOST}:0/`, (peer) => peer.onMessage((message) => void received.push(Buffer.from(message.data as Uint8Array))), {
    tls: { cert: tlsFixture('server.pem'), key: tlsFixture('server.key') },
    maxPayload: 8 * 1024 * KiB,
  });
  defer(t, () => wss.close(500));
  const overTls = await connect(wss.url, {}, { tls: { ca: tlsFixture('ca.pem') } });
  defer(t, () => overTls.close());
  let lent = 0;
  const url = await lendingServer(t, (peer) => {
    peer.onMessage((message) => {
      if (inRegion(message.data)) lent++;
      overTls.send(message);
    });
  });
  const source = await client(t, url);
  const count = 100;
  for (let i = 0; i < count; i++) source.ws.send(messageOf(12, i));
  await waitFor(() => received.length === count, 15_000, 'every message over TLS');
  assert.ok(lent > 0, 'some messages were lent');
  for (let i = 0; i < count; i++) assert.ok(received[i]!.equals(messageOf(12, i)), `message ${i} differs`);
  assert.equal(overTls.state, 'OPEN');
});

test('lentMessages: bytes the kernel refuses outright (its send buffer full, EAGAIN) are copied out of the region and queued on the stream', async (t) => {
  const [sending, reading] = await socketPair();
  defer(t, () => {
    sending.destroy();
    reading.destroy();
  });
  // Fill the kernel's send buffer behind the stream's back: the stream stays empty, so the
  // direct write is tried, and fails.
  const fd = (sending as unknown as { _handle: { fd: number } })._handle.fd;
  const filler = Buffer.alloc(64 * KiB, 0x2e);
  let filled = 0;
  for (;;) {
    try {
      filled += writeSync(fd, filler);
    } catch (error) {
      assert.equal((error as NodeJS.ErrnoException).code, 'EAGAIN');
      break;
    }
  }
  const region = simdReadRegion()!;
  const expected = Buffer.from(patternBytes(20 * KiB, 99));
  region.set(expected, 0);
  writeBeforeReuse(sending, [region.subarray(0, expected.length)], 1, region.buffer, undefined);
  assert.equal(sending.writableLength, expected.length, 'queued on the stream');
  region.fill(0, 0, expected.length); // the next read fills the region again
  let got = Buffer.alloc(0);
  const total = filled + expected.length;
  const all = new Promise<void>((resolve) => {
    reading.on('data', (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      if (got.length >= total) resolve();
    });
  });
  await within(all, 5000, 'every byte');
  assert.equal(got.length, total);
  assert.ok(got.subarray(filled).equals(expected), 'the bytes as they were when written');
});

test('lentMessages: a message used after its callback throws MessageExpiredError; one copied during it stays', async (t) => {
  const kept: Message[] = [];
  const copies: Buffer[] = [];
  let peer!: Peer;
  const url = await lendingServer(t, (accepted) => {
    peer = accepted;
    accepted.onMessage((message) => {
      kept.push(message);
      copies.push(Buffer.from(message.data as Uint8Array));
    });
  });
  const { ws } = await client(t, url);
  const count = 40;
  for (let i = 0; i < count; i++) ws.send(messageOf(5, i));
  await waitFor(() => kept.length === count, 10_000, 'every message');
  copies.forEach((copy, i) => assert.ok(copy.equals(messageOf(5, i)), `copy ${i} differs`));
  for (const message of [kept[0]!, kept[count - 1]!]) {
    assert.throws(() => message.data, MessageExpiredError);
    assert.throws(() => peer.send(message), MessageExpiredError);
    await assert.rejects(peer.write(message), MessageExpiredError);
  }
  assert.equal(kept[0]!.opcode, 2, 'what is not its bytes can still be read');
});

test('lentMessages: text is lent as validated bytes, and reads as the string it was', async (t) => {
  const texts: string[] = [];
  const kept: Message[] = [];
  const url = await lendingServer(t, (peer) =>
    peer.onMessage((message) => {
      texts.push(message.data as string);
      kept.push(message);
      peer.send(message);
    }),
  );
  const { ws, inbox } = await client(t, url);
  const sent = Array.from({ length: 40 }, (_, i) => `€ ${i} ü `.repeat(9000 + i));
  for (const text of sent) ws.send(text);
  for (const [i, text] of sent.entries()) {
    const got = await inbox.next(10_000);
    assert.equal(got.binary, false);
    assert.equal(got.data.toString(), text, `echo ${i}`);
  }
  assert.deepEqual(texts, sent);
  assert.throws(() => kept[0]!.data, MessageExpiredError, 'its text, decoded during the call, is not kept after it');
});

test('lentMessages: messages that waited for read() and are then passed to a new callback expire after it too', async (t) => {
  let peer!: Peer;
  const url = await lendingServer(t, (accepted) => (peer = accepted));
  const { ws } = await client(t, url);
  for (let i = 0; i < 3; i++) ws.send(messageOf(8, i));
  // The pong comes once the server has parsed what came before the ping: three messages waiting.
  const pong = once(ws, 'pong');
  ws.ping();
  await within(pong, 5000, 'pong');
  const kept: Message[] = [];
  peer.onMessage((message) => {
    assert.ok(Buffer.from(message.data as Uint8Array).equals(messageOf(8, kept.length)));
    kept.push(message);
  });
  assert.equal(kept.length, 3);
  for (const message of kept) assert.throws(() => message.data, MessageExpiredError);
});

test('lentMessages: a callback that switches itself off mid-read leaves the rest of the read, copied, for read()', async (t) => {
  let peer!: Peer;
  let taken = 0;
  const url = await lendingServer(t, (accepted) => {
    peer = accepted;
    accepted.onMessage((message) => {
      // Past the warm-up (which switches the socket to lent reads), one message and off.
      if (++taken >= 4) accepted.onMessage(null);
      void message;
    });
  });
  const { ws } = await client(t, url);
  for (let i = 0; i < 3; i++) ws.send(messageOf(6, 100 + i));
  await waitFor(() => taken === 3, 5000, 'warm-up');
  // One write: the messages arrive together and are parsed from one lent read.
  const burst = Array.from({ length: 12 }, (_, i) => Buffer.from(patternBytes(20 * KiB + i, 600 + i)));
  for (const message of burst) ws.send(message);
  await waitFor(() => taken === 4, 5000, 'the last message to the callback');
  // Let another connection's reads refill the region before the rest is read.
  const other = await client(t, await lendingServer(t, (p) => p.onMessage((m) => void p.send(m))));
  for (let i = 0; i < 20; i++) other.ws.send(messageOf(7, i));
  await expectEchoes(other.inbox, messageOf, 7, 20);
  for (let i = 1; i < burst.length; i++) {
    const message = await peer.read(5000);
    assert.ok(message !== null);
    assert.ok(Buffer.from(message.data as Uint8Array).equals(burst[i]!), `message ${i} read later differs`);
  }
});

test('lentMessages: a message assembled across reads is lent in a buffer that later messages reuse, once no write holds it', async (t) => {
  const buffers = new Set<ArrayBufferLike>();
  const url = await lendingServer(t, (peer) =>
    peer.onMessage((message) => {
      const data = message.data as Uint8Array;
      buffers.add(data.buffer);
      // A short answer, written at once: an echo the kernel took in part would keep the
      // buffer for itself (see the slow reader below).
      peer.send(`${data.length} ${data[0]} ${data[data.length - 1]}`);
    }),
  );
  const { ws, inbox } = await client(t, url);
  const count = 30;
  for (let i = 0; i < count; i++) ws.send(longMessageOf(9, i));
  for (let i = 0; i < count; i++) {
    const sent = longMessageOf(9, i);
    assert.equal((await inbox.next(15_000)).data.toString(), `${sent.length} ${sent[0]} ${sent[sent.length - 1]}`);
  }
  // One buffer per message assembled at a time, and one more while the last is given back.
  assert.ok(buffers.size <= 4, `${buffers.size} buffers for ${count} messages`);
});

test('lentMessages: an assembled message echoed in part keeps its buffer: the next messages are assembled elsewhere, and the echo arrives intact', async (t) => {
  const buffers: ArrayBufferLike[] = [];
  const url = await lendingServer(t, (peer) =>
    peer.onMessage((message) => {
      buffers.push((message.data as Uint8Array).buffer);
      peer.send(message);
    }),
    // Reading goes on while the echoes pile up (up to the mark): every message comes.
    { highWaterMark: 64 * 1024 * KiB },
  );
  const { ws, inbox } = await client(t, url);
  const socket = (ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
  socket.pause(); // the echoes stay in the kernel's buffers and the server's stream
  const count = 40;
  for (let i = 0; i < count; i++) ws.send(longMessageOf(13, i));
  await waitFor(() => buffers.length === count, 10_000, 'every message at the server');
  // Once the kernel stopped taking the echoes, each held its buffer: no reuse after that.
  const distinct = new Set(buffers).size;
  assert.ok(distinct > count / 2, `${distinct} buffers for ${count} messages`);
  socket.resume();
  await expectEchoes(inbox, longMessageOf, 13, count);
});

test('lentMessages: messages of several MiB, whose assembly buffer grows as their bytes come, are lent and echo intact', async (t) => {
  const url = await lendingServer(t, (peer) => peer.onMessage((message) => void peer.send(message)));
  const { ws, inbox } = await client(t, url);
  const hugeOf = (stream: number, i: number): Buffer => Buffer.from(patternBytes(5 * 1024 * KiB + i * 4099, stream * 10_000 + i + 1));
  for (let i = 0; i < 3; i++) ws.send(hugeOf(11, i));
  await expectEchoes(inbox, hugeOf, 11, 3);
});

test('lentMessages: an assembled message that ends in a short read still gives its buffer back', async (t) => {
  const buffers: ArrayBufferLike[] = [];
  const url = await lendingServer(t, (peer) => peer.onMessage((message) => void buffers.push((message.data as Uint8Array).buffer)));
  void url;
  const { socket } = await rawUpgrade(lastPort);
  defer(t, () => socket.destroy());
  // The first message switches the socket to lent reads; each of the next two arrives as a
  // long read and then a read of its last 100 bytes alone (short, so handed over owned).
  socket.write(clientFrame(2, longMessageOf(10, 0)));
  await waitFor(() => buffers.length === 1, 5000, 'the first message');
  for (let i = 1; i <= 2; i++) {
    const frame = clientFrame(2, longMessageOf(10, i));
    socket.write(frame.subarray(0, frame.length - 100));
    await sleep(100);
    socket.write(frame.subarray(frame.length - 100));
    await waitFor(() => buffers.length === i + 1, 5000, `message ${i}`);
  }
  assert.equal(buffers[2], buffers[1], 'the third message is assembled where the second was');
});

test('lentMessages: assembled messages the kernel does not take at once are never overwritten: their buffers are left to the write', async (t) => {
  await slowBesideBusy(t, longMessageOf, [11, 12], [40, 40]);
});

test('lentMessages on a client: a lent message sent on (masked, §5.3) is left as it lies, so a second send and later reads see the same bytes', async (t) => {
  const echoes: Buffer[] = [];
  let serverPeer: Peer | null = null;
  const instance = await server(`ws://${LOCALHOST}:0`, (peer) => {
    serverPeer = peer;
    peer.onMessage((message) => void echoes.push(Buffer.from(message.data as Uint8Array)));
  }, { maxPayload: 1 << 24 });
  defer(t, () => instance.close(500));
  const client = await connect(instance.url, {}, { lentMessages: true, maxPayload: 1 << 24 });
  defer(t, () => client.close());
  let lent = 0;
  let changed = 0;
  client.onMessage((message) => {
    const data = message.data as Uint8Array;
    if (data.buffer === simdReadRegion()!.buffer) lent++;
    const before = Buffer.from(data);
    client.send(message);
    if (!before.equals(message.data as Uint8Array)) changed++;
    client.send(message);
  });
  await waitFor(() => serverPeer !== null, 2000, 'the server peer');
  const count = 40;
  const messages = Array.from({ length: count }, (_, i) => patternBytes(60 * 1024, i + 1));
  for (const message of messages) serverPeer!.send(message);
  await waitFor(() => echoes.length === 2 * count, 10_000, 'both relays of every message');
  assert.ok(lent > 0, 'some messages were lent from the read region');
  assert.equal(changed, 0, 'sending changed the lent message');
  for (const [i, message] of messages.entries()) {
    assert.ok(echoes[2 * i]!.equals(message) && echoes[2 * i + 1]!.equals(message), `message ${i}`);
  }
});

test('without lentMessages a peer reads up to the whole region too, and every message it gives is its own: kept past its callback, each stays intact', async (t) => {
  // Record the length of each lent read (an internal of the peer's read path).
  const proto = Peer.prototype as unknown as { receiveRead(chunk: Uint8Array, lent: boolean): void };
  const original = proto.receiveRead;
  let longest = 0;
  proto.receiveRead = function (this: unknown, chunk: Uint8Array, lent: boolean): void {
    if (lent) longest = Math.max(longest, chunk.length);
    original.call(this, chunk, lent);
  };
  defer(t, () => (proto.receiveRead = original));
  const kept: Message[] = [];
  const url = await lendingServer(t, (peer) => peer.onMessage((message) => void kept.push(message)), { lentMessages: false });
  const { ws } = await client(t, url);
  const count = 200;
  for (let i = 0; i < count; i++) ws.send(messageOf(2, i));
  await waitFor(() => kept.length === count, 15_000, 'every message');
  kept.forEach((message, i) => assert.ok(Buffer.from(message.data as Uint8Array).equals(messageOf(2, i)), `message ${i} differs`));
  assert.ok(kept.every((message) => !inRegion(message.data)), 'none lies in the region');
  assert.ok(longest > 64 * KiB, `reads up to the region: longest ${longest}`);
});
