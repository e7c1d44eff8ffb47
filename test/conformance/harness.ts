/**
 * A scripted raw peer for the conformance scenarios. One scenario (bytes to send and what
 * must come back) runs in both directions:
 *
 * - server role: a raw TCP client performs the HTTP upgrade by hand against the wspeer echo
 *   server, then writes the scenario's frames masked (RFC 6455 §5.3);
 * - client role: a raw TCP server answers the upgrade request of a wspeer echo client by
 *   hand, then writes the same frames unmasked.
 *
 * Either way the raw side parses what the endpoint under test sends back (its frames, its
 * close code, whether it ended the TCP connection) and every wait is bounded, so a scenario
 * fails rather than hangs.
 * @module
 */
import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { createHash, randomBytes } from 'node:crypto';
import { connect as netConnect, createServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { isDeepStrictEqual } from 'node:util';

import { startEchoServer } from '../../src/cli/serve.ts';
import { connect } from '../../src/client/connect.ts';
import { FrameDecoder, type FrameSink } from '../../src/frame/decoder.ts';
import { encodeFrame } from '../../src/frame/encoder.ts';
import type { ProtocolError } from '../../src/frame/errors.ts';
import { Opcode } from '../../src/frame/opcode.ts';
import type { Peer } from '../../src/peer/peer.ts';
import type { PeerOptions } from '../../src/peer/options.ts';
import type { Server } from '../../src/server/server.ts';
import { concat as concatBytes, hex, utf8 } from '../frame/helpers.ts';

// ——— Limits shared by both endpoints under test ———

/** The message limit of the Autobahn testee (16 MiB messages plus some room). */
export const MAX_PAYLOAD = 16 * 1024 * 1024 + 1024;
/** How long any single wait of a scenario may take before the scenario fails. */
export const WAIT_MS = 10_000;
/** How long a client that completed the closing handshake must keep TCP open (it waits for the server, §7.1.1). */
export const LINGER_MS = 100;
/**
 * How soon after its close frame an endpoint that must close TCP has to do it: well under
 * the 5 s close timeout after which either side destroys a lingering socket anyway, so the
 * timeout cannot pass for a prompt close.
 */
export const PROMPT_CLOSE_MS = 2000;

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

// ——— Bytes ———

/** `length` bytes repeating `pattern` (a string is taken as its UTF-8 bytes). */
export function filled(length: number, pattern: string | Uint8Array = '*'): Uint8Array {
  const unit = typeof pattern === 'string' ? utf8(pattern) : pattern;
  const out = new Uint8Array(length);
  if (length === 0) return out;
  out.set(unit.subarray(0, Math.min(unit.length, length)), 0);
  let have = Math.min(unit.length, length);
  while (have < length) {
    const take = Math.min(have, length - have);
    out.copyWithin(have, 0, take);
    have += take;
  }
  return out;
}

/**
 * `length` bytes of valid UTF-8 mixing 1- to 4-byte characters, so that cuts at arbitrary
 * byte positions fall inside code points. Always ends on a code point boundary.
 */
export function mixedText(length: number): Uint8Array {
  const unit = utf8('Hello-µ@ßöäüàá-κόσμε-€-𝄞-UTF-8!! ');
  const out = filled(length, unit);
  // Trim a code point cut by the end back to ASCII spaces.
  let end = length;
  let i = end - 1;
  while (i >= 0 && (out[i]! & 0xc0) === 0x80) i--;
  if (i >= 0 && out[i]! >= 0xc0) {
    const need = out[i]! >= 0xf0 ? 4 : out[i]! >= 0xe0 ? 3 : 2;
    if (end - i < need) out.fill(0x20, i, end);
  }
  return out;
}

// Byte helpers shared with the codec's tests.
export { hex, utf8, concatBytes };

/** Lower-case hex, for readable assertion failures. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex');
}

/** SHA-256 of the bytes, hex. */
export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

// ——— What the raw peer writes ———

/** One frame, masked or not by the runner according to the direction. */
export interface FrameDef {
  opcode: number;
  payload?: Uint8Array;
  /** Default true. */
  fin?: boolean;
  /** The three RSV bits as a number 0–7: 4 is RSV1, 2 is RSV2, 1 is RSV3 (default 0). */
  rsv?: number;
  /** Masked the wrong way for its direction (§5.1): unmasked from a client, masked from a server. */
  misMasked?: boolean;
}

/** Only the header of a frame claiming `length` payload bytes (none of them follow). */
export interface HeaderOnlyDef {
  headerOnly: true;
  opcode: number;
  length: number;
  fin?: boolean;
}

/** What a send step writes. */
export type WireItem = FrameDef | HeaderOnlyDef;

/** How a send step's bytes are written. */
export type Delivery =
  /** One write of everything (default). */
  | 'whole'
  /** One write per frame. */
  | 'frames'
  /** Writes of `chop` bytes each (1: single bytes). */
  | { chop: number }
  /** Split the step's bytes at these offsets (a negative offset counts from the end). */
  | { at: readonly number[] }
  /**
   * Cut every frame at the offsets (from the frame's first byte) that `cuts` returns for its
   * header and payload lengths, so that cuts land in the same place whether or not the
   * frame carries a masking key.
   */
  | { cuts: (header: number, payload: number) => readonly number[] };

/** One step of a scenario's script. */
export type Step =
  | {
      send: readonly WireItem[];
      delivery?: Delivery;
      delayMs?: number;
      /**
       * Fail-fast (RFC 6455 §8.1, §7.1.7): after this many pieces of the delivery are written,
       * the endpoint's close frame must arrive before the remaining pieces are sent.
       */
      closeAfterPieces?: number;
    }
  /** Wait until the endpoint has sent this many replies (messages, pings, pongs) in total. */
  | { awaitReplies: number }
  /**
   * Fail-fast (RFC 6455 §8.1, §7.1.7): the endpoint's close frame must arrive now, before
   * the next step is sent; `before` names what is withheld until then.
   */
  | { awaitClose: string };

/** What the endpoint must send back before its close frame. */
export interface Reply {
  type: 'text' | 'binary' | 'ping' | 'pong';
  data: Uint8Array;
}

/** How the connection must end. */
export type Ending =
  /** The endpoint fails the connection (§7.1.7): a close frame with `code`, then it closes TCP itself. */
  | { fail: number }
  /**
   * The script sent a close frame; the endpoint answers with `reply` (§5.5.1) and a normal
   * closing handshake follows. `remoteCode` is the code the endpoint reports it received
   * (default `reply`; 1005 for an empty close).
   */
  | { closeReply: number; remoteCode?: number }
  /** Once every reply is in, the raw peer starts a normal closing handshake with 1000. */
  | 'fence';

/** A scripted exchange, run against the server and against the client. */
export interface Scenario {
  /** The Autobahn case (family) it mirrors, e.g. `1.1.1`. */
  id: string;
  /** What it checks, starting with the RFC section it enforces. */
  title: string;
  steps: readonly Step[];
  replies: readonly Reply[];
  end: Ending;
  /**
   * Other reply lists that are also acceptable, each as exact as `replies`: Autobahn's
   * NON-STRICT outcomes, e.g. a message that arrived in the same read as a protocol
   * violation may be dropped with the connection.
   */
  alternatives?: readonly (readonly Reply[])[];
  /**
   * Frames written in the same write as the end of the opening handshake: after the upgrade
   * request (server role) or the 101 response (client role), so that they arrive with it.
   */
  early?: readonly WireItem[];
  /**
   * A known deviation of wspeer in a role: the scenario runs and reports there, but as a
   * to-do that does not fail the suite. The text says what goes wrong.
   */
  known?: Partial<Record<'server' | 'client', string>>;
}

// Frame and reply builders.

/** A data message as frames of at most `fragment` payload bytes (§5.4). */
export function fragmented(opcode: number, data: Uint8Array, fragment: number): FrameDef[] {
  const frames: FrameDef[] = [];
  for (let at = 0; at < data.length; at += fragment) {
    const end = Math.min(at + fragment, data.length);
    frames.push({ opcode: at === 0 ? opcode : Opcode.Continuation, payload: data.subarray(at, end), fin: end === data.length });
  }
  return frames;
}

export function text(payload: Uint8Array | string, fin = true): FrameDef {
  return { opcode: Opcode.Text, payload: typeof payload === 'string' ? utf8(payload) : payload, fin };
}
export function binary(payload: Uint8Array, fin = true): FrameDef {
  return { opcode: Opcode.Binary, payload, fin };
}
export function cont(payload: Uint8Array | string, fin = true): FrameDef {
  return { opcode: Opcode.Continuation, payload: typeof payload === 'string' ? utf8(payload) : payload, fin };
}
export function ping(payload: Uint8Array | string = new Uint8Array(0)): FrameDef {
  return { opcode: Opcode.Ping, payload: typeof payload === 'string' ? utf8(payload) : payload };
}
export function pong(payload: Uint8Array | string = new Uint8Array(0)): FrameDef {
  return { opcode: Opcode.Pong, payload: typeof payload === 'string' ? utf8(payload) : payload };
}
/** A close frame: no argument for an empty body, a code, or a code and a reason (string or bytes). */
export function close(code?: number, reason: Uint8Array | string = ''): FrameDef {
  if (code === undefined) return { opcode: Opcode.Close, payload: new Uint8Array(0) };
  const reasonBytes = typeof reason === 'string' ? utf8(reason) : reason;
  const body = new Uint8Array(2 + reasonBytes.length);
  body[0] = code >>> 8;
  body[1] = code & 0xff;
  body.set(reasonBytes, 2);
  return { opcode: Opcode.Close, payload: body };
}
/** A close frame with exactly this body. */
export function closeBody(body: Uint8Array): FrameDef {
  return { opcode: Opcode.Close, payload: body };
}

export function textReply(data: Uint8Array | string): Reply {
  return { type: 'text', data: typeof data === 'string' ? utf8(data) : data };
}
export function binaryReply(data: Uint8Array): Reply {
  return { type: 'binary', data };
}
export function pongReply(data: Uint8Array | string = new Uint8Array(0)): Reply {
  return { type: 'pong', data: typeof data === 'string' ? utf8(data) : data };
}
/** The echo of a data frame or message of this opcode. */
export function echoOf(opcode: number, data: Uint8Array): Reply {
  return { type: opcode === Opcode.Text ? 'text' : 'binary', data };
}

// ——— Serializing ———

/** Deterministic, never-zero masking keys, so a failure reproduces byte for byte. */
export class MaskKeys {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0 || 1;
  }
  next(): Uint8Array {
    // xorshift32
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    const key = new Uint8Array(4);
    new DataView(key.buffer).setUint32(0, this.state | 0x01010101);
    return key;
  }
}

