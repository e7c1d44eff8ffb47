/**
 * The glue between a Node socket and its peer: four module-level listeners that find the
 * peer through a symbol on the socket, so a connection costs no closure per event.
 * @module
 */
import type { Socket } from 'node:net';

/** What a socket's events are handed to. */
export interface SocketEventTarget {
  /** Bytes read from the socket. */
  receive(chunk: Uint8Array): void;
  /** The socket closed. */
  finish(): void;
  /** The socket wrote what it held. */
  onDrain(): void;
}

const kTarget = Symbol('wspeer.peer');

interface TargetSocket extends Socket {
  [kTarget]?: SocketEventTarget;
}

/** Route `socket`'s data, close, drain and error events to `target`. */
export function attachSocket(socket: Socket, target: SocketEventTarget): void {
  (socket as TargetSocket)[kTarget] = target;
  socket.on('data', onSocketData);
  socket.on('close', onSocketClose);
  socket.on('error', onSocketError);
  socket.on('drain', onSocketDrain);
}

function onSocketData(this: TargetSocket, chunk: Buffer): void {
  this[kTarget]!.receive(chunk);
}

function onSocketClose(this: TargetSocket): void {
  this[kTarget]!.finish();
}

function onSocketDrain(this: TargetSocket): void {
  this[kTarget]!.onDrain();
}

function onSocketError(this: TargetSocket): void {
  // The 'close' event follows and settles everything; the error itself needs no handling
  // beyond keeping it from becoming an uncaught exception.
}
