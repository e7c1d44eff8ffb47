/**
 * Payload masking of RFC 6455 §5.3: XOR with a 4-byte key, a 32-bit word at a time over the
 * aligned bulk of the data, a byte at a time only over the unaligned edges.
 * @module
 */

import { simdMaskAvailable, xorMaskSimd, xorMaskSimdInto } from './mask-simd.ts';

/** Below this length the cost of a typed-array view made for it outweighs the word loop. */
export const WORD_LOOP_MIN = 128;
/** From this length the SIMD module's copies in and out pay for themselves. */
export const SIMD_MIN = 512;

const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * XOR `data` in place with the 4-byte masking key (§5.3). Masking and unmasking are the
 * same operation. `keyOffset` is the position of `data[0]` within the frame's payload, so a
 * payload can be masked piece by piece.
 */
export function applyMask(data: Uint8Array, key: Uint8Array, keyOffset = 0): void {
  xorMask(data, key[keyOffset & 3]!, key[(keyOffset + 1) & 3]!, key[(keyOffset + 2) & 3]!, key[(keyOffset + 3) & 3]!);
}

/**
 * XOR `data[start..end)` in place with the key bytes `k0 k1 k2 k3`, where `k0` applies to
 * `data[start]`. The parser calls this with the key read straight from the frame header and
 * the sender with a range of its output slab, so masking allocates nothing but, for long
 * payloads, one word view.
 */
export function xorMask(
  data: Uint8Array,
  k0: number,
  k1: number,
  k2: number,
  k3: number,
  start = 0,
  end = data.length,
): void {
  if (end - start < WORD_LOOP_MIN) {
    xorBytes(data, k0, k1, k2, k3, start, end);
    return;
  }
  if (simdMaskAvailable && end - start >= SIMD_MIN) {
    // SIMD takes whole 16-byte blocks, so the key phase where it stops is 0 again.
    const done = xorMaskSimd(data, k0, k1, k2, k3, start, end);
    xorBytes(data, k0, k1, k2, k3, done, end);
    return;
  }
  // Walk bytes up to a 4-byte aligned address so that a Uint32Array view is allowed.
  let i = start;
  const head = start + ((4 - ((data.byteOffset + start) & 3)) & 3);
  for (; i < head; i++) data[i]! ^= keyByte(i - start, k0, k1, k2, k3);
  const words = (end - i) >>> 2;
  const view = new Uint32Array(data.buffer, data.byteOffset + i, words);
  const word = maskWord(i - start, k0, k1, k2, k3);
  for (let w = 0; w < words; w++) view[w]! ^= word;
  i += words << 2;
  // What is left starts at a key phase of (i - start) & 3 === (head - start) & 3.
  for (; i < end; i++) data[i]! ^= keyByte(i - start, k0, k1, k2, k3);
}

/**
 * From this length a payload lying whole in a received chunk is unmasked through a view of
 * the chunk ({@link xorMaskWords}), made once per chunk; below it a byte loop is as cheap.
 * Measured on chunks of 16 frames: 32-byte payloads parse about 25 % faster this way.
 */
export const WORD_VIEW_MIN = 16;

/**
 * XOR `bytes[start..end)` in place with the key `k0 k1 k2 k3` (k0 at `bytes[start]`), 32
 * bits at a time through `words`, a DataView over exactly the bytes of `bytes`. The parser
 * makes one such view per chunk, so the payloads of a chunk full of small frames need no
 * view each and no alignment (DataView reads any offset). Returns the unmasked words ORed
 * together: `(result & 0x80808080) === 0` means every byte is ASCII.
 */
export function xorMaskWords(words: DataView, bytes: Uint8Array, k0: number, k1: number, k2: number, k3: number, start: number, end: number): number {
  // Read little-endian, the word's lowest byte is the first in memory: k0 goes there.
  const key = k0 | (k1 << 8) | (k2 << 16) | (k3 << 24);
  let bits = 0;
  let i = start;
  // Two words per iteration: the loop's own overhead is a good part of the cost.
  for (; i + 8 <= end; i += 8) {
    const first = words.getInt32(i, true) ^ key;
    const second = words.getInt32(i + 4, true) ^ key;
    words.setInt32(i, first, true);
    words.setInt32(i + 4, second, true);
    bits |= first | second;
  }
  if (i + 4 <= end) {
    const word = words.getInt32(i, true) ^ key;
    words.setInt32(i, word, true);
    bits |= word;
    i += 4;
  }
  // Whole words done: the key phase is 0 again.
  return bits | xorTail(bytes, k0, k1, k2, i, end);
}