/** The bytes of one item; a client (sending to the server under test) masks them. */
function itemBytes(item: WireItem, keys: MaskKeys | null): Uint8Array {
  const masked = (keys !== null) !== ('misMasked' in item && item.misMasked === true);
  const maskKey = masked ? (keys ?? new MaskKeys(0x5eed)).next() : null;
  if ('headerOnly' in item) {
    const length = item.length;
    const size = length <= 125 ? 2 : length <= 0xffff ? 4 : 10;
    const header = new Uint8Array(size + (maskKey === null ? 0 : 4));
    header[0] = ((item.fin ?? true) ? 0x80 : 0) | item.opcode;
    const maskBit = maskKey === null ? 0 : 0x80;
    if (size === 2) header[1] = maskBit | length;
    else if (size === 4) {
      header[1] = maskBit | 126;
      new DataView(header.buffer).setUint16(2, length);
    } else {
      header[1] = maskBit | 127;
      new DataView(header.buffer).setBigUint64(2, BigInt(length));
    }
    if (maskKey !== null) header.set(maskKey, size);
    return header;
  }
  const bytes = encodeFrame({ opcode: item.opcode, payload: item.payload ?? new Uint8Array(0), fin: item.fin ?? true, maskKey });
  // RSV1..RSV3 are bits 6..4 of the first byte (§5.2).
  bytes[0] = bytes[0]! | (((item.rsv ?? 0) & 7) << 4);
  return bytes;
}

