/**
 * Key material for the opening handshake (RFC 6455 §4.1, §4.2.2), in plain TypeScript so
 * that it runs in any runtime: SHA-1 from `sha1.ts`, random bytes from Web Crypto (or a
 * source the host gives). A Node host computes accept values with `node:crypto` instead
 * (`node-accept.ts`): several times faster, and it answers every upgrade.
 * @module
 */
import { base64Encode, sha1 } from './sha1.ts';

/** The fixed GUID appended to the client key before hashing (RFC 6455 §1.3). */
export const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/**
 * Computes the `Sec-WebSocket-Accept` value for a `Sec-WebSocket-Key`:
 * base64(SHA-1(key + GUID)) (RFC 6455 §4.2.2 item 5.4).
 *
 * The key is used verbatim (its characters as bytes, as a valid key's are ASCII); validate
 * it first with `isValidKey`.
 */
export function computeAccept(key: string): string {
  const text = key + WEBSOCKET_GUID;
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return base64Encode(sha1(bytes));
}

/**
 * Generates a fresh `Sec-WebSocket-Key`: 16 random bytes, base64-encoded
 * (RFC 6455 §4.1 item 7). A new key must be used for every handshake. `randomFill` fills
 * its argument with random bytes; by default Web Crypto's `getRandomValues`.
 */
export function generateKey(randomFill: (target: Uint8Array) => void = webRandomFill): string {
  const nonce = new Uint8Array(16);
  randomFill(nonce);
  return base64Encode(nonce);
}

function webRandomFill(target: Uint8Array): void {
  globalThis.crypto.getRandomValues(target);
}
