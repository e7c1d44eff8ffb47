/**
 * A client that stays connected: it connects, calls the application back on each opening,
 * message and close, and after a lost connection or a failed attempt connects again with
 * backoff (backoff.ts), until it is stopped or gives up. Seeds 001 (a callback engine with
 * auto-reconnect, a pause to pilot the connection by hand, a graceful stop) and 004
 * (reconnect with exponential backoff) ask for this shape.
 *
 * The engine owns no protocol: each connection is a {@link Peer} from `connect`, which the
 * callbacks receive, so everything a peer does (`read` with a timeout, `write`, pings,
 * TLS, compression) is there for the application as well.
 * @module
 */
import { AbortError, checkConnectArguments, checkConnectOptions, connect, DEFAULT_CONNECT_TIMEOUT } from '../client/connect.ts';
import { checkCloseArguments } from '../connection/control-frames.ts';
import { CloseCode } from '../frame/close-code.ts';
import { kReportsHandled, publishHandled } from '../peer/diagnostics.ts';
import { ConnectionClosedError, TimeoutError } from '../peer/errors.ts';
import { callTimeout, DEFAULT_CLOSE_TIMEOUT } from '../peer/options.ts';
import type { Message } from '../peer/message.ts';
import type { Peer, SendResult, Writable } from '../peer/peer.ts';
import { backoffDelay, resolveReconnectOptions, type ResolvedReconnectOptions } from './backoff.ts';
import {
  EngineStoppedError,
  type EngineCallbacks,
  type EngineCloseInfo,
  type EngineErrorInfo,
  type EngineOpenInfo,
  type EngineOptions,
  type EngineState,
  type EngineUrlSource,
} from './engine-types.ts';

export { EngineStoppedError, type EngineCallbacks, type EngineCloseInfo, type EngineErrorInfo, type EngineOpenInfo, type EngineOptions, type EngineState, type EngineUrlSource } from './engine-types.ts';

/** The engine's `pingFrequency` unless given: a connection silent for a period after a ping is dropped, and made again. */
const ENGINE_PING_FREQUENCY = 30_000;

interface OpenWaiter {
  resolve(peer: Peer): void;
  reject(error: Error): void;
}

/** See the module comment. Made by {@link startClientEngine}. */
export class ClientEngine {
  private stateNow: EngineState = 'connecting';
  private current: Peer | null = null;
  /** Whether `onOpen` has settled for `current`, so that messages go to `onMessage`. */
  private delivering = false;
  private paused = false;
  private attempts = 0;
  private opens = 0;
  /** Retries in a row since the last stable connection. */
  private retries = 0;
  // The failure it gave up on (an attempt's error, or how the last connection ended): the cause of `opened`'s rejection.
  private gaveUpOn: unknown = undefined;
  /** When `onOpen` settled for the current connection; -1 until it has (never, if it failed). */
  private openedAt = -1;
  /** The current connection closed; the messages it left are still going to `onMessage`. */
  private lost = false;
  /** `stop` found the current connection closing already (a close frame sent or received): not closed by it. */
  private closingAtStop = false;
  /** The application failed the current connection (`onOpen` or `onMessage`): nothing more goes to it. */
  private deliveryStopped = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** Bounds the hand-over of a lost connection's messages (see {@link onPeerClosed}). */
  private drainTimer: ReturnType<typeof setTimeout> | null = null;
  /** The attempt under way: settles with its peer if that came after `stop`, for `stop` to close. */
  private connecting: Promise<Peer | null> | null = null;
  /** Cancels the attempt under way (`stop`). */
  private cancelAttempt: AbortController | null = null;
  private stopping: Promise<void> | null = null;
  private readonly waiters = new Set<OpenWaiter>();
  private readonly url: string | EngineUrlSource;
  private readonly callbacks: EngineCallbacks;
  private readonly options: EngineOptions;
  private readonly backoff: ResolvedReconnectOptions | null;
  private readonly concurrency: number;
  /** Promises of `onMessage` pending for the current connection. */
  private handling = 0;
  // It publishes `wspeer:handled` itself: the peer would see it return before an async
  // `onMessage` settles, and never see what it throws (the engine catches that).
  private readonly deliver = Object.assign((message: Message): void => this.onPeerMessage(message), { [kReportsHandled]: true });

