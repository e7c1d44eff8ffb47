/**
 * Writes waiting for the send buffer to go back under the high-water mark: they resolve
 * together when it does, time out one by one, and fail together when the socket closes.
 * @module
 */
import { TimeoutError } from './errors.ts';
import { callTimeout } from './options.ts';

interface PendingWrite {
  bytes: number;
  resolve(bytes: number): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout | undefined;
}

/** See the module comment. */
export class DrainWaiters {
  private pending: PendingWrite[] | null = null;

  /** Whether any write is waiting. */
  get waiting(): boolean {
    return this.pending !== null;
  }

  /** Wait for the drain, then resolve with `bytes`; with `timeout` (ms), reject with a {@link TimeoutError} past it. */
  add(bytes: number, timeout?: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const entry: PendingWrite = { bytes, resolve, reject, timer: undefined };
      const delay = callTimeout('write', timeout);
      if (delay !== undefined) {
        entry.timer = setTimeout(() => {
          const pending = this.pending!;
          pending.splice(pending.indexOf(entry), 1);
          if (pending.length === 0) this.pending = null;
          reject(new TimeoutError('write', delay));
        }, delay);
      }
      (this.pending ??= []).push(entry);
    });
  }

  /** Wait for the drain, or for the connection to close: resolves either way. */
  settled(): Promise<void> {
    return this.add(0).then(ignore, ignore);
  }

  /** The buffer is under the mark: every waiting write resolves. */
  resolveAll(): void {
    const pending = this.pending;
    this.pending = null;
    if (pending === null) return;
    for (const entry of pending) {
      clearTimeout(entry.timer);
      entry.resolve(entry.bytes);
    }
  }

  /** The socket closed: every waiting write fails with `error`. */
  rejectAll(error: Error): void {
    const pending = this.pending;
    this.pending = null;
    if (pending === null) return;
    for (const entry of pending) {
      clearTimeout(entry.timer);
      entry.reject(error);
    }
  }
}

function ignore(): void {}
