/**
 * A WebSocket endpoint over a Node socket: see {@link Peer}. It drives a sans-I/O
 * {@link Connection}, and keeps the budget, the flow control and the closing.
 * @module
 */
import type { Socket } from 'node:net';
import type { MessageCompression } from '../connection/compression.ts';
import { Connection, type ConnectionState } from '../connection/connection.ts';
import { CloseCode } from '../frame/close-code.ts';
import { Opcode } from '../frame/opcode.ts';
import type { ProtocolError } from '../frame/errors.ts';
import { READ_REGION_SIZE } from '../frame/mask-simd.ts';
import { headerRecordOf, requestTargetOf } from '../handshake/request.ts';
import { callApplication } from './callbacks.ts';
import { ClosingHandshake } from './closing.ts';
import { settingsFor } from './connection-settings.ts';
import { publishClose, publishOpen, publishSend } from './diagnostics.ts';
import { DrainWaiters } from './drain-waiters.ts';
import { BufferFullError, callbackSetError, ConnectionClosedError } from './errors.ts';
import { MessageIterator } from './iteration.ts';
import { LEND_AFTER, lendReads, readsAreLent } from './lent-reads.ts';
import { noteQueued, receiveLending, writeBeforeReuse } from './lent-messages.ts';
import type { Message } from './message.ts';
import { callTimeout, type ResolvedPeerOptions } from './options.ts';
import { ownedWritable, queueWritable, sizeOfWritable } from './outgoing.ts';
import { Receiver } from './receiver.ts';
import { Liveness } from './liveness.ts';
import { PeerExtras } from './extras.ts';
import { pingPayload, PingWaiters } from './pings.ts';
import { attachSocket, endIfEnded, writeChunks } from './socket-events.ts';
import { scheduleFlush, startHeartbeat, stopHeartbeat } from './scheduler.ts';
import type { DeferredHandshakeInfo, HandshakeInfo, OutgoingFrame, SendResult, Writable } from './types.ts';

export type { HandshakeInfo, OutgoingCloseFrame, OutgoingDataFrame, OutgoingFrame, SendResult, Writable } from './types.ts';

// The chunks of one flush, reused by every peer (flushes are synchronous, one at a time).
const outgoing: Uint8Array[] = [];
const EMPTY_INFO: HandshakeInfo = { path: '/', headers: {}, protocol: '', extensions: '' };
const EMPTY_PAYLOAD = new Uint8Array(0);

/** The bits of a peer's `flags`. */
const Flag = {
  FlushQueued: 1,
  QueuedWhileLending: 2,
  Paused: 4,
  SentPastMark: 8,
  Done: 16,
} as const;
type Flag = (typeof Flag)[keyof typeof Flag];

/**
 * A WebSocket endpoint over a Node socket (`node:net` or `node:tls`), in the shape of a
 * socket: `read`, `write`, `shutdown`, `close`. Messages go to an `onMessage` callback,
 * waiting reads or a bounded inbox; what is queued during a tick leaves in one vectored
 * write. Made by the `server`, `bind`, `connect`, `wrap` and `handleUpgrade` factories.
 */
// Also the host of its receiver, scheduler, heartbeat, lent reads and lent writes: internal
// roles whose members the published declarations leave out (`stripInternal`), so only the
// public interface is named here; each place that takes the peer in a role checks the fit.
export class Peer implements AsyncIterable<Message> {
  /** The underlying socket. */
  readonly socket: Socket;
  /**
   * The opening handshake's details, or what makes them on first use: a server's request
   * details, or (no subprotocol, no extension, a path that is the request target) the
   * request head's text alone.
   */
  private handshakeDetails: HandshakeInfo | DeferredHandshakeInfo | string;
  /** @internal Its place in its server's registry of open peers. */
  registryIndex = -1;
  // The peer's yes-or-no states, one bit each of one field (see `Flag` and the accessors
  // below): five fields fewer, 32 bytes, on every connection.
  private flags = 0;

