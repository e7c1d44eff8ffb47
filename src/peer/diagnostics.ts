/**
 * Observability with no dependency: what happens to connections is published on named
 * `node:diagnostics_channel` channels, which tracers (OpenTelemetry's Node instrumentations
 * subscribe this way), metrics and logs can follow. A channel nobody subscribes to costs one
 * check where it would publish: no event object is made.
 *
 * Subscribers are called synchronously, in the middle of the library's work: they should
 * note what they need and return. One that throws does not disturb the connection (Node
 * reports the error as uncaught, on a later tick).
 * @module
 */
import { AsyncResource } from 'node:async_hooks';
import { channel } from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import type { ProtocolError } from '../frame/errors.ts';
import type { HandshakeError } from '../handshake/errors.ts';
import type { Message } from './message.ts';
import { FramedMessage } from './outgoing.ts';
import type { Peer } from './peer.ts';
import type { Writable } from './types.ts';

/**
 * The names of the channels wspeer publishes on, for `diagnostics_channel.subscribe`, each
 * with the event it carries.
 */
export const DiagnosticsChannel = {
  /** A connection completed its opening handshake (either role): {@link PeerOpenEvent}. */
  open: 'wspeer:open',
  /**
   * A message (or, in fragments mode, a frame) was received, before the application has it:
   * {@link PeerMessageEvent}. Stores bound to it (`bindStore`) are entered while the message
   * is handed over, so an `onMessage` callback runs in the context they give.
   */
  message: 'wspeer:message',
  /**
   * The application is done with a message handed to its `onMessage` callback: the callback
   * returned, or the promise it returned settled ({@link PeerHandledEvent}). Published in
   * the context of `wspeer:message`'s stores, so a tracer ends there the span it began.
   */
  handled: 'wspeer:handled',
  /** The application queued a message or a frame (`send`, `write`, `broadcast`): {@link PeerSendEvent}. */
  send: 'wspeer:send',
  /** A connection's socket closed: {@link PeerCloseEvent}. */
  close: 'wspeer:close',
  /** The server refused an upgrade request with an HTTP error: {@link UpgradeRejectEvent}. */
  reject: 'wspeer:reject',
} as const;

/** Published on `wspeer:open`. */
export interface PeerOpenEvent {
  /** The connection. */
  readonly peer: Peer;
  /** Which end of the connection the peer is. */
  readonly role: 'client' | 'server';
}

/**
 * Published on `wspeer:message`. With `lentMessages`, the message lies in a read buffer
 * that is reused: its data may be read during the publish, not kept.
 */
export interface PeerMessageEvent {
  /** The connection. */
  readonly peer: Peer;
  /** The message received, as the application gets it. */
  readonly message: Message;
}

/**
 * Published on `wspeer:handled`. With `lentMessages`, the message has expired once a promise
 * its callback returned settles: tell messages apart by identity there, not by their data.
 */
export interface PeerHandledEvent {
  /** The connection. */
  readonly peer: Peer;
  /** The message handed to the callback (the object `wspeer:message` published). */
  readonly message: Message;
  /** Whether the callback threw, or the promise it returned rejected. */
  readonly failed: boolean;
  /** What it threw or rejected with; null if it did not fail. */
  readonly error: unknown;
}

/** Published on `wspeer:send`. */
export interface PeerSendEvent {
  /** The connection. */
  readonly peer: Peer;
  /** What was passed to `send`, `write` or the server's `broadcast`. */
  readonly data: Writable;
  /** The bytes queued for it, framing included. */
  readonly bytes: number;
}

/** Published on `wspeer:close`. */
export interface PeerCloseEvent {
  /** The connection. */
  readonly peer: Peer;
  /** The peer's close code; 1005 if its close frame had none, 1006 if the connection ended without one. */
  readonly code: number;
  /** The peer's close reason, '' if none. */
  readonly reason: string;
  /** The peer's protocol violation that failed the connection, if any. */
  readonly error: ProtocolError | null;
}