  /** @internal Use {@link startClientEngine}. */
  constructor(url: string | URL | EngineUrlSource, callbacks: EngineCallbacks, options: EngineOptions) {
    // A bad URL or option throws here, rather than fail every attempt; a URL from a
    // function is checked as each attempt asks for it.
    if (typeof url === 'function') checkConnectOptions(options);
    else checkConnectArguments(url, options);
    this.url = url instanceof URL ? url.href : url; // a URL changed later must not move the engine
    // Every callback is optional: none at all is an empty set; anything else is a mistake.
    if (callbacks != null && typeof callbacks !== 'object') throw new TypeError(`the callbacks must be an object, got ${typeof callbacks}`);
    this.callbacks = callbacks ?? {};
    // A long-lived connection is where a silent drop (a NAT that forgot it, a host gone
    // without FIN or RST) goes unseen longest: the engine pings unless told otherwise.
    this.options = { ...options, pingFrequency: options.pingFrequency ?? ENGINE_PING_FREQUENCY };
    const reconnect = options.reconnect;
    this.backoff = reconnect === false ? null : resolveReconnectOptions(reconnect === true || reconnect == null ? undefined : reconnect);
    this.concurrency = options.concurrency ?? Infinity;
    if (!(this.concurrency >= 1 && (Number.isInteger(this.concurrency) || this.concurrency === Infinity))) {
      throw new RangeError(`concurrency must be a whole number from 1, got ${options.concurrency}`);
    }
    this.attempt();
  }

  /** Connecting, open (from the opening of a connection until its end), waiting to retry, or stopped. */
  get state(): EngineState {
    return this.stateNow;
  }

  /** The current connection, or null between connections. */
  get peer(): Peer | null {
    return this.current;
  }

  /**
   * Queue a message on the current connection (see `Peer.send`); `'dropped'` when there is
   * none: messages are not kept for the next connection, whose `onOpen` decides what to resend.
   */
  send(data: Writable): SendResult {
    const peer = this.current;
    return peer === null ? 'dropped' : peer.send(data);
  }

  /**
   * Resolves with the connection once one is open and its `onOpen` has settled (at once if
   * so now). Rejects with a `TimeoutError` after `timeout` ms, or an
   * {@link EngineStoppedError} if the engine stops or gives up first.
   */
  opened(timeout?: number): Promise<Peer> {
    let delay: number | undefined;
    try {
      delay = callTimeout('opened', timeout);
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.stateNow === 'stopped') return Promise.reject(this.stoppedError());
    if (this.current !== null && this.delivering && !this.lost) return Promise.resolve(this.current);
    return new Promise((resolve, reject) => {
      const timer = delay === undefined ? null : setTimeout(() => settle(() => reject(new TimeoutError('opened', delay))), delay);
      const settle = (then: () => void): void => {
        if (timer !== null) clearTimeout(timer);
        this.waiters.delete(waiter);
        then();
      };
      const waiter: OpenWaiter = { resolve: (peer) => settle(() => resolve(peer)), reject: (error) => settle(() => reject(error)) };
      this.waiters.add(waiter);
    });
  }

  /**
   * Stop calling `onMessage`, to pilot the connection by hand: messages wait in the peer
   * for `engine.peer.read()` (reading pauses past its high-water mark). Lasts across
   * reconnections until {@link resume}.
   */
  pause(): void {
    this.paused = true;
    this.current?.onMessage(null);
  }

  /** Call `onMessage` again, first with the messages that waited, in order. */
  resume(): void {
    this.paused = false;
    this.takeMessages();
  }

  /** Hand the current connection's messages to `onMessage` if it is delivering, not paused, and under `concurrency`. */
  private takeMessages(): void {
    const peer = this.current;
    if (peer !== null && this.delivering && !this.paused && this.handling < this.concurrency) peer.onMessage(this.deliver);
  }

