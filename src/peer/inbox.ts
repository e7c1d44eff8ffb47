/**
 * Messages received and not yet read, and the reads waiting for one: a message goes
 * straight to the oldest waiting read, or waits in the queue. Its byte count drives the
 * peer's flow control.
 * @module
 */
import { TimeoutError } from './errors.ts';
import type { Received } from './message.ts';

interface PendingRead {
  resolve(message: Received | null): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout | undefined;
  /** Who may {@link Inbox.withdraw} it (a `for await` iteration), or null. */
  owner: object | null;
}

/**
 * What a queued message counts for beyond its payload: its object, its place in the queue
 * and, for a payload copied out of its read (`compact`), the buffer's own bookkeeping.
 * Without it empty messages would count nothing, and a peer could queue millions of them,
 * never reaching the high-water mark, while the application reads slowly. Measured on
 * Node 20 (heap and array buffers per queued message): about 90 bytes for an empty one,
 * and payload + 240 to 340 bytes for one of 1 to 1000 bytes, which holds a copy.
 */
export const QUEUED_MESSAGE_COST = 256;

/** Taken places at the queue's head are cut off once this many and half the queue. */
const COMPACT_AFTER = 1024;

/** See the module comment. */
export class Inbox {
  /** What the queued messages count for: their payloads, plus {@link QUEUED_MESSAGE_COST} each. */
  bytes = 0;
  // Taken from `head` on, not with `shift()`: V8 moves every element of a large array per
  // `shift`, which would make reading a long backlog quadratic.
  private queue: Array<Received | undefined> | null = null;
  private head = 0;
  private readers: PendingRead[] | null = null;
  private closed = false;
  /** Who waits for {@link close}; made on the first `whenClosed`. */
  private closeWaiters: Array<() => void> | null = null;

  /** Whether {@link close} was called: no message is to come. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Number of messages queued. */
  get length(): number {
    return this.queue === null ? 0 : this.queue.length - this.head;
  }

  /** Hand `message` to the oldest waiting read, else queue it. */
  push(message: Received): void {
    const readers = this.readers;
    if (readers !== null && readers.length > 0) {
      const pending = readers.shift()!;
      clearTimeout(pending.timer);
      pending.resolve(message);
      return;
    }
    message.compact();
    (this.queue ??= []).push(message);
    this.bytes += message.size + QUEUED_MESSAGE_COST;
  }

  /** The oldest queued message, if any. */
  shift(): Received | undefined {
    const queue = this.queue;
    if (queue === null || this.head === queue.length) return undefined;
    const message = queue[this.head]!;
    queue[this.head++] = undefined;
    this.bytes -= message.size + QUEUED_MESSAGE_COST;
    if (this.head === queue.length) {
      queue.length = 0;
      this.head = 0;
    } else if (this.head >= COMPACT_AFTER && this.head * 2 >= queue.length) {
      queue.splice(0, this.head);
      this.head = 0;
    }
    return message;
  }

  /**
   * Wait for the next message; with `delay` (ms, checked by `callTimeout`), reject with a
   * {@link TimeoutError} past it. `owner` may {@link withdraw} the wait.
   */
  wait(delay: number | undefined, owner: object | null = null): Promise<Received | null> {
    return new Promise((resolve, reject) => {
      const pending: PendingRead = { resolve, reject, timer: undefined, owner };
      if (delay !== undefined) {
        pending.timer = setTimeout(() => {
          const readers = this.readers!;
          readers.splice(readers.indexOf(pending), 1);
          reject(new TimeoutError('read', delay));
        }, delay);
      }
      (this.readers ??= []).push(pending);
    });
  }

  /**
   * Withdraw the waiting reads of `owner` (an iteration that ended while its step waited):
   * each resolves with null, and the messages to come go to the reads after them, in order.
   */
  withdraw(owner: object): void {
    const readers = this.readers;
    if (readers === null) return;
    for (let index = readers.length - 1; index >= 0; index--) {
      const pending = readers[index]!;
      if (pending.owner !== owner) continue;
      readers.splice(index, 1);
      clearTimeout(pending.timer);
      pending.resolve(null);
    }
  }

  /** Resolves once {@link close} has been called. */
  whenClosed(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => (this.closeWaiters ??= []).push(resolve));
  }

  /** No more messages will come: every waiting read gets null, and `whenClosed` resolves. */
  close(): void {
    this.closed = true;
    const closeWaiters = this.closeWaiters;
    this.closeWaiters = null;
    if (closeWaiters !== null) for (const resolve of closeWaiters) resolve();
    const readers = this.readers;
    this.readers = null;
    if (readers === null) return;
    for (const pending of readers) {
      clearTimeout(pending.timer);
      pending.resolve(null);
    }
  }
}
