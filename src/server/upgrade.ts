/**
 * The server's half of the opening handshake over a socket (RFC 6455 §4.2): read the
 * request head within a size and time limit, check it, choose the subprotocol, answer 101
 * and hand the socket to a {@link Peer} — or answer with an HTTP error and end the socket.
 * @module
 */
import type { Socket } from 'node:net';
import { HandshakeError, type HandshakeErrorCode } from '../handshake/errors.ts';
import type { HeaderList } from '../handshake/headers.ts';
import { headerRecordOf, requestTargetOf, RequestHeadParser, type ParsedRequest } from '../handshake/request.ts';
import { nodeComputeAccept } from '../handshake/node-accept.ts';
import { buildAcceptResponse, buildRejectResponse, checkResponseHeaders } from '../handshake/server-response.ts';
import { chooseSubprotocol } from '../handshake/subprotocol.ts';
import { asksForWebSocket, validateUpgradeRequest, type UpgradeRequest, type UpgradeRequestHead } from '../handshake/validate.ts';
import { negotiateAsServer } from '../extensions/permessage-deflate/index.ts';
import { allocateUnsafe } from '../peer/buffers.ts';
import { Peer } from '../peer/peer.ts';
import { publishReject } from '../peer/diagnostics.ts';
import { ignoreSocketError, readsRoutedTo, routeReads, unrouteReads, type SocketReadTarget } from '../peer/socket-events.ts';
import { ConnectionClosedError, TimeoutError } from '../peer/errors.ts';
import { releaseDeadline, watchDeadline, type Deadline } from '../peer/deadlines.ts';
import type { DeferredHandshakeInfo, HandshakeInfo } from '../peer/types.ts';
import type { ResolvedServerOptions, VerifyResult } from './options.ts';

/** How long a rejected client gets to read our answer before its socket is destroyed. */
const REJECT_LINGER_MS = 1000;

/**
 * Why no request head was read: the error it was answered with, or that time ran out, or
 * that the client went. Only the last two are words: the server ignores them, and a socket
 * that connects and goes (a port scan, a health check) should cost no Error and its stack.
 */
export type HeadFailure = HandshakeError | 'timeout' | 'closed' | 'plain';

/**
 * What to do with the socket once its request head is read, or could not be (`failure`
 * says why); `deadline` (ms since the epoch) is when the whole opening handshake must be done.
 */
export type HeadCallback = (request: ParsedRequest | null, deadline: number, failure?: HeadFailure) => void;

/**
 * Read one request head from `socket` and call `done` with it, synchronously from the
 * `data` event that completes it, the socket then paused: bytes read behind the head wait
 * in it for the reader that takes it over and resumes it (a {@link Peer} does). On a malformed or oversized head the error is answered (431, 400, …)
 * and `done(null)` is called; past `deadline` (ms since the epoch: the whole handshake's)
 * the socket is destroyed (slowloris). A null request comes with its {@link HeadFailure}.
 * With `plain`, a request that does not ask for a WebSocket, or that is refused for
 * anything but the head's limits, is not answered: `done(null)` is told 'plain', then
 * `plain` is given every byte read, to hand the paused socket on to an HTTP server.
 */
export function readRequestHead(socket: Socket, deadline: number, options: ResolvedServerOptions, done: HeadCallback, plain?: (bytes: Buffer) => void): void {
  new HeadReader(socket, deadline, options, done, plain).start();
}

/**
 * {@link readRequestHead} as a promise, for callers that are not on the hot path: it rejects
 * with the `HandshakeError` answered, a `TimeoutError` or a `ConnectionClosedError`.
 */
export function readRequestHeadAsync(socket: Socket, deadline: number, options: ResolvedServerOptions): Promise<ParsedRequest> {
  return new Promise((resolve, fail) =>
    readRequestHead(socket, deadline, options, (request, _deadline, failure) => {
      if (request !== null) resolve(request);
      else if (failure === 'timeout') fail(new TimeoutError('the opening handshake', options.timeout));
      else if (failure === 'closed') fail(new ConnectionClosedError('the opening handshake'));
      else fail(failure);
    }),
  );
}

class HeadReader implements Deadline, SocketReadTarget {
  registryIndex = -1;
  private readonly parser: RequestHeadParser;
  private finished = false;
  /** The chunks read, kept only while a plain request could still be handed on. */
  private readonly seen: Buffer[] | null;