  /**
   * Stop for good: no more attempts; the current connection, if any, goes through the
   * closing handshake with `code` and `reason` (its `onClose` says `byStop`). Resolves once
   * it has closed — destroyed after `timeout` ms (default the `closeTimeout` option).
   */
  stop(code: number = CloseCode.Normal, reason = '', timeout?: number): Promise<void> {
    if (this.stopping === null) {
      // Refused before anything changes: a stop that cannot close must leave the engine as it was.
      try {
        checkCloseArguments(code, reason);
        callTimeout('stop', timeout);
      } catch (error) {
        return Promise.reject(error);
      }
    }
    if (this.stopping === null) this.closingAtStop = this.current !== null && this.current.state !== 'OPEN';
    this.settleStopped();
    return (this.stopping ??= this.closeCurrent(code, reason, timeout));
  }

  private async closeCurrent(code: number, reason: string, timeout: number | undefined): Promise<void> {
    // An attempt under way was aborted by `settleStopped`, so this settles at once; with a
    // peer only if the attempt had completed just before (never opened, but closed here).
    const peer = (await this.connecting) ?? this.current;
    if (peer !== null && !peer.closed) await peer.shutdown(code, reason, timeout);
  }

  private attempt(): void {
    this.stateNow = 'connecting';
    this.attempts++;
    const cancel = (this.cancelAttempt = new AbortController());
    const options = { ...this.options, signal: cancel.signal };
    const url = this.url;
    // A function is asked for each attempt's URL; what it throws fails the attempt, retried as any.
    const connecting = typeof url === 'function' ? askForUrl(url, cancel.signal, options.timeout ?? DEFAULT_CONNECT_TIMEOUT).then((target) => connect(target, {}, options)) : connect(url, {}, options);
    this.connecting = connecting.then(
      (peer) => this.adopt(peer),
      (error: unknown) => this.onAttemptFailed(error),
    );
  }

  /** The attempt succeeded: open its peer, or, if stopped meanwhile, return it to `stop` unopened. */
  private adopt(peer: Peer): Peer | null {
    this.connecting = null;
    this.cancelAttempt = null;
    if (this.stateNow === 'stopped') return peer;
    this.current = peer;
    this.delivering = false;
    this.deliveryStopped = false;
    this.lost = false;
    this.handling = 0;
    void peer.whenClosed().then(() => this.onPeerClosed(peer));
    this.stateNow = 'open';
    this.openedAt = -1;
    const info: EngineOpenInfo = { attempt: this.attempts, reconnected: this.opens++ > 0 };
    let opening: void | Promise<void>;
    try {
      opening = this.callbacks.onOpen?.(peer, info);
    } catch (error) {
      this.failOpen(peer, error);
      return null;
    }
    if (!(opening instanceof Promise)) this.startDelivery(peer);
    else opening.then(() => this.startDelivery(peer), (error: unknown) => this.failOpen(peer, error));
    return null;
  }

  private startDelivery(peer: Peer): void {
    if (peer !== this.current || this.deliveryStopped) return;
    this.delivering = true;
    // Closed during `onOpen`: what it received goes to `onMessage`, then the close.
    if (this.lost) return this.drainLost(peer);
    this.openedAt = Date.now();
    this.takeMessages();
    for (const waiter of this.waiters) waiter.resolve(peer);
  }

  private failOpen(peer: Peer, error: unknown): void {
    this.report(error, 'open', null);
    // An `onOpen` that outlived its connection (reported closed meanwhile): the flags are the next one's.
    if (peer !== this.current) return;
    this.deliveryStopped = true;
    peer.abort(CloseCode.InternalError, 'open failed');
    if (this.lost && peer === this.current) this.closeOut(peer);
  }

  private onPeerMessage(message: Message): void {
    const peer = this.current;
    if (peer === null) return;
    if (this.lost) this.armDrainTimer(peer); // progress: the wait starts again
    let handled: void | Promise<void>;
    try {
      handled = this.callbacks.onMessage?.(message, peer);
    } catch (error) {
      publishHandled(peer, message, true, error);
      this.failMessage(peer, error);
      return;
    }
    if (handled instanceof Promise) this.track(peer, message, handled);
    else publishHandled(peer, message, false, null);
  }

