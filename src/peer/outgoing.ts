/**
 * How each thing `send`/`write` accept becomes frames on a connection: a string is a text
 * message, bytes a binary one, a message read from a peer is relayed as it is, and a frame
 * goes as given (fragments, pings, pongs, a close).
 * @module
 */
import type { Connection } from '../connection/connection.ts';
import { Opcode } from '../frame/opcode.ts';
import { ReceivedMessage } from './message.ts';
import type { OutgoingFrame, Writable } from './types.ts';

/** Queue `data` on `connection`; returns the bytes queued. Throws a UsageError for what the protocol forbids. */
export function queueWritable(connection: Connection, data: Writable): number {
  const before = connection.outgoingBytes;
  if (typeof data === 'string') connection.sendText(data);
  else if (data instanceof Uint8Array) connection.sendBinary(data);
  else if (data instanceof ReceivedMessage && data.relayable) data.relayTo(connection);
  else queueFrame(connection, data);
  return connection.outgoingBytes - before;
}

/** How many bytes `data` will take, roughly, before it is encoded: for the send budget. */
export function sizeOfWritable(data: Writable): number {
  if (typeof data === 'string' || data instanceof Uint8Array) return data.length;
  // Not `data.data`: that would decode a relayed text message for nothing.
  if (data instanceof ReceivedMessage) return data.size;
  return data.data === undefined ? 0 : data.data.length;
}

function queueFrame(connection: Connection, frame: OutgoingFrame): void {
  const data = frame.data ?? '';
  switch (frame.opcode) {
    case Opcode.Ping:
      return connection.sendPing(data);
    case Opcode.Pong:
      return connection.sendPong(data);
    case Opcode.Close: {
      const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
      const code = bytes.length >= 2 ? (bytes[0]! << 8) | bytes[1]! : undefined;
      return connection.close(code, code === undefined ? '' : new TextDecoder().decode(bytes.subarray(2)));
    }
    default:
      return connection.sendFrame(frame.opcode, data, frame.fin ?? true);
  }
}
