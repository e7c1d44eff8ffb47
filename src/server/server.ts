/**
 * Listening servers: `server(url, handler, options)` calls the handler for each accepted
 * peer; `bind(url, options)` hands peers out one at a time through `accept()`. Both parse
 * the upgrade request on the raw socket — no `node:http` on the way, unless a plain request
 * comes and `onRequest` serves it (plain-http.ts) — and serve `wss://` when given a
 * certificate.
 * @module
 */
import type { RequestListener } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import type { HandshakeError } from '../handshake/errors.ts';
import { parseUrl } from '../handshake/url.ts';
import { UsageError } from '../connection/errors.ts';
import { CloseCode } from '../frame/close-code.ts';
import { callApplication } from '../peer/callbacks.ts';
import { ConnectionClosedError, TimeoutError } from '../peer/errors.ts';
import { callTimeout } from '../peer/options.ts';
import { checkFrame, FramedMessage } from '../peer/outgoing.ts';
import type { Peer, Writable } from '../peer/peer.ts';
import { Registry } from '../peer/registry.ts';
import { serverTlsOptions } from '../tls/options.ts';
import { resolveServerOptions, type ResolvedServerOptions, type ServerOptions } from './options.ts';
import type { UpgradeRequestHead } from '../handshake/validate.ts';
import { requestHeadOf } from './http.ts';
import type { PlainHttp } from './plain-http.ts';
import { completeUpgrade, pathOnly, policyError, readRequestHead, refusalOf, reject } from './upgrade.ts';

/**
 * A connection handler, called with each new peer. A throw or a rejected promise closes that
 * connection with 1011; returning, or resolving, leaves the peer open.
 */
export type ConnectionHandlerFunction = (peer: Peer) => void | Promise<void>;

/** A socket in its opening handshake, as the server's registry holds it. */
interface Handshaking {
  socket: Socket;
  registryIndex: number;
}

/** A listening WebSocket server. */
export class Server {
  /** The URL clients connect to, with the port actually bound (useful with port 0). */
  readonly url: string;
  /** The peers whose connection is open (with `bind`, those not accepted yet too). */
  readonly peers: ReadonlySet<Peer>;
  private readonly listener: NetServer;
  private readonly openPeers = new Registry<Peer>();
  private readonly options: ResolvedServerOptions;
  /** Sockets still in their opening handshake: counted against maxConnections, ended by close(). */
  private readonly handshaking = new Registry<Handshaking>();
  /** Set by `close()`: sockets that connect (or finish their TLS handshake) after it are let go. */
  protected closing = false;
  /** wss: TCP sockets still in their TLS handshake, counted and ended like `handshaking`, with when they came. */
  private readonly securing = new Map<Socket, number>();
  /** Whether a TLS socket leads back to its TCP socket here; if not, none is tracked. */
  private pairsTlsSockets = true;
  /** Peers closed but still held for the application (`bind`'s unaccepted ones with messages to read): counted against maxConnections. */
  protected closedHeld = 0;
  /** With `onRequest`: the connections served as plain HTTP. */
  private plain: PlainHttp | null = null;
  /** Sockets answered with an HTTP error and lingering for the client to read it (upgrade.ts): `close()` ends them by its deadline. */
  private readonly refused = new Set<Socket>();

  /** @internal Use `server` or `bind`. */
  constructor(listener: NetServer, url: string, options: ResolvedServerOptions) {
    this.listener = listener;
    this.url = url;
    this.options = options;
    this.peers = this.openPeers;
  }

  /** The address the server listens on. */
  get address(): AddressInfo {
    return this.listener.address() as AddressInfo;
  }

  /**
   * Send one message to every open peer; returns how many it was queued for. A peer whose
   * send buffer is full is skipped rather than made to buffer more, and so is one in the
   * middle of sending a message of its own in fragments.
   */
  broadcast(data: Writable): number {
    // Framed once, not once per peer: every peer queues the same frame as it is (one that
    // must frame it itself, compressing or masking, does so from the same encoded payload).
    const message = FramedMessage.of(data) ?? data;
    if (message === data) checkFrame('broadcast', data); // refused once, not by the first peer
    let count = 0;
    for (const peer of this.openPeers) {
      // `send` says synchronously whether the message was queued ('dropped' at the cap).
      if (sendOrSkip(peer, message)) count++;
    }
    return count;
  }

