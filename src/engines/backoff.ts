/**
 * How long a reconnecting client waits before its next attempt: exponential backoff with a
 * cap and jitter. The jitter spreads out clients that lost the same server at the same
 * moment, so that they do not all come back in the same millisecond.
 * @module
 */
import { describeOptionValue } from '../connection/errors.ts';
import { MAX_TIMER_MS } from '../peer/options.ts';

/** When to try again after a failed attempt or a lost connection. */
export interface ReconnectOptions {
  /** Milliseconds before the first retry. Default 250. */
  initialDelay?: number;
  /** Longest wait between two attempts, in milliseconds. Default 30 000. */
  maxDelay?: number;
  /** Each retry in a row waits this many times longer than the one before. Default 2. */
  factor?: number;
  /**
   * Share of each wait left to chance, 0 to 1: the wait is drawn between `(1 - jitter)`
   * and 1 times the backoff. Default 0.5; 0 makes the waits exact.
   */
  jitter?: number;
  /**
   * Retries in a row (failed attempts, or connections lost before `stableAfter`) before
   * the engine gives up and stops. Default Infinity.
   */
  maxRetries?: number;
  /**
   * A connection that lasted this long (ms) from its `onOpen` settling is stable: the next
   * loss starts the backoff over (one whose `onOpen` failed never is). Default 5000.
   */
  stableAfter?: number;
}

/** {@link ReconnectOptions} with every default applied. */
export type ResolvedReconnectOptions = Required<ReconnectOptions>;

/** Resolve the defaults, refusing values that would make no sense. */
export function resolveReconnectOptions(options: ReconnectOptions = {}): ResolvedReconnectOptions {
  // `'false'` from an environment variable, say, would otherwise mean every default: reconnecting on.
  if (typeof options !== 'object' || options === null) throw new TypeError(`reconnect must be false or an object of settings, got ${describeOptionValue(options)}`);
  const resolved = {
    initialDelay: options.initialDelay ?? 250,
    maxDelay: options.maxDelay ?? 30_000,
    factor: options.factor ?? 2,
    jitter: options.jitter ?? 0.5,
    maxRetries: options.maxRetries ?? Infinity,
    stableAfter: options.stableAfter ?? 5000,
  };
  for (const [name, value] of Object.entries(resolved)) {
    if (typeof value !== 'number' || !(value >= 0)) throw new RangeError(`reconnect.${name} must be a number ≥ 0, got ${describeOptionValue(value)}`);
  }
  if (resolved.factor < 1) throw new RangeError(`reconnect.factor must be ≥ 1, got ${resolved.factor}`);
  if (resolved.jitter > 1) throw new RangeError(`reconnect.jitter must be between 0 and 1, got ${resolved.jitter}`);
  return resolved;
}

/**
 * Milliseconds to wait before retry number `retry` (1 for the first), given `random` in
 * [0, 1): `initialDelay × factor^(retry − 1)`, capped at `maxDelay` (and at the longest
 * timer, about 24.8 days), less up to `jitter` of it.
 */
export function backoffDelay(options: ResolvedReconnectOptions, retry: number, random: number): number {
  // Never past what a timer keeps: a longer delay would fire at once (`maxDelay` may be Infinity).
  // An initial delay of 0 stays 0 (not 0 × Infinity once the factor's power overflows).
  const grown = options.initialDelay === 0 ? 0 : options.initialDelay * options.factor ** (retry - 1);
  const backoff = Math.min(options.maxDelay, MAX_TIMER_MS, grown);
  return Math.round(backoff * (1 - options.jitter * random));
}
