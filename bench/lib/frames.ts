/**
 * WebSocket frame encoding (client side, masked) and an incremental parser that checks echoes.
 * Written for the load generator: frames are built once and reused, and the parser never copies
 * payload bytes — it only looks at a few probe positions as the bytes stream past.
 * @module
 */

/** Frame opcodes used by the benchmarks. */
export const Opcode = { text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;

/** Encodes one final, masked client frame (RFC 6455 §5.2) with 7-, 16- or 64-bit length. */
export function encodeClientFrame(payload: Uint8Array, opcode: number, maskKey: Uint8Array): Buffer {
  const length = payload.length;
  const extended = length < 126 ? 0 : length <= 0xffff ? 2 : 8;
  const frame = Buffer.allocUnsafe(2 + extended + 4 + length);
  frame[0] = 0x80 | opcode;
  if (extended === 0) {
    frame[1] = 0x80 | length;
  } else if (extended === 2) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  const keyAt = 2 + extended;
  for (let i = 0; i < 4; i++) frame[keyAt + i] = maskKey[i]!;
  const dataAt = keyAt + 4;
  for (let i = 0; i < length; i++) frame[dataAt + i] = payload[i]! ^ maskKey[i & 3]!;
  return frame;
}

/** A masked close frame with status 1000. */
export function encodeCloseFrame(maskKey: Uint8Array): Buffer {
  return encodeClientFrame(Uint8Array.of(0x03, 0xe8), Opcode.close, maskKey);
}

/**
 * Gathers one frame header from chunks cut anywhere, header bytes included, and decodes it.
 * Shared by the echo checker and the message reader.
 */
export class FrameHeaderReader {
  /** The header's first byte: FIN, RSV1–3 and the opcode. */
  first = 0;
  /** The payload is masked; `key` holds the masking key. */
  masked = false;
  /** Payload length. */
  length = 0;
  readonly key = new Uint8Array(4);
  private readonly bytes = new Uint8Array(14);
  private have = 0;

  get fin(): boolean {
    return (this.first & 0x80) !== 0;
  }

  get opcode(): number {
    return this.first & 0x0f;
  }

  /**
   * Takes header bytes from `chunk` at `at`; returns the offset after them and whether the
   * header is now complete (its fields are then set, and the next call starts a new header).
   */
  read(chunk: Uint8Array, at: number): { next: number; complete: boolean } {
    const bytes = this.bytes;
    while (at < chunk.length) {
      bytes[this.have++] = chunk[at++]!;
      if (this.have < 2) continue;
      const length7 = bytes[1]! & 0x7f;
      const extended = length7 === 126 ? 2 : length7 === 127 ? 8 : 0;
      const masked = (bytes[1]! & 0x80) !== 0;
      if (this.have < 2 + extended + (masked ? 4 : 0)) continue;
      this.decode(length7, extended, masked);
      return { next: at, complete: true };
    }
    return { next: at, complete: false };
  }

  private decode(length7: number, extended: number, masked: boolean): void {
    const bytes = this.bytes;
    let length = length7;
    if (extended === 2) length = (bytes[2]! << 8) | bytes[3]!;
    if (extended === 8) {
      const high = ((bytes[2]! << 24) >>> 0) + (bytes[3]! << 16) + (bytes[4]! << 8) + bytes[5]!;
      const low = ((bytes[6]! << 24) >>> 0) + (bytes[7]! << 16) + (bytes[8]! << 8) + bytes[9]!;
      length = high * 2 ** 32 + low;
    }
    this.first = bytes[0]!;
    this.masked = masked;
    this.length = length;
    if (masked) this.key.set(bytes.subarray(2 + extended, 6 + extended));
    this.have = 0;
  }
}

/** What the echoes on a connection must look like. */
export interface ExpectedEcho {
  readonly opcode: number;
  /**
   * The messages sent, in the order they are sent over and over, all of one length: echoes
   * come back in that order, so a server that echoed a stale or shared buffer (another
   * message's bytes) is caught, which one message sent every time could not show.
   */
  readonly payloads: readonly Uint8Array[];
  /**
   * Accept masked frames and unmask them before comparing. Only the `raw` socket-to-itself
   * server needs this: it sends the client's own masked frames back.
   */
  readonly allowMasked: boolean;
}

/**
 * Incremental parser for the echo stream of one connection. Frames may be split anywhere across
 * chunks, headers included. Each data frame is checked for FIN, opcode, length and, against the
 * message sent in its turn, the payload bytes at the first, middle and last positions.
 */
export class EchoParser {
  /** Echo frames that did not match what was sent, plus protocol surprises. */
  mismatches = 0;
  /** Set once the server sent a close frame. */
  closed = false;

  private readonly header = new FrameHeaderReader();
  private inPayload = false;
  private remaining = 0;
  private position = 0;
  private frameOk = true;
  private opcode = 0;
  private readonly probes: readonly number[];
  /** The payload the current frame must match: the sent message whose turn it is. */
  private payload: Uint8Array;
  private turn = 0;

  constructor(private readonly expected: ExpectedEcho) {
    this.payload = expected.payloads[0]!;
    const last = this.payload.length - 1;
    this.probes = last < 0 ? [] : [...new Set([0, last >> 1, last])];
  }

  /** Consumes one chunk; returns how many complete data frames (echoes) it finished. */
  push(chunk: Uint8Array): number {
    let completed = 0;
    let at = 0;
    const end = chunk.length;
    while (at < end) {
      if (!this.inPayload) {
        at = this.readHeader(chunk, at);
        if (!this.inPayload) break;
        if (this.remaining === 0) completed += this.finishFrame();
        continue;
      }
      const take = Math.min(this.remaining, end - at);
      this.checkProbes(chunk, at, take);
      this.position += take;
      this.remaining -= take;
      at += take;
      if (this.remaining === 0) completed += this.finishFrame();
    }
    return completed;
  }

  /** Copies header bytes until the header is complete; returns the next unread chunk offset. */
  private readHeader(chunk: Uint8Array, at: number): number {
    const { next, complete } = this.header.read(chunk, at);
    if (complete) this.startFrame();
    return next;
  }

  private startFrame(): void {
    const header = this.header;
    this.opcode = header.opcode;
    this.frameOk = header.fin && (!header.masked || this.expected.allowMasked);
    if (this.opcode === this.expected.opcode) {
      this.frameOk &&= header.length === this.payload.length;
    }
    this.inPayload = true;
    this.remaining = header.length;
    this.position = 0;
  }

  private checkProbes(chunk: Uint8Array, at: number, take: number): void {
    if (this.opcode !== this.expected.opcode) return;
    const from = this.position;
    const to = from + take;
    for (const probe of this.probes) {
      if (probe < from || probe >= to) continue;
      let actual = chunk[at + probe - from]!;
      if (this.header.masked) actual ^= this.header.key[probe & 3]!;
      if (actual !== this.payload[probe]) this.frameOk = false;
    }
  }

  /** Ends the current frame; returns 1 for a data frame (a completed echo), 0 otherwise. */
  private finishFrame(): number {
    this.inPayload = false;
    if (this.opcode === Opcode.close) {
      this.closed = true;
      return 0;
    }
    if (this.opcode === Opcode.ping || this.opcode === Opcode.pong) return 0;
    if (this.opcode !== this.expected.opcode || !this.frameOk) this.mismatches++;
    const { payloads } = this.expected;
    this.turn = this.turn + 1 === payloads.length ? 0 : this.turn + 1;
    this.payload = payloads[this.turn]!;
    return 1;
  }
}