  private readonly connection: Connection;
  /** @internal Shared with the other peers made alike. */
  readonly options: ResolvedPeerOptions;
  private readonly receiver: Receiver<Peer>;
  /** What only some peers use (a heartbeat, waiting writes, pings, callbacks, the closing): made on first use. */
  private extras: PeerExtras | null = null;
  /** The owner's bookkeeping (a server's set of peers): nearly every peer has one. */
  private onClosedCallback: ((peer: Peer) => void) | null = null;
  // Bytes to read before the socket is switched to lent reads (lent-reads.ts); -1 once settled.
  private bytesBeforeLending: number;

  /**
   * Not for applications: peers are made by the factories (`server`, `bind`, `connect`,
   * `wrap`, `handleUpgrade`). Take over `socket`, whose opening handshake is complete;
   * `head` holds bytes that followed the handshake and already belong to the WebSocket
   * stream; `compression` is the permessage-deflate codec the handshake negotiated, if any.
   */
  constructor(
    socket: Socket,
    role: 'client' | 'server',
    options: ResolvedPeerOptions,
    handshake: HandshakeInfo | DeferredHandshakeInfo | string = EMPTY_INFO,
    head?: Uint8Array,
    compression?: MessageCompression,
  ) {
    this.socket = socket;
    this.options = options;
    this.handshakeDetails = handshake;
    this.bytesBeforeLending = options.lentReads ? LEND_AFTER : -1;
    this.receiver = new Receiver<Peer>(this);
    this.connection = new Connection(role, this.receiver, settingsFor(options, compression));
    attachSocket(socket, this);
    // A socket handed over paused (its owner read the handshake, then paused it so that no
    // data is lost in between) does not start flowing when a 'data' listener is added.
    socket.resume();
    if (options.pingFrequency > 0) {
      const extras = this.more();
      extras.liveness = new Liveness();
      extras.heartbeat = startHeartbeat(this, options.pingFrequency);
    }
    publishOpen(this, role);
    if (head !== undefined && head.length > 0) this.receive(head);
    endIfEnded(socket); // after `head`, whose answers (pongs, a close reply) go first
    // A socket closed before it was handed over emits no 'close' to come: settle now.
    if (socket.closed) this.finish();
  }

  /** @internal A flush is queued for this tick (scheduler.ts). */
  get flushQueued(): boolean {
    return (this.flags & Flag.FlushQueued) !== 0;
  }
  /** @internal */
  set flushQueued(on: boolean) {
    this.setFlag(Flag.FlushQueued, on);
  }

  /** @internal Something was queued while a message was lent (lent-messages.ts). */
  get queuedWhileLending(): boolean {
    return (this.flags & Flag.QueuedWhileLending) !== 0;
  }
  /** @internal */
  set queuedWhileLending(on: boolean) {
    this.setFlag(Flag.QueuedWhileLending, on);
  }

  /** Reading is paused (see `updateFlow`). */
  private get paused(): boolean {
    return (this.flags & Flag.Paused) !== 0;
  }
  private set paused(on: boolean) {
    this.setFlag(Flag.Paused, on);
  }

  /** Something was sent while the send buffer was over the mark; cleared when it is back under. */
  private get sentPastMark(): boolean {
    return (this.flags & Flag.SentPastMark) !== 0;
  }
  private set sentPastMark(on: boolean) {
    this.setFlag(Flag.SentPastMark, on);
  }

  /** The socket has closed and the peer is settled (`finish`). */
  private get done(): boolean {
    return (this.flags & Flag.Done) !== 0;
  }
  private set done(on: boolean) {
    this.setFlag(Flag.Done, on);
  }

  private setFlag(flag: Flag, on: boolean): void {
    this.flags = on ? this.flags | flag : this.flags & ~flag;
  }

  /**
   * What the opening handshake settled. A server peer keeps its request head as text and
   * makes the header record the first time this is read (the same object after that).
   */
  get handshake(): HandshakeInfo {
    const details = this.handshakeDetails;
    if (typeof details === 'string') {
      const info = { path: requestTargetOf(details), headers: headerRecordOf(details), protocol: '', extensions: '' };
      return (this.handshakeDetails = info);
    }
    if (!('settle' in details)) return details;
    return (this.handshakeDetails = details.settle());
  }