/** Cut `bytes` into the pieces a delivery asks for (never an empty piece). */
function pieces(items: readonly Uint8Array[], delivery: Delivery): Uint8Array[] {
  if (delivery === 'frames') return items.filter((item) => item.length > 0);
  const all = concatBytes(items);
  if (delivery === 'whole') return all.length === 0 ? [] : [all];
  const out: Uint8Array[] = [];
  if ('cuts' in delivery) {
    const offsets: number[] = [];
    let start = 0;
    for (const item of items) {
      const header = frameHeaderLength(item);
      for (const cut of delivery.cuts(header, item.length - header)) offsets.push(start + cut);
      start += item.length;
    }
    return pieces(items, { at: offsets });
  }
  if ('chop' in delivery) {
    for (let at = 0; at < all.length; at += delivery.chop) out.push(all.subarray(at, Math.min(at + delivery.chop, all.length)));
    return out;
  }
  const cuts = [...new Set(delivery.at.map((at) => (at < 0 ? all.length + at : at)).filter((at) => at > 0 && at < all.length))].sort((a, b) => a - b);
  let from = 0;
  for (const cut of [...cuts, all.length]) {
    out.push(all.subarray(from, cut));
    from = cut;
  }
  return out;
}

/** The header length of a serialized frame (or of a lone header). */
function frameHeaderLength(bytes: Uint8Array): number {
  const b1 = bytes[1] ?? 0;
  const length7 = b1 & 0x7f;
  return 2 + (length7 === 126 ? 2 : length7 === 127 ? 8 : 0) + ((b1 & 0x80) !== 0 ? 4 : 0);
}

