/**
 * Messages received and not yet read, and the reads waiting for one: a message goes
 * straight to the oldest waiting read, or waits in the queue. Its byte count drives the
 * peer's flow control.
 * @module
 */
import { TimeoutError } from './errors.ts';
import type { Message, ReceivedMessage } from './message.ts';

/** The end of `for await (const message of peer)`. */
export const ITERATION_DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/** A read's outcome as an async iterator's step: null ends the iteration. */
export function toIteratorResult(message: Message | null): IteratorResult<Message> {
  return message === null ? ITERATION_DONE : { done: false, value: message };
}

interface PendingRead {
  resolve(message: ReceivedMessage | null): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout | undefined;
}

/** See the module comment. */
export class Inbox {
  /** Bytes of the queued messages. */
  bytes = 0;
  private queue: ReceivedMessage[] | null = null;
  private readers: PendingRead[] | null = null;
  private closed = false;
  /** Who waits for {@link close}; made on the first `whenClosed`. */
  private closeWaiters: Array<() => void> | null = null;

  /** Number of messages queued. */
  get length(): number {
    return this.queue === null ? 0 : this.queue.length;
  }

  /** Hand `message` to the oldest waiting read, else queue it. */
  push(message: ReceivedMessage): void {
    const readers = this.readers;
    if (readers !== null && readers.length > 0) {
      const pending = readers.shift()!;
      clearTimeout(pending.timer);
      pending.resolve(message);
      return;
    }
    (this.queue ??= []).push(message);
    this.bytes += message.size;
  }

  /** The oldest queued message, if any. */
  shift(): ReceivedMessage | undefined {
    const message = this.queue?.shift();
    if (message !== undefined) this.bytes -= message.size;
    return message;
  }

  /** Everything queued, oldest first; the queue is then empty. */
  drain(): ReceivedMessage[] {
    const queue = this.queue ?? [];
    this.queue = null;
    this.bytes = 0;
    return queue;
  }

  /** Wait for the next message; with `timeout` (ms), reject with a {@link TimeoutError} past it. */
  wait(timeout: number | undefined): Promise<ReceivedMessage | null> {
    return new Promise((resolve, reject) => {
      const pending: PendingRead = { resolve, reject, timer: undefined };
      if (timeout !== undefined) {
        pending.timer = setTimeout(() => {
          const readers = this.readers!;
          readers.splice(readers.indexOf(pending), 1);
          reject(new TimeoutError('read', timeout));
        }, timeout);
      }
      (this.readers ??= []).push(pending);
    });
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
