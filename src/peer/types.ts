/**
 * The shapes a peer's API takes and gives: frames to write, send outcomes, handshake details.
 * @module
 */
import type { Message } from './message.ts';

/** A frame to write as given: a data frame of a fragmented message, or a control frame. */
export interface OutgoingFrame {
  /**
   * Opcode (§5.2): 1 text, 2 binary, 0 continuation, 9 ping, 10 pong, or 8 close, which
   * starts the closing handshake (unlike `shutdown`, nothing waits for its end).
   */
  opcode: number;
  /** Last frame of its message; default true. Control frames are always final (§5.5). */
  fin?: boolean;
  /**
   * The payload; a string is sent as its UTF-8 bytes. A close frame's is bytes only: empty,
   * or a 2-byte code then a UTF-8 reason (§5.5.1).
   */
  data?: string | Uint8Array;
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
  path: string;
  /** The request (server side) or response (client side) headers, names in lower case. */
  headers: Readonly<Record<string, string>>;
  /** The negotiated subprotocol, or '' if none. */
  protocol: string;
  /** The negotiated extensions header value, or '' if none. */
  extensions: string;
}