// ——— The raw endpoint: what comes back ———

interface Received extends Reply {
  /** Number of frames the message came in (1 for control frames). */
  frames: number;
}

/** A raw socket speaking WebSocket by hand: writes scripted bytes, records what arrives. */
export class RawEndpoint implements FrameSink {
  /** Messages and control frames (except close) received, in order. */
  readonly received: Received[] = [];
  /** Frames that arrived after the close frame (there must be none). */
  readonly afterClose: Array<{ opcode: number; length: number }> = [];
  /** The close frame received: its code (1005 if empty, -1 for a 1-byte body), reason bytes, and when (ms, `performance.now()`). */
  closeFrame: { code: number; reason: Uint8Array; at: number } | null = null;
  /** The frames received broke the protocol. */
  decodeError: ProtocolError | null = null;
  /** The endpoint under test ended or reset the TCP connection before we did. */
  remoteClosed = false;
  /** When it did (ms, `performance.now()`). */
  remoteClosedAt: number | null = null;
  /** The socket is fully closed. */
  socketClosed = false;

  private readonly decoder: FrameDecoder;
  private readonly keys: MaskKeys | null;
  private weClosed = false;
  private messageType: 'text' | 'binary' | null = null;
  private messageParts: Uint8Array[] = [];
  private messageFrames = 0;
  private readonly watchers = new Set<() => void>();