  /** @internal The request path, without making the rest of the handshake's details. */
  get handshakePath(): string {
    const details = this.handshakeDetails;
    return typeof details === 'string' ? requestTargetOf(details) : details.path;
  }

  /**
   * What the application keeps with this peer: on a server, the `data` that `verify`
   * accepted it with (`{ accept: true, data }`), else undefined until set. wspeer never
   * reads it.
   */
  get data(): unknown {
    return this.extras?.data;
  }

  set data(value: unknown) {
    if (value !== undefined || this.extras !== null) this.more().data = value;
  }

  private more(): PeerExtras {
    return (this.extras ??= new PeerExtras());
  }

  /** The closing handshake's bookkeeping, made on first use. */
  private get closing(): ClosingHandshake {
    return (this.more().closing ??= new ClosingHandshake(this, this.connection, this.socket, this.options.closeTimeout));
  }

  /** OPEN, CLOSING (our close frame sent) or CLOSED (handshake done, failed, or socket closed: §7.1.4). */
  get state(): ConnectionState {
    return this.done ? 'CLOSED' : this.connection.state;
  }

  /** Whether the socket has closed: reads return null, writes fail. After `close()` it comes a tick later; `state` is CLOSED at once. */
  get closed(): boolean {
    return this.done;
  }

  /** Resolves once the socket has closed; `closeCode`, `closeReason` and `error` then say how. */
  whenClosed(): Promise<void> {
    return this.receiver.inbox.whenClosed();
  }

  /** The connection's close code: the peer's (1005 if its close frame had none), or 1006 if it ended without one (dropped, failed, a missed heartbeat). */
  get closeCode(): number {
    return this.connection.remoteCloseCode ?? CloseCode.Abnormal;
  }

  /** The peer's close reason, '' if none. */
  get closeReason(): string {
    return this.connection.remoteCloseReason;
  }

  /** The peer's protocol violation that failed the connection, if any (we sent its close code). */
  get error(): ProtocolError | null {
    return this.connection.error;
  }

  /** @internal Messages received and neither read nor handed to a callback yet. */
  get unread(): number {
    return this.receiver.queuedCount;
  }

  /**
   * Bytes queued for the peer and held until written (a write the kernel took in part still
   * counts whole); 0 once the socket has closed, what was left unsent being dropped.
   */
  get bufferedAmount(): number {
    return this.connection.outgoingBytes + this.socket.writableLength;
  }

  /**
   * The next message, or null once the connection is closed (and every message received
   * before has been read). With `timeout` (ms), rejects with a {@link TimeoutError} if none
   * arrives in time; the connection stays usable and a later read gets the next message.
   */
  read(timeout?: number): Promise<Message | null> {
    let delay: number | undefined;
    try {
      delay = callTimeout('read', timeout); // refused even when a message is waiting
    } catch (error) {
      return Promise.reject(error);
    }
    const message = this.receiver.take();
    if (message !== undefined) return Promise.resolve(message);
    if (this.done) return Promise.resolve(null);
    if (this.receiver.callback !== null) return Promise.reject(callbackSetError('read'));
    this.readerWaits();
    return this.receiver.inbox.wait(delay);
  }

  /**
   * Reads messages until the connection closes: `for await (const message of peer)`. Our
   * answer to the other side's close frame waits for the loop's body to finish with the
   * last message before it (see `iteration.ts`).
   */
  [Symbol.asyncIterator](): AsyncIterator<Message> {
    return new MessageIterator(this.receiver, this);
  }

  /**
   * @internal A read waits with nothing queued. Once the close frame has come nothing more
   * will, so a held answer to it goes now: holding it for the application that waits here
   * would only make both wait for the deadline.
   */
  readerWaits(): void {
    if (this.connection.awaitingCloseReply) this.closing.replyNow();
  }

  /** @internal Whether the application may still answer a message it was handed: our close answer waits for it. */
  get handlingMessages(): boolean {
    return this.receiver.handlingMessages;
  }

  /** @internal A queued message was taken: reading resumes, and a held close answer goes, as the inbox empties. */
  messageTaken(): void {
    if (this.paused) this.updateFlow();
    this.handlingSettled();
  }

