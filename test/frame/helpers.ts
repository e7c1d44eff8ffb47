/**
 * Shared test helpers: hex byte vectors and a frame sink that records what a decoder emits.
 * @module
 */
import fc from 'fast-check';

import { FrameDecoder, type FrameSink } from '../../src/frame/decoder.ts';
import type { ProtocolError } from '../../src/frame/errors.ts';

/** Bytes from hex digits; spaces and line breaks are ignored (`hex('81 05 48')`). */
export function hex(text: string): Uint8Array {
  const digits = text.replace(/\s+/g, '');
  if (digits.length % 2 !== 0 || /[^0-9a-fA-F]/.test(digits)) throw new Error(`bad hex: ${text}`);
  const out = new Uint8Array(digits.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(digits.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Lower-case hex digits separated by spaces, for readable assertion failures. */
export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}

/** The bytes of `text` in UTF-8. */
export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** One contiguous copy of all `parts`, in order. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** A frame as a decoder reported it, payload copied. */
export interface DecodedFrame {
  opcode: number;
  fin: boolean;
  rsv1: boolean;
  payload: Uint8Array;
}

/** A sink that records frames (payload copied), frame pieces and errors, in order. */
export class RecordingSink implements FrameSink {
  /** Unset unless a test sets it (before making its decoder) to take whole short messages. */
  onMessageAt?: FrameSink['onMessageAt'];
  frames: DecodedFrame[] = [];
  parts: { opcode: number; rsv1: boolean; piece: Uint8Array }[] = [];
  errors: ProtocolError[] = [];
  /** Every callback, in order, as a short tag: 'frame', 'part' or 'error'. */
  log: string[] = [];
  /** The payload views exactly as received (not copied), for aliasing checks. */
  views: Uint8Array[] = [];
  /** The `ascii` flag of each frame. */
  ascii: boolean[] = [];

  onFrame(opcode: number, fin: boolean, rsv1: boolean, payload: Uint8Array, ascii: boolean): void {
    this.frames.push({ opcode, fin, rsv1, payload: payload.slice() });
    this.views.push(payload);
    this.ascii.push(ascii);
    this.log.push('frame');
  }
  onFramePart(opcode: number, rsv1: boolean, piece: Uint8Array): void {
    this.parts.push({ opcode, rsv1, piece: piece.slice() });
    this.log.push('part');
  }
  onFrameError(error: ProtocolError): void {
    this.errors.push(error);
    this.log.push('error');
  }
}

/**
 * Decodes a whole byte stream. `fromClient` says who sent it: frames from a client are
 * masked and are parsed as a server would. The input is copied first.
 */
export function decodeAll(
  bytes: Uint8Array | readonly Uint8Array[],
  fromClient: boolean,
  maxMessageSize = 1 << 30,
): RecordingSink {
  const sink = new RecordingSink();
  const decoder = new FrameDecoder(sink, { expectMasked: fromClient, maxMessageSize });
  decoder.push(bytes instanceof Uint8Array ? bytes.slice() : concat(bytes));
  return sink;
}

/** A deterministic pseudo-random generator (xorshift32), so failures reproduce. */
export function seededRandom(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}

/** `length` pseudo-random bytes from `random`. */
export function randomBytes(random: () => number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = Math.floor(random() * 256);
  return out;
}

/**
 * Strings of arbitrary Unicode scalar values, evenly spread over the 1-, 2-, 3- and 4-byte
 * UTF-8 forms (fast-check's own full-Unicode unit is slow to generate), of any length up to
 * `maxLength` (fast-check's default size would keep them near ten).
 */
export function anyText(constraints: { minLength?: number; maxLength?: number } = {}): fc.Arbitrary<string> {
  const codePoint = fc.oneof(
    fc.integer({ min: 0, max: 0x7f }),
    fc.integer({ min: 0x80, max: 0x7ff }),
    fc.integer({ min: 0x800, max: 0xffff }).filter((c) => c < 0xd800 || c > 0xdfff),
    fc.integer({ min: 0x10000, max: 0x10ffff }),
  );
  return fc.array(codePoint, { size: 'max', ...constraints }).map((codePoints) => String.fromCodePoint(...codePoints));
}

/** What takes bytes both ways: as chunks, and written in place where it offers (a decoder, a connection). */
export interface InPlaceFeed {
  /** Where the next bytes may be written, at most `maxLength` of them; null: push them. */
  target(maxLength: number): Uint8Array | null;
  /** `count` bytes were written where `target` said. */
  wrote(count: number): void;
  push(chunk: Uint8Array): void;
}

/**
 * Feed `bytes`: the first `head` pushed; then, each time a place is offered, as many as it
 * takes (at most `piece`) written there; else 7 more pushed. Returns how many went in place.
 */
export function feedInPlace(feed: InPlaceFeed, bytes: Uint8Array, head: number, piece: number): number {
  feed.push(bytes.slice(0, head));
  let inPlace = 0;
  for (let at = head; at < bytes.length; ) {
    const target = feed.target(piece);
    if (target === null) {
      feed.push(bytes.slice(at, at + 7));
      at += 7;
      continue;
    }
    const count = Math.min(target.length, bytes.length - at);
    target.set(bytes.subarray(at, at + count));
    feed.wrote(count);
    at += count;
    inPlace += count;
  }
  return inPlace;
}
