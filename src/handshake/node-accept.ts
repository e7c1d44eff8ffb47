/**
 * `Sec-WebSocket-Accept` (RFC 6455 §4.2.2) through `node:crypto`, for the Node adapters: a
 * server computes one per upgrade, and this is several times faster than `computeAccept`'s
 * plain TypeScript SHA-1. The one handshake file that touches Node; the protocol core does
 * not export it.
 * @module
 */
import * as crypto from 'node:crypto';
import { WEBSOCKET_GUID } from './keys.ts';

// `crypto.hash` (Node 20.12+) skips the Hash object and is markedly faster for one-shot
// digests. A namespace import keeps older Node 20 releases loadable; they fall back to
// createHash.
const sha1Base64: (input: string) => string =
  typeof crypto.hash === 'function'
    ? (input) => crypto.hash('sha1', input, 'base64')
    : (input) => crypto.createHash('sha1').update(input).digest('base64');

/** {@link computeAccept} with Node's SHA-1: the same value for the same (valid) key. */
export function nodeComputeAccept(key: string): string {
  return sha1Base64(key + WEBSOCKET_GUID);
}