  /** @internal A held close answer goes once no message waits and the application is done with those it had. */
  handlingSettled(): void {
    if (this.receiver.queuedCount === 0 && this.connection.awaitingCloseReply) this.closing.replySoon();
  }

  /**
   * Receive every message through `callback` instead of `read` — the cheapest path, with no
   * promise per message. Messages already waiting are passed first, until the callback
   * switches itself off. Pass null to go back to `read`. If it throws, or the promise it
   * returns rejects, the connection is closed with 1011 and `onError` is told.
   *
   * The callback gets the peer too, so one function can serve every peer with no closure
   * made per connection: `peer.onMessage(echo)` with `function echo(message, peer) { peer.send(message); }`.
   */
  onMessage(callback: ((message: Message, peer: Peer) => void) | null): void {
    this.receiver.setCallback(functionOrNull('onMessage', callback));
  }

  /**
   * Queue a message or a frame, synchronously, and say how it went — the shape of uWebSockets'
   * `send`: `'sent'` (queued, the send buffer is under the high-water mark), `'backpressure'`
   * (queued, but the buffer is over it: wait for `drained()` before sending more), or
   * `'dropped'` (not queued: the connection is closed, or the buffer is at
   * `maxBufferedAmount`). A string is sent as text, bytes as binary, an
   * {@link OutgoingFrame} as given. Bytes passed must not change until they are written.
   * Throws a `UsageError` for what the protocol forbids (e.g. a continuation with no
   * message open, a control payload over 125 bytes).
   */
  send(data: Writable): SendResult {
    if (this.done || this.connection.state !== 'OPEN') return 'dropped';
    const buffered = this.bufferedAmount;
    if (this.overBudget(buffered, sizeOfWritable(data))) {
      this.onBufferFull();
      return 'dropped';
    }
    this.queue('send', data, buffered);
    return this.bufferedAmount <= this.options.highWaterMark ? 'sent' : 'backpressure';
  }

  /** Resolves once the send buffer is back under the high-water mark (at once if it is), or the connection closed. */
  drained(): Promise<void> {
    if (this.done || this.bufferedAmount <= this.options.highWaterMark) return Promise.resolve();
    const drained = (this.more().writers ??= new DrainWaiters()).settled();
    scheduleFlush(this);
    return drained;
  }

  /**
   * Send a message or a frame: a string as text, bytes as binary, an {@link OutgoingFrame}
   * as given (so a message can be sent in fragments). Resolves with the number of bytes
   * queued once they are queued without passing the high-water mark — at once when the
   * peer keeps up (they are written at the end of the tick, and `close()` before then
   * discards them), once the send buffer drains below the mark when it does not. Bytes
   * passed must not change until then. With `timeout` (ms), rejects with a
   * {@link TimeoutError} if the buffer has not drained in time (they stay queued).
   * Rejects with {@link BufferFullError} rather than queue past `maxBufferedAmount`, and with
   * {@link ConnectionClosedError} once our close frame is sent, the connection has failed
   * or the socket has closed (where `send` answers `'dropped'`).
   */
  write(data: Writable, timeout?: number): Promise<number> {
    // Not a UsageError once our close is sent or the connection failed: a writer cannot see it coming.
    if (this.done || this.connection.state !== 'OPEN') {
      return Promise.reject(this.closedError('write'));
    }
    const buffered = this.bufferedAmount;
    if (this.overBudget(buffered, sizeOfWritable(data))) {
      this.onBufferFull();
      return Promise.reject(new BufferFullError(buffered, Math.min(this.options.maxBufferedAmount, this.options.memoryLimit)));
    }
    // Below the mark it resolves before the bytes are written: a server's long payloads,
    // which would be queued by reference, are copied so that the caller may reuse them.
    const early = this.connection.role === 'server' && buffered + sizeOfWritable(data) <= this.options.highWaterMark;
    let bytes: number;
    try {
      callTimeout('write', timeout); // refused before anything is queued, needed or not
      bytes = this.queue('write', early ? ownedWritable(data) : data, buffered, data);
    } catch (error) {
      return Promise.reject(error);
    }
    if (buffered + bytes <= this.options.highWaterMark) return Promise.resolve(bytes);
    return (this.more().writers ??= new DrainWaiters()).add(bytes, timeout);
  }

