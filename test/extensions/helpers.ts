/**
 * Helpers for the permessage-deflate tests: deterministic sample payloads, an independent
 * DEFLATE peer built straight on `node:zlib` streams (not on the codec under test), a
 * hand-made DEFLATE bomb, raw frames, and bounded waits.
 * @module
 */
import assert from 'node:assert/strict';
import { constants, createDeflateRaw, createInflateRaw, inflateRawSync, type DeflateRaw, type InflateRaw } from 'node:zlib';

import { parseExtensions, type ExtensionOffer } from '../../src/handshake/extensions.ts';
import { concat } from '../frame/helpers.ts';
import { within } from '../peer/helpers.ts';

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

/** The empty stored block that ends a sync flush (RFC 7692 §7.2.1), removed on the wire. */
export const TAIL = Uint8Array.of(0x00, 0x00, 0xff, 0xff);

// ——— Sample payloads ———

/** A small deterministic pseudo-random generator (xorshift32), so failures reproduce. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0 || 0x9e3779b9;
  }
  next(): number {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return this.state;
  }
  below(n: number): number {
    return this.next() % n;
  }
}

/** The kinds of content a sample can have, from very compressible to not at all. */
export type SampleKind = 'zeros' | 'json' | 'prose' | 'utf8' | 'random';

const WORDS = ['the', 'quick', 'brown', 'fox', 'jumps', 'over', 'lazy', 'dog', 'window', 'frame', 'deflate', 'socket', 'message', 'context'];
const UTF8_PIECES = ['a', 'é', 'ß', 'κόσμε', '€', '𝄞', '日本語', ' ', 'z', '🙂'];

/** `length` bytes of the given kind; text kinds are valid UTF-8 cut at a code point boundary. */
export function sample(kind: SampleKind, length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  const rng = new Rng(seed * 7919 + length);
  if (kind === 'zeros') return out;
  if (kind === 'random') {
    for (let i = 0; i < length; i++) out[i] = rng.next() & 0xff;
    return out;
  }
  const encoder = new TextEncoder();
  let at = 0;
  let record = 0;
  while (at < length) {
    let piece: string;
    if (kind === 'json') {
      piece = `{"id":${record},"name":"${WORDS[rng.below(WORDS.length)]}","score":${rng.below(100_000) / 100},"tags":["${WORDS[rng.below(WORDS.length)]}"]},`;
      record++;
    } else if (kind === 'prose') {
      piece = `${WORDS[rng.below(WORDS.length)]}${rng.below(9) === 0 ? '. ' : ' '}`;
    } else {
      piece = UTF8_PIECES[rng.below(UTF8_PIECES.length)]!;
    }
    const bytes = encoder.encode(piece);
    if (at + bytes.length > length) {
      out.fill(0x20, at); // ASCII spaces: never cut a code point
      break;
    }
    out.set(bytes, at);
    at += bytes.length;
  }
  return out;
}

/** A text sample as a string. */
export function sampleText(kind: Exclude<SampleKind, 'random'>, length: number, seed = 1): string {
  return new TextDecoder('utf-8', { fatal: true }).decode(sample(kind, length, seed));
}

// ——— Bytes ———

export { concat };

export function endsWithTail(bytes: Uint8Array): boolean {
  const n = bytes.length;
  return n >= 4 && bytes[n - 4] === 0 && bytes[n - 3] === 0 && bytes[n - 2] === 0xff && bytes[n - 1] === 0xff;
}

/** Byte equality with a short message instead of a dump of megabytes. */
export function assertSameBytes(actual: Uint8Array | null, expected: Uint8Array, what: string): void {
  assert.ok(actual !== null, `${what}: got null`);
  assert.equal(actual.length, expected.length, `${what}: length`);
  const a = Buffer.from(actual.buffer, actual.byteOffset, actual.length);
  const b = Buffer.from(expected.buffer, expected.byteOffset, expected.length);
  if (!a.equals(b)) {
    let i = 0;
    while (a[i] === b[i]) i++;
    assert.fail(`${what}: bytes differ first at offset ${i} of ${a.length}`);
  }
}

