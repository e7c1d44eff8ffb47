/**
 * How much memory a frame payload split across chunks is given: whole at once up to 1 MiB;
 * past that, as its bytes come, so that a header alone cannot claim the length it declares.
 * @module
 */

/** A split payload up to this long gets its whole buffer at once. */
const EAGER_PAYLOAD = 1 << 20;
/**
 * A longer one gets at most this many times the bytes received so far (and at least
 * {@link EAGER_PAYLOAD}), growing as they come: a 15-byte header declaring 64 MiB would
 * otherwise make the runtime count 64 MiB and collect garbage for it, per connection.
 * A read of 32 KiB buys a 4 MiB buffer, so a long message read in Node's 64 KiB reads is
 * usually assembled with no copy.
 */
const PAYLOAD_GROWTH = 128;
/**
 * The first {@link EAGER_PAYLOAD} bytes of a longer payload whose header came with too few
 * of them are gathered in a staging buffer, always copied into the payload's own buffer
 * when it grows: staging buffers are kept for reuse, so that this costs a copy from warm
 * memory rather than fresh memory of its own (honest senders often send a header alone).
 */
const stagingKept: Uint8Array[] = [];
const STAGING_KEPT_MAX = 4;

/** The buffer for a split payload of `length` bytes, `received` of them in hand: see {@link PAYLOAD_GROWTH}. */
export function partialSize(length: number, received: number): number {
  if (length <= EAGER_PAYLOAD) return length;
  return Math.min(length, Math.max(EAGER_PAYLOAD, received * PAYLOAD_GROWTH));
}

/** Whether a buffer of `size` for a payload of `length` is the staging kind: the first MiB of a longer one. */
export function isStaged(size: number, length: number): boolean {
  return size === EAGER_PAYLOAD && length > EAGER_PAYLOAD;
}

/** A staging buffer: a kept one, or a new one. */
export function takeStaging(): Uint8Array {
  return stagingKept.pop() ?? new Uint8Array(EAGER_PAYLOAD);
}

/** A staging buffer the payload has moved out of (or whose parser stopped), kept for reuse. */
export function keepStaging(buffer: Uint8Array): void {
  if (stagingKept.length < STAGING_KEPT_MAX) stagingKept.push(buffer);
}
