/**
 * Client side: the opening handshake request (RFC 6455 §4.1).
 */

import { InvalidHeaderError } from './errors.ts';
import { formatExtensions, type ExtensionOffer } from './extensions.ts';
import { describe } from './field-lines.ts';
import { extraHeaderLines, headerLine, type HeaderFields } from './head-writer.ts';
import { assertSubprotocols } from './subprotocol.ts';
import { defaultPort } from './url.ts';
import { isUriHost, isValidKey, WEBSOCKET_VERSION } from './validate.ts';

/** Options for {@link buildClientRequest}; a `WebSocketTarget` spreads in. */
export interface ClientRequestOptions {
  /** Host name or IP address; IPv6 literals with or without brackets. */
  host: string;
  /** Port; omitted from `Host` when it is the scheme's default. */
  port?: number;
  /** Whether the connection uses TLS (`wss:`). Default `false`. */
  secure?: boolean;
  /** Path plus query. Default `/`. */
  path?: string;
  /** The `Sec-WebSocket-Key`, e.g. from `generateKey()`. */
  key: string;
  /** Subprotocols to offer, in order of preference. */
  protocols?: readonly string[];
  /** Extensions to offer, as a header value or as structured offers. */
  extensions?: string | readonly ExtensionOffer[];
  /** `Origin` to send (browsers always send one). */
  origin?: string;
  /** Further fields, e.g. `Authorization`. Handshake fields cannot be overridden. */
  headers?: HeaderFields;
}

const CLIENT_MANAGED = new Set([
  'host',
  'upgrade',
  'connection',
  'sec-websocket-key',
  'sec-websocket-version',
  'sec-websocket-protocol',
  'sec-websocket-extensions',
]);

/**
 * Builds the GET head opening a WebSocket (RFC 6455 §4.1), blank line
 * included. Write it with latin1 encoding.
 *
 * @throws {InvalidHeaderError} for an invalid key, host, path, subprotocol,
 * extension or header (CR/LF injection included).
 * @throws {TypeError} for a path, origin or headers of the wrong type.
 */
export function buildClientRequest(options: ClientRequestOptions): string {
  const path = options.path ?? '/';
  checkPath(path);
  if (!isValidKey(options.key)) throw new InvalidHeaderError('Sec-WebSocket-Key must be base64 of 16 bytes');
  let head =
    `GET ${path} HTTP/1.1\r\n` +
    headerLine('Host', hostHeader(options.host, options.port, options.secure ?? false)) +
    'Upgrade: websocket\r\n' +
    'Connection: Upgrade\r\n' +
    `Sec-WebSocket-Key: ${options.key}\r\n` +
    `Sec-WebSocket-Version: ${WEBSOCKET_VERSION}\r\n`;
  if (options.origin != null) {
    if (typeof options.origin !== 'string') throw new TypeError(`origin must be a string, got ${typeof options.origin}`);
    head += headerLine('Origin', options.origin);
  }
  if (options.protocols !== undefined && options.protocols.length > 0) {
    assertSubprotocols(options.protocols);
    head += headerLine('Sec-WebSocket-Protocol', options.protocols.join(', '));
  }
  const extensions = typeof options.extensions === 'string' ? options.extensions : formatExtensions(options.extensions ?? []);
  if (extensions !== '') head += headerLine('Sec-WebSocket-Extensions', extensions);
  const managed = options.origin == null ? CLIENT_MANAGED : new Set([...CLIENT_MANAGED, 'origin']);
  return `${head}${extraHeaderLines(options.headers, managed)}\r\n`;
}

/**
 * The `Host` value for a connection (RFC 6455 §4.1 item 4, RFC 7230 §5.4):
 * the port only when it is not the scheme's default, IPv6 literals in
 * brackets (`[::1]:9001`).
 */
export function hostHeader(host: string, port: number | undefined, secure: boolean): string {
  if (host === '') throw new InvalidHeaderError('host must not be empty');
  const bracketed = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  // RFC 7230 §5.4: what a server checks the Host field against.
  if (!isUriHost(bracketed)) throw new InvalidHeaderError(`Invalid host: ${describe(host)} (a name, an IPv4 address or an IPv6 literal; the port goes apart)`);
  if (port === undefined || port === defaultPort(secure)) return bracketed;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new InvalidHeaderError(`Invalid port: ${port}`);
  return `${bracketed}:${port}`;
}

/** The resource name must be origin-form: "/" then visible ASCII, no fragment. */
function checkPath(path: string): void {
  if (typeof path !== 'string') throw new TypeError(`the request path must be a string, got ${typeof path}`);
  let valid = path.startsWith('/');
  for (let i = 0; valid && i < path.length; i++) {
    const code = path.charCodeAt(i);
    valid = code > 0x20 && code < 0x7f && code !== 0x23;
  }
  if (!valid) throw new InvalidHeaderError(`Invalid request path: ${describe(path)}`);
}
