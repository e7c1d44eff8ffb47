/**
 * What a connection reports: a handler object whose methods it calls, in order, while it
 * parses received bytes. One call per event, no event objects on the hot path.
 * @module
 */
import type { ProtocolError } from '../frame/errors.ts';

/** Receives the events of a {@link Connection}. */
export interface ConnectionHandler {
  /**
   * A text message, decoded. With the `fragments` option, each data frame as it arrives:
   * `fin` is false until the message's last frame (a code point may span two pieces; each
   * piece is decoded up to the last complete one).
   */
  onText(text: string, fin: boolean): void;
  /**
   * Optional: receive text as its UTF-8 bytes, already validated (RFC 6455 §8.1), instead of
   * decoded through `onText` — for hosts that decode lazily or forward text untouched. With
   * the `fragments` option a piece may end inside a code point; the host decodes in stream.
   */
  onTextBytes?(bytes: Uint8Array, fin: boolean): void;
  /**
   * Optional: take a whole short message (under 512 bytes) lying in one received chunk as
   * a DataView of exactly that chunk and the payload's place in it, rather than as a view
   * through `onBinary` / `onTextBytes`: binary, or text seen to be ASCII while unmasking (so
   * valid UTF-8, RFC 6455 §8.1). The payload stays valid as long as the chunk given to
   * `receive` is not reused. A host that makes a view only when one is asked for, or copies
   * straight out of the chunk (`Connection.sendMessageAt`), saves an object per message.
   */
  onMessageAt?(opcode: 1 | 2, chunk: DataView, start: number, length: number): void;
  /** A binary message; with the `fragments` option, each data frame as it arrives. */
  onBinary(data: Uint8Array, fin: boolean): void;
  /**
   * A ping (§5.5.2). Its pong is queued already while the connection is open, unless pongs
   * are held or past `maxQueuedPongs` (then the latest ping's pong goes at the next
   * `takeOutgoing` that may send it); none once our close frame is sent.
   */
  onPing(payload: Uint8Array): void;
  /** A pong (§5.5.3), solicited or not. */
  onPong(payload: Uint8Array): void;
  /** The peer's close frame (§5.5.1): its code (1005 when it had none) and reason. */
  onClose(code: number, reason: string): void;
  /** The peer broke the protocol; the connection has failed with `error.closeCode` (§7.1.7). */
  onError(error: ProtocolError): void;
}

/**
 * One event of a {@link Connection}, as a value: each kind is the {@link ConnectionHandler}
 * call of the same name (`text` is `onText`), its arguments as fields.
 */
export type ConnectionEvent =
  | { type: 'text'; data: string; fin: boolean }
  | { type: 'binary'; data: Uint8Array; fin: boolean }
  | { type: 'ping'; data: Uint8Array }
  | { type: 'pong'; data: Uint8Array }
  | { type: 'close'; code: number; reason: string }
  | { type: 'error'; error: ProtocolError };

/**
 * A handler that records every event as a value, for callers who prefer to pull events
 * (the shape of wsproto and h11) and for tests. Binary data is copied, since the
 * connection's views alias the received chunk.
 */
export class EventCollector implements ConnectionHandler {
  /** Events received and not yet taken. */
  events: ConnectionEvent[] = [];

  /** Every event so far; the list is then empty. */
  take(): ConnectionEvent[] {
    const events = this.events;
    this.events = [];
    return events;
  }

  /** Records a `text` event. */
  onText(data: string, fin: boolean): void {
    this.events.push({ type: 'text', data, fin });
  }
  /** Records a `binary` event, with a copy of `data` (which may be a view into a read). */
  onBinary(data: Uint8Array, fin: boolean): void {
    this.events.push({ type: 'binary', data: copy(data), fin });
  }
  /** Records a `ping` event, with a copy of its payload. */
  onPing(data: Uint8Array): void {
    this.events.push({ type: 'ping', data: copy(data) });
  }
  /** Records a `pong` event, with a copy of its payload. */
  onPong(data: Uint8Array): void {
    this.events.push({ type: 'pong', data: copy(data) });
  }
  /** Records a `close` event. */
  onClose(code: number, reason: string): void {
    this.events.push({ type: 'close', code, reason });
  }
  /** Records an `error` event. */
  onError(error: ProtocolError): void {
    this.events.push({ type: 'error', error });
  }
}

/** A copy, whatever the class (a Node Buffer's `slice()` returns a view, not a copy). */
function copy(data: Uint8Array): Uint8Array {
  return new Uint8Array(data);
}
