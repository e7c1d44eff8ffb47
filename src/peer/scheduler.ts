/**
 * Process-wide schedulers shared by every peer, so that a connection costs no timer and no
 * closure of its own: one flush per tick for all peers with bytes to send, and one interval
 * per ping frequency for all peers that use it.
 * @module
 */

import { Registry, type Registered } from './registry.ts';

/** Something with queued output to write once per tick. */
export interface Flushable {
  /** Set while the object is in the flush list. */
  flushQueued: boolean;
  /** Write everything queued to the socket. */
  flush(): void;
}

// Kept at its largest size: emptying it with `length = 0` would free its storage and make
// every tick allocate it again. Entries before `flushed` are done and cleared.
const dirty: Array<Flushable | undefined> = [];
let dirtyCount = 0;
let flushed = 0;
let flushScheduled = false;

function flushAll(): void {
  // Flushing may queue more work (a close after the last bytes): the loop picks it up.
  while (flushed < dirtyCount) {
    const target = dirty[flushed]!;
    dirty[flushed++] = undefined;
    target.flushQueued = false;
    try {
      target.flush();
    } catch (error) {
      // The others still get written, on the next tick; the error goes where it would have.
      process.nextTick(flushAll);
      throw error;
    }
  }
  flushed = 0;
  dirtyCount = 0;
  flushScheduled = false;
}

/**
 * Write `target`'s queued bytes at the end of this tick, with everything else it queues
 * until then: many messages, one vectored socket write.
 */
export function scheduleFlush(target: Flushable): void {
  if (target.flushQueued) return;
  target.flushQueued = true;
  dirty[dirtyCount++] = target;
  if (!flushScheduled) {
    flushScheduled = true;
    process.nextTick(flushAll);
  }
}

/** Something that sends a periodic ping. */
export interface Heartbeat {
  /** Called once per period. */
  beat(): void;
}

/** A member's place in the group of its period, made by `startHeartbeat`. */
export interface HeartbeatMembership extends Registered {
  readonly member: Heartbeat;
  readonly periodMs: number;
}

// Members come and go with connections: a Registry, not a Set (see registry.ts).
const heartbeats = new Map<number, { members: Registry<HeartbeatMembership>; timer: NodeJS.Timeout }>();

/** Call `member.beat()` every `periodMs` until `stopHeartbeat`; the shared timer never keeps the process alive. */
export function startHeartbeat(member: Heartbeat, periodMs: number): HeartbeatMembership {
  let group = heartbeats.get(periodMs);
  if (group === undefined) {
    const members = new Registry<HeartbeatMembership>();
    // Timers run before the loop polls its sockets: after a stall (a long handler, a GC
    // pause) this one is due before the pongs that arrived meanwhile are read, and a beat
    // made then would drop live peers. The check phase comes after the poll.
    const timer = setInterval(() => setImmediate(beatAll, members), periodMs);
    timer.unref();
    group = { members, timer };
    heartbeats.set(periodMs, group);
  }
  const membership: HeartbeatMembership = { member, periodMs, registryIndex: -1 };
  group.members.add(membership);
  return membership;
}

function beatAll(members: Registry<HeartbeatMembership>): void {
  for (const each of members.snapshot()) each.member.beat();
}

/** Stop the beats of the member `startHeartbeat` returned `membership` for; the timer goes with its last member. */
export function stopHeartbeat(membership: HeartbeatMembership): void {
  const group = heartbeats.get(membership.periodMs);
  if (group === undefined || !group.members.delete(membership)) return;
  if (group.members.size === 0) {
    clearInterval(group.timer);
    heartbeats.delete(membership.periodMs);
  }
}
