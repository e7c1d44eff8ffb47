/**
 * The client's half of the opening handshake (RFC 6455 §4.1) and `connect(url)`: open a TCP
 * or TLS connection, send the upgrade request, verify the 101 response, and hand the socket
 * to a {@link Peer}.
 * @module
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { buildClientRequest } from '../handshake/client-request.ts';
import type { HeaderFields } from '../handshake/head-writer.ts';
import { generateKey } from '../handshake/keys.ts';
import { DEFAULT_MAX_HEAD_BYTES, DEFAULT_MAX_HEADERS } from '../handshake/request.ts';
import { ResponseHeadParser, type ParsedResponse } from '../handshake/response.ts';
import { parseConnectUrl, type WebSocketTarget } from '../handshake/url.ts';
import { verifyServerResponse } from '../handshake/verify.ts';
import { completeAsClient, offerAsClient } from '../extensions/permessage-deflate/index.ts';
import type { ExtensionOffer } from '../handshake/extensions.ts';
import { describeOptionValue } from '../connection/errors.ts';
import { HandshakeResponseError } from '../handshake/errors.ts';
import { allocateUnsafe } from '../peer/buffers.ts';
import { TimeoutError } from '../peer/errors.ts';
import { checkTlsOption, resolvePeerOptions, stringList, timerMilliseconds, type PeerOptions, type ResolvedPeerOptions } from '../peer/options.ts';
import { Peer } from '../peer/peer.ts';
import { checkSelfSigned, clientTlsOptions, type TlsClientOptions } from '../tls/options.ts';

/** What the client puts in its upgrade request (seed 002's `request`). */
export interface ClientRequest {
  /** Path and query to request instead of the URL's. */
  path?: string;
  /** Extra request headers (e.g. `Authorization`, `Cookie`). */
  headers?: HeaderFields;
  /** Subprotocols to offer, most preferred first; one string is a list of one. */
  protocols?: string | readonly string[];
  /** The `Origin` header, for servers that check it. */
  origin?: string;
}

/** Options of a client connection. */
export interface ConnectOptions extends PeerOptions, ClientRequest {
  /** Milliseconds for TCP connect, TLS and the opening handshake together. Default 10 000. */
  timeout?: number;
  /** Largest response head accepted, in bytes. Default 16 KiB. */
  maxHeadBytes?: number;
  /** TLS settings for `wss://`: trusted CAs, SNI name, self-signed opt-in. */
  tls?: TlsClientOptions;
  /**
   * Cancels the attempt: once it aborts (or if it already has), `connect` (or a client
   * `wrap`) rejects with an {@link AbortError} and destroys the socket. No effect once the
   * peer is returned.
   */
  signal?: AbortSignal;
}

/** The attempt was cancelled through its `signal` option; the signal's reason is the `cause`. */
export class AbortError extends Error {
  /** Stable identifier. */
  readonly code = 'WS_ERR_ABORTED';

  constructor(operation: string, reason: unknown) {
    super(`${operation} was aborted`, { cause: reason });
    this.name = 'AbortError';
  }
}

/** The opening handshake's timeout unless given: 10 s. */
export const DEFAULT_CONNECT_TIMEOUT = 10_000;

/**
 * Connect to `url` (`ws://`, `wss://`, a string or a `URL`; IPv6 literals as `ws://[::1]:9001/`) and complete
 * the opening handshake. A field given in `request` wins over the same one in `options`. Rejects with a `HandshakeResponseError` (carrying the status, the
 * headers and the start of the body) if the server does not upgrade, a
 * {@link TimeoutError} if it takes longer than `timeout`, an {@link AbortError} if `signal`
 * aborts first, or the socket's error.
 */
export async function connect(url: string | URL, request: ClientRequest = {}, options: ConnectOptions = {}): Promise<Peer> {
  const target = parseConnectUrl(url);
  const settings = withRequest(options, request);
  // Bad options or headers throw here, before anything goes on the network.
  const prepared = prepareHandshake(target, settings);
  if (settings.signal?.aborted === true) throw new AbortError('opening handshake', settings.signal.reason); // before any socket
  const socket = target.secure
    ? tlsConnect({ host: target.host, port: target.port, ...clientTlsOptions(target.host, settings.tls) })
    : netConnect({ host: target.host, port: target.port });
  socket.setNoDelay(true);
  return withTimeout(socket, prepared.timeout, settings.signal, async () => {
    await connected(socket, target, settings.tls);
    return handshake(socket, prepared);
  });
}