  /**
   * Stop accepting, then close every peer with 1001 (going away) and wait for their
   * closing handshakes up to `timeout` ms (default 5000); peers still open then are
   * destroyed. Resolves when every socket is gone. A negative or NaN `timeout` rejects
   * with a `RangeError`, and nothing is closed.
   */
  async close(timeout = 5000): Promise<void> {
    const limit = callTimeout('close', timeout); // a bad one would make every shutdown refuse, and close wait forever
    this.closing = true;
    const stopped = new Promise<void>((resolve) => this.listener.close(() => resolve()));
    for (const socket of this.securing.keys()) socket.destroy();
    for (const { socket } of this.handshaking.snapshot()) socket.destroy();
    this.plain?.close();
    // A refused client gets up to a second to read its answer, but no longer than `timeout`.
    const refusalsEnd = this.refused.size === 0 || limit === undefined ? null : setTimeout(() => this.endRefused(), limit);
    // Each peer's shutdown is awaited, never allowed to fail the server's close: today none can
    // reject (a checked timeout, a valid code and reason), and one that did must not strand the rest.
    await Promise.all(this.openPeers.snapshot().map((peer) => peer.shutdown(CloseCode.GoingAway, 'server shutting down', timeout).catch(ignore)));
    await stopped;
    if (refusalsEnd !== null) clearTimeout(refusalsEnd);
  }

  private endRefused(): void {
    for (const socket of this.refused) socket.destroy();
  }

  /** Answer `socket` with `error` and end it, as {@link reject} does, and hold it as refused. */
  private refuse(socket: Socket, error: HandshakeError, method?: string): void {
    reject(socket, error, method);
    this.holdIfRefused(socket);
  }

  /**
   * `socket` left its handshake with no peer: if it was answered with an HTTP error (every
   * refusal goes through {@link reject}), it lingers, and is held until it closes, so that
   * `close()` can end it.
   */
  private holdIfRefused(socket: Socket): void {
    if (socket.destroyed || refusalOf(socket) === undefined || this.refused.has(socket)) return;
    this.refused.add(socket);
    socket.once('close', () => this.refused.delete(socket));
  }

