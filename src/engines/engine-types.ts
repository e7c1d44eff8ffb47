/**
 * The client engine's public shapes: its states, the callbacks the application gives it
 * and what they are told, its options, and the error of an engine that stopped.
 * @module
 */
import type { ConnectOptions } from '../client/connect.ts';
import type { ProtocolError } from '../frame/errors.ts';
import type { Message } from '../peer/message.ts';
import type { Peer } from '../peer/peer.ts';
import type { ReconnectOptions } from './backoff.ts';

/**
 * The URL of each attempt, asked for before it is made: one that changes between
 * connections, such as a short-lived token in its query, or the next host of a pool. It may
 * return a promise (a token to fetch first), which the attempt's `timeout` bounds too; a
 * throw, a rejection or a timeout fails that attempt, told to `onError` and retried like
 * any other. `stop()` does not wait for it.
 */
export type EngineUrlSource = () => string | URL | Promise<string | URL>;

/** Where an engine is: connecting, open, waiting to retry, or stopped for good. */
export type EngineState = 'connecting' | 'open' | 'waiting' | 'stopped';

/** What the engine knows when a connection opens. */
export interface EngineOpenInfo {
  /** Attempts made so far, this one included (1 for the first). */
  attempt: number;
  /** Whether an earlier connection of this engine had opened. */
  reconnected: boolean;
}

/** How a connection ended. */
export interface EngineCloseInfo {
  /** The server's close code; 1006 if the connection ended without a close frame. */
  code: number;
  /** The server's close reason, '' if none. */
  reason: string;
  /** The server's protocol violation that failed the connection, if any (we sent its close code). */
  error: ProtocolError | null;
  /** Closed by {@link ClientEngine.stop}. */
  byStop: boolean;
  /** Whether the engine will connect again. */
  willReconnect: boolean;
  /**
   * Messages of this connection that were not handed to `onMessage`; they stay in the peer,
   * for its `read()`. Zero unless the engine was paused or stopped, `onOpen` or `onMessage`
   * failed, or no message could be handed over for `closeTimeout` after the connection was
   * lost (an `onOpen`, or `onMessage` handlers holding every `concurrency` slot, still pending).
   */
  undelivered: number;
}

/** Where an error reported to `onError` came from, and what the engine does next. */
export interface EngineErrorInfo {
  /**
   * `connect`: an attempt failed (refused, timed out, no upgrade); `open`, `message`,
   * `close`: the application's callback threw (for `open` and `message` the connection
   * is then closed with 1011).
   */
  phase: 'connect' | 'open' | 'message' | 'close';
  /** Attempts made so far. */
  attempt: number;
  /** For `connect`: milliseconds until the next attempt, or null if the engine gives up. */
  retryIn: number | null;
}

/** The application's side of an engine; every callback is optional. */
export interface EngineCallbacks {
  /**
   * A connection opened (the first, or a reconnection). No message reaches `onMessage`
   * until this returns or its promise settles, so it can send a login or subscriptions and
   * read the answers by hand (`peer.read(timeout)`); messages it leaves unread go to
   * `onMessage` next, in order. If it throws, the connection is closed with 1011 and the
   * engine tries again.
   */
  onOpen?(peer: Peer, info: EngineOpenInfo): void | Promise<void>;
  /**
   * A message arrived on the current connection. If it throws, or the promise it returns
   * rejects, the connection is closed with 1011. How many of its promises may be pending at
   * once is the `concurrency` option's to say.
   */
  onMessage?(message: Message, peer: Peer): void | Promise<void>;
  /** A connection that had opened ended. */
  onClose?(info: EngineCloseInfo): void;
  /**
   * An attempt failed, or a callback threw. Default: callbacks' exceptions are printed to
   * stderr; failed attempts are silent (they are expected while a server is away).
   */
  onError?(error: unknown, info: EngineErrorInfo): void;
}

/** Options of {@link startClientEngine}: those of `connect` but `signal` (`stop()` cancels an attempt), and when to reconnect. */
export interface EngineOptions extends Omit<ConnectOptions, 'signal'> {
  /** Backoff between attempts (`true`: the default one); `false` never reconnects (the engine stops when its connection ends). Default: on. */
  reconnect?: ReconnectOptions | boolean;
  /** Whether to reconnect after this close (the server's code, reason and error). Default: always. */
  shouldReconnect?: (close: Pick<EngineCloseInfo, 'code' | 'reason' | 'error'>) => boolean;
  /**
   * As `connect`'s, but on by default: 30 s, so that a connection that died silently (no FIN
   * or RST: a NAT that forgot it, a host gone) is dropped within two periods and made again.
   * 0 turns it off.
   */
  pingFrequency?: number;
  /**
   * Messages an asynchronous `onMessage` may handle at once (seed 001's 1..N readers): with
   * this many of its promises pending, the next message waits for one to settle (messages
   * wait in the peer, whose reading pauses past its high-water mark). 1 handles messages one
   * after another, in order. Default: no limit, the promises are not waited for.
   */
  concurrency?: number;
}

/**
 * The engine was stopped, or gave up, before the operation could complete. When it gave up
 * (retries spent, reconnecting off, `shouldReconnect` said no), `cause` is why: the last
 * attempt's error, or a `ConnectionClosedError` saying how the last connection ended.
 */
export class EngineStoppedError extends Error {
  /** Stable identifier. */
  readonly code = 'WS_ERR_ENGINE_STOPPED';

  constructor(operation: string, options?: { cause?: unknown }) {
    const cause = options?.cause;
    super(cause === undefined ? `${operation}: the engine is stopped` : `${operation}: the engine gave up: ${cause instanceof Error ? cause.message : String(cause)}`, options);
    this.name = 'EngineStoppedError';
  }
}
