/**
 * Helpers for the socket-layer tests: bounded waits, raw TCP clients that speak just enough
 * HTTP and framing by hand, and small servers to talk to.
 * @module
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect as netConnect, createServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import type { TestContext } from 'node:test';

import type { Peer } from '../../src/peer/peer.ts';
import type { ServerOptions } from '../../src/server/options.ts';
import { bind, type BoundServer, type Server } from '../../src/server/server.ts';
import { wrap, type WrapClientOptions } from '../../src/wrap.ts';

export const LOCALHOST = '127.0.0.1';

/** Reject with a clear message if `promise` has not settled within `ms`. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not done within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

const cleanupStacks = new WeakMap<TestContext, Array<() => unknown>>();

/**
 * Run `cleanup` after the test, in the reverse order of registration: what was opened last
 * (a client) is closed before what it depends on (its server). Each gets 5 s; the first
 * failure is reported once all have run.
 */
export function defer(t: TestContext, cleanup: () => unknown): void {
  let stack = cleanupStacks.get(t);
  if (stack === undefined) {
    const created: Array<() => unknown> = [];
    cleanupStacks.set(t, created);
    t.after(async () => {
      let failure: unknown = null;
      while (created.length > 0) {
        const next = created.pop()!;
        try {
          await within(Promise.resolve().then(next), 5000, 'cleanup');
        } catch (error) {
          failure ??= error;
        }
      }
      if (failure !== null) throw failure;
    });
    stack = created;
  }
  stack.push(cleanup);
}

/** Whether `promise` settles within `ms` (its rejection counts as settling). */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true, () => true), expired]);
  } finally {
    clearTimeout(timer);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Poll `condition` until it holds, for at most `ms`; then stop polling, and reject. */
export async function waitFor(condition: () => boolean, ms: number, what: string): Promise<void> {
  const until = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > until) throw new Error(`${what}: not done within ${ms} ms`);
    await sleep(5);
  }
}

/** A loopback port that was just listened on and closed: nothing answers there, and it is free to take. */
export async function closedPort(): Promise<number> {
  const probe = createServer().listen(0, LOCALHOST);
  await once(probe, 'listening');
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** The port a wspeer server listens on. */
export function portOf(instance: Server): number {
  return instance.address.port;
}

/** Open a plain TCP connection. */
export async function rawConnect(port: number, host = LOCALHOST): Promise<Socket> {
  const socket = netConnect({ host, port });
  await within(once(socket, 'connect'), 2000, 'TCP connect');
  return socket;
}

/** A fresh valid `Sec-WebSocket-Key`. */
export function newKey(): string {
  return randomBytes(16).toString('base64');
}

/** The lines of a valid upgrade request, to be altered by tests; joined by {@link requestText}. */
export function upgradeLines(path = '/', host = `${LOCALHOST}`): string[] {
  return [
    `GET ${path} HTTP/1.1`,
    `Host: ${host}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${newKey()}`,
    'Sec-WebSocket-Version: 13',
  ];
}

export function requestText(lines: readonly string[]): string {
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** An HTTP response read off a raw socket until the server ended it. */
export interface RawResponse {
  statusLine: string;
  status: number;
  headers: Map<string, string>;
  body: string;
  /** The server ended (or closed) the connection. */
  ended: boolean;
}

/** Send `request` on a new connection and read everything until the server ends it. */
export async function rawExchange(port: number, request: string | Buffer, ms = 3000): Promise<RawResponse> {
  const socket = await rawConnect(port);
  socket.on('error', () => {});
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  const ended = new Promise<void>((resolve) => {
    socket.once('end', resolve);
    socket.once('close', resolve);
  });
  socket.write(request);
  try {
    await within(ended, ms, 'server ends the connection');
  } finally {
    socket.destroy();
  }
  return { ...parseResponse(Buffer.concat(chunks)), ended: true };
}

/** Split a raw HTTP response into status, headers (lower-case names) and body. */
export function parseResponse(bytes: Buffer): Omit<RawResponse, 'ended'> {
  const text = bytes.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  assert.ok(end >= 0, `no complete response head in ${JSON.stringify(text.slice(0, 200))}`);
  const [statusLine = '', ...fieldLines] = text.slice(0, end).split('\r\n');
  const headers = new Map<string, string>();
  for (const line of fieldLines) {
    const colon = line.indexOf(':');
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const match = /^HTTP\/1\.1 (\d{3}) /.exec(statusLine);
  assert.ok(match, `bad status line ${JSON.stringify(statusLine)}`);
  return { statusLine, status: Number(match[1]), headers, body: text.slice(end + 4) };
}

/**
 * Open a TCP connection and complete the opening handshake by hand, within `ms`. Resolves
 * with the socket (paused, no listeners left) and any bytes that followed the 101 head.
 */
export async function rawUpgrade(port: number, path = '/', ms = 2000): Promise<{ socket: Socket; rest: Buffer }> {
  const socket = await rawConnect(port);
  socket.on('error', () => {});
  socket.write(requestText(upgradeLines(path)));
  let received = Buffer.alloc(0);
  const head = new Promise<number>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      received = Buffer.concat([received, chunk]);
      const end = received.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      socket.pause();
      resolve(end + 4);
    };
    socket.on('data', onData);
    socket.once('close', () => reject(new Error('closed during the handshake')));
  });
  const end = await within(head, ms, 'raw upgrade');
  assert.match(received.subarray(0, end).toString('latin1'), /^HTTP\/1\.1 101 /);
  return { socket, rest: received.subarray(end) };
}