  /** @internal A socket connected: read its handshake and make a peer. */
  handleSocket(socket: Socket, acceptsPath: (path: string) => boolean, onPeer: (peer: Peer) => void, startedAt = Date.now()): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    if (this.connections >= this.options.maxConnections) {
      this.refuse(socket, policyError(503, 'WS_HANDSHAKE_OVERLOADED', 'too many connections'));
      return;
    }
    const entry: Handshaking = { socket, registryIndex: -1 };
    this.handshaking.add(entry);
    const plain = this.plain;
    readRequestHead(
      socket,
      startedAt + this.options.timeout,
      this.options,
      (request, deadline) => {
        if (request !== null) {
          this.answer(entry, request, request.rest, deadline, acceptsPath, onPeer);
          return;
        }
        this.handshaking.delete(entry);
        this.holdIfRefused(socket); // answered 400, 431, …
      },
      plain === null ? undefined : (bytes) => plain.take(socket, bytes),
    );
  }

  /**
   * @internal Serve plain HTTP requests with `listener` (the `onRequest` option); an upgrade
   * request that comes on a connection served so is answered as one that came first.
   */
  servePlainHttp(Plain: typeof PlainHttp, listener: RequestListener, acceptsPath: (path: string) => boolean, onPeer: (peer: Peer) => void): void {
    this.plain = new Plain(listener, this.options, (request, socket, head) => {
      if (this.closing) {
        socket.destroy();
        return;
      }
      if (this.connections >= this.options.maxConnections) {
        this.refuse(socket, policyError(503, 'WS_HANDSHAKE_OVERLOADED', 'too many connections'), request.method);
        return;
      }
      // `node:http` keeps the first fields past its count rather than refuse: the limit is ours.
      if (request.rawHeaders.length / 2 > this.options.maxHeaders) {
        this.refuse(socket, policyError(431, 'WS_HANDSHAKE_TOO_MANY_HEADERS', 'too many header fields'), request.method);
        return;
      }
      const entry: Handshaking = { socket, registryIndex: -1 };
      this.handshaking.add(entry);
      this.answer(entry, requestHeadOf(request), head, Date.now() + this.options.timeout, acceptsPath, onPeer);
    });
  }

  /** Answer the upgrade request `socket` sent (`rest`: the bytes read behind its head), and open its peer. */
  private answer(entry: Handshaking, request: UpgradeRequestHead, rest: Uint8Array, deadline: number, acceptsPath: (path: string) => boolean, onPeer: (peer: Peer) => void): void {
    // Runs inside the socket's 'data' event: nothing may escape into the event loop.
    try {
      const outcome = completeUpgrade(entry.socket, request, rest, this.options, acceptsPath, true, deadline);
      // While `verify` decides, the socket still counts as handshaking (limit, `close`).
      if (outcome instanceof Promise) outcome.then((peer) => this.open(entry, peer, onPeer), (error: unknown) => this.fail(entry, error));
      else this.open(entry, outcome, onPeer);
    } catch (error) {
      this.fail(entry, error);
    }
  }

  /** Sockets held: open peers, handshakes, plain HTTP connections, and (wss) TLS handshakes. */
  private get connections(): number {
    return this.openPeers.size + this.handshaking.size + this.securing.size + this.closedHeld + (this.plain?.size ?? 0);
  }

  /**
   * @internal wss: watch `listener`'s TCP sockets until their TLS handshake is done, so that
   * they count against `maxConnections` (one over it is dropped: no HTTP answer can be read
   * before TLS) and `close()` ends them rather than waiting for them.
   */
  watchTlsHandshakes(listener: TlsServer): void {
    listener.on('connection', (socket: Socket) => {
      if (this.closing || this.connections >= this.options.maxConnections) {
        socket.destroy();
        return;
      }
      if (!this.pairsTlsSockets) return;
      this.securing.set(socket, Date.now());
      socket.once('close', () => this.securing.delete(socket));
    });
  }

  /**
   * @internal wss: `socket`'s TLS handshake is done; its TCP socket is no longer watched.
   * Returns when that socket came, from which the opening handshake's `timeout` counts.
   */
  secured(socket: Socket): number {
    // The TCP socket under a TLS one that a `tls.Server` made (a Node internal).
    const transport = (socket as Socket & { _parent?: Socket | null })._parent;
    const startedAt = transport == null ? undefined : this.securing.get(transport);
    if (startedAt !== undefined) {
      this.securing.delete(transport!);
      return startedAt;
    }
    // Not found: this Node does not pair them, so tracking could end sockets that are done.
    this.pairsTlsSockets = false;
    this.securing.clear();
    return Date.now();
  }

  private open(entry: Handshaking, peer: Peer | null, onPeer: (peer: Peer) => void): void {
    this.handshaking.delete(entry);
    if (peer === null) {
      this.holdIfRefused(entry.socket); // 403, 404, a `verify` refusal, …
      return;
    }
    this.openPeers.add(peer);
    peer.onClosed(this.forget);
    onPeer(peer);
  }

  private fail(entry: Handshaking, error: unknown): void {
    this.handshaking.delete(entry);
    entry.socket.destroy();
    this.options.onError(error); // guarded: one that throws is reported to stderr (peer/options.ts)
  }

  private readonly forget = (peer: Peer): void => {
    this.openPeers.delete(peer);
    this.peerClosed(peer);
  };

  /** @internal A peer's socket closed (after it left `peers`). */
  protected peerClosed(_peer: Peer): void {}
}

/** A server whose peers are taken one at a time with `accept`. */
export class BoundServer extends Server {
  private readonly ready: Peer[] = [];
  private readonly waiting: Array<{ resolve(peer: Peer): void; reject(error: Error): void; timer: NodeJS.Timeout | undefined }> = [];

