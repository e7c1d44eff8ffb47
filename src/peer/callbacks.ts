/**
 * Calling the application: what its callback throws, or the promise it returns rejects
 * with, is the application's fault, reported to the owner rather than left to take the
 * process down (an unhandled rejection ends a Node process).
 * @module
 */

/** Told when the application's callback fails. */
export interface CallbackOwner {
  callbackFailed(error: unknown): void;
}

/** Call `callback(value)`; a throw, or a rejection of what it returns, goes to `owner`. */
export function callApplication<T>(callback: (value: T) => unknown, value: T, owner: CallbackOwner): void {
  try {
    const result = callback(value);
    // Most callbacks return nothing: one comparison, and no promise made for them.
    if (result !== undefined && typeof (result as PromiseLike<unknown>).then === 'function') {
      (result as PromiseLike<unknown>).then(undefined, (error: unknown) => owner.callbackFailed(error));
    }
  } catch (error) {
    owner.callbackFailed(error);
  }
}
