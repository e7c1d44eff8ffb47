/**
 * The sending half of a connection: frames serialized straight into the output queue,
 * masked on the client (RFC 6455 §5.3), compressed when an extension says so (RFC 7692).
 * It knows nothing of the connection's state; the connection decides what may be sent.
 * @module
 */
import type { PayloadView } from '../frame/decoder.ts';
import { headerLength, MAX_HEADER_LENGTH, writeHeader } from '../frame/encoder.ts';
import { copyMasked, MaskKeySource, SIMD_MIN, WORD_LOOP_MIN, WORD_VIEW_MIN, xorMask, xorMaskWords, type RandomFill } from '../frame/mask.ts';
import { Opcode } from '../frame/opcode.ts';
import type { MessageCompression } from './compression.ts';
import { describeOptionValue } from './errors.ts';
import { OutputQueue } from './output.ts';

/** Payloads at least this long are queued as they are (by reference) rather than copied next to their header. */
export const COPY_LIMIT = 4096;
const EMPTY = new Uint8Array(0);
const encoder = new TextEncoder();

// Writers of connections with nothing queued (see `FrameWriter.rest`), for the next that sends.
const resting: FrameWriter[] = [];
const MAX_RESTING = 16;

/** See the module comment. */
export class FrameWriter {
  /** Made at the first frame: a connection that never sends holds none. */
  private queue: OutputQueue | null = null;
  private readonly keys: MaskKeySource | null;

  /**
   * `masked`: this is a client, whose frames carry a fresh masking key each (§5.3);
   * `allocate` makes the buffers of frames too large for the shared slab, `view` the
   * chunks of slab regions (see {@link OutputQueue}).
   */
  constructor(
    masked: boolean,
    randomFill: RandomFill | undefined,
    private compression: MessageCompression | null,
    private allocate?: (size: number) => Uint8Array,
    private view?: PayloadView,
  ) {
    this.keys = masked ? new MaskKeySource(randomFill) : null;
  }

  /**
   * An unmasked (server) writer: a resting one bound to these settings, else a new one. A
   * server connection holds its writer only while it has something queued, so an idle one,
   * however much it sent before, holds none (160 bytes less: the writer and its queue).
   */
  static take(compression: MessageCompression | null, allocate?: (size: number) => Uint8Array, view?: PayloadView): FrameWriter {
    const writer = resting.pop();
    if (writer === undefined) return new FrameWriter(false, undefined, compression, allocate, view);
    writer.compression = compression;
    writer.allocate = allocate;
    writer.view = view;
    writer.queue?.bind(allocate, view);
    return writer;
  }

  /**
   * Give back a writer taken with {@link FrameWriter.take} whose output was all taken; the
   * caller drops it. It lets go of the connection's compression and the host's hooks, which
   * `take` sets again: either may refer to the connection, and keep it alive once closed.
   */
  static rest(writer: FrameWriter): void {
    if (resting.length >= MAX_RESTING || writer.size !== 0 || writer.keys !== null) return;
    writer.compression = null;
    writer.allocate = undefined;
    writer.view = undefined;
    writer.queue?.bind();
    resting.push(writer);
  }

  /** The output queue, made on first use. */
  private get output(): OutputQueue {
    return (this.queue ??= new OutputQueue(this.allocate, this.view));
  }

  /** Bytes queued and not yet taken. */
  get size(): number {
    return this.queue === null ? 0 : this.queue.size;
  }

  /** Drop everything queued: the transport that was to write it is gone. */
  discard(): void {
    this.queue?.clear();
  }

  /** Everything queued, as chunks for one vectored write. */
  take(): Uint8Array[] {
    return this.queue === null ? [] : this.queue.take();
  }

  /** Everything queued, into `target` from index 0; returns how many chunks. */
  takeInto(target: Uint8Array[]): number {
    return this.queue === null ? 0 : this.queue.takeInto(target);
  }

