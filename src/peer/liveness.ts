/**
 * Whether a peer with a heartbeat (`pingFrequency`) is still alive, judged at each beat.
 * A peer is dropped when a whole period passed after a ping with nothing heard from it,
 * unless the silence is ours: reading paused by unread messages, or by a backlog of ours
 * that the kernel keeps taking (the peer reads it, only slowly, and its pongs wait unread).
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
  // The bytes of ours the kernel had taken at the last beat, and whether reading paused since.
  private takenAtBeat = -1;
  private pausedSinceBeat = false;

  /** Reading was paused: the peer's pongs may wait unread. */
  readingPaused(): void {
    this.pausedSinceBeat = true;
  }

  /**
   * A period passed. False if the peer is to be dropped; else true (a ping is due).
   * `paused`: reading is paused now; `messagesHeld`: unread messages are over the mark.
   */
  beat(socket: Socket, paused: boolean, messagesHeld: boolean): boolean {
    const backlogMoved = this.backlogMoved(socket, paused);
    if (this.awaitingLife && !this.heard && !backlogMoved && !messagesHeld) return false;
    this.heard = false;
    this.awaitingLife = true;
    return true;
  }

  /** Whether, reading paused since the last beat, the kernel took more of our backlog. */
  private backlogMoved(socket: Socket, paused: boolean): boolean {
    const taken = bytesTakenByKernel(socket);
    const moved = this.pausedSinceBeat && this.takenAtBeat >= 0 && taken > this.takenAtBeat;
    this.takenAtBeat = taken;
    this.pausedSinceBeat = paused;
    return moved;
  }
}