  /**
   * With `keys`, this raw peer is a client: it masks what it writes and expects unmasked
   * frames back; without, it is a server. `head`: bytes already read after the handshake.
   */
  constructor(
    readonly socket: Socket,
    keys: MaskKeys | null,
    head: Uint8Array,
  ) {
    this.keys = keys;
    this.decoder = new FrameDecoder(this, { expectMasked: keys === null, maxMessageSize: 4 * MAX_PAYLOAD });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.decoder.push(new Uint8Array(chunk));
      this.notify();
    });
    const remoteEnd = (): void => {
      if (!this.weClosed && !this.remoteClosed) {
        this.remoteClosed = true;
        this.remoteClosedAt = performance.now();
      }
      this.notify();
    };
    socket.on('end', remoteEnd);
    socket.on('error', remoteEnd);
    socket.on('close', () => {
      this.socketClosed = true;
      remoteEnd();
    });
    if (head.length > 0) this.decoder.push(head);
  }

  /** The bytes of `items` as this raw peer sends them. */
  serialize(items: readonly WireItem[]): Uint8Array[] {
    return items.map((item) => itemBytes(item, this.keys));
  }

  /** Write `items` as `delivery` says, yielding to the event loop (or waiting `delayMs`) between writes. */
  async send(items: readonly WireItem[], delivery: Delivery = 'whole', delayMs = 0, closeAfterPieces?: number): Promise<void> {
    const parts = pieces(this.serialize(items), delivery);
    if (closeAfterPieces !== undefined && !(closeAfterPieces >= 1 && closeAfterPieces < parts.length)) {
      throw new Error(`closeAfterPieces ${closeAfterPieces} leaves nothing to withhold from ${parts.length} pieces`);
    }
    for (let i = 0; i < parts.length; i++) {
      if (i > 0) await pause(delayMs);
      if (i === closeAfterPieces) {
        const withheld = parts.slice(i).reduce((sum, part) => sum + part.length, 0);
        const arrived = await this.waitFor(() => this.closeFrame !== null);
        assert.ok(arrived, `no close frame arrived while the last ${withheld} bytes were withheld (fail-fast, RFC 6455 §8.1)`);
      }
      // The endpoint closed the connection: what is left cannot matter any more.
      if (!this.writable) return;
      this.socket.write(parts[i]!);
    }
    // Let the last write reach the other side before the next step decides anything.
    await pause(delayMs);
  }

  /** Whether a write can still go out. */
  get writable(): boolean {
    return !this.socket.destroyed && this.socket.writable && !this.remoteClosed;
  }

  /** End our side of the TCP connection (FIN). */
  end(): void {
    this.weClosed = true;
    this.socket.end();
  }

  /** Drop the connection at once. */
  destroy(): void {
    this.weClosed = true;
    this.socket.destroy();
  }

  /** Resolves true once `condition` holds, false if `timeoutMs` passes first. */
  waitFor(condition: () => boolean, timeoutMs = WAIT_MS): Promise<boolean> {
    if (condition()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const watcher = (): void => {
        if (!condition()) return;
        clearTimeout(timer);
        this.watchers.delete(watcher);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.watchers.delete(watcher);
        resolve(condition());
      }, timeoutMs);
      this.watchers.add(watcher);
    });
  }

  private notify(): void {
    for (const watcher of [...this.watchers]) watcher();
  }

  // FrameSink: what the endpoint under test sent.

  onFrame(opcode: number, fin: boolean, _rsv1: boolean, payload: Uint8Array): void {
    if (this.closeFrame !== null) {
      this.afterClose.push({ opcode, length: payload.length });
      return;
    }
    switch (opcode) {
      case Opcode.Close: {
        const code = payload.length >= 2 ? (payload[0]! << 8) | payload[1]! : payload.length === 0 ? 1005 : -1;
        this.closeFrame = { code, reason: payload.slice(2), at: performance.now() };
        return;
      }
      case Opcode.Ping:
      case Opcode.Pong:
        this.received.push({ type: opcode === Opcode.Ping ? 'ping' : 'pong', data: payload.slice(), frames: 1 });
        return;
      default:
        if (opcode !== Opcode.Continuation) this.messageType = opcode === Opcode.Text ? 'text' : 'binary';
        this.messageParts.push(payload.slice());
        this.messageFrames++;
        if (!fin) return;
        this.received.push({ type: this.messageType!, data: concatBytes(this.messageParts), frames: this.messageFrames });
        this.messageParts = [];
        this.messageFrames = 0;
    }
  }

  onFramePart(): void {}

  onFrameError(error: ProtocolError): void {
    this.decodeError = error;
  }
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => (ms > 0 ? setTimeout(resolve, ms) : setImmediate(resolve)));
}

// ——— Opening handshakes done by hand ———

/** Reads from `socket` up to the end of an HTTP head; resolves with the head and the bytes after it. */
function readHead(socket: Socket, what: string): Promise<{ head: string; rest: Uint8Array }> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const timer = setTimeout(() => finish(new Error(`no ${what} within ${WAIT_MS} ms`)), WAIT_MS);
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end < 0) return;
      finish(null, { head: buffered.subarray(0, end).toString('latin1'), rest: new Uint8Array(buffered.subarray(end + 4)) });
    };
    const onClose = (): void => finish(new Error(`the connection closed before the ${what} was complete`));
    const finish = (error: Error | null, result?: { head: string; rest: Uint8Array }): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      if (error !== null) reject(error);
      else resolve(result!);
    };
    socket.on('data', onData);
    socket.on('close', onClose);
  });
}

/** Header fields of an HTTP head (names lower-cased; repeated fields joined with ", "). */
function headerFields(head: string): { startLine: string; fields: Map<string, string> } {
  const lines = head.split('\r\n');
  const fields = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`malformed header line: ${JSON.stringify(line)}`);
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    fields.set(name, fields.has(name) ? `${fields.get(name)}, ${value}` : value);
  }
  return { startLine: lines[0] ?? '', fields };
}

function acceptFor(key: string): string {
  return createHash('sha1').update(key + GUID).digest('base64');
}

