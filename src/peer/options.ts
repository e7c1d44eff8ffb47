/**
 * Options shared by every factory that makes a peer, with their defaults and the reason
 * for each.
 * @module
 */
import { DEFAULT_MAX_PAYLOAD, DEFAULT_MAX_QUEUED_PONGS } from '../connection/connection.ts';
import { describeOptionValue } from '../connection/errors.ts';
import { resolveDeflateOptions, type DeflateOptions, type ResolvedDeflateOptions } from '../extensions/permessage-deflate/params.ts';

/** Options of a peer, accepted by `server`, `bind`, `connect`, `wrap` and `handleUpgrade`. */
export interface PeerOptions {
  /** Largest message accepted, in bytes; larger closes with 1009. Default 64 MiB. */
  maxPayload?: number;
  /**
   * Send a ping every this many milliseconds; a peer from which nothing at all arrives
   * during the following period is dropped and reported closed with 1006. Not while its
   * unread messages are over `highWaterMark`: reading is paused, and its answers wait
   * behind them. Nor while our unsent bytes are over `highWaterMark` and the kernel keeps
   * taking them: the peer reads, only slowly, and our ping waits behind them.
   * Default 0 (off).
   */
  pingFrequency?: number;
  /** Deliver each data frame as it arrives instead of whole messages (see `Peer.read`). Default false. */
  fragments?: boolean;
  /**
   * Send-buffer level in bytes above which `write` waits for the socket to drain before it
   * resolves and `send` answers `'backpressure'`. On a server, a send or write made on a
   * buffer already over it ignores that backpressure, and pauses reading until the buffer
   * is back under, so that a client that never reads cannot make it pile up echoes; a
   * write that waits (or `drained()`) pauses nothing, and a client never stops reading for
   * its own backlog, so the library never stalls two peers streaming to each other (an
   * application still can, if at both ends its only reader waits on its own writes).
   * Over it, pongs are held, and only the latest ping is answered once it drains (RFC 6455
   * §5.5.3). Reading pauses too above this many bytes of unread messages, each counting
   * its payload plus 256 bytes (what it costs in memory; so that empty ones count). Default 1 MiB.
   */
  highWaterMark?: number;
  /**
   * Hard cap in bytes on data waiting to be sent: a write that would pass it is refused
   * with `BufferFullError` (unless nothing is waiting, so one large message can always go).
   * Default 64 MiB.
   */
  maxBufferedAmount?: number;
  /**
   * What happens to a send that would pass `maxBufferedAmount` or `memoryLimit`: false
   * (default) refuses that send (`'dropped'`, `BufferFullError`) and keeps the connection,
   * for applications that skip messages to slow readers; true drops the peer at once — its
   * socket destroyed, reported closed with 1006 — since a peer that far behind rarely
   * catches up (uWebSockets' `closeOnBackpressureLimit`).
   */
  closeOnBufferFull?: boolean;
  /**
   * Pongs queued between two writes before only the most recent ping is answered (RFC 6455
   * §5.5.3 allows it), so a ping flood costs one pong per write. Default 16.
   */
  maxQueuedPongs?: number;
  /** Milliseconds `shutdown` waits for the closing handshake by default. Default 5000. */
  closeTimeout?: number;
  /**
   * One budget, in bytes, for everything a connection holds: the message being received
   * (a split frame, fragments, inflated output), messages received and not yet read, and
   * bytes waiting to be sent. A message that would pass what is left fails with 1009,
   * decided from its header; a send that would pass it is refused. Default:
   * `maxPayload + maxBufferedAmount + highWaterMark` (the other limits then decide).
   */
  memoryLimit?: number;
  /**
   * permessage-deflate (RFC 7692): `true` or settings to offer it (client) or accept it
   * (server). Default off: compression trades CPU for bandwidth, and is worth it only
   * where bandwidth is the bottleneck.
   */
  deflate?: boolean | DeflateOptions;
  /**
   * Once the socket has read 64 KiB, read into the library's own memory: one region shared
   * by every socket, where long payloads are unmasked in place (see the README's
   * Performance). Default true. The switch goes through two Node internals, checked for
   * first; `false` keeps Node's own reads whatever the Node.
   */
  lentReads?: boolean;
  /**
   * Lend messages to `onMessage` callbacks rather than give them: a message passed to the
   * callback is valid only until it returns (its synchronous part), and using it after
   * throws a `MessageExpiredError`. In return, a long message read in bulk is passed as it
   * lies in the read buffer, with no copy, and sending it on (`send` / `write`, to this
   * peer or others) during the call writes it straight from there, copying only what the
   * kernel does not take at once. A message of one frame split across reads is assembled
   * in a buffer lent the same way and reused for later messages (up to 16 MiB of such
   * buffers are kept per process). Copy what you keep (`Buffer.from(message.data)`); a view
   * taken of `data` is not guarded, and may change once the callback returns. Messages
   * taken with `read` are never lent. Default false. Needs `lentReads` (refused without).
   */
  lentMessages?: boolean;
  /**
   * Told of an exception thrown by an `onMessage` callback or a connection handler, or of
   * the rejection of a promise either returned; the connection is then closed with 1011.
   * Default: printed to stderr. Either way it never takes the process down.
   */
  onError?: (error: unknown) => void;
}