/**
 * Copy `source` into `target` at `offset`, XORed with the key `k0 k1 k2 k3` (k0 at
 * `source[0]`), in one pass where SIMD is available (copy and mask otherwise): how the
 * parser assembles a masked frame split across chunks, and a client masks what it sends.
 * A `source` in the SIMD read region is unmasked where it lies, then copied, so it is
 * changed — unless `keepSource`, which a sender passes: its payload may be a lent message.
 */
export function copyMasked(source: Uint8Array, target: Uint8Array, offset: number, k0: number, k1: number, k2: number, k3: number, keepSource = false): void {
  const length = source.length;
  let done = 0;
  if (simdMaskAvailable && length >= SIMD_MIN) done = xorMaskSimdInto(source, target, offset, k0, k1, k2, k3, keepSource);
  if (done === length) return;
  target.set(done === 0 ? source : source.subarray(done), offset + done);
  xorMask(target, k0, k1, k2, k3, offset + done, offset + length);
}

/**
 * The short-payload path: XOR `data[start..end)` in place with the key `k0 k1 k2 k3`, four
 * bytes per iteration, no view to allocate. Returns the unmasked bytes ORed together (bit 7
 * clear: all ASCII).
 */
export function xorBytes(data: Uint8Array, k0: number, k1: number, k2: number, k3: number, start: number, end: number): number {
  let bits = 0;
  let i = start;
  for (; i + 4 <= end; i += 4) {
    bits |= data[i]! ^= k0;
    bits |= data[i + 1]! ^= k1;
    bits |= data[i + 2]! ^= k2;
    bits |= data[i + 3]! ^= k3;
  }
  return bits | xorTail(data, k0, k1, k2, i, end);
}

/** The last 0-3 bytes, from key phase 0; returns them ORed together. */
function xorTail(data: Uint8Array, k0: number, k1: number, k2: number, i: number, end: number): number {
  let bits = 0;
  if (i < end) bits |= data[i]! ^= k0;
  if (i + 1 < end) bits |= data[i + 1]! ^= k1;
  if (i + 2 < end) bits |= data[i + 2]! ^= k2;
  return bits;
}

function keyByte(index: number, k0: number, k1: number, k2: number, k3: number): number {
  switch (index & 3) {
    case 0:
      return k0;
    case 1:
      return k1;
    case 2:
      return k2;
    default:
      return k3;
  }
}

/** The 32-bit word whose bytes, in memory order, are the key rotated to start at `index`. */
function maskWord(index: number, k0: number, k1: number, k2: number, k3: number): number {
  const b0 = keyByte(index, k0, k1, k2, k3);
  const b1 = keyByte(index + 1, k0, k1, k2, k3);
  const b2 = keyByte(index + 2, k0, k1, k2, k3);
  const b3 = keyByte(index + 3, k0, k1, k2, k3);
  return littleEndian
    ? (b0 | (b1 << 8) | (b2 << 16) | (b3 << 24)) >>> 0
    : ((b0 << 24) | (b1 << 16) | (b2 << 8) | b3) >>> 0;
}

/** Fills a byte array with cryptographically strong random bytes. */
export type RandomFill = (target: Uint8Array) => void;

/** The platform's CSPRNG (Web Crypto is a global in Node 20, browsers, Deno, Bun, workers). */
export const defaultRandomFill: RandomFill = (target) => {
  globalThis.crypto.getRandomValues(target);
};

/**
 * Hands out 4-byte masking keys (§5.3: "a fresh masking key … from a strong source of
 * entropy") from a pool refilled in bulk, so a small frame pays for no CSPRNG call and no
 * allocation: `next()` returns the offset of a fresh key within `pool`.
 */
export class MaskKeySource {
  private bytes = new Uint8Array(0);
  private used = 0;

  constructor(
    private readonly randomFill: RandomFill = defaultRandomFill,
    private readonly poolSize = 4096,
  ) {}

  /** The pool the offsets returned by `next()` refer to; replaced (never overwritten) when spent. */
  get pool(): Uint8Array {
    return this.bytes;
  }

  /** Offset in `pool` of a key no one has used. Read `pool` after calling this. */
  next(): number {
    if (this.used + 4 > this.bytes.length) {
      // Filled before it replaces the spent pool: a source that throws leaves no zeroed
      // keys behind for the next frames (§5.3: every key unpredictable).
      const fresh = new Uint8Array(this.poolSize);
      this.randomFill(fresh);
      this.bytes = fresh;
      this.used = 0;
    }
    const offset = this.used;
    this.used += 4;
    return offset;
  }
}
