/**
 * Messages, fragments, pings and close codes over real loopback sockets: this library
 * against itself, a `ws` client against our server, and our client against a `ws` server.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test, type TestContext } from 'node:test';

import type WebSocket from 'ws';

import { bind, connect, server, type Message, type Peer, type Server, type ServerOptions } from '../../src/index.ts';
import { asBuffer, clientFrame, closeCodeOf, defer, FrameReader, LOCALHOST, patternBytes, portOf, rawUpgrade, waitFor, within, readPlain } from './helpers.ts';
import { closeWs, wsClient, wsEchoServer, wsServer, type WsInbox } from './ws-helpers.ts';

const MiB = 1024 * 1024;

/** A payload to echo, with what it should come back as. */
interface Case {
  label: string;
  data: string | Uint8Array;
}

/** ASCII text of exactly `length` characters, not one repeated character (37 is prime to the lengths used). */
function asciiText(length: number): string {
  const unit = 'abcdefghijklmnopqrstuvwxyz0123456789_';
  return unit.repeat(Math.ceil(length / unit.length)).slice(0, length);
}

/** §5.2 length encodings: 7-bit (0..125), 16-bit (126..65535), 64-bit (65536..). */
const BOUNDARY_CASES: Case[] = [
  { label: 'empty text', data: '' },
  { label: 'empty binary', data: new Uint8Array(0) },
  { label: 'non-ASCII text', data: 'héllo wörld ✓ 🚀 日本語' },
  ...[1, 125, 126, 65535, 65536].flatMap((size): Case[] => [
    { label: `${size}-byte text`, data: asciiText(size) },
    { label: `${size}-byte binary`, data: patternBytes(size, size) },
  ]),
];

const LARGE_CASES: Case[] = [
  { label: '16 MiB binary', data: patternBytes(16 * MiB, 99) },
  { label: '16 MiB text', data: asciiText(16 * MiB) },
];

function assertSameMessage(actual: { binary: boolean; data: Buffer }, expected: Case): void {
  const binary = typeof expected.data !== 'string';
  assert.equal(actual.binary, binary, `${expected.label}: message type`);
  assert.equal(actual.data.length, asBuffer(expected.data).length, `${expected.label}: length`);
  assert.ok(actual.data.equals(asBuffer(expected.data)), `${expected.label}: bytes differ`);
}

function fromPeer(message: Message | null): { binary: boolean; data: Buffer } {
  assert.ok(message !== null, 'the connection closed instead of delivering a message');
  assert.equal(message.fin, true);
  assert.equal(typeof message.data === 'string', message.opcode === 1);
  return { binary: message.opcode === 2, data: asBuffer(message.data) };
}

/** Our echo server: every message goes back as it came. */
async function echoServer(t: TestContext, options: ServerOptions = {}): Promise<Server> {
  const instance = await server(
    `ws://${LOCALHOST}:0/`,
    async (peer) => {
      for await (const message of peer) await peer.write(message.data).catch(() => {});
    },
    options,
  );
  defer(t, () => instance.close(1000));
  return instance;
}

async function echoThroughPeer(client: Peer, cases: readonly Case[], ms: number): Promise<void> {
  for (const each of cases) {
    await within(client.write(each.data), ms, `${each.label}: write`);
    assertSameMessage(fromPeer(await client.read(ms)), each);
  }
}

async function echoThroughWs(ws: WebSocket, inbox: WsInbox, cases: readonly Case[], ms: number): Promise<void> {
  for (const each of cases) {
    ws.send(each.data, { binary: typeof each.data !== 'string' });
    assertSameMessage(await inbox.next(ms), each);
  }
}

test('echo between our client and our server: every length encoding of RFC 6455 §5.2, text and binary', async (t) => {
  const instance = await echoServer(t);
  const client = await connect(instance.url);
  defer(t, () => client.close());
  await echoThroughPeer(client, BOUNDARY_CASES, 3000);
  assert.equal(await client.shutdown(1000, '', 2000), true);
});

test('echo of 16 MiB messages between our client and our server (64-bit length, §5.2)', async (t) => {
  const instance = await echoServer(t);
  const client = await connect(instance.url);
  defer(t, () => client.close());
  await echoThroughPeer(client, LARGE_CASES, 10_000);
});

test('echo between a ws client and our server: every length encoding and 16 MiB', async (t) => {
  const instance = await echoServer(t);
  const { ws, inbox } = await wsClient(instance.url);
  defer(t, () => closeWs(ws));
  await echoThroughWs(ws, inbox, BOUNDARY_CASES, 3000);
  await echoThroughWs(ws, inbox, LARGE_CASES, 10_000);
});

