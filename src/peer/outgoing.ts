/**
 * How each thing `send`/`write` accept becomes frames on a connection: a string is a text
 * message, bytes a binary one, a message read from a peer is relayed as it is, and a frame
 * goes as given (fragments, pings, pongs, a close).
 * @module
 */
import type { Connection } from '../connection/connection.ts';
import { invalidArgument, UsageError } from '../connection/errors.ts';
import { COPY_LIMIT } from '../connection/writer.ts';
import { headerLength, writeHeader } from '../frame/encoder.ts';
import { Opcode } from '../frame/opcode.ts';
import { allocateUnsafe } from './buffers.ts';
import { ReceivedMessage, type Message } from './message.ts';
import type { OutgoingFrame, Writable } from './types.ts';

const decoder = new TextDecoder();
const strictDecoder = new TextDecoder('utf-8', { fatal: true });

/**
 * A whole message framed once to go to many peers (`Server.broadcast`): every peer that can
 * queues the same frame, with no encoding or framing of its own.
 */
export class FramedMessage {
  readonly fin = true;

  private constructor(
    readonly opcode: typeof Opcode.Text | typeof Opcode.Binary,
    readonly payload: Uint8Array,
    readonly frame: Uint8Array,
    /** What the application passed, as `wspeer:send` shows it. */
    readonly source: Writable,
  ) {}

  /**
   * `data` framed as a server sends it, or null for what is not a whole message (a frame
   * given as `{ opcode, fin, data }`, a fragment read in fragments mode).
   */
  static of(data: Writable): FramedMessage | null {
    if (typeof data === 'string') return FramedMessage.frame(Opcode.Text, Buffer.from(data), data);
    if (data instanceof Uint8Array) return FramedMessage.frame(Opcode.Binary, data, data);
    if (data instanceof ReceivedMessage && data.relayable) return FramedMessage.frame(data.opcode as 1 | 2, data.bytes, data);
    return null;
  }

  private static frame(opcode: typeof Opcode.Text | typeof Opcode.Binary, payload: Uint8Array, source: Writable): FramedMessage {
    const frame = Buffer.allocUnsafe(headerLength(payload.length, false) + payload.length);
    frame.set(payload, writeHeader(frame, 0, opcode, true, false, payload.length, null));
    return new FramedMessage(opcode, payload, frame, source);
  }

  /** See {@link Message.data}. */
  get data(): string | Uint8Array {
    const source = this.source;
    return typeof source === 'string' ? source : this.opcode === Opcode.Text ? decoder.decode(this.payload) : this.payload;
  }
}

/**
 * Queue `data` on `connection`; returns the bytes queued. Throws a UsageError for what the
 * protocol forbids, naming `call` (`send`, `write`).
 */
export function queueWritable(connection: Connection, data: Writable, call: string): number {
  const before = connection.outgoingBytes;
  if (typeof data === 'string') connection.sendText(data);
  else if (data instanceof Uint8Array) connection.sendBinary(data);
  else if (data instanceof ReceivedMessage && data.relayable) data.relayTo(connection);
  else if (data instanceof FramedMessage) connection.sendFramed(data.opcode, data.frame, data.payload);
  else queueFrame(connection, data, call);
  return connection.outgoingBytes - before;
}

/**
 * `data` with the bytes a server's writer would queue by reference copied, so that the
 * caller may reuse its buffer before they are written (what `write` promises once it
 * resolves). A client's payloads are masked into a copy anyway.
 */
export function ownedWritable(data: Writable): Writable {
  if (data instanceof Uint8Array) return data.length >= COPY_LIMIT ? copyOf(data) : data;
  if (typeof data === 'string' || data instanceof ReceivedMessage || data instanceof FramedMessage) return data;
  const bytes = (data as OutgoingFrame | null)?.data; // anything else is refused when queued
  return bytes instanceof Uint8Array && bytes.length >= COPY_LIMIT ? { ...data, data: copyOf(bytes) } : data;
}

