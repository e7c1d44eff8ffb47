/**
 * The answers to the peer's pings (RFC 6455 §5.5.2), with a bound on the pongs owed: past
 * `max` pongs queued since the output was last taken, only the most recent ping is answered
 * (§5.5.3 allows it), so a ping flood costs one pong per write rather than one per ping.
 * While the host holds them (its send buffer is backed up), every ping is answered that way,
 * once the hold ends: a peer that pings and never reads cannot grow our output.
 * @module
 */

/** Where a queued pong goes: the connection's output. */
export interface PongOutput {
  /** Queue a pong frame carrying `payload`. */
  queuePong(payload: Uint8Array): void;
}

/** Default `maxQueuedPongs` of a connection: 16, so a burst of a few pings is answered in full. */
export const DEFAULT_MAX_QUEUED_PONGS = 16;

/** §5.5: a control frame's payload is at most 125 bytes. */
const MAX_PING_PAYLOAD = 125;

/** `maxQueuedPongs`, or a RangeError: at least one pong must fit. */
export function checkMaxQueuedPongs(max: number): number {
  if (!(max >= 1)) throw new RangeError(`maxQueuedPongs must be at least 1, got ${max}`);
  return max;
}

/** See the module comment. */
export class PongQueue {
  private queued = 0;
  // The latest ping left unanswered: its payload, copied (the chunk it came in is not ours to
  // keep). Made on the first flood, so that a connection that never sees one costs nothing.
  private held: Uint8Array | null = null;
  private heldLength = -1;
  private holding = false;

  /** `max`: checked by {@link checkMaxQueuedPongs} when the connection is made. */
  constructor(
    private readonly output: PongOutput,
    private readonly max: number,
  ) {}

  /** Whether a ping's answer is kept back (past the bound, or held), to go at the next flush. */
  get owed(): boolean {
    return this.heldLength >= 0;
  }

  /** Hold every answer (`true`) until released (`false`); only the latest ping's is kept. */
  hold(holding: boolean): void {
    this.holding = holding;
  }

  /** Answer a ping: queue its pong, or past the bound (or while held) keep it as the latest one to answer. */
  answer(payload: Uint8Array): void {
    if (this.queued < this.max && !this.holding) {
      // A pong still kept back (held until a release that came since) answers an earlier
      // ping: this one answers both (§5.5.3), and the older must not follow it.
      this.heldLength = -1;
      this.queued++;
      this.output.queuePong(payload);
      return;
    }
    (this.held ??= new Uint8Array(MAX_PING_PAYLOAD)).set(payload);
    this.heldLength = payload.length;
  }

  /**
   * The output is about to be taken: queue the pong kept back, unless answers are held, and
   * count afresh. `send` false: our close is sent, nothing may follow it (§5.5.1), and the
   * pong kept back is dropped.
   */
  flush(send: boolean): void {
    this.queued = 0;
    const length = this.heldLength;
    if (length < 0 || (send && this.holding)) return;
    this.heldLength = -1;
    if (send) this.output.queuePong(this.held!.subarray(0, length));
  }

  /** Our close frame is about to be written: the pong kept back goes first, held or not, since none may follow it. */
  flushBeforeClose(): void {
    this.holding = false;
    this.flush(true);
  }
}
