/**
 * Options of the server factories (`server`, `bind`, `handleUpgrade`), with their defaults.
 * @module
 */
import type { RequestListener } from 'node:http';
import { describeOptionValue } from '../connection/errors.ts';
import type { HeaderFields } from '../handshake/head-writer.ts';
import { checkResponseHeaders } from '../handshake/server-response.ts';
import { checkHeadLimits } from '../handshake/head-buffer.ts';
import { isToken } from '../handshake/tokens.ts';
import { DEFAULT_MAX_HEAD_BYTES, DEFAULT_MAX_HEADERS } from '../handshake/request.ts';
import { checkTlsOption, resolvePeerOptions, stringList, timerMilliseconds, type PeerOptions, type ResolvedPeerOptions } from '../peer/options.ts';
import type { TlsServerOptions } from '../tls/options.ts';

/** What `verify` is shown of an upgrade request that passed the protocol's checks (§4.2.1). */
export interface UpgradeRequestInfo {
  /** The resource name: path and query, e.g. `/chat?room=1`. */
  readonly path: string;
  /** Request headers, names in lower case, repeated fields joined with `, `. */
  readonly headers: Readonly<Record<string, string>>;
  /** The `Origin` header, if sent (browsers always send it). */
  readonly origin: string | undefined;
  /** Subprotocols offered, in the client's order. */
  readonly protocols: readonly string[];
  /** The client's IP address. */
  readonly remoteAddress: string | undefined;
}

/**
 * What `verify` decides: `true` accepts; a {@link VerifyAcceptance} accepts with data for
 * the connection; `false` refuses with 403; a {@link VerifyRefusal} refuses as it says.
 */
export type VerifyResult = boolean | VerifyAcceptance | VerifyRefusal;

/** An upgrade request accepted by `verify`, with what it learnt (the user a token names, say). */
export interface VerifyAcceptance {
  /** Accepted. */
  accept: true;
  /** Becomes the peer's `data`, for its handler: no need to decode the token again. */
  data?: unknown;
}

/** An upgrade request refused by `verify`, and how its answer reads. */
export interface VerifyRefusal {
  /** The HTTP status: 4xx or 5xx. */
  status: number;
  /** One line of text, the body of the answer (and so in the client's error); default "refused". */
  reason?: string;
  /** Extra response headers, e.g. `WWW-Authenticate`. */
  headers?: Readonly<Record<string, string>>;
}

/** Options of a WebSocket server. */
export interface ServerOptions extends PeerOptions {
  /**
   * Decide, per request, whether to upgrade it: authentication, rate limits, anything the
   * headers, path or address tell (seed 003's connect callback). Called once the request
   * is known to be a valid upgrade; `server` and `bind` wait for a promise (the socket's
   * bytes wait too, within `timeout`), while `createUpgradeHandler`, which answers at once,
   * needs a plain value: there, check asynchronously before calling it. A `verify` that
   * throws or rejects refuses with 500 and goes to `onError`. Default: accept every request.
   */
  verify?: (request: UpgradeRequestInfo) => VerifyResult | Promise<VerifyResult>;
  /**
   * Subprotocols the server speaks, most preferred first (§4.2.2 item 4): the first of these
   * that the client offered is chosen. One string is a list of one. Per request path (without
   * its query), a record gives each path its list, `{ '/chat': ['chat.v2', 'chat'] }` (a path
   * it does not name speaks none), or a function chooses it; if the function throws, the
   * request is answered 500 and the error goes to `onError`.
   */
  protocols?: string | readonly string[] | Readonly<Record<string, string | readonly string[]>> | ((path: string) => readonly string[]);
  /** Milliseconds a client has to complete its opening handshake; then the socket is closed. Default 10 000. */
  timeout?: number;
  /** Largest request head in bytes; larger is answered 431. Default 16 KiB. */
  maxHeadBytes?: number;
  /** Most header lines in a request head; more is answered 431. Default 100. */
  maxHeaders?: number;
  /**
   * Accepted `Origin` values; a request from any other origin, or with no `Origin` (as
   * non-browser clients send), is answered 403 (cross-site WebSocket hijacking). One string
   * is a list of one. Default: any origin, and none.
   */
  origins?: string | readonly string[];
  /** Most connections open at once; beyond it new requests are answered 503. Default: no limit. */
  maxConnections?: number;
  /** Extra headers in every 101 response; checked when the server is made. */
  headers?: HeaderFields;
  /** Serve `wss://` with this certificate and key. */
  tls?: TlsServerOptions;
  /**
   * Serve plain HTTP on the same port (seed 003's `startServer(handleHttpRequest)`): a
   * request that does not ask for a WebSocket goes to this `node:http` request listener (an
   * Express app is one) instead of being answered 400 or 405, and so do the requests that
   * follow it on that connection. So does one the upgrade parser refuses (HTTP/1.0, a
   * malformed head): `node:http` answers it as a web server would. An offer to upgrade to
   * another protocol (h2c) is ignored (RFC 7230 §6.7). Its connections count against
   * `maxConnections`; `timeout`, `maxHeadBytes` and `maxHeaders` bound each request head;
   * what the listener throws (or its promise rejects with) goes to `onError` and is
   * answered 500; `close()` ends them. For `server` and `bind`; next to your own HTTP
   * server, use `createUpgradeHandler`.
   */
  onRequest?: RequestListener;
}