/** The options with every default applied. */
export interface ResolvedPeerOptions {
  maxPayload: number;
  pingFrequency: number;
  fragments: boolean;
  highWaterMark: number;
  maxBufferedAmount: number;
  closeOnBufferFull: boolean;
  maxQueuedPongs: number;
  closeTimeout: number;
  memoryLimit: number;
  deflate: ResolvedDeflateOptions | null;
  lentReads: boolean;
  lentMessages: boolean;
  onError: (error: unknown) => void;
}

/** Default send-buffer high-water mark: 1 MiB. */
export const DEFAULT_HIGH_WATER_MARK = 1024 * 1024;
/** Default cap on data waiting to be sent: 64 MiB. */
export const DEFAULT_MAX_BUFFERED = 64 * 1024 * 1024;
/** Default time for the closing handshake: 5 s. */
export const DEFAULT_CLOSE_TIMEOUT = 5000;

/**
 * The longest delay a Node timer keeps (2³¹ − 1 ms, about 24.8 days): a longer one fires
 * after 1 ms instead, so time options are refused past it.
 */
export const MAX_TIMER_MS = 2_147_483_647;

/** `value` as a timer's milliseconds: above zero (or zero, if `zeroAllowed`) and at most {@link MAX_TIMER_MS}. */
export function timerMilliseconds(name: string, value: number, zeroAllowed = false): number {
  // A string such as '300' would compare as a number here, then concatenate in `now + value`.
  if (typeof value !== 'number' || !(value > 0 || (zeroAllowed && value === 0)) || !(value <= MAX_TIMER_MS)) {
    throw new RangeError(`${name} must be a number of milliseconds ${zeroAllowed ? 'from 0' : 'above 0'} up to ${MAX_TIMER_MS}, got ${describeOptionValue(value)}`);
  }
  return value;
}

/**
 * A timeout given to one call (`read`, `write`, `shutdown`, `accept`) as a timer's delay:
 * undefined, meaning none, for undefined and for anything past {@link MAX_TIMER_MS}
 * (Infinity included: a wait that long is no limit); a RangeError for a negative number, NaN, or what is not a number.
 */
export function callTimeout(operation: string, timeout: number | undefined): number | undefined {
  if (timeout === undefined) return undefined;
  // null or '5' would otherwise act as 0 or as a number.
  if (typeof timeout !== 'number' || !(timeout >= 0)) throw new RangeError(`${operation}: the timeout must be a number of milliseconds ≥ 0, got ${describeOptionValue(timeout)}`);
  return timeout > MAX_TIMER_MS ? undefined : timeout;
}