  /** Count a pending `onMessage` against `concurrency`, and fail the connection if it rejects. */
  private track(peer: Peer, message: Message, handled: Promise<void>): void {
    if (++this.handling >= this.concurrency) peer.onMessage(null);
    handled.then(
      () => {
        publishHandled(peer, message, false, null);
        this.settled(peer);
      },
      (error: unknown) => {
        publishHandled(peer, message, true, error);
        // Failed first: the slot this frees must not hand the next message to the failed application.
        this.failMessage(peer, error);
        this.settled(peer);
      },
    );
  }

  private settled(peer: Peer): void {
    if (peer !== this.current) return; // that connection's count went with it
    if (this.handling-- === this.concurrency) this.takeMessages();
    if (this.lost && peer === this.current && peer.unread === 0) this.closeOut(peer);
  }

  /** `onMessage` threw or rejected: the application's fault, 1011 (the connection, if still open, is closed). */
  private failMessage(peer: Peer, error: unknown): void {
    this.report(error, 'message', null);
    if (peer !== this.current) return;
    this.delivering = false; // the handlers still pending do not bring the messages back
    this.deliveryStopped = true;
    peer.onMessage(null);
    peer.abort(CloseCode.InternalError, 'internal error');
    if (this.lost) this.closeOut(peer);
  }

  /**
   * The connection closed. What it received before still goes to `onMessage`, in order,
   * before the close is reported and the next attempt made (after `onOpen`, if that is
   * still running) — unless paused (it stays for `peer.read()`), stopped, or failed.
   * The hand-over is bounded: if no message has been handed over for `closeTimeout` (an
   * `onOpen` or the `onMessage` handlers holding every slot are still pending, and one
   * may be waiting for this very `onClose`), the close is reported with what is left
   * still in the peer, counted in `undelivered`.
   */
  private onPeerClosed(peer: Peer): void {
    if (peer !== this.current) return;
    if (this.paused || this.stateNow === 'stopped' || this.deliveryStopped) return this.closeOut(peer);
    this.lost = true;
    if (this.delivering) this.drainLost(peer);
    if (this.lost && peer === this.current) this.armDrainTimer(peer);
  }

  private armDrainTimer(peer: Peer): void {
    if (this.drainTimer !== null) clearTimeout(this.drainTimer);
    this.drainTimer = setTimeout(() => {
      this.drainTimer = null;
      if (this.lost && peer === this.current) this.closeOut(peer);
    }, this.options.closeTimeout ?? DEFAULT_CLOSE_TIMEOUT);
  }

  /**
   * Hand the lost connection's messages to `onMessage`; once none is left to hand over,
   * close it out (handlers still pending are not waited for: one may wait on `onClose`).
   */
  private drainLost(peer: Peer): void {
    this.takeMessages();
    if (peer === this.current && peer.unread === 0) this.closeOut(peer);
  }

  private closeOut(peer: Peer): void {
    // A connection that was lost before the stop (its close waited for `onOpen` or for its
    // messages to be handed over) was not closed by it.
    const byStop = this.stateNow === 'stopped' && !this.lost && !this.closingAtStop;
    if (this.drainTimer !== null) clearTimeout(this.drainTimer);
    this.drainTimer = null;
    peer.onMessage(null); // what it still holds stays for `peer.read()`, never for the next connection's handlers
    this.current = null;
    this.delivering = false;
    this.lost = false;
    // Stable: `onOpen` settled and the connection lasted `stableAfter` from there.
    if (this.openedAt >= 0 && Date.now() - this.openedAt >= (this.backoff?.stableAfter ?? 0)) this.retries = 0;
    const close = { code: peer.closeCode, reason: peer.closeReason, error: peer.error };
    // A stopped engine connects no more, whoever closed this one: no retry is counted or promised.
    const retryIn = this.stateNow === 'stopped' || !this.shouldReconnect(close) ? null : this.nextDelay();
    try {
      this.callbacks.onClose?.({ ...close, byStop, willReconnect: retryIn !== null, undelivered: peer.unread });
    } catch (error) {
      this.report(error, 'close', null);
    }
    this.retryOrStop(retryIn, new ConnectionClosedError('no retry', 'the last connection', close));
  }

