/**
 * The parts of a peer that only some peers use: a heartbeat, writes waiting for a drain,
 * pings awaiting their pongs, the ping and pong callbacks, the closing handshake's
 * bookkeeping, the application's data. They live in one object made at the first use of
 * any, so that a peer that uses none (an idle connection, say) pays one field for all.
 * @module
 */
import type { ClosingHandshake } from './closing.ts';
import type { DrainWaiters } from './drain-waiters.ts';
import type { Liveness } from './liveness.ts';
import type { PingWaiters } from './pings.ts';
import type { HeartbeatMembership } from './scheduler.ts';

/** See the module comment. */
export class PeerExtras {
  /** Writes waiting for the send buffer to drain. */
  writers: DrainWaiters | null = null;
  /** Made when the closing starts. */
  closing: ClosingHandshake | null = null;
  /** With a heartbeat (`pingFrequency`): its place in the beat, and whether the peer is alive. */
  heartbeat: HeartbeatMembership | null = null;
  liveness: Liveness | null = null;
  /** Pings of `ping()` waiting for their pongs. */
  pings: PingWaiters | null = null;
  pingCallback: ((data: Buffer) => void) | null = null;
  pongCallback: ((data: Buffer) => void) | null = null;
  /** The application's `data`. */
  data: unknown = undefined;
}
