/**
 * Error types raised by the opening handshake.
 *
 * Server-side failures carry the HTTP status to answer with, so a caller can
 * turn any of them into a response with `buildRejectResponse(error)`.
 * Client-side failures carry what the server actually sent, for diagnostics.
 */

import type { HeaderList } from './headers.ts';

/**
 * Stable identifiers for server-side handshake failures. They never change
 * between releases, so callers may switch on them instead of on messages.
 */
export type HandshakeErrorCode =
  | 'WS_HANDSHAKE_HEAD_TOO_LARGE'
  | 'WS_HANDSHAKE_TOO_MANY_HEADERS'
  | 'WS_HANDSHAKE_MALFORMED_REQUEST_LINE'
  | 'WS_HANDSHAKE_MALFORMED_HEADER'
  | 'WS_HANDSHAKE_HTTP_VERSION'
  | 'WS_HANDSHAKE_METHOD'
  | 'WS_HANDSHAKE_BAD_TARGET'
  | 'WS_HANDSHAKE_BAD_HOST'
  | 'WS_HANDSHAKE_BODY'
  | 'WS_HANDSHAKE_BAD_UPGRADE'
  | 'WS_HANDSHAKE_BAD_CONNECTION'
  | 'WS_HANDSHAKE_BAD_KEY'
  | 'WS_HANDSHAKE_BAD_VERSION'
  | 'WS_HANDSHAKE_UNSUPPORTED_VERSION'
  | 'WS_HANDSHAKE_BAD_PROTOCOL'
  | 'WS_HANDSHAKE_BAD_EXTENSIONS'
  | 'WS_HANDSHAKE_BAD_TOKEN_LIST'
  | 'WS_HANDSHAKE_NOT_FOUND'
  | 'WS_HANDSHAKE_ORIGIN'
  | 'WS_HANDSHAKE_OVERLOADED'
  | 'WS_HANDSHAKE_REFUSED';

/**
 * A request that cannot be upgraded to a WebSocket.
 *
 * - `status` is the HTTP status the server should reply with: 400, 405, 426,
 *   431 or 505 for a request the protocol refuses; 403, 404 or 503 for one the
 *   server's policy refuses; 500 when an application hook failed; and whatever
 *   status a `verify` refusal gives.
 * - `reason` is a single line of plain text suitable for a response body.
 * - `headers` lists fields the response must include (for example `Allow`
 *   for 405, `Sec-WebSocket-Version` for 426).
 * - `code` is a stable machine-readable identifier.
 */
export class HandshakeError extends Error {
  override readonly name = 'HandshakeError';
  /** HTTP status to answer with. */
  readonly status: number;
  /** One-line, human-readable explanation (also the `message`). */
  readonly reason: string;
  /** Header fields the rejection response must carry. */
  readonly headers: Readonly<Record<string, string>>;
  /** Stable machine-readable identifier of the failed rule. */
  readonly code: HandshakeErrorCode;

  constructor(
    status: number,
    code: HandshakeErrorCode,
    reason: string,
    headers: Record<string, string> = {},
  ) {
    super(reason);
    this.status = status;
    this.code = code;
    this.reason = reason;
    this.headers = headers;
  }
}

/**
 * Stable identifiers for client-side handshake failures (a server response
 * that does not complete a WebSocket upgrade).
 */
export type HandshakeResponseErrorCode =
  | 'WS_RESPONSE_TOO_LARGE'
  | 'WS_RESPONSE_TOO_MANY_HEADERS'
  | 'WS_RESPONSE_MALFORMED'
  | 'WS_RESPONSE_BAD_STATUS'
  | 'WS_RESPONSE_BAD_UPGRADE'
  | 'WS_RESPONSE_BAD_CONNECTION'
  | 'WS_RESPONSE_BAD_ACCEPT'
  | 'WS_RESPONSE_BAD_PROTOCOL'
  | 'WS_RESPONSE_BAD_EXTENSIONS'
  /** The connection closed before the end of the response head. */
  | 'WS_RESPONSE_CLOSED';

/** Upper bound on how much of a failed response's body is retained. */
export const RESPONSE_BODY_SNIPPET_BYTES = 512;

/**
 * A server response that does not complete the WebSocket handshake.
 *
 * Carries what the server sent so that callers can report it: the status
 * code (0 when the status line itself was unreadable), the header fields
 * (empty when the head was unreadable) and the first bytes received after the
 * head (at most {@link RESPONSE_BODY_SNIPPET_BYTES}; possibly fewer than the
 * server sent, since only what had arrived with the head is known).
 */
export class HandshakeResponseError extends Error {
  override readonly name = 'HandshakeResponseError';
  /** Stable machine-readable identifier of the failed check. */
  readonly code: HandshakeResponseErrorCode;
  /** Status code the server sent, or 0 if it could not be read. */
  readonly status: number;
  /** Header fields the server sent, or `undefined` if they could not be read. */
  readonly headers: HeaderList | undefined;
  /** Start of the response body, as raw bytes. */
  readonly body: Uint8Array;

  constructor(
    code: HandshakeResponseErrorCode,
    message: string,
    status = 0,
    headers?: HeaderList,
    body: Uint8Array = new Uint8Array(0),
  ) {
    super(message);
    this.code = code;
    this.status = status;
    this.headers = headers;
    // A copy: a view would keep the whole read it came in (up to 64 KiB) alive with the error.
    this.body = new Uint8Array(body.subarray(0, RESPONSE_BODY_SNIPPET_BYTES));
  }

  /** The body snippet decoded as UTF-8 (invalid sequences replaced). */
  get bodyText(): string {
    return new TextDecoder('utf-8').decode(this.body);
  }
}

/** Stable identifiers for rejected WebSocket URLs. */
export type InvalidUrlErrorCode =
  | 'WS_URL_INVALID'
  | 'WS_URL_BAD_SCHEME'
  | 'WS_URL_FRAGMENT'
  | 'WS_URL_CREDENTIALS';

/** A URL that cannot be used to open a WebSocket connection. */
export class InvalidUrlError extends Error {
  override readonly name = 'InvalidUrlError';
  /** Stable machine-readable identifier of the problem. */
  readonly code: InvalidUrlErrorCode;
  /** The URL as given. */
  readonly url: string;

  constructor(code: InvalidUrlErrorCode, message: string, url: string) {
    super(message);
    this.code = code;
    this.url = url;
  }
}

/**
 * An argument that would produce an invalid or unsafe HTTP head: a header
 * name that is not a token, a value containing CR, LF or other control
 * characters (header injection), or a field the handshake manages itself.
 * This is a programming error, hence a `TypeError`.
 */
export class InvalidHeaderError extends TypeError {
  override readonly name = 'InvalidHeaderError';
  /** Always `'WS_INVALID_HEADER'`. */
  readonly code = 'WS_INVALID_HEADER';
}

/**
 * A head parser was fed again after it had returned its head: it handles one head, and
 * the bytes after it (returned as `rest`) belong to whatever the connection becomes.
 */
export class HeadCompleteError extends Error {
  override readonly name = 'HeadCompleteError';
  /** Always `'WS_ERR_HEAD_COMPLETE'`. */
  readonly code = 'WS_ERR_HEAD_COMPLETE';

  constructor() {
    super('this parser has already returned its head: bytes after it are returned as `rest`, not fed again');
  }
}