  /**
   * Whether queuing `size` more bytes on `buffered` would pass `maxBufferedAmount` or the
   * connection's memory budget. With nothing waiting to be sent, one message may always go.
   */
  private overBudget(buffered: number, size: number): boolean {
    if (buffered === 0) return false;
    const options = this.options;
    if (buffered + size > options.maxBufferedAmount) return true;
    return buffered + size + this.receiver.queuedBytes + this.connection.incomingBytes > options.memoryLimit;
  }

  /** `closeOnBufferFull`: a peer this far behind is dropped rather than kept and skipped. */
  private onBufferFull(): void {
    if (!this.options.closeOnBufferFull) return;
    this.connection.abort(CloseCode.PolicyViolation, 'send buffer full');
    this.socket.destroy();
  }

  /**
   * Hand `data` to the connection and schedule the flush; returns the bytes queued.
   * `call`: the method, for errors; `buffered`: the send buffer before it. Subscribers of
   * `wspeer:send` are shown `published`, what the application passed.
   */
  private queue(call: string, data: Writable, buffered: number, published: Writable = data): number {
    // Queued on a buffer already over the mark: backpressure is ignored (see `updateFlow`).
    if (buffered > this.options.highWaterMark && this.connection.role === 'server') this.sentPastMark = true;
    const bytes = queueWritable(this.connection, data, call);
    // A ping written as a frame: its pong may answer `ping()`'s before it.
    const pings = this.extras?.pings;
    if (pings != null && (data as OutgoingFrame).opcode === Opcode.Ping) pings.sentOther(pingPayload((data as OutgoingFrame).data ?? EMPTY_PAYLOAD));
    scheduleFlush(this);
    noteQueued(this);
    publishSend(this, published, bytes);
    return bytes;
  }

  /**
   * Ping the other side (§5.5.2) and resolve with the round trip in milliseconds once its
   * pong comes (§5.5.3). Without `payload`, a fresh 4-byte one tells this ping's pong from
   * others' (a heartbeat's, say); with one, the first pong carrying it answers. A pong to a
   * later ping answers this one too, as the other side may answer only the latest. With
   * `timeout` (ms), rejects with a {@link TimeoutError} if none came in time (the connection
   * stays open: `pingFrequency` is what drops a silent peer). Rejects with
   * {@link ConnectionClosedError} once our close frame is sent or the socket has closed, and
   * with a `UsageError` for a payload over 125 bytes.
   */
  ping(payload?: string | Uint8Array, timeout?: number): Promise<number> {
    if (this.done || this.connection.state !== 'OPEN') return Promise.reject(this.closedError('ping'));
    let delay: number | undefined;
    let bytes: Uint8Array;
    try {
      delay = callTimeout('ping', timeout);
      bytes = pingPayload(payload);
      this.connection.sendPing(bytes);
    } catch (error) {
      return Promise.reject(error);
    }
    scheduleFlush(this);
    return (this.more().pings ??= new PingWaiters()).add(bytes, delay);
  }

  /**
   * Be told of each ping the other side sends (§5.5.2), with a copy of its payload. There is
   * nothing to answer: the connection answers pings itself while it is open, its pong
   * queued already or, while the send buffer is full, owed (of a flood of pings only the
   * latest is answered, §5.5.3). Pass null to stop. If the callback throws, or the promise
   * it returns rejects, the connection is closed with 1011 and `onError` is told, as for
   * `onMessage`.
   */
  onPing(callback: ((data: Buffer) => void) | null): void {
    this.more().pingCallback = functionOrNull('onPing', callback);
  }

  /**
   * Be told of each pong that comes (§5.5.3), with a copy of its payload: the answers to
   * pings sent (`ping()`, `pingFrequency`, ping frames written) and pongs sent unasked, as a
   * one-way heartbeat. Pass null to stop. Failures are handled as for `onPing`.
   */
  onPong(callback: ((data: Buffer) => void) | null): void {
    this.more().pongCallback = functionOrNull('onPong', callback);
  }

