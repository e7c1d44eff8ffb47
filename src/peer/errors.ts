/**
 * Errors of the socket layer: timeouts, operations on a closed connection, a full send
 * buffer, and a lent message used after its callback.
 * @module
 */
import { UsageError } from '../connection/errors.ts';

/** An operation did not complete within the time it was given; the connection is unaffected. */
export class TimeoutError extends Error {
  /** Stable identifier. */
  readonly code = 'WS_ERR_TIMEOUT';

  constructor(operation: string, milliseconds: number) {
    super(`${operation} timed out after ${milliseconds} ms`);
    this.name = 'TimeoutError';
  }
}

/** The connection (or, for `accept`, the server) closed before the operation could complete. */
export class ConnectionClosedError extends Error {
  /** Stable identifier. */
  readonly code = 'WS_ERR_CLOSED';
  /** How the connection ended, once it has: the peer's close code (1006 if none came), as `peer.closeCode`. */
  readonly closeCode: number | undefined;
  /** The peer's close reason, once the connection has ended: as `peer.closeReason`. */
  readonly closeReason: string | undefined;

  /** `what`: what is closed, "the connection" unless said; `ended`: how it ended, if it has. */
  constructor(operation: string, what = 'the connection', ended?: { readonly code: number; readonly reason: string }) {
    const how = ended === undefined ? '' : ` (close code ${ended.code}${ended.reason === '' ? '' : `: ${JSON.stringify(ended.reason)}`})`;
    super(`${operation}: ${what} is closed${how}`);
    this.name = 'ConnectionClosedError';
    this.closeCode = ended?.code;
    this.closeReason = ended?.reason;
  }
}

/** A write was refused because the peer is not reading and the send buffer is at its cap. */
export class BufferFullError extends Error {
  /** Stable identifier. */
  readonly code = 'WS_ERR_BUFFER_FULL';

  constructor(buffered: number, cap: number) {
    super(`write refused: ${buffered} bytes are already waiting for the peer to read (cap ${cap})`);
    this.name = 'BufferFullError';
  }
}

/**
 * A message lent to an `onMessage` callback (the `lentMessages` option) was used after the
 * callback returned: its bytes may have been overwritten by later reads since.
 */
export class MessageExpiredError extends Error {
  /** Stable identifier. */
  readonly code = 'WS_ERR_MESSAGE_EXPIRED';

  constructor() {
    super('a message lent to onMessage (lentMessages) was used after its callback returned: copy what you keep during the call');
    this.name = 'MessageExpiredError';
  }
}

/**
 * `read` (or a `for await` step) was asked for while an `onMessage` callback takes every
 * message: it would wait for a message that never comes to it.
 */
export function callbackSetError(operation: string): UsageError {
  return new UsageError('WS_ERR_CALLBACK_SET', `${operation}: messages go to the onMessage callback; call onMessage(null) first to read them`);
}