/**
 * `options` with the fields of `request` that are given: the request's own (path, headers,
 * protocols, origin) and nothing else, so that neither an `undefined` in it nor a
 * connection option passed there by mistake changes the connection's options.
 */
function withRequest(options: ConnectOptions, request: ClientRequest): ConnectOptions {
  if (request == null || typeof request !== 'object') throw new TypeError(`connect: the request must be an object, got ${request === null ? 'null' : typeof request}`);
  const settings = { ...options };
  if (request.path !== undefined) settings.path = request.path;
  if (request.headers !== undefined) settings.headers = request.headers;
  if (request.protocols !== undefined) settings.protocols = request.protocols;
  if (request.origin !== undefined) settings.origin = request.origin;
  return settings;
}

/**
 * Perform the client handshake on a socket that is already connected (used by `wrap`):
 * send the request for `target`, verify the response, return the peer.
 */
export async function clientHandshake(socket: Socket, target: WebSocketTarget, options: ConnectOptions = {}): Promise<Peer> {
  const prepared = prepareHandshake(target, options);
  return withTimeout(socket, prepared.timeout, options.signal, async () => handshake(socket, prepared));
}

/**
 * Check `url` and `options` as {@link connect} would, without connecting: throws what
 * `connect` would reject with before opening a socket (for callers that connect again and
 * again, and must not retry a mistake).
 */
export function checkConnectArguments(url: string | URL, options: ConnectOptions = {}): void {
  const target = parseConnectUrl(url);
  prepareHandshake(target, options);
  if (target.secure) clientTlsOptions(target.host, options.tls); // reads the CA files it names
}

/** As {@link checkConnectArguments}, for options whose URL is not known yet (the engine's URL function). */
export function checkConnectOptions(options: ConnectOptions = {}): void {
  prepareHandshake(parseConnectUrl('ws://localhost/'), options);
  if (options.tls != null) clientTlsOptions('localhost', options.tls);
}

/** The request to send and what its answer is checked against. */
interface PreparedHandshake {
  request: string;
  timeout: number;
  responseParser: ResponseHeadParser;
  key: string;
  path: string;
  protocols: readonly string[];
  peerOptions: ResolvedPeerOptions;
  offer: ExtensionOffer | null;
}

/** Resolve the options and build the request: what is wrong with them throws here. */
function prepareHandshake(target: WebSocketTarget, options: ConnectOptions): PreparedHandshake {
  const timeout = timerMilliseconds('timeout', options.timeout ?? DEFAULT_CONNECT_TIMEOUT);
  checkSignal(options.signal);
  checkTlsOption(options.tls);
  const responseParser = new ResponseHeadParser(options.maxHeadBytes ?? DEFAULT_MAX_HEAD_BYTES, DEFAULT_MAX_HEADERS);
  const key = generateKey();
  const protocols = stringList('protocols', options.protocols) ?? [];
  const peerOptions = resolvePeerOptions(options);
  const offer = peerOptions.deflate === null ? null : offerAsClient(peerOptions.deflate);
  const path = options.path ?? target.path;
  const request = buildClientRequest({
    host: target.host,
    port: target.port,
    secure: target.secure,
    path,
    key,
    protocols,
    headers: options.headers,
    origin: options.origin,
    extensions: offer === null ? [] : [offer],
  });
  return { request, timeout, responseParser, key, path, protocols, peerOptions, offer };
}

/** `signal` is absent or has what an AbortSignal has (checked before a socket exists, which a bad one would leave unwatched). */
function checkSignal(signal: unknown): void {
  if (signal == null) return;
  const candidate = signal as Partial<AbortSignal>;
  if (typeof candidate.aborted !== 'boolean' || typeof candidate.addEventListener !== 'function' || typeof candidate.removeEventListener !== 'function') {
    throw new TypeError(`signal must be an AbortSignal, got ${describeOptionValue(signal)}`);
  }
}