  /**
   * The closing handshake (§7.1.2): send a close frame with `code` and `reason`, wait for
   * the peer's and for the socket to end; past `timeout` (ms, default the `closeTimeout`
   * option) the socket is destroyed. Resolves once the socket is closed: true if both close
   * frames were exchanged (the handshake completed, even if the peer then kept its TCP
   * connection open until the timeout), false if the peer's never came or the connection
   * failed.
   */
  shutdown(code: number = CloseCode.Normal, reason = '', timeout: number = this.options.closeTimeout): Promise<boolean> {
    if (this.done) return Promise.resolve(this.closing.clean);
    let delay: number | undefined;
    try {
      delay = callTimeout('shutdown', timeout);
      this.connection.close(code, reason);
    } catch (error) {
      return Promise.reject(error);
    }
    scheduleFlush(this);
    return this.closing.wait(delay);
  }

  /**
   * Fail the connection from this side (§7.1.7): send a close frame with `code` (default
   * 1011, internal error) unless one was sent, then end the socket without waiting for the
   * peer's answer. Never throws, being meant for error paths: a code no close frame may
   * carry (§7.4.1) is sent as 1011, and a reason over 123 bytes is left out.
   */
  abort(code: number = CloseCode.InternalError, reason = ''): void {
    if (this.done) return;
    this.connection.abort(code, reason);
    scheduleFlush(this);
  }

  /**
   * Destroy the socket at once, discarding anything not yet sent. From here on the state is
   * CLOSED and nothing more is sent or delivered; reads return null once the socket's
   * close is settled (on a later tick).
   */
  close(): void {
    this.socket.destroy();
    // As after an abort: the socket's 'close' event comes ticks later, and a send meanwhile
    // must not claim to queue bytes that can no longer go.
    this.connection.transportClosed();
  }

  /** @internal Register the owner's bookkeeping (a server's set of peers); called once, when the socket closes (at once if it has). */
  onClosed(callback: (peer: Peer) => void): void {
    if (this.done) callback(this);
    else this.onClosedCallback = callback;
  }

  /** @internal Feed bytes read from the socket; once it has read enough, switch it to lent reads. */
  receive(chunk: Uint8Array): void {
    this.receiveRead(chunk, false);
    if (this.bytesBeforeLending >= 0 && (this.bytesBeforeLending -= chunk.length) <= 0) {
      // A socket that cannot be switched just now is tried again at its next read.
      this.bytesBeforeLending = lendReads(this.socket, this) === 'not now' ? 0 : -1;
    }
  }

  /** @internal Feed the bytes of one read: owned, or lent by the shared region for this call only. */
  receiveRead(chunk: Uint8Array, lent: boolean): void {
    this.heard();
    const connection = this.connection;
    if (this.options.lentMessages && this.receiver.callback !== null && (lent || this.endsLentAssembly(connection))) receiveLending(connection, chunk);
    else if (!lent) connection.receive(chunk);
    else connection.receiveBorrowed(chunk);
    this.afterRead(connection);
  }

  /**
   * @internal Where the next read may go straight into: the rest of a long unmasked message
   * being assembled (a client's), at most `maxLength` bytes of it; never for messages lent
   * to a callback, whose assembly buffers the lending reads manage.
   */
  directTarget(maxLength: number): Uint8Array | null {
    return this.options.lentMessages ? null : this.connection.receiveTarget(maxLength);
  }

  /** @internal `length` bytes were read into what {@link directTarget} gave. */
  receiveDirect(length: number): void {
    this.heard();
    const connection = this.connection;
    connection.receiveInPlace(length);
    this.afterRead(connection);
  }

  /** A read came: the peer is alive, and the next message may use what the budget leaves. */
  private heard(): void {
    if (this.extras !== null && this.extras.liveness !== null) this.extras.liveness.heard = true;
    this.limitMessages();
  }

  /** A read was parsed: write what it queued (pongs, close answers, echoes), or end. */
  private afterRead(connection: Connection): void {
    if (connection.outgoingBytes > 0 || connection.state === 'CLOSED') scheduleFlush(this);
  }

