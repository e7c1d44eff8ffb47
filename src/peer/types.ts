/**
 * The shapes a peer's API takes and gives: frames to write, send outcomes, handshake details.
 * @module
 */
import type { Opcode } from '../frame/opcode.ts';
import type { Message } from './message.ts';

/**
 * A frame to write as given: a data frame of a fragmented message, or a control frame. A
 * close frame's payload is bytes only; its type says so.
 */
export type OutgoingFrame = OutgoingDataFrame | OutgoingCloseFrame;

/** A data frame (text, binary, continuation) or a ping or pong, to write as given. */
export interface OutgoingDataFrame {
  /** Opcode (§5.2): 1 text, 2 binary, 0 continuation, 9 ping or 10 pong. */
  opcode: Exclude<Opcode, typeof Opcode.Close>;
  /** Last frame of its message; default true. Control frames are always final (§5.5). */
  fin?: boolean;
  /** The payload; a string is sent as its UTF-8 bytes. */
  data?: string | Uint8Array;
}

/** A close frame to write as given: it starts the closing handshake (unlike `shutdown`, nothing waits for its end). */
export interface OutgoingCloseFrame {
  /** Close (§5.5.1). */
  opcode: typeof Opcode.Close;
  /** Control frames are always final (§5.5). */
  fin?: true;
  /** Empty, or a 2-byte code then a UTF-8 reason (§5.5.1). */
  data?: Uint8Array;
}

/** How `send` went; see {@link Peer.send}. */
export type SendResult = 'sent' | 'backpressure' | 'dropped';

/**
 * What `write` accepts: a string (a text message), bytes (a binary message), a frame, or a
 * message read from a peer — relayed as it is, text bytes not decoded and encoded again.
 */
export type Writable = string | Uint8Array | OutgoingFrame | Message;

/**
 * Handshake details whose header record is made on first use: a server keeps the
 * request head's text per connection, where a record and a string per field would cost more,
 * and most applications never look. Made by the server for `Peer`; not for applications.
 */
export interface DeferredHandshakeInfo {
  /** The request path with its query: what routing needs, without the headers. */
  readonly path: string;
  /** The details in full. */
  settle(): HandshakeInfo;
}

/** Details of the handshake that opened a peer. */
export interface HandshakeInfo {
  /** The request path with its query, e.g. `/chat?room=1`. */
  readonly path: string;
  /** The request (server side) or response (client side) headers, names in lower case. */
  readonly headers: Readonly<Record<string, string>>;
  /** The negotiated subprotocol, or '' if none. */
  readonly protocol: string;
  /** The negotiated extensions header value, or '' if none. */
  readonly extensions: string;
}

