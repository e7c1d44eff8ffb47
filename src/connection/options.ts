/**
 * The options of a `Connection`: its limits and the hooks a host may supply.
 * @module
 */
import { allocateZeroed, type PayloadView } from '../frame/decoder.ts';
import type { RandomFill } from '../frame/mask.ts';
import type { MessageCompression } from './compression.ts';
import { describeOptionValue } from './errors.ts';
import { checkMaxQueuedPongs, DEFAULT_MAX_QUEUED_PONGS } from './pongs.ts';

/** Limits and behaviour of a `Connection`. */
export interface ConnectionOptions {
  /**
   * Largest message accepted, in bytes, whether in one frame or fragments summed. Larger
   * fails the connection with 1009, decided from the frame header before any payload is
   * buffered. A compressed message is held to it by its inflated size, checked while
   * inflating; on the wire it may take what deflate adds to data it cannot compress. Default
   * 64 MiB: enough for any realistic message, small enough that one connection cannot take
   * the process's memory.
   */
  maxPayload?: number;
  /** Deliver each data frame as it arrives (`fin` false until the last) instead of whole messages. */
  fragments?: boolean;
  /** Source of random bytes for client masking keys; default Web Crypto's `getRandomValues`. */
  randomFill?: RandomFill;
  /**
   * The per-message compression negotiated in the handshake (RFC 7692), if any: it makes
   * RSV1 legal on the first frame of a data message and compresses outgoing messages.
   */
  compression?: MessageCompression;
  /**
   * Allocates the buffers received data is assembled in (split frames, fragmented
   * messages) and large outgoing frames are written into. Default `new Uint8Array(size)`;
   * Node's `Buffer.allocUnsafe` skips the zero-fill, since every byte is overwritten.
   */
  allocate?: (size: number) => Uint8Array;
  /**
   * Allocates the buffer a whole message in one frame, split across chunks, is assembled in
   * while `receiveBorrowed` may lend it (the frame decoder's `allocateLendable`). Default `allocate`.
   */
  allocateLendable?: (size: number) => Uint8Array;
  /**
   * Makes the views whole payloads are handed out as (the frame decoder's `view` option),
   * and the chunks of the shared output slab that `takeOutgoing` returns. Default: the
   * received chunk's own `subarray`, and plain Uint8Arrays.
   */
  view?: PayloadView;
  /**
   * Do not answer the peer's close frame at once: stay OPEN (still able to send) until the
   * caller calls `replyToClose()` or `close()`. RFC 6455 §5.5.1 lets an endpoint finish
   * sending its current message first; a host whose application reads messages
   * asynchronously uses this so that a reply to the last message is not cut off.
   */
  deferCloseReply?: boolean;
  /**
   * A fast validator of whole UTF-8 buffers supplied by the host (Node's `buffer.isUtf8`,
   * tens of GB/s). Default: the portable byte-wise validator of `frame/utf8`.
   */
  isUtf8?: (data: Uint8Array) => boolean;
  /**
   * Pongs queued between two `takeOutgoing()` calls before the connection answers only the
   * most recent ping (RFC 6455 §5.5.3 allows it): a ping flood then costs one pong per
   * write, not one per ping. Default {@link DEFAULT_MAX_QUEUED_PONGS} (16).
   */
  maxQueuedPongs?: number;
}

/** Default {@link ConnectionOptions.maxPayload}: 64 MiB. */
export const DEFAULT_MAX_PAYLOAD = 64 * 1024 * 1024;

/**
 * {@link ConnectionOptions} checked and resolved once, to be shared: a host that makes many
 * connections alike (a server) passes the same settings to each, and each connection then
 * holds one reference instead of a field per option. Frozen, so that no connection sees
 * another's change. Connections given plain options make settings of their own.
 */
export class ConnectionSettings {
  /** See {@link ConnectionOptions.maxPayload}. */
  readonly maxPayload: number;
  /** See {@link ConnectionOptions.fragments}. */
  readonly fragments: boolean;
  /** See {@link ConnectionOptions.randomFill}. */
  readonly randomFill: RandomFill | undefined;
  /** See {@link ConnectionOptions.compression}: settings with one belong to one connection. */
  readonly compression: MessageCompression | null;
  /** See {@link ConnectionOptions.allocate}. */
  readonly allocate: (size: number) => Uint8Array;
  /** See {@link ConnectionOptions.allocateLendable}. */
  readonly allocateLendable: ((size: number) => Uint8Array) | undefined;
  /** See {@link ConnectionOptions.view}. */
  readonly view: PayloadView | undefined;
  /** See {@link ConnectionOptions.deferCloseReply}. */
  readonly deferCloseReply: boolean;
  /** See {@link ConnectionOptions.isUtf8}: null for the portable validator. */
  readonly isUtf8: ((data: Uint8Array) => boolean) | null;
  /** See {@link ConnectionOptions.maxQueuedPongs}. */
  readonly maxQueuedPongs: number;

  /**
   * @throws {RangeError} for a `maxPayload` that is not a number of bytes, or a `maxQueuedPongs` under 1.
   * @throws {TypeError} for boolean options given as anything but true or false, and hooks that are no functions.
   */
  constructor(options: ConnectionOptions = {}) {
    const maxPayload = options.maxPayload ?? DEFAULT_MAX_PAYLOAD;
    // '8' or true would otherwise compare as numbers.
    if (typeof maxPayload !== 'number' || !(maxPayload >= 0)) throw new RangeError(`maxPayload must be a number of bytes, got ${describeOptionValue(maxPayload)}`);
    this.maxPayload = maxPayload;
    this.fragments = flag('fragments', options.fragments);
    for (const hook of ['randomFill', 'allocate', 'allocateLendable', 'view', 'isUtf8'] as const) {
      if (options[hook] != null && typeof options[hook] !== 'function') throw new TypeError(`${hook} must be a function, got ${describeOptionValue(options[hook])}`);
    }
    this.randomFill = options.randomFill;
    this.compression = options.compression ?? null;
    this.allocate = options.allocate ?? allocateZeroed;
    this.allocateLendable = options.allocateLendable;
    this.view = options.view;
    this.deferCloseReply = flag('deferCloseReply', options.deferCloseReply);
    this.isUtf8 = options.isUtf8 ?? null;
    this.maxQueuedPongs = checkMaxQueuedPongs(options.maxQueuedPongs ?? DEFAULT_MAX_QUEUED_PONGS);
    Object.freeze(this);
  }
}

/** A boolean option: absent (or null) is false; anything but true or false is refused, as the string "false" would be taken for true. */
function flag(name: string, value: boolean | undefined): boolean {
  if (value == null) return false;
  if (typeof value !== 'boolean') throw new TypeError(`${name} must be true or false, got ${describeOptionValue(value)}`);
  return value;
}
