/**
 * SHA-1 (FIPS 180-4 §6.1) and base64 (RFC 4648 §4), in plain TypeScript: what the opening
 * handshake needs to compute `Sec-WebSocket-Accept` (RFC 6455 §4.2.2) in any runtime. SHA-1
 * is no longer collision resistant; the handshake uses it as a checksum that proves the
 * server read the key, not for security (RFC 6455 §10.7).
 * @module
 */

// The message schedule of one block (§6.1.2 step 1), reused: a digest allocates only its padded input, state and output.
const schedule = new Int32Array(80);

/** The SHA-1 digest (20 bytes) of `message`. */
export function sha1(message: Uint8Array): Uint8Array {
  const length = message.length;
  // §5.1.1: the message, a 1 bit, zeros, then its length in bits as 64 bits, to whole 64-byte blocks.
  const padded = new Uint8Array(((length + 8) >>> 6) * 64 + 64);
  padded.set(message);
  padded[length] = 0x80;
  const end = padded.length;
  const high = Math.floor(length / 0x20000000);
  const low = (length << 3) >>> 0;
  padded[end - 8] = high >>> 24;
  padded[end - 7] = high >>> 16;
  padded[end - 6] = high >>> 8;
  padded[end - 5] = high;
  padded[end - 4] = low >>> 24;
  padded[end - 3] = low >>> 16;
  padded[end - 2] = low >>> 8;
  padded[end - 1] = low;
  const state = [0x67452301, 0xefcdab89 | 0, 0x98badcfe | 0, 0x10325476, 0xc3d2e1f0 | 0];
  for (let block = 0; block < end; block += 64) compress(state, padded, block);
  const digest = new Uint8Array(20);
  for (let i = 0; i < 5; i++) {
    const h = state[i]!;
    digest[i * 4] = h >>> 24;
    digest[i * 4 + 1] = h >>> 16;
    digest[i * 4 + 2] = h >>> 8;
    digest[i * 4 + 3] = h;
  }
  return digest;
}

// §4.2.1: the constant of each 20 rounds.
const ROUND_CONSTANTS = new Int32Array([0x5a827999, 0x6ed9eba1, 0x8f1bbcdc | 0, 0xca62c1d6 | 0]);

/** §4.1.1: Ch for rounds 0–19, Parity for 20–39 and 60–79, Maj for 40–59. */
function roundFunction(t: number, b: number, c: number, d: number): number {
  if (t < 20) return (b & c) | (~b & d);
  if (t >= 40 && t < 60) return (b & c) | (b & d) | (c & d);
  return b ^ c ^ d;
}

/** §6.1.2: fold the 64-byte block at `offset` into `state`, with the functions and constants of §4.1.1 and §4.2.1 by round. */
function compress(state: number[], bytes: Uint8Array, offset: number): void {
  const w = schedule;
  for (let t = 0, i = offset; t < 16; t++, i += 4) w[t] = (bytes[i]! << 24) | (bytes[i + 1]! << 16) | (bytes[i + 2]! << 8) | bytes[i + 3]!;
  for (let t = 16; t < 80; t++) {
    const x = w[t - 3]! ^ w[t - 8]! ^ w[t - 14]! ^ w[t - 16]!;
    w[t] = (x << 1) | (x >>> 31);
  }
  let a = state[0]!;
  let b = state[1]!;
  let c = state[2]!;
  let d = state[3]!;
  let e = state[4]!;
  for (let t = 0; t < 80; t++) {
    const next = (((a << 5) | (a >>> 27)) + roundFunction(t, b, c, d) + e + ROUND_CONSTANTS[(t / 20) | 0]! + w[t]!) | 0;
    e = d;
    d = c;
    c = (b << 30) | (b >>> 2);
    b = a;
    a = next;
  }
  state[0] = (state[0]! + a) | 0;
  state[1] = (state[1]! + b) | 0;
  state[2] = (state[2]! + c) | 0;
  state[3] = (state[3]! + d) | 0;
  state[4] = (state[4]! + e) | 0;
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** `bytes` in base64 with padding (RFC 4648 §4). */
export function base64Encode(bytes: Uint8Array): string {
  let text = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    text += ALPHABET[n >>> 18]! + ALPHABET[(n >>> 12) & 63]! + ALPHABET[(n >>> 6) & 63]! + ALPHABET[n & 63]!;
  }
  const left = bytes.length - i;
  if (left === 1) {
    const n = bytes[i]! << 16;
    text += `${ALPHABET[n >>> 18]!}${ALPHABET[(n >>> 12) & 63]!}==`;
  } else if (left === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    text += `${ALPHABET[n >>> 18]!}${ALPHABET[(n >>> 12) & 63]!}${ALPHABET[(n >>> 6) & 63]!}=`;
  }
  return text;
}