  /** A text message in one frame; short ones are encoded straight into the output, beside their header. */
  text(text: string): void {
    if (text.length <= COPY_LIMIT && !this.compresses(text.length * 3)) this.smallText(text);
    else this.message(Opcode.Text, encoder.encode(text), undefined);
  }

  /**
   * A data message in frames of at most `fragmentSize` bytes (one frame without it),
   * compressed first when it reaches the extension's threshold.
   */
  message(opcode: number, data: Uint8Array, fragmentSize: number | undefined): void {
    // Before the compressor is fed: its context must stay in step with the peer's (RFC 7692 §7.2.2).
    if (fragmentSize !== undefined && !(Number.isInteger(fragmentSize) && fragmentSize >= 1)) throw new RangeError(`fragmentSize must be a whole number of at least 1, got ${describeOptionValue(fragmentSize)}`);
    // RFC 7692 §6.1: RSV1 marks the first frame of a compressed message, whatever its fragments.
    let compressed = this.compresses(data.length);
    if (compressed) {
      const deflated = this.compression!.compress(data);
      if (deflated === null) compressed = false;
      else data = deflated;
    }
    if (fragmentSize === undefined || data.length <= fragmentSize) {
      this.frame(opcode, true, data, compressed);
      return;
    }
    for (let at = 0; at < data.length; at += fragmentSize) {
      const end = Math.min(at + fragmentSize, data.length);
      this.frame(at === 0 ? opcode : Opcode.Continuation, end === data.length, data.subarray(at, end), compressed && at === 0);
    }
  }

  /**
   * A whole message whose payload is `length` bytes of `chunk` from `start` (a message
   * received and relayed as it is): a short one on a server is copied from there beside its
   * header a word at a time, with no view made of it.
   */
  messageAt(opcode: number, chunk: DataView, start: number, length: number): void {
    const out = this.output;
    // Checked before anything is reserved: a failed call must leave nothing queued.
    // Whole numbers: a fraction would move the shared slab's fill to a fractional offset, and
    // every later header written there, for any connection, would be dropped byte by byte.
    if (!(Number.isInteger(start) && Number.isInteger(length) && start >= 0 && length >= 0 && start + length <= chunk.byteLength)) {
      throw new RangeError(`bytes ${start}..${start + length} are not whole offsets within the ${chunk.byteLength} bytes given`);
    }
    if (this.keys === null && length < COPY_LIMIT && !this.compresses(length)) {
      const at = out.reserve(headerLength(length, false) + length);
      // A reservation this short is always in the shared slab, which has a word view.
      copyWords(chunk, start, out.words!, writeHeader(out.buffer, at, opcode, true, false, length, null), length);
      return;
    }
    this.message(opcode, new Uint8Array(chunk.buffer, chunk.byteOffset + start, length), undefined);
  }

  /** A message framed elsewhere as a server frames it: queued as it is unless this side masks or compresses it. */
  framed(opcode: number, frame: Uint8Array, payload: Uint8Array): void {
    if (this.keys !== null) return this.message(opcode, payload, undefined);
    if (this.compresses(payload.length)) {
      const deflated = this.compression!.compress(payload);
      // Declined (it would grow): the frame as made, never the caller's payload by reference.
      if (deflated !== null) return this.frame(opcode, true, deflated, true);
    }
    this.output.append(frame);
  }

  /** A close frame (§5.5.1): empty without a code, else the code and the reason's bytes. */
  close(code: number | null, reason: Uint8Array): void {
    if (code === null) {
      this.frame(Opcode.Close, true, EMPTY);
      return;
    }
    const body = new Uint8Array(2 + reason.length);
    body[0] = code >>> 8;
    body[1] = code & 0xff;
    body.set(reason, 2);
    this.frame(Opcode.Close, true, body);
  }

