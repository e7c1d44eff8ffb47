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

/**
 * Call `callback(value)`; a throw, or a rejection of what it returns, goes to `owner`.
 * Returns whether it returned a promise (a thenable), in which case `settled`, if given,
 * is called once that settles, either way.
 */
export function callApplication<T>(callback: (value: T) => unknown, value: T, owner: CallbackOwner, settled?: () => void): boolean {
  try {
    const result = callback(value);
    // Most callbacks return nothing: one comparison, and no promise made for them.
    if (result === undefined || typeof (result as PromiseLike<unknown>).then !== 'function') return false;
    (result as PromiseLike<unknown>).then(settled, (error: unknown) => {
      settled?.();
      owner.callbackFailed(error);
    });
    return true;
  } catch (error) {
    owner.callbackFailed(error);
    return false;
  }
}

/**
 * {@link callApplication}, telling `ended` when the application is done: with null once the
 * callback returned, or its promise resolved; with the error it threw, or the promise
 * rejected with, before `owner` hears of it. Returns whether it returned a promise, as
 * `callApplication` does (`settled` likewise).
 */
export function callApplicationTracked<T>(
  callback: (value: T) => unknown,
  value: T,
  owner: CallbackOwner,
  settled: () => void,
  ended: (error: unknown) => void,
): boolean {
  let result: unknown;
  try {
    result = callback(value);
  } catch (error) {
    ended(error);
    owner.callbackFailed(error);
    return false;
  }
  if (result === undefined || result === null || typeof (result as PromiseLike<unknown>).then !== 'function') {
    ended(null);
    return false;
  }
  (result as PromiseLike<unknown>).then(
    () => {
      ended(null);
      settled();
    },
    (error: unknown) => {
      ended(error);
      settled();
      owner.callbackFailed(error);
    },
  );
  return true;
}
