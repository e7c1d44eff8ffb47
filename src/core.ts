/**
 * The protocol core without I/O, for any JavaScript runtime: the frame codec, the
 * connection state machine, the opening handshake (parsers, validation, and the heads to
 * send, `Sec-WebSocket-Accept` included) and the negotiation of permessage-deflate
 * (RFC 7692 §7.1; the compressor itself, a `MessageCompression`, is the host's to give:
 * the library's own runs on `node:zlib`). Plain `Uint8Array` and strings in, events and
 * bytes out; no `node:` imports, no timers, no sockets.
 * @module
 */
export * from './frame/index.ts';
export * from './connection/index.ts';
export * from './handshake/index.ts';
export {
  PERMESSAGE_DEFLATE,
  acceptOffer,
  acceptResponse,
  clientOffer,
  resolveDeflateOptions,
  type Acceptance,
  type DeflateOptions,
  type DeflateParams,
  type ResolvedDeflateOptions,
} from './extensions/permessage-deflate/params.ts';