/** Cut `bytes` at the given offsets (sorted, inside the range), keeping empty pieces out. */
export function split(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.filter((cut) => cut > 0 && cut < bytes.length))].sort((a, b) => a - b);
  const pieces: Uint8Array[] = [];
  let from = 0;
  for (const cut of [...points, bytes.length]) {
    pieces.push(bytes.subarray(from, cut));
    from = cut;
  }
  return pieces;
}

// ——— An independent DEFLATE peer over node:zlib ———

/** One-shot inflate of a whole message payload as sent on the wire (tail restored, §7.2.2). */
export function inflateWire(payload: Uint8Array, windowBits = 15): Uint8Array {
  return inflateRawSync(concat([payload, TAIL]), { windowBits, finishFlush: constants.Z_SYNC_FLUSH });
}

/** Run one chunk through a zlib stream with a sync flush and collect its output. */
function flushThrough(stream: DeflateRaw | InflateRaw, data: Uint8Array): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
    };
    const onError = (error: Error): void => {
      stream.off('data', onData);
      reject(error);
    };
    stream.on('data', onData);
    stream.once('error', onError);
    stream.write(data);
    stream.flush(constants.Z_SYNC_FLUSH, () => {
      stream.off('data', onData);
      stream.off('error', onError);
      resolve(concat(chunks));
    });
  });
}

/**
 * A permessage-deflate endpoint written directly on `node:zlib` streams: compresses with
 * Z_SYNC_FLUSH and removes the tail (§7.2.1), restores it to decompress (§7.2.2), and keeps
 * or drops its LZ77 window between messages as told (§7.1.1).
 */
export class ZlibPeer {
  private deflater: DeflateRaw | null = null;
  private inflater: InflateRaw | null = null;

  constructor(
    private readonly settings: {
      /** Our compressor's window (9–15; node:zlib raises 8 to 9). */
      deflateBits: number;
      /** Our decompressor's window (8–15). */
      inflateBits: number;
      /** Start every outgoing message with an empty window. */
      deflateFresh: boolean;
      /** Every incoming message was compressed with an empty window. */
      inflateFresh: boolean;
      level?: number;
    },
  ) {}

  async compress(data: Uint8Array): Promise<Uint8Array> {
    if (this.settings.deflateFresh) this.closeDeflater();
    this.deflater ??= createDeflateRaw({ windowBits: Math.max(this.settings.deflateBits, 9), level: this.settings.level ?? 6 });
    const out = await flushThrough(this.deflater, data);
    assert.ok(endsWithTail(out), 'a sync flush ends with 00 00 ff ff');
    return out.subarray(0, out.length - 4);
  }

  async decompress(payload: Uint8Array): Promise<Uint8Array> {
    if (this.settings.inflateFresh) this.closeInflater();
    this.inflater ??= createInflateRaw({ windowBits: this.settings.inflateBits });
    return flushThrough(this.inflater, concat([payload, TAIL]));
  }

  close(): void {
    this.closeDeflater();
    this.closeInflater();
  }

  private closeDeflater(): void {
    this.deflater?.close();
    this.deflater = null;
  }

  private closeInflater(): void {
    this.inflater?.close();
    this.inflater = null;
  }
}

// ——— A DEFLATE bomb made by hand ———

/** Writes a DEFLATE bit stream: fields LSB first, Huffman codes MSB first (RFC 1951 §3.1.1). */
class BitWriter {
  private readonly out: Uint8Array;
  private at = 0;
  private acc = 0;
  private count = 0;