/**
 * A server bound with `options` and one raw client upgraded to it, both torn down after the
 * test (the server given `closeMs` to close): the server's peer for that client, and the
 * client's paused socket with the bytes it read past the 101.
 */
export async function acceptRawClient(
  t: TestContext,
  options: ServerOptions = {},
  closeMs = 200,
): Promise<{ bound: BoundServer; peer: Peer; socket: Socket; rest: Buffer }> {
  const bound = await bind(`ws://${LOCALHOST}:0/`, options);
  defer(t, () => bound.close(closeMs));
  const { socket, rest } = await rawUpgrade(portOf(bound));
  defer(t, () => socket.destroy());
  const peer = await bound.accept(2000);
  return { bound, peer, socket, rest };
}

/** The `Sec-WebSocket-Accept` value for a client's key (RFC 6455 §4.2.2), worked out here rather than by the code under test. */
export function acceptFor(key: string): string {
  return createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
}

/**
 * The server's side of {@link rawUpgrade}: read a client's upgrade request from `socket`
 * and answer 101 (§4.2.2). Resolves with the socket paused; a client sends nothing more
 * before the answer, so no byte is left over.
 */
export async function rawAcceptUpgrade(socket: Socket): Promise<void> {
  socket.on('error', () => {});
  let head = '';
  while (!head.includes('\r\n\r\n')) {
    const [chunk] = (await once(socket, 'data')) as [Buffer];
    head += chunk.toString('latin1');
  }
  const key = /^sec-websocket-key:\s*(\S+)/im.exec(head)![1]!;
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(key)}\r\n\r\n`);
  socket.pause();
}

/**
 * A client peer made by `wrap` over one end of a socket pair, the other end a raw server
 * that answered 101 (paused, no listeners left); both ends are destroyed after the test.
 */
export async function clientOverRawServer(t: TestContext, options: Omit<WrapClientOptions, 'role' | 'url'> = {}): Promise<{ client: Peer; serverSocket: Socket }> {
  const [serverSocket, clientSocket] = await socketPair();
  defer(t, () => {
    serverSocket.destroy();
    clientSocket.destroy();
  });
  const answered = rawAcceptUpgrade(serverSocket);
  const client = await within(wrap(clientSocket, { ...options, role: 'client', url: `ws://${LOCALHOST}/` }), 2000, 'wrap');
  await answered;
  return { client, serverSocket };
}