async function handshake(socket: Socket, prepared: PreparedHandshake): Promise<Peer> {
  const { key, protocols, peerOptions, offer } = prepared;
  socket.write(prepared.request, 'latin1');
  const response = await readResponseHead(socket, prepared.responseParser);
  const result = verifyServerResponse(response, { key, protocols, extensionsOffered: offer === null ? [] : [offer] });
  // RFC 7692 §7.1: an unacceptable extension response fails the connection.
  const compression = offer === null ? null : completeAsClient(result.extensions, offer, peerOptions.deflate!, allocateUnsafe);
  if (typeof compression === 'string') {
    throw new HandshakeResponseError('WS_RESPONSE_BAD_EXTENSIONS', compression, response.status, response.headers, response.rest);
  }
  const info = {
    path: prepared.path,
    headers: response.headers.toRecord(),
    protocol: result.protocol ?? '',
    extensions: response.headers.get('sec-websocket-extensions') ?? '',
  };
  return new Peer(socket, 'client', peerOptions, info, response.rest, compression ?? undefined);
}

/** Wait for TCP (and TLS) to be up; with `allowSelfSigned`, judge the certificate here. */
function connected(socket: Socket, target: WebSocketTarget, tls: TlsClientOptions | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const event = target.secure ? 'secureConnect' : 'connect';
    const onError = (error: Error): void => reject(withTlsHint(error));
    socket.once('error', onError);
    socket.once(event, () => {
      socket.off('error', onError);
      if (target.secure && tls?.allowSelfSigned === true) {
        const refusal = checkSelfSigned(socket as TLSSocket, tls.servername ?? target.host);
        if (refusal !== null) {
          socket.destroy();
          reject(withTlsHint(refusal));
          return;
        }
      }
      resolve();
    });
  });
}

/** What to do about a certificate Node refused, by its error code. */
const TLS_HINTS: Readonly<Record<string, string>> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'the server\'s certificate signs itself: connect with tls.allowSelfSigned to accept such a one, or give it as tls.ca',
  SELF_SIGNED_CERT_IN_CHAIN: 'the certificate comes from a CA this process does not trust: give that CA as tls.ca',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'the certificate comes from a CA this process does not trust: give that CA as tls.ca',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'the certificate comes from a CA this process does not trust: give that CA as tls.ca',
};

/** A certificate error with what to do about it in its message; its code, and Node's error as its cause, kept. */
function withTlsHint(error: Error): Error {
  const code = (error as NodeJS.ErrnoException).code;
  const hint = code === undefined ? undefined : TLS_HINTS[code];
  if (hint === undefined) return error;
  return Object.assign(new Error(`${error.message} (${hint})`, { cause: error }), { code });
}

function readResponseHead(socket: Socket, parser: ResponseHeadParser): Promise<ParsedResponse> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      socket.off('data', onData);
      socket.off('end', onClose);
      socket.off('close', onClose);
      socket.off('error', onError);
    };
    let received = false;
    const onData = (chunk: Buffer): void => {
      received = true;
      try {
        const response = parser.feed(chunk);
        if (response === null) return;
        cleanup();
        resolve(response);
      } catch (error) {
        cleanup();
        reject(error);
      }
    };
    const onClose = (): void => {
      cleanup();
      // A TLS server reached with ws:// closes so, on the request it cannot read.
      const how = received ? 'before the end of its response head' : 'without a byte of response (a wss:// server, reached with ws://, does so)';
      reject(new HandshakeResponseError('WS_RESPONSE_CLOSED', `the server closed the connection during the opening handshake, ${how}`));
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(error);
    };
    socket.on('data', onData);
    // A socket that allows half-open connections sees the server's FIN as 'end' only.
    socket.on('end', onClose);
    socket.on('close', onClose);
    socket.on('error', onError);
    // A socket handed over paused (to `wrap`) would otherwise never read the answer.
    socket.resume();
  });
}

/**
 * Run `work`; if it takes longer than `timeout` ms, or `signal` aborts first, destroy the
 * socket and reject. On failure the socket is destroyed.
 */
async function withTimeout<T>(socket: Socket, timeout: number, signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> {
  if (signal?.aborted === true) {
    socket.destroy();
    throw new AbortError('opening handshake', signal.reason);
  }
  let timer: NodeJS.Timeout | undefined;
  let onAbort = ignore;
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new TimeoutError('opening handshake', timeout)), timeout);
    onAbort = () => reject(new AbortError('opening handshake', signal?.reason));
  });
  signal?.addEventListener('abort', onAbort, { once: true });
  const task = work();
  // If the timer or the signal wins, the work still settles later (the destroyed socket makes it fail): keep that quiet.
  task.catch(ignore);
  try {
    return await Promise.race([task, expired]);
  } catch (error) {
    socket.destroy();
    throw error;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort); // a long-lived signal must not keep this attempt
  }
}

function ignore(): void {}