  /**
   * Whether an owned read (a short one, of a socket whose reads are lent) may end a message
   * assembled to be lent: it is parsed as lent too, so that the message's buffer is taken
   * back for reuse. Never on a socket whose reads are Node's (TLS): its writes must go
   * through its stream.
   */
  private endsLentAssembly(connection: Connection): boolean {
    return connection.splitFrameLength > 0 && readsAreLent(this.socket);
  }

  /**
   * @internal What the next read may add before the high-water mark: a long read holds
   * several 64 KiB messages whole, lent or copied out once, where Node's 64 KiB splits each
   * across two (two 9-round A/B runs of the 64 KiB echo: 1.07× and 1.17× cheaper per
   * message). None while a frame longer than the region is assembled: its pieces go to the
   * frame's own buffer either way, and a long read only defers them.
   */
  readRoom(): number {
    if (this.connection.splitFrameLength > READ_REGION_SIZE) return 0;
    return this.options.highWaterMark - this.receiver.queuedBytes - this.bufferedAmount;
  }

  /**
   * One budget for the whole connection (`memoryLimit`): the next message may use what the
   * unread inbox and the unsent bytes leave of it.
   */
  private limitMessages(): void {
    this.connection.setMessageLimit(this.options.memoryLimit - this.receiver.queuedBytes - this.bufferedAmount);
  }

  /**
   * @internal Write what the connection queued; end the transport when the protocol says so.
   * With `region`: messages were lent, and none of its bytes may stay referenced.
   */
  flush(region?: ArrayBufferLike): void {
    const connection = this.connection;
    const socket = this.socket;
    if (this.done || socket.destroyed) return;
    const hwm = this.options.highWaterMark;
    const backlog = socket.writableLength;
    // A pong held while the buffer was over the mark goes once it is back under.
    connection.holdPongs(backlog > hwm);
    const over = backlog + connection.outgoingBytes > hwm; // `bufferedAmount`, the socket read once
    const count = connection.takeOutgoingInto(outgoing);
    // Be told when these bytes are written if the buffer is over the mark (waiting writes,
    // a paused reading, a held pong may then go on), or someone waits already: 'drain' only
    // comes once the socket is empty, and only if its own high-water mark (16 KiB) was passed.
    // With an error the socket is going, and `finish` fails the waiting writes.
    const onWritten = over || this.extras?.writers?.waiting === true || this.paused || connection.pongOwed ? (error?: Error | null) => void (error == null && !socket.destroyed && this.onDrain()) : undefined;
    if (region === undefined) writeChunks(socket, outgoing, count, onWritten);
    else writeBeforeReuse(socket, outgoing, count, region, onWritten);
    // One test of the state on the open path, as before; the rest only once a close is queued.
    if (connection.state !== 'OPEN') {
      if (connection.state === 'CLOSED') {
        this.closing.endTransport();
        return;
      }
      this.closing.closeSent();
    }
    if (socket.writableLength > hwm) {
      // Over the mark: pongs wait for it to go down (one, the latest ping's, §5.5.3), and
      // the peer's answer to our ping may wait behind the backlog.
      connection.holdPongs(true);
      this.extras?.liveness?.heldUp();
      this.updateFlow();
    }
  }

  /** @internal A ping period passed: ping, and drop the peer if nothing came since the last ping, unless the silence is ours (unread messages, a backlog the peer reads: see `Liveness`). */
  beat(): void {
    const hwm = this.options.highWaterMark;
    if (!this.extras!.liveness!.beat(this.socket, this.paused, this.socket.writableLength > hwm, this.receiver.queuedBytes > hwm)) {
      this.socket.destroy();
      return;
    }
    if (this.connection.state === 'OPEN') {
      this.connection.sendPing();
      this.extras!.pings?.sentOther(EMPTY_PAYLOAD);
      scheduleFlush(this);
    }
  }

