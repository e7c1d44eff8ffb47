/**
 * The WebSocket opening handshake (RFC 6455 §4) without I/O: parsers for
 * request and response heads, validation, and builders for every head the
 * handshake sends, `Sec-WebSocket-Accept` included. Plain TypeScript throughout, exported by
 * the protocol core; `node-accept.ts`, the Node adapters' faster accept, is not exported here.
 */

export {
  HandshakeError,
  HandshakeResponseError,
  HeadCompleteError,
  InvalidHeaderError,
  InvalidUrlError,
  RESPONSE_BODY_SNIPPET_BYTES,
  type HandshakeErrorCode,
  type HandshakeResponseErrorCode,
  type InvalidUrlErrorCode,
} from './errors.ts';
export { computeAccept, generateKey, WEBSOCKET_GUID } from './keys.ts';
export { latin1Decode, latin1Encode } from './latin1.ts';
export { HeaderList } from './headers.ts';
export {
  equalsIgnoreAsciiCase,
  isFieldValue,
  isToken,
  listContainsToken,
  parseTokenList,
  splitList,
  trimOws,
} from './tokens.ts';
export { formatExtensions, parseExtensions, type ExtensionOffer, type ExtensionParam } from './extensions.ts';
export { assertSubprotocols, chooseSubprotocol, parseSubprotocols } from './subprotocol.ts';
export { DEFAULT_MAX_HEAD_BYTES, DEFAULT_MAX_HEADERS, RequestHeadParser, type ParsedRequest } from './request.ts';
export {
  isUriHost,
  isValidKey,
  validateUpgradeRequest,
  WEBSOCKET_VERSION,
  type HeaderLookup,
  type UpgradeRequest,
  type UpgradeRequestHead,
} from './validate.ts';
export { buildAcceptResponse, buildRejectResponse, type AcceptResponseOptions } from './server-response.ts';
export type { HeaderFields } from './head-writer.ts';
export { defaultPort, parseConnectUrl, parseUrl, type UrlObject, type WebSocketTarget } from './url.ts';
export { buildClientRequest, hostHeader, type ClientRequestOptions } from './client-request.ts';
export { ResponseHeadParser, type ParsedResponse } from './response.ts';
export { verifyServerResponse, type HandshakeResult, type VerifyOptions } from './verify.ts';
