/**
 * Server side: incremental parsing of the client's opening request head
 * (RFC 6455 §4.1 / §4.2.1, framed by RFC 7230 §3).
 */

import { HandshakeError } from './errors.ts';
import { describe, parseFieldLines } from './field-lines.ts';
import { HeadAccumulator, type HeadFailure } from './head-buffer.ts';
import type { HeaderList } from './headers.ts';
import { isToken } from './tokens.ts';

/** Default limit on the size of a request head, terminator included. */
export const DEFAULT_MAX_HEAD_BYTES = 16384;

/** Default limit on the number of header field lines in a head. */
export const DEFAULT_MAX_HEADERS = 100;

/** A parsed request head. */
export interface ParsedRequest {
  /** Request method, case preserved (methods are case-sensitive). */
  readonly method: string;
  /** The raw request-target, e.g. `/chat?room=1`. */
  readonly target: string;
  /** The HTTP version as sent, e.g. `HTTP/1.1`. */
  readonly version: string;
  /** Header fields, looked up case-insensitively. */
  readonly headers: HeaderList;
  /** The head as text (latin1), without the blank line that ends it: {@link headerRecordOf} makes the header record again from it. */
  readonly text: string;
  /**
   * Bytes that followed the head in the last chunk fed (possibly the first
   * WebSocket frames). A view into that chunk, not a copy.
   */
  readonly rest: Uint8Array;
}

/**
 * Parses a request head incrementally from arbitrary chunks (down to single
 * bytes) without any I/O.
 *
 * Errors are {@link HandshakeError}s with the status to reply with:
 * - 431 as soon as the head grows past `maxHeadBytes` or holds more than
 *   `maxHeaders` field lines, before its end has arrived;
 * - 400 for a malformed request line or header line (obs-fold, missing
 *   colon, invalid name or value characters, bare LF);
 * - 505 for a well-formed HTTP version other than 1.x with x >= 1.
 *   HTTP/1.0 lands here: RFC 6455 §4.1 requires HTTP/1.1 or higher, and 505
 *   tells the client precisely that.
 *
 * One empty line (CRLF) before the request line is ignored (RFC 7230 §3.5).
 *
 * A parser handles one head. After an error it keeps throwing that error.
 */
export class RequestHeadParser {
  readonly #accumulator: HeadAccumulator;
  #failure: HandshakeError | undefined;
  /** Where a leading empty line stands: none seen yet, its CR seen, or past. */
  #blankLine: 'start' | 'cr' | 'past' = 'start';

  /**
   * @param maxHeadBytes Largest accepted head in bytes, including the
   * terminating blank line (default 16384).
   * @param maxHeaders Largest accepted number of header field lines
   * (default 100). Bounding the count, not only the size, keeps per-header
   * work bounded.
   */
  constructor(maxHeadBytes = DEFAULT_MAX_HEAD_BYTES, maxHeaders = DEFAULT_MAX_HEADERS) {
    this.#accumulator = new HeadAccumulator(maxHeadBytes, maxHeaders, failRequestHead);
  }

  /**
   * Feeds the next chunk. Returns the parsed request once the head is
   * complete, or `null` if more bytes are needed.
   *
   * @throws {HandshakeError} 400, 431 or 505 as described on the class.
   */
  feed(chunk: Uint8Array): ParsedRequest | null {
    if (this.#failure !== undefined) throw this.#failure;
    try {
      if (this.#blankLine !== 'past') {
        const after = this.#skipBlankLine(chunk);
        if (after === null) return null;
        chunk = after;
      }
      const head = this.#accumulator.push(chunk);
      return head === null ? null : parseRequestHead(head.text, head.rest);
    } catch (error) {
      if (error instanceof HandshakeError) this.#failure = error;
      throw error;
    }
  }

  /**
   * RFC 7230 §3.5: a server SHOULD ignore at least one empty line received before the
   * request line (a client may send one after a previous request's body). One is skipped,
   * however it is split; a CR not followed by LF is a malformed request line. Returns what
   * follows it, or null while it may still be arriving.
   */
  #skipBlankLine(chunk: Uint8Array): Uint8Array | null {
    let at = 0;
    if (this.#blankLine === 'start') {
      if (chunk.length === 0) return null;
      if (chunk[0] !== CR) {
        this.#blankLine = 'past';
        return chunk;
      }
      this.#blankLine = 'cr';
      at = 1;
    }
    if (at === chunk.length) return null;
    if (chunk[at] !== LF) throw malformedRequestLine('\r');
    this.#blankLine = 'past';
    return chunk.subarray(at + 1);
  }
}