function hasToken(value: string | undefined, token: string): boolean {
  return value !== undefined && value.split(',').some((part) => part.trim().toLowerCase() === token);
}

/**
 * Open a raw connection to the server at `url` and perform the upgrade by hand (§4.1);
 * `early` frames go in the same write as the request.
 */
export async function rawClient(url: string, seed: number, early: readonly WireItem[] = []): Promise<RawEndpoint> {
  const { hostname, port, pathname } = new URL(url);
  const socket = netConnect({ host: hostname, port: Number(port) });
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const key = randomBytes(16).toString('base64');
  const keys = new MaskKeys(seed);
  const response = readHead(socket, 'upgrade response');
  const request = Buffer.from(
    `GET ${pathname} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    'latin1',
  );
  socket.write(concatBytes([request, ...early.map((item) => itemBytes(item, keys))]));
  const { head, rest } = await response.catch((error: unknown) => {
    socket.destroy();
    throw error;
  });
  const { startLine, fields } = headerFields(head);
  try {
    assert.match(startLine, /^HTTP\/1\.1 101 /, 'the server must answer the upgrade with 101');
    assert.ok(hasToken(fields.get('upgrade'), 'websocket'), 'Upgrade: websocket');
    assert.ok(hasToken(fields.get('connection'), 'upgrade'), 'Connection: Upgrade');
    assert.equal(fields.get('sec-websocket-accept'), acceptFor(key), 'Sec-WebSocket-Accept (§4.2.2)');
  } catch (error) {
    socket.destroy();
    throw error;
  }
  return new RawEndpoint(socket, keys, rest);
}

/** A raw server that accepts one connection and answers its upgrade request by hand (§4.2.2). */
export class RawServer {
  readonly url: string;
  private readonly sockets = new Set<Socket>();
  private readonly accepted: Promise<RawEndpoint>;

  private constructor(
    private readonly listener: NetServer,
    early: readonly WireItem[],
  ) {
    const port = (listener.address() as AddressInfo).port;
    this.url = `ws://127.0.0.1:${port}/`;
    this.accepted = new Promise((resolve, reject) => {
      listener.once('connection', (socket: Socket) => {
        this.sockets.add(socket);
        socket.on('error', () => {});
        socket.on('close', () => this.sockets.delete(socket));
        readHead(socket, 'upgrade request')
          .then(({ head, rest }) => {
            const { startLine, fields } = headerFields(head);
            assert.match(startLine, /^GET \/ HTTP\/1\.1$/, 'the client must send GET <path> HTTP/1.1');
            assert.ok(hasToken(fields.get('upgrade'), 'websocket'), 'Upgrade: websocket');
            assert.ok(hasToken(fields.get('connection'), 'upgrade'), 'Connection: Upgrade');
            assert.equal(fields.get('sec-websocket-version'), '13', 'Sec-WebSocket-Version: 13');
            const key = fields.get('sec-websocket-key') ?? '';
            assert.equal(Buffer.from(key, 'base64').length, 16, 'Sec-WebSocket-Key is 16 bytes in base64');
            const response = Buffer.from(
              `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(key)}\r\n\r\n`,
              'latin1',
            );
            socket.write(concatBytes([response, ...early.map((item) => itemBytes(item, null))]));
            resolve(new RawEndpoint(socket, null, rest));
          })
          .catch((error: unknown) => {
            socket.destroy();
            reject(error);
          });
      });
    });
    this.accepted.catch(() => {});
  }

  /** Listen on 127.0.0.1, port 0; `early` frames go in the same write as the 101 response. */
  static async listen(early: readonly WireItem[] = []): Promise<RawServer> {
    const listener = createServer();
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen(0, '127.0.0.1', () => resolve());
    });
    return new RawServer(listener, early);
  }

  /** The endpoint of the first connection, once its handshake is answered. */
  accept(): Promise<RawEndpoint> {
    return withTimeout(this.accepted, WAIT_MS, 'no client connected to the raw server');
  }

  /** Stop listening and drop every connection. */
  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.listener.close(() => resolve()));
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

// ——— The endpoints under test ———

/** The Autobahn testee server: the wspeer echo server. */
export function startTesteeServer(peer: PeerOptions = {}): Promise<Server> {
  return startEchoServer({ host: '127.0.0.1', port: 0, path: '/', options: { maxPayload: MAX_PAYLOAD, ...peer } });
}