  constructor(
    private readonly socket: Socket,
    readonly deadline: number,
    options: ResolvedServerOptions,
    private readonly done: HeadCallback,
    private readonly plain?: (bytes: Buffer) => void,
  ) {
    this.parser = new RequestHeadParser(options.maxHeadBytes, options.maxHeaders);
    this.seen = plain === undefined ? null : [];
  }

  start(): void {
    watchDeadline(this);
    routeReads(this.socket, this);
    // A socket handed over paused (by an owner that sniffed its first bytes, say) does not
    // start flowing for a 'data' listener: without this its head would never be read.
    this.socket.resume();
  }

  expire(): void {
    this.socket.destroy();
    this.settle(null, 'timeout');
  }

  /** Bytes read: more of the head, until it is complete. Once settled it hears nothing: later bytes are the peer's. */
  receive(chunk: Buffer): void {
    if (this.finished) return;
    this.seen?.push(chunk);
    let request: ParsedRequest | null;
    try {
      request = this.parser.feed(chunk);
    } catch (error) {
      if (!(error instanceof HandshakeError)) throw error;
      // An HTTP server answers what a WebSocket parser refuses (HTTP/1.0, say) on its own
      // terms; but the head's limits (431) are the server's, whoever would have served it.
      if (this.seen !== null && error.status !== 431) return this.handOn();
      reject(this.socket, error);
      this.settle(null, error);
      return;
    }
    if (request === null) return;
    if (this.seen !== null && !asksForWebSocket(request.headers)) this.handOn();
    else this.settle(request);
  }

  /** Give the socket, paused, and every byte read from it to the plain HTTP server. */
  private handOn(): void {
    const bytes = Buffer.concat(this.seen!);
    this.socket.pause();
    this.settle(null, 'plain');
    this.plain!(bytes);
  }

  /** The socket closed. */
  finish(): void {
    this.settle(null, 'closed');
  }

  private settle(request: ParsedRequest | null, failure?: HeadFailure): void {
    if (this.finished) return;
    this.finished = true;
    releaseDeadline(this);
    const socket = this.socket;
    if (request === null) {
      unrouteReads(socket);
      this.done(null, this.deadline, failure);
      return;
    }
    this.done(request, this.deadline);
    // A peer made at once took the socket's routes over, and it reads on. Otherwise (a
    // verdict or a reader still to come), chunks read behind the head stay in the socket
    // until the peer that takes it over resumes it: flowing on, they would be lost. (A
    // refusal unroutes the socket and reads on to its end.)
    if (readsRoutedTo(socket, this)) socket.pause();
  }
}

/**
 * Answer a request that has been read: validate it (§4.2.1), apply the server's policy
 * (path, origin, `verify`), negotiate, write the 101 response and return the peer; or write
 * the error response, end the socket and return null. A `verify` that answers with a
 * promise makes this a promise too when `verifyMayWait`, the socket paused meanwhile.
 */
export function completeUpgrade(
  socket: Socket,
  request: UpgradeRequestHead,
  head: Uint8Array,
  options: ResolvedServerOptions,
  acceptsPath: (path: string) => boolean,
  verifyMayWait: false,
  deadline?: number,
): Peer | null;
export function completeUpgrade(
  socket: Socket,
  request: UpgradeRequestHead,
  head: Uint8Array,
  options: ResolvedServerOptions,
  acceptsPath: (path: string) => boolean,
  verifyMayWait: boolean,
  deadline?: number,
): Peer | null | Promise<Peer | null>;
export function completeUpgrade(
  socket: Socket,
  request: UpgradeRequestHead,
  head: Uint8Array,
  options: ResolvedServerOptions,
  acceptsPath: (path: string) => boolean,
  verifyMayWait: boolean,
  deadline = Date.now() + options.timeout,
): Peer | null | Promise<Peer | null> {
  let upgrade: UpgradeRequest;
  try {
    upgrade = validateUpgradeRequest(request);
    if (!acceptsPath(pathOnly(upgrade.path))) throw policyError(404, 'WS_HANDSHAKE_NOT_FOUND', 'no WebSocket endpoint at this path');
    // Cross-site WebSocket hijacking: with an allow-list, a request must name an allowed origin.
    if (options.origins !== null && (upgrade.origin === undefined || !options.origins.has(upgrade.origin))) {
      throw policyError(403, 'WS_HANDSHAKE_ORIGIN', 'origin not allowed');
    }
  } catch (error) {
    return refuse(socket, error, request.method);
  }
  // With no verify hook, a head we parsed ourselves stays text until the application asks.
  if (options.verify === null) return acceptUpgrade(socket, upgrade, request.text ?? (request.headers as HeaderList).toRecord(), head, options);
  const headers = (request.headers as HeaderList).toRecord();
  let verdict: VerifyResult | Promise<VerifyResult>;
  try {
    verdict = options.verify({ path: upgrade.path, headers, origin: upgrade.origin, protocols: upgrade.protocols, remoteAddress: socket.remoteAddress });
    if (verdict instanceof Promise && !verifyMayWait) {
      verdict.catch(ignore); // not waited for: its own failure must not go unhandled
      throw new TypeError('verify answered with a promise where the upgrade is answered at once: check before calling the upgrade handler');
    }
  } catch (error) {
    return failHook(socket, error, options);
  }
  if (!(verdict instanceof Promise)) return afterVerify(verdict, socket, upgrade, headers, head, options);
  // The bytes after the head wait in the socket until the peer takes it over (or it ends).
  socket.pause();
  return awaitVerdict(verdict, socket, options, deadline, (answer) => afterVerify(answer, socket, upgrade, headers, head, options));
}

