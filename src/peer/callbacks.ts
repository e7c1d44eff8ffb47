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

/** Told when the promise a callback returned has settled, either way. */
export interface Settling {
  settled(): void;
}

/**
 * Call `callback(value, owner)` (a callback shared by many owners needs no closure to know
 * which one it serves); a throw, or a rejection of what it returns, goes to `owner`.
 * Returns whether it returned a promise (a thenable), in which case `settling`, if given,
 * is told once that settles, either way (an object: its owner makes no closure for it).
 * `ended`, if given, is told when the application is done: with `failed` false once the
 * callback returned (anything but a thenable, `null` included) or its promise resolved;
 * with true and the error once it threw or its promise rejected, before `owner` hears of it.
 */
export function callApplication<T, O extends CallbackOwner>(
  callback: (value: T, owner: O) => unknown,
  value: T,
  owner: O,
  settling?: Settling,
  ended?: (failed: boolean, error: unknown) => void,
): boolean {
  let then: unknown;
  let result: unknown;
  try {
    result = callback(value, owner);
    // Most callbacks return nothing: one comparison, no `then` read, no promise made for them.
    if (result != null) then = (result as PromiseLike<unknown>).then;
  } catch (error) {
    ended?.(true, error);
    owner.callbackFailed(error);
    return false;
  }
  if (typeof then !== 'function') {
    ended?.(false, null);
    return false;
  }
  try {
    (then as PromiseLike<unknown>['then']).call(
      result,
      () => {
        ended?.(false, null);
        settling?.settled();
      },
      (error: unknown) => {
        ended?.(true, error);
        settling?.settled();
        owner.callbackFailed(error);
      },
    );
  } catch (error) {
    // A thenable whose `then` throws: as if the callback had.
    ended?.(true, error);
    owner.callbackFailed(error);
    return false;
  }
  return true;
}
