/** Shared fixtures for the handshake tests. */

import { latin1Encode } from '../../src/handshake/index.ts';

/** The key and accept value from RFC 6455 §1.3. */
export const RFC_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
export const RFC_ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=';

/** Builds a request head from a request line and header lines. */
export function requestHead(requestLine: string, headerLines: readonly string[]): string {
  return `${requestLine}\r\n${headerLines.map((line) => `${line}\r\n`).join('')}\r\n`;
}

/** The header lines of a valid opening handshake (RFC 6455 §1.3). */
export const VALID_HEADER_LINES: readonly string[] = [
  'Host: server.example.com',
  'Upgrade: websocket',
  'Connection: Upgrade',
  `Sec-WebSocket-Key: ${RFC_KEY}`,
  'Origin: http://example.com',
  'Sec-WebSocket-Protocol: chat, superchat',
  'Sec-WebSocket-Version: 13',
];

/** A valid opening handshake request head. */
export const VALID_REQUEST = requestHead('GET /chat?room=1 HTTP/1.1', VALID_HEADER_LINES);

/** Encodes text one byte per code point. */
export function bytes(text: string): Uint8Array {
  return latin1Encode(text);
}

/** Concatenates byte arrays. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