  /** The application's `shouldReconnect`; one that throws is reported and taken for a no. */
  private shouldReconnect(close: Pick<EngineCloseInfo, 'code' | 'reason' | 'error'>): boolean {
    try {
      return this.options.shouldReconnect?.(close) ?? true;
    } catch (error) {
      this.report(error, 'close', null);
      return false;
    }
  }

  private onAttemptFailed(error: unknown): null {
    this.connecting = null;
    this.cancelAttempt = null;
    if (this.stateNow === 'stopped') return null; // aborted by `stop`, or failed meanwhile: not news
    const retryIn = this.nextDelay();
    this.report(error, 'connect', retryIn);
    this.retryOrStop(retryIn, error);
    return null;
  }

  /** The wait before the next retry, counting it; null if reconnecting is off or the retries are spent. */
  private nextDelay(): number | null {
    const backoff = this.backoff;
    if (backoff === null || this.retries >= backoff.maxRetries) return null;
    return backoffDelay(backoff, ++this.retries, Math.random());
  }

  /** Retry in `retryIn` ms, or give up (null) because of `failure`. */
  private retryOrStop(retryIn: number | null, failure: unknown): void {
    if (this.stateNow === 'stopped') return;
    if (retryIn === null) {
      this.gaveUpOn = failure;
      this.settleStopped();
      return;
    }
    this.stateNow = 'waiting';
    this.timer = setTimeout(() => {
      this.timer = null;
      this.attempt();
    }, retryIn);
  }

  private settleStopped(): void {
    if (this.stateNow === 'stopped') return;
    this.stateNow = 'stopped';
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.cancelAttempt?.abort(); // its socket goes now, not at the connect timeout
    for (const waiter of this.waiters) waiter.reject(this.stoppedError());
    // A lost connection whose messages were still being handed over: no more of them.
    if (this.lost && this.current !== null) this.closeOut(this.current);
  }

  /** Why `opened` cannot resolve: stopped, or given up on a failure, which is its cause. */
  private stoppedError(): EngineStoppedError {
    return new EngineStoppedError('opened', this.gaveUpOn === undefined ? undefined : { cause: this.gaveUpOn });
  }

  private report(error: unknown, phase: EngineErrorInfo['phase'], retryIn: number | null): void {
    const onError = this.callbacks.onError;
    try {
      if (onError !== undefined) onError(error, { phase, attempt: this.attempts, retryIn });
      else if (phase !== 'connect') console.error(`wspeer engine: the ${phase} callback threw`, error);
    } catch (thrown) {
      console.error('wspeer engine: onError threw', thrown);
    }
  }
}

/**
 * What `source` answers, within `timeout` ms and until `signal` aborts (`stop()`): a URL
 * function that never settles must hold neither the engine nor its `stop()`.
 */
function askForUrl(source: EngineUrlSource, signal: AbortSignal, timeout: number): Promise<string | URL> {
  return new Promise((resolve, reject) => {
    let done = false;
    const settle = (finish: () => void): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      finish();
    };
    const onAbort = (): void => settle(() => reject(new AbortError('the URL function', signal.reason)));
    const timer = setTimeout(() => settle(() => reject(new TimeoutError('the URL function', timeout))), timeout);
    signal.addEventListener('abort', onAbort);
    Promise.resolve()
      .then(source)
      .then(
        (url) => settle(() => resolve(url)),
        (error: unknown) => settle(() => reject(error)),
      );
  });
}

/**
 * Connect to `url` and stay connected: see {@link ClientEngine}. `url` may be a function,
 * asked for the URL of each attempt (see {@link EngineUrlSource}). Returns at once; the
 * first attempt is under way (`await engine.opened()` to wait for it). Until `stop()`, or
 * until it gives up, the engine keeps the process alive, as a connection or a timer.
 */
export function startClientEngine(url: string | URL | EngineUrlSource, callbacks: EngineCallbacks, options: EngineOptions = {}): ClientEngine {
  return new ClientEngine(url, callbacks, options);
}