/** Server options with every default applied. */
export interface ResolvedServerOptions {
  peer: ResolvedPeerOptions;
  protocols: (path: string) => readonly string[];
  timeout: number;
  maxHeadBytes: number;
  maxHeaders: number;
  origins: ReadonlySet<string> | null;
  maxConnections: number;
  headers: HeaderFields | undefined;
  verify: ((request: UpgradeRequestInfo) => VerifyResult | Promise<VerifyResult>) | null;
  onRequest: RequestListener | null;
  onError: (error: unknown) => void;
}

/** Default opening-handshake timeout: 10 s. */
export const DEFAULT_HANDSHAKE_TIMEOUT = 10_000;

const NO_PROTOCOLS: readonly string[] = [];

/** Apply the defaults; extra `headers` that could not go in a 101 throw an `InvalidHeaderError` here. */
export function resolveServerOptions(options: ServerOptions = {}): ResolvedServerOptions {
  const protocols = protocolsByPath(options.protocols);
  const origins = stringList('origins', options.origins);
  for (const hook of ['verify', 'onRequest'] as const) {
    if (options[hook] != null && typeof options[hook] !== 'function') throw new TypeError(`${hook} must be a function, got ${describeOptionValue(options[hook])}`);
  }
  checkResponseHeaders(options.headers, 'accept');
  checkTlsOption(options.tls);
  const peer = resolvePeerOptions(options);
  const maxHeadBytes = options.maxHeadBytes ?? DEFAULT_MAX_HEAD_BYTES;
  const maxHeaders = options.maxHeaders ?? DEFAULT_MAX_HEADERS;
  checkHeadLimits(maxHeadBytes, maxHeaders);
  return {
    peer,
    protocols,
    timeout: timerMilliseconds('timeout', options.timeout ?? DEFAULT_HANDSHAKE_TIMEOUT),
    maxHeadBytes,
    maxHeaders,
    origins: origins === undefined ? null : new Set(origins),
    maxConnections: checkMaxConnections(options.maxConnections ?? Infinity),
    headers: options.headers,
    verify: options.verify ?? null,
    onRequest: options.onRequest ?? null,
    onError: peer.onError,
  };
}

/** A whole number from 1, or Infinity: NaN or a string would otherwise mean no limit at all. */
function checkMaxConnections(value: number): number {
  if (typeof value !== 'number' || !(value >= 1) || !(Number.isInteger(value) || value === Infinity)) {
    throw new RangeError(`maxConnections must be a whole number from 1 (or Infinity), got ${String(value)}`);
  }
  return value;
}

/** The `protocols` option as the list for a request path: see {@link ServerOptions.protocols}. */
function protocolsByPath(option: ServerOptions['protocols']): (path: string) => readonly string[] {
  if (typeof option === 'function') return option;
  if (option != null && typeof option === 'object' && !Array.isArray(option)) {
    const byPath = new Map<string, readonly string[]>();
    for (const [path, list] of Object.entries(option as Readonly<Record<string, string | readonly string[]>>)) {
      if (!path.startsWith('/')) throw new TypeError(`protocols: ${JSON.stringify(path)} is no request path: a path starts with "/"`);
      byPath.set(path, spokenList(`protocols[${JSON.stringify(path)}]`, list));
    }
    return (path) => byPath.get(path) ?? NO_PROTOCOLS;
  }
  if (option != null && typeof option !== 'string' && !Array.isArray(option)) {
    throw new TypeError(`protocols must be a string, an array of strings, a record of them by path, or a function of the path, got ${describeOptionValue(option)}`);
  }
  const spoken = spokenList('protocols', option as string | readonly string[] | undefined);
  return () => spoken;
}

/** A list of subprotocols the server speaks, each a token (§4.1 item 10, RFC 7230 §3.2.6): a name that is no token is one no client can offer. */
function spokenList(name: string, value: string | readonly string[] | undefined): readonly string[] {
  const spoken = stringList(name, value) ?? NO_PROTOCOLS;
  const unreachable = spoken.find((protocol) => !isToken(protocol));
  if (unreachable !== undefined) throw new TypeError(`${name}: ${JSON.stringify(unreachable)} is not a token, so no client could ask for it (RFC 6455 §4.1)`);
  return spoken;
}