function copyOf(bytes: Uint8Array): Uint8Array {
  const copy = allocateUnsafe(bytes.length);
  copy.set(bytes);
  return copy;
}

/** How many bytes `data` will take, roughly, before it is encoded: for the send budget. */
export function sizeOfWritable(data: Writable): number {
  if (typeof data === 'string' || data instanceof Uint8Array) return data.length;
  // Not `data.data`: that would decode a relayed text message for nothing.
  if (data instanceof ReceivedMessage) return data.size;
  if (data instanceof FramedMessage) return data.payload.length;
  // Anything but a frame is refused when queued (see `checkFrame`); it counts as nothing till then.
  const bytes = (data as OutgoingFrame | null)?.data;
  return typeof bytes === 'string' || bytes instanceof Uint8Array ? bytes.length : 0;
}

/**
 * Throws a `UsageError` unless `data`, neither text, bytes nor a message, is a frame: from
 * JavaScript, an `ArrayBuffer` or `null` would otherwise be taken for a frame without an opcode.
 */
export function checkFrame(call: string, data: unknown): asserts data is OutgoingFrame {
  if (typeof data !== 'object' || data === null || typeof (data as OutgoingFrame).opcode !== 'number') {
    throw invalidArgument(call, 'the data', 'a string, a Uint8Array, a message or a frame { opcode, fin, data }', data);
  }
  const { opcode, fin, data: payload } = data as OutgoingFrame;
  if (!FRAME_OPCODES.has(opcode)) {
    throw new UsageError('WS_ERR_INVALID_OPCODE', `${call}: a frame's opcode must be 0 (continuation), 1 (text), 2 (binary), 8 (close), 9 (ping) or 10 (pong), got ${opcode} (§5.2)`);
  }
  if (fin !== undefined && typeof fin !== 'boolean') throw invalidArgument(call, "a frame's fin", 'a boolean', fin);
  if (payload !== undefined && typeof payload !== 'string' && !(payload instanceof Uint8Array)) {
    throw invalidArgument(call, "a frame's data", 'a string or a Uint8Array', payload);
  }
}

/** The opcodes a frame written as given may have (§5.2; the others are reserved). */
const FRAME_OPCODES: ReadonlySet<number> = new Set([Opcode.Continuation, Opcode.Text, Opcode.Binary, Opcode.Close, Opcode.Ping, Opcode.Pong]);

function queueFrame(connection: Connection, frame: OutgoingFrame, call: string): void {
  checkFrame(call, frame);
  const data = frame.data ?? '';
  switch (frame.opcode) {
    case Opcode.Ping:
      return connection.sendPing(data);
    case Opcode.Pong:
      return connection.sendPong(data);
    case Opcode.Close:
      return queueClose(connection, data, call);
    default:
      return connection.sendFrame(frame.opcode, data, frame.fin ?? true);
  }
}

/**
 * A close frame written as a frame: its data is the close payload as it goes on the wire
 * (§5.5.1), so bytes — a 2-byte code, then a reason in UTF-8 — or nothing. A string would
 * leave unclear whether its first two characters are the code; `shutdown(code, reason)`
 * takes the two apart.
 */
function queueClose(connection: Connection, data: string | Uint8Array, call: string): void {
  if (data.length === 0) return connection.close();
  if (typeof data === 'string') throw invalidArgument(call, "a close frame's data", 'bytes (a 2-byte code, then a UTF-8 reason; or use shutdown(code, reason))', data);
  if (data.length === 1) throw invalidArgument(call, "a close frame's data", 'empty, or a 2-byte code then a reason (§5.5.1)', data);
  let reason: string;
  try {
    reason = strictDecoder.decode(data.subarray(2));
  } catch {
    throw invalidArgument(call, "a close frame's reason", 'UTF-8 (§5.5.1)', data.subarray(2));
  }
  connection.close((data[0]! << 8) | data[1]!, reason);
}