/** A frame as a client sends it: masked (RFC 6455 §5.3). */
export function clientFrame(opcode: number, payload: Uint8Array | string = new Uint8Array(0), fin = true): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload) : Buffer.from(payload);
  const length = data.length;
  const header: number[] = [(fin ? 0x80 : 0) | opcode];
  if (length <= 125) header.push(0x80 | length);
  else if (length <= 0xffff) header.push(0x80 | 126, length >> 8, length & 0xff);
  else {
    header.push(0x80 | 127, 0, 0, 0, 0);
    header.push((length >>> 24) & 0xff, (length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff);
  }
  const key = randomBytes(4);
  const masked = Buffer.alloc(length);
  for (let i = 0; i < length; i++) masked[i] = data[i]! ^ key[i & 3]!;
  return Buffer.concat([Buffer.from(header), key, masked]);
}

/** A frame as read off the wire from a server (unmasked). */
export interface RawFrame {
  fin: boolean;
  opcode: number;
  payload: Buffer;
}

/** Parses the unmasked frames a server sends, across chunk boundaries. */
export class FrameReader {
  private buffer = Buffer.alloc(0);
  private readonly frames: RawFrame[] = [];
  private waiter: (() => void) | null = null;

  constructor(socket: Socket, initial: Buffer = Buffer.alloc(0)) {
    this.push(initial);
    socket.on('data', (chunk: Buffer) => this.push(chunk));
    socket.resume();
  }

  private push(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const b = this.buffer;
      if (b.length < 2) break;
      let length = b[1]! & 0x7f;
      let at = 2;
      if (length === 126) {
        if (b.length < 4) break;
        length = b.readUInt16BE(2);
        at = 4;
      } else if (length === 127) {
        if (b.length < 10) break;
        length = Number(b.readBigUInt64BE(2));
        at = 10;
      }
      assert.equal(b[1]! & 0x80, 0, 'a server must not mask (RFC 6455 §5.1)');
      if (b.length < at + length) break;
      this.frames.push({ fin: (b[0]! & 0x80) !== 0, opcode: b[0]! & 0x0f, payload: Buffer.from(b.subarray(at, at + length)) });
      this.buffer = b.subarray(at + length);
    }
    if (this.frames.length > 0 && this.waiter !== null) {
      const wake = this.waiter;
      this.waiter = null;
      wake();
    }
  }

  /** The next frame, within `ms`. */
  async next(ms = 2000): Promise<RawFrame> {
    if (this.frames.length === 0) {
      await within(new Promise<void>((resolve) => (this.waiter = resolve)), ms, 'next frame');
    }
    return this.frames.shift()!;
  }
}

/** The status code in a close frame payload. */
export function closeCodeOf(payload: Buffer): number {
  return payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
}

/** A TCP server that accepts connections, reads and discards what comes, and never says anything. */
export async function silentTcpServer(): Promise<{ server: NetServer; port: number; sockets: Set<Socket>; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    socket.resume();
  });
  server.listen(0, LOCALHOST);
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    sockets,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Two connected TCP sockets over loopback: [accepted side, connecting side]. */
export async function socketPair(): Promise<[Socket, Socket]> {
  const listener = createServer();
  listener.listen(0, LOCALHOST);
  await once(listener, 'listening');
  const port = (listener.address() as AddressInfo).port;
  const accepted = once(listener, 'connection') as Promise<[Socket]>;
  const client = netConnect({ host: LOCALHOST, port });
  const [[server]] = await within(Promise.all([accepted, once(client, 'connect')]), 2000, 'socket pair');
  // Stop listening; the callback would wait for this pair to close, so it is not awaited.
  listener.close();
  return [server, client];
}

/** Deterministic bytes of a given length (a pattern that shows misordered or lost bytes). */
export function patternBytes(length: number, seed = 7): Uint8Array {
  const bytes = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  return bytes;
}

/** Bytes of a message as a Buffer view, for comparisons. */
export function asBuffer(data: string | Uint8Array | Buffer | ArrayBuffer | Buffer[]): Buffer {
  if (typeof data === 'string') return Buffer.from(data);
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * The next message as a plain `{ opcode, fin, data }` (null once closed), for comparing
 * with `deepEqual`: the peer's messages decode text lazily, so they are not plain objects.
 */
export async function readPlain(peer: Peer, ms: number): Promise<{ opcode: number; fin: boolean; data: string | Uint8Array } | null> {
  const message = await peer.read(ms);
  return message === null ? null : { opcode: message.opcode, fin: message.fin, data: message.data };
}
