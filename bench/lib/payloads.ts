/**
 * Deterministic message payloads, so every server and every round sees the same bytes.
 * @module
 */

/**
 * Binary payload of `size` bytes with a pattern that is neither constant nor periodic at 4 bytes.
 * Variants 0–255 differ from each other in every byte.
 */
export function binaryPayload(size: number, variant = 0): Buffer {
  const bytes = Buffer.allocUnsafe(size);
  const offset = 17 + variant * 29; // 29 is odd: distinct modulo 256 for every variant below 256
  for (let i = 0; i < size; i++) bytes[i] = (i * 131 + (i >>> 8) * 7 + offset) & 0xff;
  return bytes;
}

// One-, two-, three- and four-byte sequences, so a validator cannot stay on an ASCII fast path.
const MIXED_PIECES = ['Hello, ', 'naïve café ', 'Grüße ', '€ 42 ', '日本語 ', 'ok ', '🙂 ', 'Ωμέγα ', '\n'];

/**
 * UTF-8 text of exactly `size` bytes. With `mixed`, it cycles through multi-byte characters and
 * pads the tail with ASCII, so the byte length is exact and no character is ever cut in half.
 * With a `variant` (0–15), its first and last bytes are that variant's hex digit, so variants
 * differ at both ends.
 */
export function textPayload(size: number, mixed = true, variant?: number): Buffer {
  const pieces = mixed ? MIXED_PIECES : ['The quick brown fox jumps over the lazy dog. '];
  const encoded = pieces.map((piece) => Buffer.from(piece, 'utf8'));
  const tag = variant === undefined ? null : variant.toString(16).charCodeAt(0);
  const out = Buffer.alloc(size, tag ?? 0x61); // 'a', or the tag, fills whatever the pieces leave
  let offset = tag === null ? 0 : 1;
  const end = tag === null ? size : size - 1;
  for (let i = 0; ; i++) {
    const piece = encoded[i % encoded.length]!;
    if (offset + piece.length > end) break;
    piece.copy(out, offset);
    offset += piece.length;
  }
  if (tag !== null && size > 0) out[0] = tag;
  return out;
}

const SYMBOLS = ['BTC-USD', 'ETH-USD', 'SOL-USD', 'ADA-EUR', 'XRP-USD', 'DOT-GBP', 'LTC-USD', 'AVAX-EUR'];

/**
 * Compressible JSON text of exactly `size` bytes (at least 2): an array of market-ticker objects
 * whose keys repeat and whose numbers vary, the kind of traffic permessage-deflate is used for.
 * The numbers come from a linear congruential sequence seeded by `variant`, so each variant has
 * fixed bytes of its own; the array is padded with spaces before its closing bracket to reach
 * the exact size.
 */
export function jsonPayload(size: number, variant = 0): Buffer {
  let seed = (0x2545f491 + Math.imul(variant, 0x9e3779b9)) >>> 0;
  const next = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  let text = '[';
  for (let sequence = 1; ; sequence++) {
    const bid = 100 + next() * 40_000;
    const ticker = {
      symbol: SYMBOLS[sequence % SYMBOLS.length],
      bid: Number(bid.toFixed(2)),
      ask: Number((bid * (1 + next() / 1000)).toFixed(2)),
      volume: Number((next() * 5000).toFixed(4)),
      ts: 1_700_000_000_000 + variant * 60_000 + sequence * 137,
      seq: variant * 1000 + sequence,
    };
    const piece = (sequence === 1 ? '' : ',') + JSON.stringify(ticker);
    if (text.length + piece.length + 1 > size) break;
    text += piece;
  }
  return Buffer.from(`${text.padEnd(size - 1, ' ')}]`, 'utf8');
}