/** Published on `wspeer:reject`. */
export interface UpgradeRejectEvent {
  /** The socket of the refused request; its answer is being written. */
  readonly socket: Socket;
  /** Why: its `status` is the HTTP status answered, its `code` names the rule or policy. */
  readonly error: HandshakeError;
}

const openChannel = channel(DiagnosticsChannel.open);
const messageChannel = channel(DiagnosticsChannel.message);
const handledChannel = channel(DiagnosticsChannel.handled);
const sendChannel = channel(DiagnosticsChannel.send);
const closeChannel = channel(DiagnosticsChannel.close);
const rejectChannel = channel(DiagnosticsChannel.reject);

/** @internal */
export function publishOpen(peer: Peer, role: 'client' | 'server'): void {
  if (openChannel.hasSubscribers) openChannel.publish({ peer, role } satisfies PeerOpenEvent);
}

/** @internal Whether `wspeer:message` or `wspeer:handled` has a subscriber or a bound store: checked for every message received, first. */
export function messageTraced(): boolean {
  return messageChannel.hasSubscribers || handledChannel.hasSubscribers;
}

/** @internal The application is done with `message` (see `wspeer:handled`). `peer`: a Peer. */
export function publishHandled(peer: object, message: Message, failed: boolean, error: unknown): void {
  if (handledChannel.hasSubscribers) handledChannel.publish({ peer: peer as Peer, message, failed, error } satisfies PeerHandledEvent);
}

/**
 * @internal Marks an `onMessage` callback that publishes `wspeer:handled` itself, because it
 * hands the message on and knows when its own caller is done (the client engine's).
 */
export const kReportsHandled = Symbol('wspeer.reportsHandled');

// The context a message queued for a callback arrived in (only while `wspeer:message` is traced).
const contexts = new WeakMap<Message, AsyncResource>();
let anyContextKept = false;

/** @internal `message` is queued: keep the context it arrived in (the stores' values), for the callback it will be handed to. */
export function keepContext(message: Message): void {
  anyContextKept = true;
  contexts.set(message, new AsyncResource('wspeer:message'));
}

/** @internal The context `message` arrived in, if it was kept; no lookup in a process that never traced. */
export function contextOf(message: Message): AsyncResource | undefined {
  return anyContextKept ? contexts.get(message) : undefined;
}

/**
 * @internal Publish a message received and run `handOver(message)` (which gives it to the
 * application) inside the stores bound to `wspeer:message` (`channel.bindStore`: the
 * AsyncLocalStorage a tracer keeps its span in), so that an `onMessage` callback, and what
 * it awaits, runs in the context the tracer made for the message — also when it is queued
 * and handed to a callback later (see `keepContext`). `peer`: a Peer.
 */
export function traceMessage<T, M extends Message>(peer: object, message: M, handOver: (this: T, message: M) => void, thisArg: T): void {
  messageChannel.runStores({ peer: peer as Peer, message } satisfies PeerMessageEvent, handOver, thisArg, message);
}

/** @internal Called for every message queued: the check comes first. */
export function publishSend(peer: Peer, data: Writable, bytes: number): void {
  // A broadcast hands each peer the message framed once: show what the application passed.
  if (sendChannel.hasSubscribers) sendChannel.publish({ peer, data: data instanceof FramedMessage ? data.source : data, bytes } satisfies PeerSendEvent);
}

/** @internal */
export function publishClose(peer: Peer): void {
  if (closeChannel.hasSubscribers) closeChannel.publish({ peer, code: peer.closeCode, reason: peer.closeReason, error: peer.error } satisfies PeerCloseEvent);
}

/** @internal */
export function publishReject(socket: Socket, error: HandshakeError): void {
  if (rejectChannel.hasSubscribers) rejectChannel.publish({ socket, error } satisfies UpgradeRejectEvent);
}
