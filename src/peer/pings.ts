/**
 * Pings the application sent with `peer.ping()`, waiting for their pongs. A pong answers
 * the ping whose payload it carries (§5.5.3), and every ping sent before that one too: the
 * other side may answer only the latest of several pings. So the peer's other pings (the
 * heartbeat's, ping frames written) are noted in their place while a `ping()` waits, and a
 * pong to one of them answers the `ping()`s sent before it. A pong that matches no ping
 * noted (an unsolicited one) settles nothing.
 * @module
 */
import { performance } from 'node:perf_hooks';
import { invalidArgument } from '../connection/errors.ts';
import { TimeoutError } from './errors.ts';

const encoder = new TextEncoder();
// Numbers the pings sent without a payload of the caller's, so that each pong tells which it answers.
let pingsSent = 0;

/** The bytes of a ping's payload: the caller's, copied (it is kept to match the pong), or the next number. */
export function pingPayload(payload: string | Uint8Array | undefined): Uint8Array {
  if (payload === undefined) {
    const n = (pingsSent = (pingsSent + 1) >>> 0);
    return Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
  }
  if (typeof payload === 'string') return encoder.encode(payload);
  if (payload instanceof Uint8Array) return Uint8Array.from(payload);
  throw invalidArgument('ping', 'the payload', 'a string or a Uint8Array', payload);
}

/** A ping sent and not answered yet: one of `ping()`'s, or (no callbacks) another the pongs may answer. */
interface PendingPing {
  payload: Uint8Array;
  sentAt: number;
  resolve: ((milliseconds: number) => void) | null;
  reject: ((error: Error) => void) | null;
  timer: NodeJS.Timeout | undefined;
}

/** See the module comment. */
export class PingWaiters {
  /** In the order they were sent. */
  private readonly pending: PendingPing[] = [];
  /** How many of them are `ping()`'s: while none is, no other ping is noted. */
  private waiting = 0;

  /** Wait for the pong to `payload`, just sent; with `delay` (ms), reject with a {@link TimeoutError} past it. */
  add(payload: Uint8Array, delay: number | undefined): Promise<number> {
    return new Promise((resolve, reject) => {
      const entry: PendingPing = { payload, sentAt: performance.now(), resolve, reject, timer: undefined };
      if (delay !== undefined) {
        entry.timer = setTimeout(() => {
          this.pending.splice(this.pending.indexOf(entry), 1);
          this.settled(1);
          reject(new TimeoutError('ping', delay));
        }, delay);
      }
      this.pending.push(entry);
      this.waiting++;
    });
  }

  /**
   * A ping went out by other means (the heartbeat's): its pong settles nothing, but one that
   * answers a later ping answers `ping()`'s sent before it, and one that answers it only
   * (§5.5.3: the latest ping) answers those too.
   */
  sentOther(payload: Uint8Array): void {
    if (this.waiting > 0) this.pending.push({ payload, sentAt: 0, resolve: null, reject: null, timer: undefined });
  }

  /** A pong came: the ping it answers resolves with its round trip, and so does every earlier one. */
  pong(payload: Uint8Array): void {
    const pending = this.pending;
    const answered = pending.findIndex((entry) => sameBytes(entry.payload, payload));
    if (answered < 0) return;
    const now = performance.now();
    let resolved = 0;
    for (const entry of pending.splice(0, answered + 1)) {
      if (entry.resolve === null) continue;
      clearTimeout(entry.timer);
      entry.resolve(now - entry.sentAt);
      resolved++;
    }
    this.settled(resolved);
  }

  /** The connection closed: every ping still waiting fails with `error`. */
  rejectAll(error: Error): void {
    for (const entry of this.pending.splice(0)) {
      clearTimeout(entry.timer);
      entry.reject?.(error);
    }
    this.waiting = 0;
  }

  /** `count` of `ping()`'s settled: once none waits, the other pings noted are forgotten. */
  private settled(count: number): void {
    this.waiting -= count;
    if (this.waiting === 0) this.pending.length = 0;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
