/**
 * What the connection needs from a per-message compression extension (RFC 7692): the
 * connection owns framing and RSV1, the extension owns the bytes. Implementations live in
 * `src/extensions`; the interface lives here so that the dependency points downwards.
 * @module
 */

/** A negotiated per-message compression, as one connection uses it. Synchronous by design. */
export interface MessageCompression {
  /** Messages shorter than this many bytes are sent uncompressed (RSV1 clear). */
  readonly threshold: number;
  /**
   * Compress a whole outgoing message. Returns the payload to send with RSV1 set, with the
   * empty-block tail `00 00 ff ff` already removed (RFC 7692 §7.2.1); or null to send this
   * message uncompressed (RSV1 clear), e.g. when compressing would not shrink it and no
   * later message depends on the compressor having seen it. The array returned is the
   * connection's: the implementation must not write to it again.
   */
  compress(data: Uint8Array): Uint8Array | null;
  /**
   * Decompress the next frame payload of an incoming compressed message, `fin` on its last
   * frame (the tail is restored then, §7.2.2). Returns the bytes produced, or null if they
   * would pass `limit` — checked while inflating, so a bomb is never held whole. Throws on
   * data that is not valid DEFLATE. The array returned is the connection's, as above.
   */
  decompress(payload: Uint8Array, fin: boolean, limit: number): Uint8Array | null;
  /** The connection is closed: release what can be released. */
  dispose(): void;
}