test('echo between our client and a ws server: every length encoding and 16 MiB', async (t) => {
  const wss = await wsEchoServer();
  defer(t, () => wss.close());
  const client = await connect(wss.url);
  defer(t, () => client.close());
  await echoThroughPeer(client, BOUNDARY_CASES, 3000);
  await echoThroughPeer(client, LARGE_CASES, 10_000);
});

test('a message written in fragments arrives as one message at a ws server (§5.4)', async (t) => {
  const received: Array<{ binary: boolean; data: Buffer }> = [];
  const wss = await wsServer((ws) => ws.on('message', (data, isBinary) => received.push({ binary: isBinary, data: asBuffer(data) })));
  defer(t, () => wss.close());
  const client = await connect(wss.url);
  defer(t, () => client.close());
  await client.write({ opcode: 1, fin: false, data: 'hel' });
  await client.write({ opcode: 9, data: 'between' }); // control frames may interleave (§5.4)
  await client.write({ opcode: 0, fin: false, data: 'lo ' });
  await client.write({ opcode: 0, fin: true, data: 'world' });
  await client.write({ opcode: 2, fin: false, data: new Uint8Array([1, 2]) });
  await client.write({ opcode: 0, fin: true, data: new Uint8Array([3]) });
  await waitFor(() => received.length >= 2, 2000, 'ws receives both messages');
  assert.deepEqual(received, [
    { binary: false, data: Buffer.from('hello world') },
    { binary: true, data: Buffer.from([1, 2, 3]) },
  ]);
});

test('a message written in fragments arrives as one message at our server (§5.4)', async (t) => {
  const bound = await bind(`ws://${LOCALHOST}:0/`);
  defer(t, () => bound.close(1000));
  const client = await connect(bound.url);
  defer(t, () => client.close());
  const peer = await bound.accept(2000);
  await client.write({ opcode: 1, fin: false, data: 'frag' });
  await client.write({ opcode: 9, data: 'ping in between' });
  await client.write({ opcode: 0, fin: false, data: 'ment' });
  await client.write({ opcode: 0, fin: true, data: 'ed ✓' });
  assert.deepEqual(await readPlain(peer, 2000), { opcode: 1, fin: true, data: 'fragmented ✓' });
  await client.write({ opcode: 2, fin: false, data: new Uint8Array([9, 8]) });
  await client.write({ opcode: 0, fin: true, data: new Uint8Array([7]) });
  const binary = await peer.read(2000);
  assert.ok(binary !== null);
  assert.equal(binary.opcode, 2);
  assert.deepEqual([...asBuffer(binary.data)], [9, 8, 7]);
});

test('fragments mode reads each data frame with its fin flag (§5.4), from our client and from ws', async (t) => {
  const bound = await bind(`ws://${LOCALHOST}:0/`, { fragments: true });
  defer(t, () => bound.close(1000));

  const client = await connect(bound.url);
  defer(t, () => client.close());
  const peer = await bound.accept(2000);
  await client.write({ opcode: 2, fin: false, data: new Uint8Array([1, 2]) });
  await client.write({ opcode: 0, fin: false, data: new Uint8Array([3]) });
  await client.write({ opcode: 0, fin: true, data: new Uint8Array([4, 5]) });
  const frames: Array<[number, boolean, number[]]> = [];
  for (let i = 0; i < 3; i++) {
    const frame = await peer.read(2000);
    assert.ok(frame !== null);
    frames.push([frame.opcode, frame.fin, [...asBuffer(frame.data)]]);
  }
  assert.deepEqual(frames, [
    [2, false, [1, 2]],
    [0, false, [3]],
    [0, true, [4, 5]],
  ]);
  // A whole message is one frame with fin set.
  await client.write('whole');
  assert.deepEqual(await readPlain(peer, 2000), { opcode: 1, fin: true, data: 'whole' });

  // ws sends text in two frames that split a 2-byte UTF-8 character.
  const { ws } = await wsClient(bound.url);
  defer(t, () => closeWs(ws));
  const wsPeer = await bound.accept(2000);
  const e = Buffer.from('é');
  ws.send(Buffer.concat([Buffer.from('caf'), e.subarray(0, 1)]), { binary: false, fin: false });
  ws.send(Buffer.concat([e.subarray(1), Buffer.from('!')]), { binary: false, fin: true });
  const first = await readPlain(wsPeer, 2000);
  const second = await readPlain(wsPeer, 2000);
  assert.deepEqual(first, { opcode: 1, fin: false, data: 'caf' });
  assert.deepEqual(second, { opcode: 0, fin: true, data: 'é!' });
});

