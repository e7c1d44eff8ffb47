/**
 * The glue between a Node socket and its peer: module-level listeners that find the
 * peer through a symbol on the socket, so a connection costs no closure per event, the
 * vectored write of a flush, and how much of the writes the kernel took.
 * @module
 */
import type { Socket } from 'node:net';

/** What a socket's reads and its close are handed to: the reader of its opening handshake, then its peer. */
export interface SocketReadTarget {
  /** Bytes read from the socket. */
  receive(chunk: Uint8Array): void;
  /** The socket closed. */
  finish(): void;
}

/** What all of a socket's events are handed to: its peer. */
export interface SocketEventTarget extends SocketReadTarget {
  /** The other side sent its FIN: nothing more will be read. */
  ended(): void;
  /** The socket wrote what it held. */
  onDrain(): void;
}

const kTarget = Symbol('wspeer.peer');
const NOTHING = new Uint8Array(0);

interface TargetSocket extends Socket {
  [kTarget]?: SocketReadTarget | undefined;
}

/**
 * Route `socket`'s data and close events to `target` (and keep its errors from being
 * uncaught): the server's reader of a request head does, and the peer it makes takes the
 * routes over as they are, so an upgrade adds and removes no listener in between.
 */
export function routeReads(socket: Socket, target: SocketReadTarget): void {
  (socket as TargetSocket)[kTarget] = target;
  socket.on('data', onSocketData);
  socket.on('close', onSocketClose);
  socket.on('error', ignoreSocketError);
}

/** Undo {@link routeReads} (but for the error listener): the socket goes to no peer of ours. */
export function unrouteReads(socket: Socket): void {
  const routed = socket as TargetSocket;
  if (routed[kTarget] === undefined) return;
  routed[kTarget] = undefined;
  socket.removeListener('data', onSocketData);
  socket.removeListener('close', onSocketClose);
}

/** Whether `socket`'s reads are routed to `target`. */
export function readsRoutedTo(socket: Socket, target: SocketReadTarget): boolean {
  return (socket as TargetSocket)[kTarget] === target;
}

/**
 * Route `socket`'s data, end, close, drain and error events to `target`. The socket is
 * made to allow half-open connections, so that the other side's FIN no longer ends ours at
 * once (as Node does for the sockets a `net.Server` accepts): the target decides when.
 */
export function attachSocket(socket: Socket, target: SocketEventTarget): void {
  const routed = (socket as TargetSocket)[kTarget] !== undefined;
  (socket as TargetSocket)[kTarget] = target;
  // Read when 'end' is emitted, so setting it here covers an end still to come.
  socket.allowHalfOpen = true;
  if (!routed) socket.on('data', onSocketData);
  dropNodeEndListener(socket);
  socket.on('end', onSocketEnd);
  if (!routed) {
    socket.on('close', onSocketClose);
    // One listener, not two: a server's upgrade parser may have added this same one.
    socket.removeListener('error', ignoreSocketError);
    socket.on('error', ignoreSocketError);
  }
  socket.on('drain', onSocketDrain);
}

// Node's own 'end' listener, once recognised: see `dropNodeEndListener`. Undefined until a
// socket is seen; null if its listener is not the one known to do nothing here.
let idleNodeEndListener: ((...args: unknown[]) => unknown) | null | undefined;
const IDLE_END_LISTENER = /^function onReadableStreamEnd\(\) \{\s*if \(!this\.allowHalfOpen\) \{\s*this\.write = writeAfterFIN;\s*\}\s*\}$/;

/**
 * Remove Node's own 'end' listener from a socket that allows half-open connections: all it
 * does is make writes fail after the FIN when they are not allowed, so here it does nothing,
 * and two listeners would cost the socket an array (64 bytes per connection). It is removed
 * only if its source is the one known to do just that; on a Node whose listener differs,
 * both stay.
 */
function dropNodeEndListener(socket: Socket): void {
  if (socket.listenerCount('end') !== 1) return;
  const listener = socket.listeners('end')[0] as (...args: unknown[]) => unknown;
  if (idleNodeEndListener === undefined) idleNodeEndListener = IDLE_END_LISTENER.test(String(listener)) ? listener : null;
  if (listener === idleNodeEndListener) socket.removeListener('end', listener);
}

/** The other side's FIN came before we took `socket` over (an upgrade decided after an async check): as on 'end'. */
export function endIfEnded(socket: Socket): void {
  if (socket.readableEnded) onSocketEnd.call(socket as TargetSocket);
}

function onSocketData(this: TargetSocket, chunk: Buffer): void {
  this[kTarget]!.receive(chunk);
}

function onSocketEnd(this: TargetSocket): void {
  (this[kTarget] as SocketEventTarget).ended();
}

function onSocketClose(this: TargetSocket): void {
  this[kTarget]!.finish();
}

function onSocketDrain(this: TargetSocket): void {
  (this[kTarget] as SocketEventTarget).onDrain();
}

/**
 * The error listener of a socket we read: the 'close' event follows and settles everything;
 * the error itself needs no handling beyond keeping it from becoming an uncaught exception.
 */
export function ignoreSocketError(): void {}

/**
 * Write `chunks[0..count)` to `socket` in one vectored write; `onWritten` runs once the last
 * is in the kernel (with no chunks, an empty write carries it). The slots are cleared after:
 * the socket holds what it needs, and `chunks` keeps none of them alive.
 */
export function writeChunks(socket: Socket, chunks: Uint8Array[], count: number, onWritten: ((error?: Error | null) => void) | undefined): void {
  if (count === 0) {
    if (onWritten !== undefined) socket.write(NOTHING, onWritten);
  } else if (count === 1) {
    socket.write(chunks[0]!, onWritten);
  } else {
    socket.cork();
    const last = count - 1;
    for (let i = 0; i < last; i++) socket.write(chunks[i]!);
    socket.write(chunks[last]!, onWritten);
    socket.uncork();
  }
  chunks.fill(NOTHING, 0, count);
}

interface CountingHandle {
  bytesWritten?: unknown;
  writeQueueSize?: unknown;
}

interface LayeredSocket {
  encrypted?: boolean;
  _handle?: (CountingHandle & { _parent?: CountingHandle | null }) | null;
}

/**
 * Bytes of `socket`'s stream writes that the kernel has taken so far (for TLS, of the
 * records under it), or -1 where no handle says. Unlike completed writes, it grows while a
 * peer reads one long write: libuv's queue shrinks as the kernel takes each part.
 */
export function bytesTakenByKernel(socket: Socket): number {
  const layered = socket as LayeredSocket;
  // A TLS handle counts plaintext handed to the cipher; the TCP handle under it (in either
  // role, whether or not a TCP socket wraps it) counts what the kernel took.
  const handle = layered.encrypted === true ? layered._handle?._parent : layered._handle;
  const written = handle?.bytesWritten;
  const queued = handle?.writeQueueSize;
  return typeof written === 'number' && typeof queued === 'number' ? written - queued : -1;
}