  /**
   * Pause reading while the inbox is over the high-water mark, or, on a server, while the
   * send buffer is and the application sent more on it (`sentPastMark`); resume when
   * neither holds. What is sent past the mark ignores backpressure — echoes sent without a
   * look at `send`'s answer, a write per message not awaited — and pausing keeps a client
   * that never reads from making the server pile them up. A buffer over the mark that way
   * alone — a write that waits, a `'backpressure'` followed by `drained()` — pauses
   * nothing: the application already paces itself. And a client never stops reading for
   * its own backlog (`send` refuses past `maxBufferedAmount`): if both ends of a connection
   * did, each would wait for the other to read, for good.
   */
  private updateFlow(): void {
    const hwm = this.options.highWaterMark;
    const shouldPause = this.receiver.queuedBytes > hwm || (this.socket.writableLength > hwm && this.sentPastMark);
    if (shouldPause === this.paused) return;
    this.paused = shouldPause;
    if (shouldPause) {
      this.extras?.liveness?.heldUp();
      this.socket.pause();
    } else {
      this.socket.resume();
    }
  }

  /** @internal Bytes were written: back under the mark, resolve waiting writes and answer pings again; resume reading if it may. */
  onDrain(): void {
    if (this.bufferedAmount <= this.options.highWaterMark) {
      this.sentPastMark = false;
      // Pings are answered as they come again; one held meanwhile goes now (below).
      this.connection.holdPongs(false);
      this.extras?.writers?.resolveAll();
    }
    if (this.paused) this.updateFlow();
    if (this.connection.pongOwed) scheduleFlush(this);
  }

  /** @internal The other side's FIN: see `ClosingHandshake.peerEnded`. */
  ended(): void {
    this.closing.peerEnded();
  }

  /** @internal The socket closed: settle every pending operation. */
  finish(): void {
    if (this.done) return;
    this.done = true;
    this.connection.transportClosed(); // its zlib streams go now, not at the next GC
    const extras = this.extras;
    if (extras?.heartbeat != null) stopHeartbeat(extras.heartbeat);
    this.receiver.closeInbox();
    extras?.writers?.rejectAll(this.closedError('write'));
    extras?.pings?.rejectAll(this.closedError('ping'));
    extras?.closing?.settle();
    publishClose(this);
    this.onClosedCallback?.(this);
  }

  /** `operation` cannot go on: what closed, and once the connection has ended, how. */
  private closedError(operation: string): ConnectionClosedError {
    if (this.done) return new ConnectionClosedError(operation, 'the connection', { code: this.closeCode, reason: this.closeReason });
    return new ConnectionClosedError(operation, this.state === 'CLOSING' ? 'our side of the connection' : 'the connection');
  }

  /** @internal A message was queued unread: what is left of the budget shrinks for the next one in this chunk; past the mark, reading pauses. */
  messageQueued(): void {
    this.limitMessages();
    if (this.receiver.queuedBytes > this.options.highWaterMark && !this.paused) this.updateFlow();
  }

  /** @internal The application's callback failed: its fault, not the peer's; 1011, reported, no more messages to it, and the process goes on. */
  callbackFailed(error: unknown): void {
    this.receiver.callback = null;
    this.abort(CloseCode.InternalError, 'internal error');
    this.options.onError(error);
  }

  /** @internal A ping came: `onPing` is told. */
  pingReceived(payload: Uint8Array): void {
    const callback = this.extras?.pingCallback;
    if (callback != null) callApplication(callback, Buffer.from(payload), this);
  }

  /** @internal A pong came: it may answer pings of `ping()`, and `onPong` is told. */
  pongReceived(payload: Uint8Array): void {
    const extras = this.extras;
    if (extras === null) return;
    extras.pings?.pong(payload);
    if (extras.pongCallback !== null) callApplication(extras.pongCallback, Buffer.from(payload), this);
  }

  /** @internal The peer's close frame arrived: our answer waits for the application to have had what came before (see `ClosingHandshake.answer`). */
  closeReceived(unread: boolean): void {
    this.closing.answer(unread);
  }
}

/** `callback` if it is a function or null; else a TypeError naming `method`. */
function functionOrNull<F extends (...args: never[]) => void>(method: string, callback: F | null): F | null {
  if (callback !== null && typeof callback !== 'function') throw new TypeError(`${method} takes a function or null, got ${typeof callback}`);
  return callback;
}