test('ping and pong with a ws client: our ping reaches it, its ping is answered with the same payload (§5.5.2, §5.5.3)', async (t) => {
  const bound = await bind(`ws://${LOCALHOST}:0/`);
  defer(t, () => bound.close(1000));
  const { ws } = await wsClient(bound.url);
  defer(t, () => closeWs(ws));
  const peer = await bound.accept(2000);

  const pinged = once(ws, 'ping');
  await peer.write({ opcode: 9, data: 'are you there' });
  const [pingData] = (await within(pinged, 2000, 'ws sees our ping')) as [Buffer];
  assert.equal(pingData.toString(), 'are you there');

  const ponged = once(ws, 'pong');
  ws.ping('ws probe');
  const [pongData] = (await within(ponged, 2000, 'ws gets our pong')) as [Buffer];
  assert.equal(pongData.toString(), 'ws probe');
});

test('ping and pong with a ws server: our ping reaches it, its ping is answered with the same payload (§5.5.2)', async (t) => {
  let onConnection: (ws: WebSocket) => void = () => {};
  const connection = new Promise<WebSocket>((resolve) => (onConnection = resolve));
  const wss = await wsServer((ws) => onConnection(ws));
  defer(t, () => wss.close());
  const client = await connect(wss.url);
  defer(t, () => client.close());
  const ws = await within(connection, 2000, 'ws server connection');
  const pinged = once(ws, 'ping');
  await client.write({ opcode: 9, data: new Uint8Array([1, 2, 3]) });
  const [pingData] = (await within(pinged, 2000, 'ws server sees our ping')) as [Buffer];
  assert.deepEqual([...pingData], [1, 2, 3]);

  const ponged = once(ws, 'pong');
  ws.ping('server probe');
  const [pongData] = (await within(ponged, 2000, 'ws server gets our pong')) as [Buffer];
  assert.equal(pongData.toString(), 'server probe');
});

test('our server answers a ping with a pong carrying the same payload, and ignores an unsolicited pong (§5.5.2, §5.5.3)', async (t) => {
  const instance = await echoServer(t);
  const { socket, rest } = await rawUpgrade(portOf(instance));
  const frames = new FrameReader(socket, rest);
  socket.write(clientFrame(10, 'unsolicited'));
  socket.write(clientFrame(9, 'payload-123'));
  const pong = await frames.next();
  assert.equal(pong.opcode, 10);
  assert.equal(pong.fin, true);
  assert.equal(pong.payload.toString(), 'payload-123');
  // A pong between the fragments of a message is fine, and the message still echoes.
  socket.write(clientFrame(1, 'ab', false));
  socket.write(clientFrame(9, ''));
  socket.write(clientFrame(0, 'cd', true));
  const emptyPong = await frames.next();
  assert.deepEqual([emptyPong.opcode, emptyPong.payload.length], [10, 0]);
  const echo = await frames.next();
  assert.deepEqual([echo.opcode, echo.fin, echo.payload.toString()], [1, true, 'abcd']);
  socket.destroy();
});

test('close codes with a ws client: shutdown(4001, "bye") is seen as 4001/"bye"; its 4002 is our closeCode and we echo the code only (§5.5.1, §7.4)', async (t) => {
  const bound = await bind(`ws://${LOCALHOST}:0/`);
  defer(t, () => bound.close(1000));

  const first = await wsClient(bound.url);
  const peer1 = await bound.accept(2000);
  const closed1 = once(first.ws, 'close');
  assert.equal(await peer1.shutdown(4001, 'bye', 2000), true);
  const [code1, reason1] = (await within(closed1, 2000, 'ws close')) as [number, Buffer];
  assert.equal(code1, 4001);
  assert.equal(reason1.toString(), 'bye');
  assert.equal(peer1.closeCode, 4001, 'ws echoes the code');
  assert.equal(peer1.state, 'CLOSED');

  const second = await wsClient(bound.url);
  const peer2 = await bound.accept(2000);
  const closed2 = once(second.ws, 'close');
  second.ws.close(4002, 'later');
  assert.equal(await peer2.read(2000), null);
  assert.equal(peer2.closeCode, 4002);
  assert.equal(peer2.closeReason, 'later');
  const [code2, reason2] = (await within(closed2, 2000, 'ws close')) as [number, Buffer];
  assert.equal(code2, 4002, 'our close frame echoes the code');
  assert.equal(reason2.toString(), '', 'our close frame carries no reason');

  // A close frame without a body is reported as 1005 (§7.1.5).
  const third = await wsClient(bound.url);
  const peer3 = await bound.accept(2000);
  const closed3 = once(third.ws, 'close');
  third.ws.close();
  assert.equal(await peer3.read(2000), null);
  assert.equal(peer3.closeCode, 1005);
  await within(closed3, 2000, 'ws close');
});

