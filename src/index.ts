/**
 * wspeer: a strict, fast WebSocket library (RFC 6455, RFC 7692) with no runtime
 * dependencies. This entry point is the Node API: servers, clients and peers over
 * `node:net` / `node:tls`. The protocol core without I/O is exported from `wspeer/core`.
 * @module
 */
export { server, bind, Server, BoundServer, type ConnectionHandlerFunction, type Routes } from './server/server.ts';
export { createUpgradeHandler, handleUpgrade, type UpgradeHandler } from './server/http.ts';
export type { ServerOptions, UpgradeRequestInfo, VerifyAcceptance, VerifyRefusal, VerifyResult } from './server/options.ts';
export { connect, AbortError, type ClientRequest, type ConnectOptions } from './client/connect.ts';
export {
  startClientEngine,
  ClientEngine,
  EngineStoppedError,
  type EngineCallbacks,
  type EngineOptions,
  type EngineState,
  type EngineOpenInfo,
  type EngineCloseInfo,
  type EngineErrorInfo,
  type EngineUrlSource,
} from './engines/client-engine.ts';
export type { ReconnectOptions } from './engines/backoff.ts';
export { wrap, type WrapOptions, type WrapClientOptions, type WrapServerOptions } from './wrap.ts';
export { Peer, type OutgoingFrame, type OutgoingDataFrame, type OutgoingCloseFrame, type Writable, type HandshakeInfo, type SendResult } from './peer/peer.ts';
export type { Message, TextMessage, BinaryMessage, ContinuationFrame } from './peer/message.ts';
export type { PeerOptions } from './peer/options.ts';
export type { DeflateOptions } from './extensions/permessage-deflate/params.ts';
export {
  DiagnosticsChannel,
  type PeerOpenEvent,
  type PeerMessageEvent,
  type PeerHandledEvent,
  type PeerSendEvent,
  type PeerCloseEvent,
  type UpgradeRejectEvent,
} from './peer/diagnostics.ts';
export { TimeoutError, ConnectionClosedError, BufferFullError, MessageExpiredError } from './peer/errors.ts';
export type { TlsClientOptions, TlsServerOptions, PemSource } from './tls/options.ts';
export {
  HandshakeError,
  HandshakeResponseError,
  HeadCompleteError,
  InvalidUrlError,
  InvalidHeaderError,
  type HandshakeErrorCode,
  type HandshakeResponseErrorCode,
  type InvalidUrlErrorCode,
} from './handshake/errors.ts';
// Types that public signatures name: a response error's headers, extra headers to send, a peer's state.
export type { HeaderList } from './handshake/headers.ts';
export type { HeaderFields } from './handshake/head-writer.ts';
export type { ConnectionState } from './connection/connection.ts';
export { ProtocolError, type ProtocolErrorCode } from './frame/errors.ts';
export { UsageError, type UsageErrorCode } from './connection/errors.ts';
export { CloseCode } from './frame/close-code.ts';
export { Opcode } from './frame/opcode.ts';