/** A wspeer client that echoes every message back, like the Autobahn testee client. */
export interface EchoClient {
  peer: Peer;
  /** Settles when the echo loop ends (the connection closed). */
  done: Promise<void>;
}

/** Connect a wspeer client to `url` and echo every message back until the connection closes. */
export async function startEchoClient(url: string, options: PeerOptions = {}): Promise<EchoClient> {
  const peer = await connect(url, {}, { maxPayload: MAX_PAYLOAD, closeTimeout: 5000, ...options });
  const done = (async () => {
    for await (const message of peer) {
      peer.write(message.data).catch(() => peer.close());
    }
  })();
  return { peer, done };
}

// ——— Running a scenario ———

/** Which wspeer endpoint a scenario runs against. */
export type Role = 'server' | 'client';

/** The raw peer and the endpoint under test, connected to each other. */
interface Pair {
  raw: RawEndpoint;
  client: EchoClient | null;
  dispose(): Promise<void>;
}

let seedCounter = 1;

async function openPair(role: Role, serverUrl: string | null, early: readonly WireItem[] = [], options: PeerOptions = {}): Promise<Pair> {
  const seed = seedCounter++;
  if (role === 'server') {
    const raw = await rawClient(serverUrl!, seed, early);
    return {
      raw,
      client: null,
      dispose: async () => raw.destroy(),
    };
  }
  const server = await RawServer.listen(early);
  try {
    const [raw, client] = await Promise.all([server.accept(), startEchoClient(server.url, options)]);
    return {
      raw,
      client,
      dispose: async () => {
        raw.destroy();
        client.peer.close();
        await withTimeout(client.done, WAIT_MS, 'the echo client did not stop').catch(() => {});
        await server.close();
      },
    };
  } catch (error) {
    await server.close();
    throw error;
  }
}

/** A reply as compared: hex for short payloads, length and hash for long ones. */
function shown(reply: Reply): string {
  const data = reply.data.length <= 256 ? toHex(reply.data) : `${reply.data.length} bytes sha256 ${sha256(reply.data)}`;
  return `${reply.type} ${data}`;
}

function describeEnding(end: Ending): string {
  return end === 'fence' ? 'no close of its own' : 'fail' in end ? `close ${end.fail}` : `close reply ${end.closeReply}`;
}

/** Run `scenario` against the endpoint in `role`; throws an assertion error on any deviation. */
export async function runScenario(scenario: Scenario, role: Role, serverUrl: string | null, options: PeerOptions = {}): Promise<void> {
  const pair = await openPair(role, serverUrl, scenario.early, options);
  const { raw } = pair;
  try {
    for (const step of scenario.steps) {
      if ('send' in step) await raw.send(step.send, step.delivery, step.delayMs, step.closeAfterPieces);
      else if ('awaitReplies' in step) await raw.waitFor(() => raw.received.length >= step.awaitReplies || raw.closeFrame !== null);
      else {
        const arrived = await raw.waitFor(() => raw.closeFrame !== null);
        assert.ok(arrived, `no close frame arrived before ${step.awaitClose} (fail-fast, RFC 6455 §7.1.7)`);
      }
    }
    await finish(scenario, role, pair);
  } finally {
    await pair.dispose();
  }
}