test('close codes with a ws server: our shutdown(4001, "bye") is seen as 4001/"bye"; its 4003 is our closeCode', async (t) => {
  const seen: Array<[number, string]> = [];
  const wss = await wsServer((ws) => {
    ws.on('close', (code, reason) => seen.push([code, reason.toString()]));
    ws.on('message', (data) => {
      if (data.toString() === 'close me') ws.close(4003, 'as asked');
    });
  });
  defer(t, () => wss.close());

  const client1 = await connect(wss.url);
  assert.equal(await client1.shutdown(4001, 'bye', 2000), true);
  assert.equal(client1.closed, true);
  await waitFor(() => seen.length >= 1, 2000, 'ws server sees the close');
  assert.deepEqual(seen[0], [4001, 'bye']);

  const client2 = await connect(wss.url);
  await client2.write('close me');
  assert.equal(await client2.read(2000), null);
  assert.equal(client2.closeCode, 4003);
  assert.equal(client2.closeReason, 'as asked');
});

test('close codes between our peers: the code and reason reach the other side, the echo carries the code (§5.5.1)', async (t) => {
  const bound = await bind(`ws://${LOCALHOST}:0/`);
  defer(t, () => bound.close(1000));
  const client = await connect(bound.url);
  defer(t, () => client.close());
  const peer = await bound.accept(2000);
  const closing = client.shutdown(4005, 'done here', 2000);
  assert.equal(await peer.read(2000), null);
  assert.equal(peer.closeCode, 4005);
  assert.equal(peer.closeReason, 'done here');
  assert.equal(await closing, true);
  assert.equal(client.closeCode, 4005);
  assert.equal(client.closeReason, '');
  // After the closing handshake reads return null and writes fail.
  assert.equal(await client.read(), null);
  await assert.rejects(client.write('late'), { name: 'ConnectionClosedError' });
});

test('a server peer that sees the raw client close gets its code, and our server closes the TCP connection first (§7.1.1)', async (t) => {
  const instance = await echoServer(t);
  const { socket, rest } = await rawUpgrade(portOf(instance));
  defer(t, () => socket.destroy());
  const frames = new FrameReader(socket, rest);
  const ended = once(socket, 'end');
  socket.write(clientFrame(8, Buffer.concat([Buffer.from([0x0f, 0xa1]), Buffer.from('raw')])));
  const reply = await frames.next();
  assert.equal(reply.opcode, 8);
  assert.equal(closeCodeOf(reply.payload), 4001);
  await within(ended, 2000, 'server ends the TCP connection');
});

/** A server whose peers linger a minute before a silent side is cut off, with each peer's end. */
async function lingeringServer(t: TestContext, onPeer: (peer: Peer) => void = () => {}): Promise<{ instance: Server; closed: Promise<Peer> }> {
  let closedPeer!: (peer: Peer) => void;
  const closed = new Promise<Peer>((resolve) => (closedPeer = resolve));
  const instance = await server(
    `ws://${LOCALHOST}:0/`,
    (peer) => {
      peer.onClosed(closedPeer);
      onPeer(peer);
    },
    { closeTimeout: 60_000 },
  );
  defer(t, () => instance.close(1000));
  return { instance, closed };
}

test('§7.1.1: once the client has answered, our server closes its socket without waiting for the client to end its side', async (t) => {
  const { instance, closed } = await lingeringServer(t);
  const { socket, rest } = await rawUpgrade(portOf(instance));
  defer(t, () => socket.destroy());
  socket.allowHalfOpen = true; // the client does not answer the server's FIN with its own
  const frames = new FrameReader(socket, rest);
  const ended = once(socket, 'end');
  let reset: Error | null = null;
  socket.on('error', (error) => (reset = error));
  socket.write(clientFrame(8, Buffer.from([0x03, 0xe8])));
  const reply = await frames.next();
  assert.equal(reply.opcode, 8);
  assert.equal(closeCodeOf(reply.payload), 1000);
  // The client has not ended: with a minute of lingering allowed, only a server that does not
  // wait for the client's FIN is closed by now.
  const peer = await within(closed, 5000, 'server peer closed while the client still holds its side open');
  assert.equal(peer.closeCode, 1000);
  await within(ended, 2000, 'the client reads the FIN after the close frame');
  assert.equal(reset, null, 'a clean close, not a reset');
});

