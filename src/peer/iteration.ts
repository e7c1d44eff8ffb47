/**
 * `for await (const message of peer)`. A hand-written iterator rather than an async
 * generator: a message already received costs one promise, not a read's promise and
 * another for its step. Between two steps the loop's body is taken to be answering the
 * message it was given, and the peer's answer to a close frame waits for it (§5.5.1).
 * @module
 */
import { callbackSetError } from './errors.ts';
import type { Message, Received } from './message.ts';
import type { Receiver, ReceiverHost } from './receiver.ts';

/** The end of the iteration. */
const ITERATION_DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/** What an iteration needs of its peer. */
export interface IterationHost {
  /** A read is about to wait for a message that has not come. */
  readerWaits(): void;
}

/** See the module comment. Made by the peer's `[Symbol.asyncIterator]`. */
export class MessageIterator<Host extends ReceiverHost> implements AsyncIterator<Message> {
  private ended = false;

  constructor(
    private readonly receiver: Receiver<Host>,
    private readonly host: IterationHost,
  ) {}

  /** The loop's body (if any) is done with its message: the next one, or the end. */
  next(): Promise<IteratorResult<Message>> {
    const receiver = this.receiver;
    receiver.loopBodyEnded();
    if (this.ended) return Promise.resolve(ITERATION_DONE);
    const message = receiver.take();
    if (message !== undefined) {
      receiver.loopBodyStarted();
      return Promise.resolve({ done: false, value: message });
    }
    if (receiver.inbox.isClosed) return Promise.resolve(ITERATION_DONE);
    if (receiver.callback !== null) return Promise.reject(callbackSetError('for await'));
    this.host.readerWaits();
    return receiver.inbox.wait(undefined, this).then(this.stepped);
  }

  /**
   * The loop ended (`break`, `return`, a throw), or its owner gave up on a pending step
   * (lost to a `Promise.race`, say): that step is withdrawn and ends the iteration, so the
   * next message goes to whoever reads next, in order.
   */
  return(): Promise<IteratorResult<Message>> {
    this.ended = true;
    this.receiver.inbox.withdraw(this);
    this.receiver.loopBodyEnded();
    return Promise.resolve(ITERATION_DONE);
  }

  /** A waited-for step's outcome: a message starts the loop's body. */
  private readonly stepped = (message: Received | null): IteratorResult<Message> => {
    if (message === null) return ITERATION_DONE;
    this.receiver.loopBodyStarted();
    return { done: false, value: message };
  };
}