/**
 * Settle with what `decide` makes of the verdict, or with null once the handshake's
 * `deadline` passes first (the socket is then destroyed) or the socket closes: a verdict
 * that never comes holds nothing (the server's slot, a `wrap` promise, a timer).
 */
function awaitVerdict(
  verdict: Promise<VerifyResult>,
  socket: Socket,
  options: ResolvedServerOptions,
  deadline: number,
  decide: (answer: VerifyResult) => Peer | null,
): Promise<Peer | null> {
  return new Promise((resolve, fail) => {
    const gone = (): void => {
      clearTimeout(timer);
      resolve(null);
    };
    const timer = setTimeout(() => {
      socket.off('close', gone);
      socket.destroy();
      resolve(null);
    }, Math.max(0, deadline - Date.now()));
    // Once the socket closes (the client went, or the server is closing) no answer can reach it.
    socket.once('close', gone);
    verdict.then(
      (answer) => {
        clearTimeout(timer);
        socket.off('close', gone);
        try {
          resolve(socket.destroyed ? null : decide(answer));
        } catch (error) {
          fail(error);
        }
      },
      (error: unknown) => {
        clearTimeout(timer);
        socket.off('close', gone);
        resolve(failHook(socket, error, options)); // cannot throw: `onError` is guarded
      },
    );
  });
}

function afterVerify(
  verdict: VerifyResult,
  socket: Socket,
  upgrade: UpgradeRequest,
  headers: Record<string, string>,
  head: Uint8Array,
  options: ResolvedServerOptions,
): Peer | null {
  if (verdict === true) return acceptUpgrade(socket, upgrade, headers, head, options);
  if (verdict === false) return refuse(socket, policyError(403, 'WS_HANDSHAKE_REFUSED', 'refused'));
  if (typeof verdict !== 'object' || verdict === null || ('accept' in verdict && verdict.accept !== true)) {
    const answer = typeof verdict === 'object' && verdict !== null ? JSON.stringify(verdict) : String(verdict);
    return failHook(socket, new TypeError(`verify answered ${answer}: it must answer true, false, { accept: true, data? } or { status, reason?, headers? }`), options);
  }
  if ('accept' in verdict) {
    const peer = acceptUpgrade(socket, upgrade, headers, head, options);
    if (peer !== null && verdict.data !== undefined) peer.data = verdict.data;
    return peer;
  }
  if (!Number.isInteger(verdict.status) || verdict.status < 400 || verdict.status > 599) {
    return failHook(socket, new RangeError(`verify refused with status ${verdict.status}: a refusal needs a 4xx or 5xx status`), options);
  }
  try {
    checkResponseHeaders(verdict.headers, 'reject');
  } catch (error) {
    return failHook(socket, error, options);
  }
  return refuse(socket, new HandshakeError(verdict.status, 'WS_HANDSHAKE_REFUSED', verdict.reason ?? 'refused', { ...verdict.headers }));
}

/** An application hook (`verify`, a `protocols` function) threw, rejected or answered nonsense: the server's fault, answered 500 and reported. */
function failHook(socket: Socket, error: unknown, options: ResolvedServerOptions): null {
  refuse(socket, policyError(500, 'WS_HANDSHAKE_REFUSED', 'the server could not decide on this request'));
  options.onError(error);
  return null;
}

