/**
 * Deterministic message payloads, so every server and every round sees the same bytes.
 * @module
 */

/** Binary payload of `size` bytes with a pattern that is neither constant nor periodic at 4 bytes. */
export function binaryPayload(size: number): Buffer {
  const bytes = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 131 + (i >>> 8) * 7 + 17) & 0xff;
  return bytes;
}

// One-, two-, three- and four-byte sequences, so a validator cannot stay on an ASCII fast path.
const MIXED_PIECES = ['Hello, ', 'naïve café ', 'Grüße ', '€ 42 ', '日本語 ', 'ok ', '🙂 ', 'Ωμέγα ', '\n'];

/**
 * UTF-8 text of exactly `size` bytes. With `mixed`, it cycles through multi-byte characters and
 * pads the tail with ASCII, so the byte length is exact and no character is ever cut in half.
 */
export function textPayload(size: number, mixed = true): Buffer {
  const pieces = mixed ? MIXED_PIECES : ['The quick brown fox jumps over the lazy dog. '];
  const encoded = pieces.map((piece) => Buffer.from(piece, 'utf8'));
  const out = Buffer.alloc(size, 0x61); // 'a' fills whatever the pieces leave
  let offset = 0;
  for (let i = 0; ; i++) {
    const piece = encoded[i % encoded.length]!;
    if (offset + piece.length > size) break;
    piece.copy(out, offset);
    offset += piece.length;
  }
  return out;
}