/** Apply the defaults and check the values. */
export function resolvePeerOptions(options: PeerOptions = {}): ResolvedPeerOptions {
  const maxPayload = positive('maxPayload', options.maxPayload ?? DEFAULT_MAX_PAYLOAD);
  const highWaterMark = positive('highWaterMark', options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK);
  const maxBufferedAmount = positive('maxBufferedAmount', options.maxBufferedAmount ?? DEFAULT_MAX_BUFFERED);
  const lentReads = flag('lentReads', options.lentReads, true);
  const lentMessages = flag('lentMessages', options.lentMessages, false);
  // Messages are lent from the region the reads fill: without those reads nothing would be.
  if (lentMessages && !lentReads) throw new TypeError('lentMessages needs lentReads: messages are lent from the memory the reads fill');
  return {
    maxPayload,
    pingFrequency: timerMilliseconds('pingFrequency', options.pingFrequency ?? 0, true),
    fragments: flag('fragments', options.fragments, false),
    highWaterMark,
    maxBufferedAmount,
    closeOnBufferFull: flag('closeOnBufferFull', options.closeOnBufferFull, false),
    maxQueuedPongs: atLeastOne('maxQueuedPongs', options.maxQueuedPongs ?? DEFAULT_MAX_QUEUED_PONGS),
    closeTimeout: timerMilliseconds('closeTimeout', options.closeTimeout ?? DEFAULT_CLOSE_TIMEOUT),
    memoryLimit: positive('memoryLimit', options.memoryLimit ?? maxPayload + maxBufferedAmount + highWaterMark),
    deflate: options.deflate == null || options.deflate === false ? null : resolveDeflateOptions(options.deflate),
    lentReads,
    lentMessages,
    onError: guardedReporter(options.onError),
  };
}

/**
 * The application's `onError`, made safe to call from a socket's callbacks: one that throws
 * is reported to stderr rather than taking the process down; one that is not a function is
 * refused here, not at the first error.
 */
function guardedReporter(onError: ((error: unknown) => void) | undefined): (error: unknown) => void {
  if (onError == null) return reportToStderr;
  if (typeof onError !== 'function') throw new TypeError(`onError must be a function, got ${typeof onError}`);
  return (error) => {
    try {
      onError(error);
    } catch (thrown) {
      console.error('wspeer: onError threw', thrown);
    }
  };
}

/**
 * A boolean option, or its default when absent (undefined or null, as `??` takes the
 * others). Anything else is refused: taken by its truthiness, `'false'` (from an
 * environment variable, say) would switch the option on.
 */
export function flag(name: string, value: boolean | undefined, fallback: boolean): boolean {
  if (value == null) return fallback;
  if (typeof value !== 'boolean') throw new TypeError(`${name} must be true or false, got ${describeOptionValue(value)}`);
  return value;
}

/** The `tls` option is absent or an object: checked for `ws://` URLs too, where it is not used. */
export function checkTlsOption(value: unknown): void {
  if (value != null && typeof value !== 'object') throw new TypeError(`tls must be an object of TLS options, got ${describeOptionValue(value)}`);
}

/**
 * A list of strings given as an array, or one string as a list of one (as browsers take
 * `new WebSocket(url, 'chat')`). Anything else is refused: a string iterated would be its
 * characters.
 */
export function stringList(name: string, value: string | readonly string[] | undefined): readonly string[] | undefined {
  if (value == null) return undefined; // absent, as `??` takes null for the other options
  if (Array.isArray(value) && value.every((item) => typeof item === 'string')) return value;
  if (typeof value === 'string') return [value];
  throw new TypeError(`${name} must be a string or an array of strings, got ${describeOptionValue(value)}`);
}

function positive(name: string, value: number): number {
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) throw new RangeError(`${name} must be a positive number, got ${describeOptionValue(value)}`);
  return value;
}

function atLeastOne(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a whole number of at least 1, got ${describeOptionValue(value)}`);
  return value;
}

function reportToStderr(error: unknown): void {
  console.error('wspeer: application callback failed:', error);
}
