/**
 * Helpers for connection tests: endpoints with a recorded handler, frames as the peer would
 * send them, and the decoded output of an endpoint.
 * @module
 */
import assert from 'node:assert/strict';

import { Connection, type ConnectionOptions, type Role } from '../../src/connection/connection.ts';
import { UsageError, type UsageErrorCode } from '../../src/connection/errors.ts';
import { EventCollector, type ConnectionEvent } from '../../src/connection/handler.ts';
import { encodeFrame, type FrameSpec } from '../../src/frame/encoder.ts';
import { concat, decodeAll, hex, type DecodedFrame } from '../frame/helpers.ts';

export const ROLES: readonly Role[] = ['client', 'server'];

/** The masking key of the RFC 6455 §5.7 examples. */
export const RFC_KEY = hex('37 fa 21 3d');

/** A random source that makes every client masking key 37 fa 21 3d, so client output is predictable. */
export function rfcKeyFill(target: Uint8Array): void {
  for (let i = 0; i < target.length; i++) target[i] = RFC_KEY[i & 3]!;
}

/** An endpoint and the events it reports. Clients use the RFC key unless `randomFill` is given. */
export function endpoint(role: Role, options: ConnectionOptions = {}): { conn: Connection; events: EventCollector } {
  const events = new EventCollector();
  const conn = new Connection(role, events, { randomFill: rfcKeyFill, ...options });
  return { conn, events };
}

/** The other role. */
export function peerOf(role: Role): Role {
  return role === 'client' ? 'server' : 'client';
}

/** A frame as the peer of `receiver` sends it: masked when the receiver is a server (§5.1). */
export function frameTo(receiver: Role, spec: FrameSpec): Uint8Array {
  return encodeFrame({ ...spec, maskKey: receiver === 'server' ? hex('0f 1e 2d 3c') : null });
}

/** A close frame body: 2-byte code then the reason (raw bytes or text). */
export function closeBody(code: number, reason: Uint8Array | string = ''): Uint8Array {
  const reasonBytes = typeof reason === 'string' ? new TextEncoder().encode(reason) : reason;
  return concat([new Uint8Array([code >>> 8, code & 0xff]), reasonBytes]);
}

/** Everything `conn` queued, as one array. */
export function outgoingBytes(conn: Connection): Uint8Array {
  return concat(conn.takeOutgoing());
}

/** Everything `conn` queued, decoded as its peer would; fails on any framing error. */
export function sentFrames(conn: Connection): DecodedFrame[] {
  const sink = decodeAll(conn.takeOutgoing(), conn.role === 'client');
  assert.deepEqual(sink.errors, [], 'the output is well-formed');
  return sink.frames;
}

/** Events with errors reduced to their code and close code, for deepEqual. */
export type EventSummary =
  | Exclude<ConnectionEvent, { type: 'error' }>
  | { type: 'error'; code: string; closeCode: number };

export function summarize(events: readonly ConnectionEvent[]): EventSummary[] {
  return events.map((event) =>
    event.type === 'error' ? { type: 'error', code: event.error.code, closeCode: event.error.closeCode } : event,
  );
}

/** The code of a close frame's body, or null for an empty body. */
export function closeCodeOf(frame: DecodedFrame): number | null {
  return frame.payload.length >= 2 ? (frame.payload[0]! << 8) | frame.payload[1]! : null;
}

/** `action` throws a {@link UsageError} with `code`. */
export function assertUsageError(action: () => void, code: UsageErrorCode): void {
  assert.throws(action, (error: unknown) => {
    assert.ok(error instanceof UsageError, `a UsageError, got ${String(error)}`);
    assert.equal(error.code, code);
    return true;
  });
}
