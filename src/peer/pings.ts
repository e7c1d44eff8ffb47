/**
 * Pings the application sent with `peer.ping()`, waiting for their pongs. A pong answers
 * the ping whose payload it carries (§5.5.3), and every ping sent before that one too: the
 * other side may answer only the latest of several pings. A pong that matches none (an
 * unsolicited one, a heartbeat's) settles nothing.
 * @module
 */
import { performance } from 'node:perf_hooks';
import { TimeoutError } from './errors.ts';

interface PendingPing {
  payload: Uint8Array;
  sentAt: number;
  resolve(milliseconds: number): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout | undefined;
}

/** See the module comment. */
export class PingWaiters {
  /** In the order they were sent. */
  private readonly pending: PendingPing[] = [];

  /** Wait for the pong to `payload`, just sent; with `delay` (ms), reject with a {@link TimeoutError} past it. */
  add(payload: Uint8Array, delay: number | undefined): Promise<number> {
    return new Promise((resolve, reject) => {
      const entry: PendingPing = { payload, sentAt: performance.now(), resolve, reject, timer: undefined };
      if (delay !== undefined) {
        entry.timer = setTimeout(() => {
          this.pending.splice(this.pending.indexOf(entry), 1);
          reject(new TimeoutError('ping', delay));
        }, delay);
      }
      this.pending.push(entry);
    });
  }

  /** A pong came: the ping it answers resolves with its round trip, and so does every earlier one. */
  pong(payload: Uint8Array): void {
    const pending = this.pending;
    const answered = pending.findIndex((entry) => sameBytes(entry.payload, payload));
    if (answered < 0) return;
    const now = performance.now();
    for (const entry of pending.splice(0, answered + 1)) {
      clearTimeout(entry.timer);
      entry.resolve(now - entry.sentAt);
    }
  }

  /** The connection closed: every ping still waiting fails with `error`. */
  rejectAll(error: Error): void {
    for (const entry of this.pending.splice(0)) {
      clearTimeout(entry.timer);
      entry.reject(error);
    }
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