test('§7.1.1: shutdown() on our server resolves true as soon as the client answers, without waiting for its FIN', async (t) => {
  let started!: (peer: Peer) => void;
  const opened = new Promise<Peer>((resolve) => (started = resolve));
  const { instance } = await lingeringServer(t, started);
  const { socket, rest } = await rawUpgrade(portOf(instance));
  defer(t, () => socket.destroy());
  socket.allowHalfOpen = true; // the client does not answer the server's FIN with its own
  const frames = new FrameReader(socket, rest);
  const ended = once(socket, 'end');
  const peer = await within(opened, 2000, 'server peer');
  const closing = peer.shutdown(4002, 'enough', 60_000);
  const request = await frames.next();
  assert.equal(request.opcode, 8);
  assert.equal(closeCodeOf(request.payload), 4002);
  socket.write(clientFrame(8, request.payload));
  assert.equal(await within(closing, 5000, 'shutdown resolves while the client still holds its side open'), true);
  await within(ended, 2000, 'the client reads the FIN');
});

test('§7.1.7: after failing the connection our server half-closes and reads on, so a client still sending gets the close frame and a FIN, not a reset', async (t) => {
  const { instance } = await lingeringServer(t);
  const { socket, rest } = await rawUpgrade(portOf(instance));
  defer(t, () => socket.destroy());
  const frames = new FrameReader(socket, rest);
  const ended = once(socket, 'end');
  let reset: Error | null = null;
  socket.on('error', (error) => (reset = error));
  // An unmasked frame from a client fails the connection (§5.1), and the client goes on sending.
  socket.write(Buffer.from([0x82, 0x01, 0x00]));
  const filler = clientFrame(2, new Uint8Array(16 * 1024));
  for (let i = 0; i < 64; i++) socket.write(filler);
  const reply = await frames.next();
  assert.equal(reply.opcode, 8);
  assert.equal(closeCodeOf(reply.payload), 1002);
  for (let i = 0; i < 64; i++) socket.write(filler);
  await within(ended, 5000, 'the server half-closes');
  socket.end();
  await within(once(socket, 'close'), 5000, 'the connection closes');
  assert.equal(reset, null, 'no reset');
});

test('onMessage receives the messages already waiting first, then each new one, in order', async (t) => {
  const bound = await bind(`ws://${LOCALHOST}:0/`);
  defer(t, () => bound.close(1000));
  const client = await connect(bound.url);
  defer(t, () => client.close());
  const peer = await bound.accept(2000);
  await client.write('waiting 1');
  await client.write('waiting 2');
  await new Promise((resolve) => setTimeout(resolve, 50)); // both are in the inbox now
  const seen: string[] = [];
  peer.onMessage((message) => seen.push(String(message.data)));
  assert.deepEqual(seen, ['waiting 1', 'waiting 2'], 'queued messages are passed at once');
  await client.write('live 3');
  await waitFor(() => seen.length >= 3, 2000, 'live message');
  assert.deepEqual(seen, ['waiting 1', 'waiting 2', 'live 3']);
  // Back to read().
  peer.onMessage(null);
  await client.write('read 4');
  assert.deepEqual(await readPlain(peer, 2000), { opcode: 1, fin: true, data: 'read 4' });
});

test('whenClosed resolves on both sides once the connection has closed, with closeCode and closeReason set; at once after that', async (t) => {
  const bound = await bind(`ws://${LOCALHOST}:0/`);
  defer(t, () => bound.close(500));
  const client = await connect(bound.url);
  const serverPeer = await bound.accept(2000);
  let clientClosed = false;
  const seenByServer = serverPeer.whenClosed().then(() => [serverPeer.closed, serverPeer.closeCode, serverPeer.closeReason]);
  void client.whenClosed().then(() => (clientClosed = true));
  assert.equal(clientClosed, false);
  assert.equal(await within(client.shutdown(4002, 'done here'), 3000, 'shutdown'), true);
  assert.deepEqual(await within(seenByServer, 3000, 'server whenClosed'), [true, 4002, 'done here']);
  await waitFor(() => clientClosed, 3000, 'client whenClosed');
  assert.equal(client.closeCode, 4002, 'the server echoed the code');
  await within(client.whenClosed(), 100, 'whenClosed after the close');

  // A dropped connection: 1006.
  const dropped = await connect(bound.url);
  const droppedServer = await bound.accept(2000);
  dropped.close();
  await within(droppedServer.whenClosed(), 3000, 'whenClosed after a drop');
  assert.equal(droppedServer.closeCode, 1006);
});
