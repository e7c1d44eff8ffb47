/**
 * TLS for `wss://` servers and clients.
 * @module
 */
export {
  checkSelfSigned,
  clientTlsOptions,
  serverTlsOptions,
  type PemSource,
  type TlsClientOptions,
  type TlsServerOptions,
} from './options.ts';