const CR = 0x0d;
const LF = 0x0a;

function failRequestHead(failure: HeadFailure): never {
  switch (failure) {
    case 'too-large':
      throw new HandshakeError(431, 'WS_HANDSHAKE_HEAD_TOO_LARGE', 'Request head is too large');
    case 'too-many-headers':
      throw new HandshakeError(431, 'WS_HANDSHAKE_TOO_MANY_HEADERS', 'Request has too many header fields');
    case 'bare-lf':
      throw new HandshakeError(400, 'WS_HANDSHAKE_MALFORMED_HEADER', 'Line ended by LF without CR');
  }
}

function failHeaderLine(reason: string): never {
  throw new HandshakeError(400, 'WS_HANDSHAKE_MALFORMED_HEADER', reason);
}

/** Parses a complete head (latin1 text without its final CRLF CRLF). */
function parseRequestHead(text: string, rest: Uint8Array): ParsedRequest {
  const lines = text.split('\r\n');
  const { method, target, version } = parseRequestLine(lines[0] ?? '');
  const headers = parseFieldLines(lines, 1, failHeaderLine);
  return { method, target, version, headers, text, rest };
}

/**
 * The header record (`HeaderList.toRecord`) of a head {@link RequestHeadParser} accepted,
 * made again from its `text`: a server keeps the text per connection and makes the record
 * only if asked.
 */
export function headerRecordOf(text: string): Record<string, string> {
  return parseFieldLines(text.split('\r\n'), 1, failHeaderLine).toRecord();
}

/** The request-target of a head {@link RequestHeadParser} accepted, read again from its `text`. */
export function requestTargetOf(text: string): string {
  // The request line's single spaces are checked by the parser (RFC 7230 §3.1.1).
  const start = text.indexOf(' ') + 1;
  return text.slice(start, text.indexOf(' ', start));
}

/** `method SP request-target SP HTTP-version` (RFC 7230 §3.1.1), single spaces only. */
function parseRequestLine(line: string): { method: string; target: string; version: string } {
  const firstSpace = line.indexOf(' ');
  const secondSpace = firstSpace === -1 ? -1 : line.indexOf(' ', firstSpace + 1);
  if (secondSpace === -1 || line.indexOf(' ', secondSpace + 1) !== -1) {
    throw malformedRequestLine(line);
  }
  const method = line.slice(0, firstSpace);
  const target = line.slice(firstSpace + 1, secondSpace);
  const version = line.slice(secondSpace + 1);
  if (!isToken(method) || !isVisibleAscii(target)) throw malformedRequestLine(line);
  checkHttpVersion(version, line);
  return { method, target, version };
}

/** HTTP-version = "HTTP/" DIGIT "." DIGIT (RFC 7230 §2.6); RFC 6455 §4.1 needs >= 1.1. */
function checkHttpVersion(version: string, line: string): void {
  if (version.length !== 8 || !version.startsWith('HTTP/') || version[6] !== '.') {
    throw malformedRequestLine(line);
  }
  const major = version.charCodeAt(5) - 0x30;
  const minor = version.charCodeAt(7) - 0x30;
  if (!(major >= 0 && major <= 9 && minor >= 0 && minor <= 9)) throw malformedRequestLine(line);
  if (!isSupportedHttpVersion(major, minor)) {
    throw new HandshakeError(505, 'WS_HANDSHAKE_HTTP_VERSION', `HTTP version ${version} is not supported; use HTTP/1.1`);
  }
}

/**
 * Whether an HTTP version can carry the handshake: 1.1, or a later 1.x,
 * which RFC 7230 §2.6 says to treat as the highest 1.x minor understood.
 */
export function isSupportedHttpVersion(major: number, minor: number): boolean {
  return major === 1 && minor >= 1;
}

function isVisibleAscii(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code <= 0x20 || code >= 0x7f) return false;
  }
  return true;
}

function malformedRequestLine(line: string): HandshakeError {
  return new HandshakeError(400, 'WS_HANDSHAKE_MALFORMED_REQUEST_LINE', `Malformed request line: ${describe(line)}`);
}