async function finish(scenario: Scenario, role: Role, pair: Pair): Promise<void> {
  const { raw, client } = pair;
  const end = scenario.end;
  const expected = scenario.replies;
  let closeSentCode: number | null = null;

  if (end === 'fence') {
    // Wait for every reply, then close normally: the endpoint's close answer comes after anything it still had to send.
    await raw.waitFor(() => raw.received.length >= expected.length || raw.closeFrame !== null || raw.remoteClosed);
    assert.equal(raw.closeFrame, null, `unexpected close frame ${raw.closeFrame?.code} (expected ${expected.length} replies and no close)`);
    assert.ok(!raw.remoteClosed, 'the connection was closed unexpectedly');
    await raw.send([close(1000)]);
    closeSentCode = 1000;
  }
  await raw.waitFor(() => raw.closeFrame !== null || raw.socketClosed);

  const actual = raw.received.map(shown);
  const accepted = (scenario.alternatives ?? []).map((list) => list.map(shown));
  if (!accepted.some((list) => isDeepStrictEqual(list, actual))) {
    assert.deepEqual(actual, expected.map(shown), 'what the endpoint sent before its close frame');
  }
  assert.equal(raw.decodeError, null, `the endpoint sent an invalid frame: ${raw.decodeError?.message}`);
  const wantCode = end === 'fence' ? 1000 : 'fail' in end ? end.fail : end.closeReply;
  assert.equal(raw.closeFrame?.code ?? null, wantCode, `the endpoint's close code (expected ${describeEnding(end)})`);
  assert.ok(isUtf8(raw.closeFrame!.reason), 'the close reason the endpoint sent is UTF-8 (§5.5.1)');

  if (end !== 'fence' && 'fail' in end) {
    // §7.1.7: the failing endpoint closes the TCP connection itself, client or server.
    const dropped = await raw.waitFor(() => raw.remoteClosed, PROMPT_CLOSE_MS);
    assert.ok(dropped, `the ${role} did not close the TCP connection within ${PROMPT_CLOSE_MS} ms of failing it`);
    if (client !== null) {
      await withTimeout(client.done, WAIT_MS, 'the echo client did not stop');
      assert.equal(client.peer.error?.closeCode, end.fail, 'the client reports the violation it failed the connection for');
    }
  } else if (role === 'server') {
    // §7.1.1: after the closing handshake the server closes the TCP connection first.
    const dropped = await raw.waitFor(() => raw.remoteClosed, PROMPT_CLOSE_MS);
    assert.ok(dropped, `the server did not close the TCP connection within ${PROMPT_CLOSE_MS} ms of the closing handshake`);
  } else {
    // §7.1.1: a client that completed the closing handshake waits for the server to close TCP.
    await pause(LINGER_MS);
    assert.ok(!raw.remoteClosed, 'the client closed the TCP connection first after a normal closing handshake');
    raw.end();
    await withTimeout(client!.done, WAIT_MS, 'the echo client did not stop after the server closed');
    const remoteCode = closeSentCode ?? (end !== 'fence' && 'closeReply' in end ? (end.remoteCode ?? end.closeReply) : 1000);
    assert.equal(client!.peer.error, null, 'the client saw no protocol violation');
    assert.equal(client!.peer.closeCode, remoteCode, 'the close code the client reports');
  }
  assert.deepEqual(raw.afterClose, [], 'nothing may follow a close frame (§5.5.1)');
}

function testOptions(scenario: Scenario, role: Role, timeout: number): { timeout: number; todo?: string } {
  const known = scenario.known?.[role];
  return known === undefined ? { timeout } : { timeout, todo: `known deviation: ${known}` };
}

/** Test options for a family. */
export interface FamilyOptions {
  /** Scenarios run at once within a role. Default 8. */
  concurrency?: number;
  /** Per-test timeout. Default 60 s. */
  timeout?: number;
  /** Options of the wspeer endpoints under test, over the suite's own (`maxPayload`). */
  peer?: PeerOptions;
}

/**
 * Register the scenarios of one family: a `describe` per role, a test per scenario named
 * `<case> <title> (<role>)`. The server role shares one echo server per file.
 */
export function family(name: string, scenarios: readonly Scenario[], options: FamilyOptions = {}): void {
  const ids = new Set<string>();
  for (const scenario of scenarios) {
    const key = `${scenario.id} ${scenario.title}`;
    if (ids.has(key)) throw new Error(`duplicate scenario name: ${key}`);
    ids.add(key);
  }
  const concurrency = options.concurrency ?? 8;
  const timeout = options.timeout ?? 60_000;
  describe(`${name} (server)`, { concurrency }, () => {
    let server: Server | null = null;
    before(async () => {
      server = await startTesteeServer(options.peer);
    });
    after(async () => {
      await server?.close(1000);
    });
    for (const scenario of scenarios) {
      test(`${scenario.id} ${scenario.title} (server)`, testOptions(scenario, 'server', timeout), () => runScenario(scenario, 'server', server!.url, options.peer));
    }
  });
  describe(`${name} (client)`, { concurrency }, () => {
    for (const scenario of scenarios) {
      test(`${scenario.id} ${scenario.title} (client)`, testOptions(scenario, 'client', timeout), () => runScenario(scenario, 'client', null, options.peer));
    }
  });
}