  /**
   * The next peer to connect. With `timeout` (ms), rejects with a {@link TimeoutError} if
   * none comes in time; once the server is closing, with a {@link ConnectionClosedError}.
   * A peer that closed before it was accepted is still handed out if it left messages to
   * read (until then it counts against `maxConnections`); one that left none is dropped.
   */
  accept(timeout?: number): Promise<Peer> {
    if (this.closing) return Promise.reject(closedForAccept());
    let delay: number | undefined;
    try {
      delay = callTimeout('accept', timeout); // refused even when a peer is waiting
    } catch (error) {
      return Promise.reject(error);
    }
    const peer = this.ready.shift();
    if (peer !== undefined) {
      if (peer.closed) this.closedHeld--;
      return Promise.resolve(peer);
    }
    return new Promise((resolve, reject) => {
      const waiter = { resolve, reject, timer: undefined as NodeJS.Timeout | undefined };
      if (delay !== undefined) {
        waiter.timer = setTimeout(() => {
          this.waiting.splice(this.waiting.indexOf(waiter), 1);
          reject(new TimeoutError('accept', delay));
        }, delay);
      }
      this.waiting.push(waiter);
    });
  }

  /**
   * As {@link Server.close}; pending and later `accept` calls reject with a
   * {@link ConnectionClosedError}, and peers never accepted are let go (closed with the rest).
   */
  override async close(timeout = 5000): Promise<void> {
    this.ready.length = 0;
    this.closedHeld = 0;
    for (const waiter of this.waiting.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.reject(closedForAccept());
    }
    return super.close(timeout);
  }

  /**
   * @internal An unaccepted peer that closed: dropped, unless it left messages to read
   * (an app that accepts slowly would lose them). Without this, clients that connect and
   * leave faster than the application accepts would grow the queue without bound, each
   * entry holding a socket and its state, and outside `maxConnections`.
   */
  protected override peerClosed(peer: Peer): void {
    const at = this.ready.indexOf(peer);
    if (at < 0) return;
    if (peer.unread === 0) this.ready.splice(at, 1);
    else this.closedHeld++;
  }

  /** @internal */
  offer(peer: Peer): void {
    // Closed already (its socket went during the handshake's last step): as in `peerClosed`.
    if (peer.closed && peer.unread === 0) return;
    const waiter = this.waiting.shift();
    if (waiter === undefined) {
      if (peer.closed) this.closedHeld++;
      this.ready.push(peer);
      return;
    }
    clearTimeout(waiter.timer);
    waiter.resolve(peer);
  }
}

/**
 * One handler per path, the query left out: `{ '/chat': onChat, '/feed': onFeed }` (seed
 * 003's per-path callbacks). A request for any other path is answered 404.
 */
export type Routes = Readonly<Record<string, ConnectionHandlerFunction>>;

/**
 * Listen on `url` (`ws://host:port/path` or `wss://…` with `options.tls`) and call
 * `handler(peer)` for every client that completes the opening handshake — or, given
 * {@link Routes}, the handler of the request's path. A path other than `/` in the URL
 * restricts the endpoint to that path (others get 404). An exception or rejection in the
 * handler closes that connection with 1011 and is passed to `options.onError`. Resolves
 * once listening; port 0 picks a free port (see `Server.url`).
 */
export async function server(url: string, handler: ConnectionHandlerFunction | Routes, options: ServerOptions = {}): Promise<Server> {
  const resolved = resolveServerOptions(options);
  // A handler that throws or rejects: 1011 and the peer's onError, which is the server's.
  if (typeof handler === 'function') return listen(url, options, resolved, () => (peer) => void callApplication(handler, peer, peer), Server);
  if (typeof handler !== 'object' || handler === null) throw new TypeError(`server: the handler must be a function or routes { '/path': function }, got ${handler === null ? 'null' : typeof handler}`);
  const routes = new Map(Object.entries(handler));
  if (parseUrl(url).path !== '/') throw new TypeError('server: with routes, the URL names no path (the routes do)');
  for (const [path, route] of routes) checkRoute(path, route);
  const route = (peer: Peer): void => void callApplication(routes.get(pathOnly(peer.handshakePath))!, peer, peer);
  return listen(url, options, resolved, () => route, Server, (path) => routes.has(path));
}

