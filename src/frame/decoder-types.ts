/**
 * The frame decoder's contract: the sink it reports frames to, and its options.
 * @module
 */
import type { ProtocolError } from './errors.ts';
import type { SIMD_MIN } from './mask.ts';

/** Receives what the parser finds. The connection implements it. */
export interface FrameSink {
  /**
   * A complete frame, payload unmasked. `opcode` is 0 for a continuation (§5.4). `ascii`
   * is true when unmasking showed every payload byte below 0x80 (so a text payload is valid
   * UTF-8 without a check); false when that is not known.
   */
  onFrame(opcode: number, fin: boolean, rsv1: boolean, payload: Uint8Array, ascii: boolean): void;
  /**
   * A piece of a data frame whose payload spans chunks, unmasked, as it arrives; `onFrame`
   * still follows with the whole payload. It lets text be validated before the frame ends
   * (RFC 6455 §8.1 fail-fast). `piece` is valid during the call only: it may lie in a
   * staging buffer that a later payload reuses.
   */
  onFramePart(opcode: number, rsv1: boolean, piece: Uint8Array): void;
  /** The peer broke a framing rule; the parser has stopped and ignores all further input. */
  onFrameError(error: ProtocolError): void;
  /**
   * With the `messagesAt` option: a whole uncompressed message (one frame, `fin` set) lying
   * in the chunk, shorter than {@link SIMD_MIN}, binary or text seen to be ASCII, unmasked
   * in place. `chunk` views the chunk being parsed and `start` is the payload's place in
   * it, so that the sink makes a view only if one is asked for. `onFrame` is not called.
   */
  onMessageAt?(opcode: 1 | 2, chunk: DataView, start: number, length: number): void;
}

/** Limits and role of a {@link FrameDecoder}. */
export interface FrameDecoderOptions {
  /** True on a server: every client frame must be masked, and server frames must not be (§5.1, §5.3). */
  expectMasked: boolean;
  /**
   * Largest payload of a message, a single frame or its fragments summed; larger → 1009. A
   * compressed message (RSV1) may be longer by what deflate adds to incompressible data: its
   * host holds it to the limit by its inflated size.
   */
  maxMessageSize: number;
  /** RSV1 is allowed on the first frame of a data message: an extension such as permessage-deflate was negotiated. */
  allowRsv1?: boolean;
  /**
   * Allocates the buffer a split frame is assembled in. Default `new Uint8Array(size)`;
   * a host may pass one that skips zero-filling (Node's `Buffer.allocUnsafe`), since every
   * byte is overwritten.
   */
  allocate?: (size: number) => Uint8Array;
  /** Allocates where `pushBorrowed` assembles a split frame it may lend (a host may reuse these). Default `allocate`. */
  allocateLendable?: (size: number) => Uint8Array;
  /**
   * Makes the view a payload lying whole in a chunk is handed out as. Default: the chunk's
   * own `subarray`, of its type. A host whose chunks are Node Buffers passes a cheaper
   * constructor (Buffer's `subarray` reads `.buffer` through the runtime for every view;
   * this way it is read once per chunk).
   */
  view?: PayloadView;
  /** Report whole short messages lying in a chunk through the sink's `onMessageAt`. */
  messagesAt?: boolean;
}

/** Makes a view of `length` bytes of `buffer` from `byteOffset`. */
export type PayloadView = (buffer: ArrayBufferLike, byteOffset: number, length: number) => Uint8Array;