  /** One frame: copied beside its header when small or masked, else queued as it is. */
  frame(opcode: number, fin: boolean, payload: Uint8Array, rsv1 = false): void {
    if (this.keys !== null) {
      this.maskedFrame(opcode, fin, payload, rsv1, this.keys);
      return;
    }
    const length = payload.length;
    const out = this.output;
    if (length >= COPY_LIMIT) {
      const at = out.reserve(headerLength(length, false));
      writeHeader(out.buffer, at, opcode, fin, rsv1, length, null);
      out.append(payload);
      return;
    }
    const at = out.reserve(headerLength(length, false) + length);
    const buffer = out.buffer;
    buffer.set(payload, writeHeader(buffer, at, opcode, fin, rsv1, length, null));
  }

  /** A client's frame (§5.3): masked into the output, so the caller's bytes are left as they were. */
  private maskedFrame(opcode: number, fin: boolean, payload: Uint8Array, rsv1: boolean, keys: MaskKeySource): void {
    const length = payload.length;
    const out = this.output;
    const keyAt = keys.next();
    const at = out.reserve(headerLength(length, true) + length);
    const buffer = out.buffer;
    const key = keys.pool;
    const start = writeHeader(buffer, at, opcode, fin, rsv1, length, key, keyAt);
    if (length >= WORD_LOOP_MIN && length < SIMD_MIN) {
      // Through the slab's word view: `xorMask` would make a word view of its own per frame.
      buffer.set(payload, start);
      this.maskAt(buffer, start, start + length, key, keyAt);
    } else {
      // Short ones byte by byte; long ones copied and masked in one pass.
      copyMasked(payload, buffer, start, key[keyAt]!, key[keyAt + 1]!, key[keyAt + 2]!, key[keyAt + 3]!, true);
    }
  }

  /** Whether a message of `length` bytes would go compressed. */
  private compresses(length: number): boolean {
    return this.compression !== null && length >= this.compression.threshold;
  }

  private smallText(text: string): void {
    const keys = this.keys;
    const out = this.output;
    const maxBytes = text.length * 3;
    // Guess the header for ASCII (one byte per char); move the payload if the guess was short.
    const guess = headerLength(text.length, keys !== null);
    // The key first: if the entropy source throws, nothing is reserved.
    const keyAt = keys === null ? 0 : keys.next();
    const at = out.reserve(MAX_HEADER_LENGTH + maxBytes);
    const buffer = out.buffer;
    const written = encoder.encodeInto(text, buffer.subarray(at + guess, at + guess + maxBytes)).written;
    const header = headerLength(written, keys !== null);
    if (header !== guess) buffer.copyWithin(at + header, at + guess, at + guess + written);
    const start = writeHeader(buffer, at, Opcode.Text, true, false, written, keys === null ? null : keys.pool, keyAt);
    if (keys !== null) this.maskAt(buffer, start, start + written, keys.pool, keyAt);
    out.release(MAX_HEADER_LENGTH + maxBytes - header - written);
  }

  /** Mask `buffer[start..end)` in place; mid-sized payloads in the slab go through its word view. */
  private maskAt(buffer: Uint8Array, start: number, end: number, key: Uint8Array, keyAt: number): void {
    const k0 = key[keyAt]!;
    const k1 = key[keyAt + 1]!;
    const k2 = key[keyAt + 2]!;
    const k3 = key[keyAt + 3]!;
    const length = end - start;
    const words = length >= WORD_VIEW_MIN && length < SIMD_MIN ? this.output.words : null;
    if (words !== null) xorMaskWords(words, buffer, k0, k1, k2, k3, start, end);
    else xorMask(buffer, k0, k1, k2, k3, start, end);
  }
}

/** Copy `length` bytes from `source` at `from` to `target` at `to`, 32 bits at a time. */
function copyWords(source: DataView, from: number, target: DataView, to: number, length: number): void {
  let i = 0;
  // Int32, not Uint32: values past 2^31 would leave the small-integer range.
  for (; i + 8 <= length; i += 8) {
    target.setInt32(to + i, source.getInt32(from + i));
    target.setInt32(to + i + 4, source.getInt32(from + i + 4));
  }
  for (; i < length; i++) target.setInt8(to + i, source.getInt8(from + i));
}
