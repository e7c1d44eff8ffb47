/**
 * The end of a peer's life over its socket: when to answer the other side's close frame,
 * the `shutdown` promises, and ending the TCP connection once the closing handshake is done
 * (RFC 6455 §5.5.1, §7.1.1) with a deadline for a side that lingers.
 * @module
 */
import type { Socket } from 'node:net';
import type { Connection } from '../connection/connection.ts';
import { releaseDeadline, watchDeadline, type Deadline } from './deadlines.ts';
import { scheduleFlush, type Flushable } from './scheduler.ts';

/** The peer, as its closing handshake sees it. */
export interface ClosingHost extends Flushable {
  /** The application may still answer a message it was handed (an `onMessage` promise, a `for await` body). */
  readonly handlingMessages: boolean;
}

/** See the module comment. One per peer, made when the peer is. */
export class ClosingHandshake implements Deadline {
  /** When a socket that should have ended is destroyed; 0 until the transport ends. */
  deadline = 0;
  /** @internal */
  registryIndex = -1;
  /** While the application holds back our answer to the peer's close (messages unread, or being answered): when it goes anyway. */
  private replyDeadline: Deadline | null = null;
  private waiters: Array<(clean: boolean) => void> | null = null;
  /**
   * The socket is destroyed at `destroyAt` unless it closes first: one timer, however many
   * `shutdown` calls wait. It holds the process until then (it is cleared when the socket
   * closes): a socket whose reading is paused is no active handle, and a process holding
   * nothing else would exit with the `shutdown` promises never settled.
   */
  private destroyTimer: ReturnType<typeof setTimeout> | null = null;
  private destroyAt = Infinity;

  constructor(
    private readonly peer: ClosingHost,
    private readonly connection: Connection,
    private readonly socket: Socket,
    private readonly closeTimeout: number,
  ) {}

  /** Both close frames were exchanged and the connection did not fail. */
  get clean(): boolean {
    const connection = this.connection;
    return connection.remoteCloseCode !== null && connection.localCloseCode !== null && connection.error === null;
  }

  /** Resolves with `clean` once the socket closed; destroys it after `timeout` ms, if given. */
  wait(timeout: number | undefined): Promise<boolean> {
    return new Promise((resolve) => {
      (this.waiters ??= []).push(resolve);
      if (timeout !== undefined) this.destroyWithin(timeout);
    });
  }

  /**
   * Our close frame is queued (CLOSING). A `shutdown` bounds the wait for the answer with
   * its own timeout; a close written as a frame (`write`, `send`) has none, so it gets
   * `closeTimeout`, as the closing handshake's bound (§7.1.2).
   */
  closeSent(): void {
    if (this.waiters === null && this.destroyTimer === null) this.destroyWithin(this.closeTimeout);
  }

  /** Destroy the socket `timeout` ms from now, unless an earlier wait will. */
  private destroyWithin(timeout: number): void {
    const at = Date.now() + timeout;
    if (at >= this.destroyAt) return;
    if (this.destroyTimer !== null) clearTimeout(this.destroyTimer);
    this.destroyAt = at;
    this.destroyTimer = setTimeout(() => this.socket.destroy(), timeout);
  }

  /**
   * The peer's close frame arrived and our answer is owed. §5.5.1 lets it wait until the
   * application has had the messages before it, and has answered them: until the inbox is
   * drained (`unread`), then until the `onMessage` promises and the `for await` body
   * handling the last ones settle, and a turn more, for the continuations of readers. At
   * most half of `closeTimeout` in all, so that a peer waiting as long as we would for our
   * answer still gets it in time.
   */
  answer(unread: boolean): void {
    if (unread || this.peer.handlingMessages) this.holdReply();
    if (!unread) this.replySoon();
  }

  /** Answer the peer's close after pending continuations (and their writes) have run, unless the application is still answering. */
  replySoon(): void {
    setImmediate(() => {
      if (!this.peer.handlingMessages) this.replyNow();
      else this.holdReply(); // the peer calls again once it is done
    });
  }

  /** Bound the wait for the application: half of `closeTimeout` after the close frame, the answer goes regardless. */
  private holdReply(): void {
    if (this.replyDeadline !== null) return;
    this.replyDeadline = { deadline: Date.now() + this.closeTimeout / 2, expire: () => this.replyNow(), registryIndex: -1 };
    watchDeadline(this.replyDeadline);
  }

  /** Answer the peer's close now, if still owed. */
  replyNow(): void {
    // Also once the socket is destroyed: nothing goes out then, but the connection is CLOSED.
    if (!this.connection.awaitingCloseReply) return;
    this.connection.replyToClose();
    scheduleFlush(this.peer);
  }

  /**
   * The other side sent its FIN. Our answer to its close frame, if still owed, goes first
   * (§5.5.1: a half-closed peer can still read it), and `endTransport` ends the connection
   * once it is written. Otherwise ours ends now, after what is queued; the 'close' that
   * follows settles the peer (1006 unless the closing handshake was done, §7.1.5).
   */
  peerEnded(): void {
    if (this.connection.awaitingCloseReply) return;
    this.socket.end();
    // What is queued may never drain to a side that has stopped reading: bounded as after a close.
    this.watchLinger();
  }

  /**
   * After the closing handshake or a failure: the server (or a failing endpoint) ends the
   * TCP connection first (§7.1.1, §7.1.7); a client waits for the server to, unless the
   * server's FIN came already. Either way the socket is destroyed if the other side lingers
   * past `closeTimeout`.
   */
  endTransport(): void {
    if (this.deadline !== 0) return;
    if (this.connection.transportShouldClose || this.socket.readableEnded) {
      if (this.closesAtOnce()) {
        this.socket.destroy();
        return;
      }
      this.socket.end();
    }
    this.watchLinger();
  }

  /** Destroy the socket `closeTimeout` from now unless it has closed, or the earlier deadline set. */
  private watchLinger(): void {
    if (this.deadline !== 0) return;
    this.deadline = Date.now() + this.closeTimeout;
    watchDeadline(this);
  }

  /**
   * Whether the socket may close now rather than half-close and wait for the other side's
   * FIN. After a clean closing handshake nothing more may come (§5.5.1), so once our last
   * bytes are in the kernel, closing sends them and then the FIN, as ending would, and spares
   * a wake-up, a read and a shutdown per connection. Not after a failure, whose peer may
   * still be sending (closing with unread bytes resets the connection), not while bytes wait
   * in the socket, and not over TLS, whose end sends a close_notify alert first.
   */
  private closesAtOnce(): boolean {
    const socket = this.socket;
    return this.clean && socket.writableLength === 0 && (socket as Socket & { encrypted?: boolean }).encrypted !== true;
  }

  /** @internal The other side lingered past the deadline. */
  expire(): void {
    this.socket.destroy();
  }

  /** The socket closed: stop watching it and settle the `shutdown` promises. */
  settle(): void {
    if (this.deadline !== 0) releaseDeadline(this);
    if (this.replyDeadline !== null) releaseDeadline(this.replyDeadline);
    if (this.destroyTimer !== null) clearTimeout(this.destroyTimer);
    const waiters = this.waiters;
    this.waiters = null;
    if (waiters === null) return;
    const clean = this.clean;
    for (const resolve of waiters) resolve(clean);
  }
}
