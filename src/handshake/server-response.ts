/**
 * Server side: the response that accepts (101) or rejects an opening
 * handshake (RFC 6455 §4.2.2).
 *
 * Heads are returned as strings whose code points are all below 256; write
 * them with latin1 encoding (or `latin1Encode`).
 */

import { HandshakeError, InvalidHeaderError } from './errors.ts';
import { formatExtensions, type ExtensionOffer } from './extensions.ts';
import { extraHeaderLines, headerLine, type HeaderFields } from './head-writer.ts';
import { computeAccept } from './keys.ts';
import { assertSubprotocols } from './subprotocol.ts';

/** Options for {@link buildAcceptResponse}. Give either `key` or `accept`. */
export interface AcceptResponseOptions {
  /** The client's `Sec-WebSocket-Key`; the accept value is computed from it. */
  key?: string;
  /** A precomputed `Sec-WebSocket-Accept` value (takes precedence over `key`). */
  accept?: string;
  /** The selected subprotocol, one the client offered. */
  protocol?: string;
  /** Accepted extensions, as a header value or as structured offers. */
  extensions?: string | readonly ExtensionOffer[];
  /** Further fields, e.g. `Set-Cookie`. Handshake fields cannot be overridden. */
  headers?: HeaderFields;
}

const ACCEPT_MANAGED = new Set([
  'upgrade',
  'connection',
  // RFC 7230 §3.3.1, §3.3.2: never in a 1xx response.
  'content-length',
  'transfer-encoding',
  'sec-websocket-accept',
  'sec-websocket-protocol',
  'sec-websocket-extensions',
]);

/**
 * Builds the `101 Switching Protocols` head completing a handshake
 * (RFC 6455 §4.2.2 item 5), blank line included.
 *
 * @throws {InvalidHeaderError} if neither `key` nor `accept` is given, or
 * the protocol, extensions or headers are invalid (CR/LF injection included).
 */
export function buildAcceptResponse(options: AcceptResponseOptions): string {
  const accept = options.accept ?? (options.key === undefined ? undefined : computeAccept(options.key));
  if (accept === undefined) throw new InvalidHeaderError('buildAcceptResponse needs a key or an accept value');
  let head =
    'HTTP/1.1 101 Switching Protocols\r\n' +
    'Upgrade: websocket\r\n' +
    'Connection: Upgrade\r\n' +
    headerLine('Sec-WebSocket-Accept', accept);
  if (options.protocol !== undefined) {
    // §4.2.2 item 5.5: a single subprotocol, which must be a token.
    assertSubprotocols([options.protocol]);
    head += headerLine('Sec-WebSocket-Protocol', options.protocol);
  }
  const extensions = typeof options.extensions === 'string' ? options.extensions : formatExtensions(options.extensions ?? []);
  if (extensions !== '') head += headerLine('Sec-WebSocket-Extensions', extensions);
  return `${head}${extraHeaderLines(options.headers, ACCEPT_MANAGED)}\r\n`;
}

/**
 * Check extra header fields for a 101 (`kind: 'accept'`) or a refusal (`'reject'`) before
 * any head is built, so that a bad configuration fails where it is given.
 *
 * @throws {InvalidHeaderError} for an invalid field, or one the response sets itself.
 */
export function checkResponseHeaders(headers: HeaderFields | undefined, kind: 'accept' | 'reject'): void {
  extraHeaderLines(headers, kind === 'accept' ? ACCEPT_MANAGED : REJECT_MANAGED);
}

const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  426: 'Upgrade Required',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
  505: 'HTTP Version Not Supported',
};

const REJECT_MANAGED = new Set(['connection', 'content-type', 'content-length', 'transfer-encoding']);

/**
 * Builds a complete response refusing a handshake: status line,
 * `Connection: close`, `Content-Type: text/plain`, `Content-Length` and a
 * one-line body holding the reason. Accepts a {@link HandshakeError} (its
 * status, reason and headers are used) or an explicit status and reason.
 *
 * When the headers include `Upgrade` (as a 426 does), `Connection` lists
 * `Upgrade` as well, as RFC 7230 §6.7 requires of any message sending it.
 * The reason is reduced to printable ASCII so it cannot break the response.
 *
 * @throws {RangeError} for a status outside 400-599.
 * @throws {InvalidHeaderError} for invalid or managed header fields.
 */
export function buildRejectResponse(error: HandshakeError, headers?: HeaderFields): string;
export function buildRejectResponse(status: number, reason: string, headers?: HeaderFields): string;
export function buildRejectResponse(
  errorOrStatus: HandshakeError | number,
  reasonOrHeaders?: string | HeaderFields,
  extraHeaders?: HeaderFields,
): string {
  let status: number;
  let reason: string;
  let headers: HeaderFields;
  if (errorOrStatus instanceof HandshakeError) {
    status = errorOrStatus.status;
    reason = errorOrStatus.reason;
    headers = { ...errorOrStatus.headers, ...(typeof reasonOrHeaders === 'object' ? reasonOrHeaders : {}) };
  } else {
    status = errorOrStatus;
    reason = typeof reasonOrHeaders === 'string' ? reasonOrHeaders : (STATUS_TEXT[status] ?? 'Error');
    headers = extraHeaders ?? {};
  }
  if (!Number.isInteger(status) || status < 400 || status > 599) {
    throw new RangeError(`a rejection needs a 4xx or 5xx status, got ${status}`);
  }
  const body = `${toPrintableAscii(reason)}\n`;
  const fields = extraHeaderLines(headers, REJECT_MANAGED);
  const upgrading = Object.keys(headers).some((name) => name.toLowerCase() === 'upgrade');
  return (
    `HTTP/1.1 ${status} ${statusText(status)}\r\n` +
    `Connection: ${upgrading ? 'Upgrade, close' : 'close'}\r\n` +
    'Content-Type: text/plain\r\n' +
    `Content-Length: ${body.length}\r\n` +
    `${fields}\r\n${body}`
  );
}

/** The standard reason phrase for a status, or a generic one. */
function statusText(status: number): string {
  return STATUS_TEXT[status] ?? (status < 500 ? 'Client Error' : 'Server Error');
}

/** Replaces control and non-ASCII characters so the body stays one ASCII line. */
function toPrintableAscii(text: string): string {
  let result = '';
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    result += code >= 0x20 && code < 0x7f ? text[i] : code === 0x09 || code === 0x0a || code === 0x0d ? ' ' : '?';
  }
  return result;
}
