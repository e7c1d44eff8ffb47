/**
 * Whether a peer with a heartbeat (`pingFrequency`) is still alive, judged at each beat.
 * A peer is dropped when a whole period passed after a ping with nothing heard from it,
 * unless the silence is ours: reading paused by unread messages, or a backlog of ours that
 * the kernel keeps taking (the peer reads it, only slowly; our ping waits behind it, or its
 * pong waits unread while our reading is paused). Unread messages excuse nothing while our
 * backlog over the mark did not move for the period: then the peer reads nothing of ours
 * either, and an application waiting for it to (an echo awaiting each write) would keep
 * reading paused, and the peer, for good.
 * @module
 */
import type { Socket } from 'node:net';
import { bytesTakenByKernel } from './socket-events.ts';

/** See the module comment. One per peer with a heartbeat. */
export class Liveness {
  /** Something arrived from the peer since the last beat. */
  heard = true;
  /** A ping went out at the last beat, so this beat may judge. */
  private awaitingLife = false;
  // The bytes of ours the kernel had taken at the last beat, and whether we were held up since.
  private takenAtBeat = -1;
  private heldUpSinceBeat = false;

  /** Reading was paused, or our send buffer passed the high-water mark: the ping or its pong may wait. */
  heldUp(): void {
    this.heldUpSinceBeat = true;
  }

  /**
   * A period passed. False if the peer is to be dropped; else true (a ping is due).
   * `readingPaused`: reading is paused now; `backlogOver`: our send buffer is over the
   * mark; `messagesHeld`: unread messages are over the mark.
   */
  beat(socket: Socket, readingPaused: boolean, backlogOver: boolean, messagesHeld: boolean): boolean {
    const backlogMoved = this.backlogMoved(socket, readingPaused || backlogOver);
    const excused = backlogMoved || (messagesHeld && !backlogOver);
    if (this.awaitingLife && !this.heard && !excused) return false;
    this.heard = false;
    this.awaitingLife = true;
    return true;
  }

  /** Whether, held up since the last beat, the kernel took more of our backlog. */
  private backlogMoved(socket: Socket, heldUp: boolean): boolean {
    const taken = bytesTakenByKernel(socket);
    const moved = this.heldUpSinceBeat && this.takenAtBeat >= 0 && taken > this.takenAtBeat;
    this.takenAtBeat = taken;
    this.heldUpSinceBeat = heldUp;
    return moved;
  }
}
