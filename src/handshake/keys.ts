/**
 * Key material for the opening handshake (RFC 6455 §4.1, §4.2.2).
 *
 * This is the only handshake file that touches `node:crypto`; everything
 * else is plain string and byte manipulation, so it can be embedded anywhere.
 */

import * as crypto from 'node:crypto';

/** The fixed GUID appended to the client key before hashing (RFC 6455 §1.3). */
export const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

// `crypto.hash` (Node 20.12+) skips the Hash object and is markedly faster
// for one-shot digests. A namespace import keeps older Node 20 releases
// loadable; they fall back to createHash.
const sha1Base64: (input: string) => string =
  typeof crypto.hash === 'function'
    ? (input) => crypto.hash('sha1', input, 'base64')
    : (input) => crypto.createHash('sha1').update(input).digest('base64');

/**
 * Computes the `Sec-WebSocket-Accept` value for a `Sec-WebSocket-Key`:
 * base64(SHA-1(key + GUID)) (RFC 6455 §4.2.2 item 5.4).
 *
 * The key is used verbatim; validate it first with `isValidKey`.
 */
export function computeAccept(key: string): string {
  return sha1Base64(key + WEBSOCKET_GUID);
}

/**
 * Generates a fresh `Sec-WebSocket-Key`: 16 random bytes, base64-encoded
 * (RFC 6455 §4.1 item 7). A new key must be used for every handshake.
 */
export function generateKey(): string {
  return crypto.randomBytes(16).toString('base64');
}
