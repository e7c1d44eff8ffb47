/**
 * Process-wide schedulers shared by every peer, so that a connection costs no timer and no
 * closure of its own: one flush per tick for all peers with bytes to send, and one interval
 * per ping frequency for all peers that use it.
 * @module
 */

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

const heartbeats = new Map<number, { members: Set<Heartbeat>; timer: NodeJS.Timeout }>();

/** Call `member.beat()` every `periodMs` until `stopHeartbeat`; the shared timer never keeps the process alive. */
export function startHeartbeat(member: Heartbeat, periodMs: number): void {
  let group = heartbeats.get(periodMs);
  if (group === undefined) {
    const members = new Set<Heartbeat>();
    const timer = setInterval(() => {
      for (const each of members) each.beat();
    }, periodMs);
    timer.unref();
    group = { members, timer };
    heartbeats.set(periodMs, group);
  }
  group.members.add(member);
}

/** Stop calling `member.beat()`; the timer goes when its last member does. */
export function stopHeartbeat(member: Heartbeat, periodMs: number): void {
  const group = heartbeats.get(periodMs);
  if (group === undefined || !group.members.delete(member)) return;
  if (group.members.size === 0) {
    clearInterval(group.timer);
    heartbeats.delete(periodMs);
  }
}
