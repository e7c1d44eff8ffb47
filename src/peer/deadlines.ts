/**
 * Deadlines without a timer per connection: one coarse sweep for every pending opening
 * handshake and closing connection of the process. Each gets at most one sweep period more
 * than its time, which is all a slowloris defence or a lingering peer needs, and a
 * connection costs no timer of its own.
 *
 * The sweep holds the process while a deadline is pending, and only then: the socket it
 * guards may be no active handle (its reading paused by unread messages), and a process
 * holding nothing else would otherwise exit with that socket open and the close awaited on
 * it (`shutdown`, `Server.close`, `whenClosed`) never settled. Each such wait is bounded by
 * its deadline, and the sweep lets go as soon as none is pending.
 * @module
 */

import { Registry, type Registered } from './registry.ts';

/** Something that must finish before its deadline. */
export interface Deadline extends Registered {
  /** `Date.now()` value after which `expire` is called. */
  deadline: number;
  /** Called once, when the deadline has passed. */
  expire(): void;
}

/** How often deadlines are checked, in ms. */
const SWEEP_MS = 250;

const pending = new Registry<Deadline>();
let sweeper: NodeJS.Timeout | null = null;

function sweep(): void {
  const now = Date.now();
  for (const entry of pending.snapshot()) {
    // An earlier expiry may have released it (its socket closed).
    if (entry.deadline > now || !pending.has(entry)) continue;
    pending.delete(entry);
    entry.expire();
  }
  if (pending.size === 0 && sweeper !== null) {
    clearInterval(sweeper);
    sweeper = null;
  }
}

/** Watch `entry` until `release`; meanwhile the sweep holds the process (see the module comment). */
export function watchDeadline(entry: Deadline): void {
  pending.add(entry);
  if (sweeper === null) sweeper = setInterval(sweep, SWEEP_MS);
  else if (pending.size === 1) sweeper.ref();
}

/** Stop watching `entry` (it finished in time, or its socket went away); with none left, the sweep holds the process no more. */
export function releaseDeadline(entry: Deadline): void {
  if (pending.delete(entry) && pending.size === 0) sweeper?.unref();
}