/**
 * Negotiate the subprotocol and extensions, answer 101 and make the peer. `headers`: the
 * request's header record, or the text of its head to make the record from if asked.
 */
function acceptUpgrade(socket: Socket, upgrade: UpgradeRequest, headers: Record<string, string> | string, head: Uint8Array, options: ResolvedServerOptions): Peer | null {
  let spoken: readonly string[];
  try {
    spoken = options.protocols(pathOnly(upgrade.path));
    if (!Array.isArray(spoken)) throw new TypeError(`protocols answered ${String(spoken)}: it must answer an array of subprotocol names`);
  } catch (error) {
    return failHook(socket, error, options);
  }
  try {
    const protocol = chooseSubprotocol(upgrade.protocols, spoken);
    const deflate = negotiateAsServer(upgrade.extensions, options.peer.deflate, allocateUnsafe);
    const extensions = deflate === null ? '' : deflate.header;
    const response = buildAcceptResponse({ accept: nodeComputeAccept(upgrade.key), protocol, extensions, headers: options.headers });
    socket.write(response, 'latin1');
    return new Peer(socket, 'server', options.peer, detailsOf(upgrade, headers, protocol ?? '', extensions), head, deflate?.compression);
  } catch (error) {
    return refuse(socket, error);
  }
}

/**
 * What a server peer keeps of its handshake: the details, or what makes them when first
 * asked for. The head's text alone where it says everything (no subprotocol, no extension,
 * a path that is the request target, the commonest case): one field and no object.
 */
function detailsOf(upgrade: UpgradeRequest, headers: Record<string, string> | string, protocol: string, extensions: string): HandshakeInfo | DeferredHandshakeInfo | string {
  if (typeof headers !== 'string') return { path: upgrade.path, headers, protocol, extensions };
  if (protocol === '' && extensions === '' && requestTargetOf(headers) === upgrade.path) return headers;
  return new RequestDetails(upgrade.path, protocol, extensions, headers);
}

/** A server peer's handshake details, their header record made from the request head when first asked for. */
class RequestDetails implements DeferredHandshakeInfo {
  constructor(
    readonly path: string,
    private readonly protocol: string,
    private readonly extensions: string,
    private readonly head: string,
  ) {}

  settle(): HandshakeInfo {
    return { path: this.path, headers: headerRecordOf(this.head), protocol: this.protocol, extensions: this.extensions };
  }
}

/** Answer a handshake error (to a request of `method`, if known) and return null; anything else is a bug, thrown on. */
function refuse(socket: Socket, error: unknown, method?: string): null {
  if (!(error instanceof HandshakeError)) throw error;
  reject(socket, error, method);
  return null;
}

// The error each socket was answered with, for a caller that has only the socket (`wrap`).
const refusals = new WeakMap<Socket, HandshakeError>();

/** The handshake error `socket` was answered with, if it was. */
export function refusalOf(socket: Socket): HandshakeError | undefined {
  return refusals.get(socket);
}

/**
 * Answer with the error's status and a one-line reason, then end the socket. The answer to
 * a HEAD request has the same header fields and no body (RFC 7231 §4.3.2).
 */
export function reject(socket: Socket, error: HandshakeError, method?: string): void {
  if (socket.destroyed) return;
  // No peer will take the socket: its head reader hears no more of it.
  unrouteReads(socket);
  refusals.set(socket, error);
  // A client that resets the connection must not crash the process: `node:http` removes
  // its own error listener before it hands the socket to an upgrade handler.
  if (socket.listenerCount('error') === 0) socket.on('error', ignoreSocketError);
  publishReject(socket, error);
  const response = buildRejectResponse(error);
  socket.end(method === 'HEAD' ? response.slice(0, response.indexOf('\r\n\r\n') + 4) : response, 'latin1');
  // Read and discard what else comes, so that the client's end is seen and the socket
  // closes as soon as the client goes (a socket never read keeps `Server.close` waiting).
  socket.resume();
  setTimeout(() => socket.destroy(), REJECT_LINGER_MS).unref();
}

/** A rejection decided by the server's policy rather than the protocol. */
export function policyError(status: number, code: HandshakeErrorCode, reason: string): HandshakeError {
  return new HandshakeError(status, code, reason);
}

/** The path of a request target, without its query. */
export function pathOnly(target: string): string {
  const query = target.indexOf('?');
  return query < 0 ? target : target.slice(0, query);
}

function ignore(): void {}