  constructor(capacity: number) {
    this.out = new Uint8Array(capacity);
  }
  /** A field of `length` bits, least significant first. */
  field(value: number, length: number): void {
    for (let i = 0; i < length; i++) this.bit((value >>> i) & 1);
  }
  /** A Huffman code of `length` bits, most significant first. */
  code(code: number, length: number): void {
    for (let i = length - 1; i >= 0; i--) this.bit((code >>> i) & 1);
  }
  /** `n` zero bits, quickly. */
  zeros(n: number): void {
    while (n > 0 && this.count !== 0) {
      this.bit(0);
      n--;
    }
    this.at += n >>> 3; // the buffer starts zeroed
    for (let i = 0; i < (n & 7); i++) this.bit(0);
  }
  /** Pad with zero bits to a byte boundary. */
  align(): void {
    if (this.count > 0) {
      this.out[this.at++] = this.acc;
      this.acc = 0;
      this.count = 0;
    }
  }
  bytes(): Uint8Array {
    return this.out.subarray(0, this.at);
  }
  private bit(b: number): void {
    this.acc |= b << this.count;
    if (++this.count === 8) {
      this.out[this.at++] = this.acc;
      this.acc = 0;
      this.count = 0;
    }
  }
}

/**
 * A message payload (as sent, tail removed) that inflates to `1 + 258 * matches` zero bytes:
 * one dynamic-Huffman block (RFC 1951 §3.2.7) whose codes are as short as DEFLATE allows —
 * a 1-bit code for length 258 and a 1-bit code for distance 1 — so each 258 output bytes
 * cost 2 input bits, the format's best ratio (about 1032:1). It ends with the empty stored
 * block of a sync flush, minus its last four bytes (§7.2.1).
 */
export function deflateBomb(matches: number): { payload: Uint8Array; inflatedSize: number } {
  const w = new BitWriter(Math.ceil(matches / 4) + 64);
  w.field(0, 1); // BFINAL: not the last block (a sync flush follows)
  w.field(2, 2); // BTYPE 10: dynamic Huffman codes
  w.field(286 - 257, 5); // HLIT: literal/length codes 0..285
  w.field(2 - 1, 5); // HDIST: distance codes 0..1
  w.field(18 - 4, 4); // HCLEN: 18 code length code lengths follow
  // Code length alphabet: symbol 18 (a run of zeros) 1 bit; symbols 1 and 2 two bits each.
  const codeLengthLengths = new Map([
    [18, 1],
    [1, 2],
    [2, 2],
  ]);
  for (const symbol of [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1]) w.field(codeLengthLengths.get(symbol) ?? 0, 3);
  // Canonical codes of that alphabet: 18 → 0, 1 → 10, 2 → 11.
  const lengthOne = (): void => w.code(0b10, 2);
  const lengthTwo = (): void => w.code(0b11, 2);
  const zeroRun = (n: number): void => {
    w.code(0b0, 1);
    w.field(n - 11, 7);
  };
  // Literal/length code lengths: 0 → 2, 1..255 → none, 256 → 2, 257..284 → none, 285 → 1.
  lengthTwo();
  zeroRun(138);
  zeroRun(117);
  lengthTwo();
  zeroRun(28);
  lengthOne();
  // Distance code lengths: 0 → 1, 1 → 1.
  lengthOne();
  lengthOne();
  // Canonical literal/length codes: 285 → 0, 0 → 10, 256 → 11. Distance 0 → 0.
  w.code(0b10, 2); // the literal byte 0
  w.zeros(2 * matches); // `matches` times: length 258 (code 0), distance 1 (code 0)
  w.code(0b11, 2); // end of block
  w.field(0, 3); // the sync flush's empty stored block: BFINAL 0, BTYPE 00 …
  w.align(); // … then 00 00 ff ff, which is the tail left out
  return { payload: w.bytes(), inflatedSize: 1 + 258 * matches };
}

// ——— Negotiation shorthands ———

/** The elements of a `Sec-WebSocket-Extensions` value. */
export function offers(header: string): ExtensionOffer[] {
  return parseExtensions(header);
}

/** The one element of a `Sec-WebSocket-Extensions` value. */
export function element(header: string): ExtensionOffer {
  const list = parseExtensions(header);
  assert.equal(list.length, 1, `one element in ${header}`);
  return list[0]!;
}

/** Parameters of an element as a sorted `name=value` list, for order-free comparison. */
export function paramSet(extension: ExtensionOffer): string[] {
  return extension.params.map(([name, value]) => (value === true ? name.toLowerCase() : `${name.toLowerCase()}=${value}`)).sort();
}

// ——— Waiting ———

// Bounded waits shared with the socket tests.
export { within };
