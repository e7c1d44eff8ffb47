/**
 * Frame serialization, RFC 6455 §5.2. The header is written into a buffer the caller owns
 * (often a shared slab that batches many frames for one socket write); the payload travels
 * beside it, so an unmasked payload is never copied.
 * @module
 */
import { applyMask } from './mask.ts';

/** §5.2: payload lengths up to 125 fit in the 7-bit field. */
export const MAX_7BIT_LENGTH = 125;
/** §5.2: lengths up to 65535 use the 16-bit extended field (marker 126). */
export const MAX_16BIT_LENGTH = 0xffff;
/** The largest header: 2 bytes, a 64-bit length and a 4-byte masking key. */
export const MAX_HEADER_LENGTH = 14;

/** Number of header bytes for a frame whose payload has `payloadLength` bytes (§5.2). */
export function headerLength(payloadLength: number, masked: boolean): number {
  const base = payloadLength <= MAX_7BIT_LENGTH ? 2 : payloadLength <= MAX_16BIT_LENGTH ? 4 : 10;
  return masked ? base + 4 : base;
}

/**
 * Writes a frame header at `target[offset]` and returns the offset just after it.
 * `maskKey` (4 bytes from `maskKeyOffset`) sets the MASK bit and is copied into the header (§5.3); the payload
 * itself is masked by the caller. The minimal length encoding is always used (§5.2).
 */
export function writeHeader(
  target: Uint8Array,
  offset: number,
  opcode: number,
  fin: boolean,
  rsv1: boolean,
  payloadLength: number,
  maskKey: Uint8Array | null,
  maskKeyOffset = 0,
): number {
  target[offset] = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode;
  const maskBit = maskKey === null ? 0 : 0x80;
  let at = offset + 2;
  if (payloadLength <= MAX_7BIT_LENGTH) {
    target[offset + 1] = maskBit | payloadLength;
  } else if (payloadLength <= MAX_16BIT_LENGTH) {
    target[offset + 1] = maskBit | 126;
    target[at] = payloadLength >>> 8;
    target[at + 1] = payloadLength & 0xff;
    at += 2;
  } else {
    target[offset + 1] = maskBit | 127;
    writeUint32(target, at, Math.floor(payloadLength / 0x1_0000_0000));
    writeUint32(target, at + 4, payloadLength >>> 0);
    at += 8;
  }
  if (maskKey !== null) {
    target[at] = maskKey[maskKeyOffset]!;
    target[at + 1] = maskKey[maskKeyOffset + 1]!;
    target[at + 2] = maskKey[maskKeyOffset + 2]!;
    target[at + 3] = maskKey[maskKeyOffset + 3]!;
    at += 4;
  }
  return at;
}

function writeUint32(target: Uint8Array, at: number, value: number): void {
  target[at] = value >>> 24;
  target[at + 1] = (value >>> 16) & 0xff;
  target[at + 2] = (value >>> 8) & 0xff;
  target[at + 3] = value & 0xff;
}

/** One frame to serialize. */
export interface FrameSpec {
  /** The opcode (§5.2), normally one of {@link Opcode}. */
  opcode: number;
  /** The payload (application data, after any extension has transformed it). */
  payload: Uint8Array;
  /** FIN: last frame of its message. Default true. */
  fin?: boolean;
  /** RSV1: set by permessage-deflate on the first frame of a compressed message. Default false. */
  rsv1?: boolean;
  /** A 4-byte masking key; clients must mask every frame (§5.3). Default: unmasked. */
  maskKey?: Uint8Array | null;
}

/**
 * Serializes a frame as its header and its payload. Unmasked, the payload returned is the
 * caller's own array (no copy); masked, it is a masked copy, never the caller's data. Any
 * 4-bit opcode is written, reserved ones too (to build frames a peer must refuse); one that
 * does not fit in 4 bits, or a masking key that is not 4 bytes, is a `RangeError`.
 */
export function encodeFrameParts(frame: FrameSpec): [header: Uint8Array, payload: Uint8Array] {
  const maskKey = frame.maskKey ?? null;
  // §5.2: 4 bits of opcode, else it would spill into the RSV bits; §5.3: a 32-bit key.
  if (!(Number.isInteger(frame.opcode) && frame.opcode >= 0 && frame.opcode <= 0x0f)) throw new RangeError(`an opcode is 4 bits (RFC 6455 §5.2), got ${frame.opcode}`);
  if (maskKey !== null && maskKey.length !== 4) throw new RangeError(`a masking key is 4 bytes (RFC 6455 §5.3), got ${maskKey.length}`);
  const header = new Uint8Array(headerLength(frame.payload.length, maskKey !== null));
  writeHeader(header, 0, frame.opcode, frame.fin ?? true, frame.rsv1 ?? false, frame.payload.length, maskKey);
  if (maskKey === null) return [header, frame.payload];
  // A copy, whatever the payload's class (a Node Buffer's slice() would be a view).
  const masked = new Uint8Array(frame.payload);
  applyMask(masked, maskKey);
  return [header, masked];
}

/** Serializes a frame into one new contiguous array: convenient for tests and tools. */
export function encodeFrame(frame: FrameSpec): Uint8Array {
  const [header, payload] = encodeFrameParts(frame);
  const out = new Uint8Array(header.length + payload.length);
  out.set(header, 0);
  out.set(payload, header.length);
  return out;
}