/**
 * A route must be one a request can reach: a path as requests send it (RFC 7230 §5.3.1,
 * origin-form: visible ASCII, other characters percent-encoded, as paths are compared
 * undecoded), its query left out as paths are compared without theirs.
 */
function checkRoute(path: string, route: unknown): void {
  if (!/^\/[\x21-\x7e]*$/.test(path) || path.includes('?') || path.includes('#')) {
    throw new TypeError(`server: route ${JSON.stringify(path)} can never match: a route is a path from its leading /, in visible ASCII (percent-encode the rest), with no query or fragment (e.g. '/chat')`);
  }
  if (typeof route !== 'function') throw new TypeError(`server: route ${path} is not a function`);
}

/** Listen on `url` like {@link server}, but hand peers out one at a time through `accept()`. */
export async function bind(url: string, options: ServerOptions = {}): Promise<BoundServer> {
  const resolved = resolveServerOptions(options);
  return listen(url, options, resolved, (instance) => (peer) => instance.offer(peer), BoundServer);
}

async function listen<S extends Server>(
  url: string,
  options: ServerOptions,
  resolved: ResolvedServerOptions,
  makeOnPeer: (instance: S) => (peer: Peer) => void,
  Kind: new (listener: NetServer, url: string, options: ResolvedServerOptions) => S,
  routed?: (path: string) => boolean,
): Promise<S> {
  const target = parseUrl(url);
  if (target.secure && options.tls == null) throw new TypeError('a wss:// server needs options.tls with a certificate and key');
  // Loaded only for `onRequest`, and before listening: a connection accepted while it loaded
  // would find no handler. A server without it never loads `node:http`.
  const Plain = resolved.onRequest === null ? null : (await import('./plain-http.ts')).PlainHttp;
  const endpoint = target.path.split('?')[0]!;
  const acceptsPath = routed ?? (endpoint === '/' ? () => true : (path: string) => path === endpoint);
  // Nagle off from accept: writes are already batched per tick, so delaying them only adds latency.
  // The opening handshake's timeout covers the TLS handshake before it too.
  const listener = target.secure
    ? createTlsServer({ ...serverTlsOptions(options.tls!), noDelay: true, handshakeTimeout: resolved.timeout })
    : createNetServer({ noDelay: true });
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(target.port, target.host, () => {
      listener.off('error', reject);
      resolve();
    });
  });
  const port = (listener.address() as AddressInfo).port;
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  const instance = new Kind(listener, `${target.secure ? 'wss' : 'ws'}://${host}:${port}${target.path}`, resolved);
  const onPeer = makeOnPeer(instance);
  if (Plain !== null) instance.servePlainHttp(Plain, resolved.onRequest!, acceptsPath, onPeer);
  if (target.secure) instance.watchTlsHandshakes(listener as TlsServer);
  listener.on(target.secure ? 'secureConnection' : 'connection', (socket: Socket) => {
    try {
      instance.handleSocket(socket, acceptsPath, onPeer, target.secure ? instance.secured(socket) : undefined);
    } catch (error) {
      socket.destroy();
      resolved.onError(error);
    }
  });
  // A TLS handshake that fails concerns that client only.
  listener.on('tlsClientError', (_error: Error, socket: Socket) => socket.destroy());
  return instance;
}

/**
 * Queue `message` for `peer`; false if it was dropped, or if the peer cannot take a
 * message now (one of its own is half sent in fragments, §5.4): one peer must not keep
 * the broadcast from the others.
 */
function sendOrSkip(peer: Peer, message: Writable): boolean {
  try {
    return peer.send(message) !== 'dropped';
  } catch (error) {
    if (error instanceof UsageError && error.code === 'WS_ERR_FRAGMENT_SEQUENCE') return false;
    throw error;
  }
}

function closedForAccept(): ConnectionClosedError {
  return new ConnectionClosedError('accept', 'the server');
}

function ignore(): void {}
