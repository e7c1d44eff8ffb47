/**
 * TLS settings for `wss://`: a server from a certificate and key (file paths or PEM), a
 * client that checks certificates by default and accepts a self-signed one only when asked.
 * @module
 */
import { readFileSync } from 'node:fs';
import { checkServerIdentity, type ConnectionOptions, type TlsOptions, type TLSSocket } from 'node:tls';

/** PEM text or bytes, or the path of a PEM file. */
export type PemSource = string | Uint8Array;

/** TLS settings of a `wss://` server. */
export interface TlsServerOptions {
  /** The certificate chain: PEM, or a file path. */
  cert: PemSource;
  /** The private key: PEM, or a file path. */
  key: PemSource;
  /** Passphrase of an encrypted key. */
  passphrase?: string;
  /** CAs whose client certificates to trust, for mutual TLS. */
  ca?: PemSource | PemSource[];
  /** Ask clients for a certificate and refuse those without a valid one. Default false. */
  requestClientCertificate?: boolean;
  /** Anything else `node:tls` accepts, passed through. */
  extra?: TlsOptions;
}

/** TLS settings of a `wss://` client. */
export interface TlsClientOptions {
  /** CAs to trust instead of the system's: PEM, or file paths. */
  ca?: PemSource | PemSource[];
  /** The name to send in SNI and to check the certificate against; default the URL's host. */
  servername?: string;
  /**
   * Accept a certificate that signs itself (seed use case: a device or a test server), still
   * checking that it names the host. Every other certificate error is still refused, with
   * Node's `code` (one issued by a private CA needs that CA as `ca`). Default false.
   */
  allowSelfSigned?: boolean;
  /** A client certificate and key, for mutual TLS. */
  cert?: PemSource;
  /** The client certificate's private key. */
  key?: PemSource;
  /** Anything else `node:tls` accepts, passed through. */
  extra?: ConnectionOptions;
}

/** Node's TLS options for a server. */
export function serverTlsOptions(options: TlsServerOptions): TlsOptions {
  // Refused rather than read as false: a 'true' from an environment variable would leave mutual TLS off.
  const mutual = isSwitchedOn('tls.requestClientCertificate', options.requestClientCertificate);
  const result: TlsOptions = { ...options.extra, cert: loadPem(options.cert), key: loadPem(options.key) };
  if (options.passphrase != null) result.passphrase = options.passphrase;
  if (options.ca != null) result.ca = loadPemList(options.ca);
  if (mutual) {
    result.requestCert = true;
    result.rejectUnauthorized = true;
  }
  return result;
}

/** Node's TLS options for a client connecting to `host`. */
export function clientTlsOptions(host: string, given?: TlsClientOptions | null): ConnectionOptions {
  const options = given ?? {};
  const result: ConnectionOptions = { ...options.extra };
  const servername = options.servername ?? host;
  // SNI carries host names only (RFC 6066 §3), never IP literals. Node then checks the
  // certificate against the dialled host: an IP literal given as `servername` is checked here.
  if (!isIpLiteral(servername)) result.servername = servername;
  else if (servername !== host && options.extra?.checkServerIdentity === undefined) {
    result.checkServerIdentity = (_dialled, certificate) => checkServerIdentity(servername, certificate);
  }
  if (options.ca != null) result.ca = loadPemList(options.ca);
  if (options.cert != null) result.cert = loadPem(options.cert);
  if (options.key != null) result.key = loadPem(options.key);
  // Self-signed certificates are judged after the handshake by `checkSelfSigned`.
  if (isSwitchedOn('tls.allowSelfSigned', options.allowSelfSigned)) result.rejectUnauthorized = false;
  return result;
}

/** A boolean setting: absent (undefined or null) is off; a value that is not a boolean is refused. */
function isSwitchedOn(name: string, value: boolean | undefined): boolean {
  if (value == null) return false;
  if (typeof value !== 'boolean') throw new TypeError(`${name} must be true or false, got ${typeof value}`);
  return value;
}

/**
 * A leaf that signs itself. Not SELF_SIGNED_CERT_IN_CHAIN: that is a certificate issued by
 * an untrusted CA whose root came along, which does not sign itself (give that CA as `ca`).
 */
const SELF_SIGNED_ERRORS = new Set(['DEPTH_ZERO_SELF_SIGNED_CERT']);

/**
 * With `allowSelfSigned`, Node verifies nothing itself; this enforces what the option
 * promises: the certificate is valid, or fails only for being self-signed, and names the host.
 * Returns the reason to refuse, or null to accept.
 */
export function checkSelfSigned(socket: TLSSocket, servername: string): Error | null {
  const failure = socket.authorizationError as Error | string | null | undefined;
  const code = failure === null || failure === undefined ? null : typeof failure === 'string' ? failure : ((failure as NodeJS.ErrnoException).code ?? failure.message);
  // With Node's own code, as the same refusal has without the opt-in.
  if (code !== null && !SELF_SIGNED_ERRORS.has(code)) return Object.assign(new Error(`TLS certificate refused: ${code}`), { code });
  const identity = checkServerIdentity(servername, socket.getPeerCertificate());
  return identity ?? null;
}

function loadPemList(source: PemSource | PemSource[]): Array<string | Buffer> {
  return (Array.isArray(source) ? source : [source]).map(loadPem);
}

/** PEM given inline is used as it is; anything else is a file path. */
function loadPem(source: PemSource): string | Buffer {
  if (typeof source !== 'string') return Buffer.from(source);
  return source.includes('-----BEGIN ') ? source : readFileSync(source);
}

function isIpLiteral(host: string): boolean {
  return host.includes(':') || /^\d{1,3}(\.\d{1,3}){3}$/.test(host);
}
