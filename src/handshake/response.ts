/**
 * Client side: incremental parsing of the server's response head
 * (RFC 7230 §3.1.2).
 */

import { HandshakeResponseError } from './errors.ts';
import { describe, parseFieldLines } from './field-lines.ts';
import { HeadAccumulator, type HeadFailure } from './head-buffer.ts';
import type { HeaderList } from './headers.ts';
import { DEFAULT_MAX_HEAD_BYTES, DEFAULT_MAX_HEADERS } from './request.ts';

/** A parsed response head. */
export interface ParsedResponse {
  /** The HTTP version as sent, e.g. `HTTP/1.1`. */
  readonly version: string;
  /** The three-digit status code. */
  readonly status: number;
  /** The reason phrase, possibly empty. */
  readonly statusText: string;
  /** Header fields, looked up case-insensitively. */
  readonly headers: HeaderList;
  /**
   * Bytes that followed the head in the last chunk fed: the start of a body,
   * or the first WebSocket frames after a 101. A view, not a copy.
   */
  readonly rest: Uint8Array;
}

/**
 * Parses a response head incrementally from arbitrary chunks (down to
 * single bytes) without any I/O. Any HTTP/x.y status line is accepted here,
 * so that an error page can be reported; `verifyServerResponse` decides
 * whether the response completes the handshake.
 *
 * Errors are {@link HandshakeResponseError}s: `WS_RESPONSE_TOO_LARGE` or
 * `WS_RESPONSE_TOO_MANY_HEADERS` as soon as a limit is exceeded, and
 * `WS_RESPONSE_MALFORMED` for an unreadable status or header line.
 * A parser handles one response (and the interim ones before it). After an
 * error it keeps throwing that error.
 */
export class ResponseHeadParser {
  #accumulator: HeadAccumulator;
  #failure: HandshakeResponseError | undefined;
  /** Head bytes left for the final response once interim ones have taken theirs. */
  #budget: number;
  readonly #maxHeaders: number;

  /**
   * @param maxHeadBytes Largest accepted head in bytes, terminator included
   * (default 16384), interim (1xx) responses before it included.
   * @param maxHeaders Largest accepted number of header lines (default 100).
   */
  constructor(maxHeadBytes = DEFAULT_MAX_HEAD_BYTES, maxHeaders = DEFAULT_MAX_HEADERS) {
    this.#accumulator = new HeadAccumulator(maxHeadBytes, maxHeaders, failResponseHead);
    this.#budget = maxHeadBytes;
    this.#maxHeaders = maxHeaders;
  }

  /**
   * Feeds the next chunk. Returns the parsed response once the head is
   * complete, or `null` if more bytes are needed. Interim responses (1xx
   * other than 101, such as 100 Continue) are skipped, as HTTP clients must
   * (RFC 7231 §6.2): the response that follows them is the answer.
   *
   * @throws {HandshakeResponseError} as described on the class.
   */
  feed(chunk: Uint8Array): ParsedResponse | null {
    if (this.#failure !== undefined) throw this.#failure;
    try {
      let head = this.#accumulator.push(chunk);
      for (;;) {
        if (head === null) return null;
        const response = parseResponseHead(head.text, head.rest);
        if (response.status < 100 || response.status > 199 || response.status === 101) return response;
        // Its bytes (text is latin1, one byte a character, plus CRLF CRLF) count against the budget.
        this.#budget -= head.text.length + 4;
        if (this.#budget < 4) failResponseHead('too-large');
        this.#accumulator = new HeadAccumulator(this.#budget, this.#maxHeaders, failResponseHead);
        head = head.rest.length === 0 ? null : this.#accumulator.push(head.rest);
      }
    } catch (error) {
      if (error instanceof HandshakeResponseError) this.#failure = error;
      throw error;
    }
  }
}

function failResponseHead(failure: HeadFailure): never {
  switch (failure) {
    case 'too-large':
      throw new HandshakeResponseError('WS_RESPONSE_TOO_LARGE', 'Response head is too large');
    case 'too-many-headers':
      throw new HandshakeResponseError('WS_RESPONSE_TOO_MANY_HEADERS', 'Response has too many header fields');
    case 'bare-lf':
      throw new HandshakeResponseError('WS_RESPONSE_MALFORMED', 'Response line ended by LF without CR');
  }
}

function parseResponseHead(text: string, rest: Uint8Array): ParsedResponse {
  const lines = text.split('\r\n');
  const { version, status, statusText } = parseStatusLine(lines[0] ?? '', rest);
  const headers = parseFieldLines(lines, 1, (reason) => {
    throw new HandshakeResponseError('WS_RESPONSE_MALFORMED', `Malformed response: ${reason}`, status, undefined, rest);
  });
  return { version, status, statusText, headers, rest };
}

/**
 * `HTTP-version SP status-code SP reason-phrase` (RFC 7230 §3.1.2). The
 * space before an empty reason phrase is often omitted, so it is optional.
 */
function parseStatusLine(line: string, rest: Uint8Array): { version: string; status: number; statusText: string } {
  const version = line.slice(0, 8);
  const code = line.slice(9, 12);
  const wellFormed =
    /^HTTP\/\d\.\d$/.test(version) &&
    line[8] === ' ' &&
    /^\d{3}$/.test(code) &&
    (line.length === 12 || line[12] === ' ') &&
    isReasonPhrase(line.slice(13));
  if (!wellFormed) {
    throw new HandshakeResponseError('WS_RESPONSE_MALFORMED', `Malformed status line: ${describe(line)}`, 0, undefined, rest);
  }
  return { version, status: Number(code), statusText: line.slice(13) };
}

/** reason-phrase = *( HTAB / SP / VCHAR / obs-text ) */
function isReasonPhrase(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 ? code !== 0x09 : code === 0x7f) return false;
  }
  return true;
}
