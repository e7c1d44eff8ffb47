/**
 * Plain HTTP on a WebSocket server's port (the `onRequest` option; seed 003 serves both on
 * one port). A connection whose first request does not ask for a WebSocket is handed, with
 * the bytes read from it so far, to a `node:http` server that listens nowhere: it answers
 * that request and the ones that follow on the connection with the application's listener.
 * An upgrade request that comes later on such a connection is handed back to the WebSocket
 * server; an offer to upgrade to another protocol is ignored. Either waits until the
 * requests before it on the connection are answered: `node:http` lets go of a connection at
 * an upgrade request, and an answer still being written would land after the 101, or (a
 * new `node:http` connection made for the same socket) never go at all. Connections that
 * upgrade on their first request never meet `node:http`.
 * @module
 */
import { createServer, type IncomingMessage, type RequestListener, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { asksForWebSocket } from '../handshake/validate.ts';
import { requestHeadOf } from './http.ts';

/** What the HTTP server takes from the WebSocket server's options. */
export interface PlainHttpSettings {
  /** Milliseconds a client has to send a request head. */
  timeout: number;
  /** Largest request head in bytes. */
  maxHeadBytes: number;
  /** Most header lines in a request head. */
  maxHeaders: number;
  /** Told of what the request listener throws, or of its promise's rejection. */
  onError: (error: unknown) => void;
}

/** What is done with an upgrade request that came on a connection served as plain HTTP. */
export type LateUpgrade = (request: IncomingMessage, socket: Socket, head: Buffer) => void;

// `node:http` throws unless the request timeout is 0 or at least the head's.
const NODE_REQUEST_TIMEOUT = 300_000;

/**
 * `listener`, with what it throws (or its promise rejects with) told to `onError` and
 * answered 500, as for the server's other callbacks, rather than left to crash the process.
 */
function guarded(listener: RequestListener, onError: (error: unknown) => void): RequestListener {
  const fail = (error: unknown, response: ServerResponse): void => {
    onError(error);
    if (response.headersSent) response.destroy();
    else response.writeHead(500).end();
  };
  return (request, response) => {
    try {
      const result: unknown = listener(request, response);
      if (result instanceof Promise) result.catch((error: unknown) => fail(error, response));
    } catch (error) {
      fail(error, response);
    }
  };
}

/**
 * The head of a request that asked to upgrade to another protocol (h2c, say), without its
 * `Upgrade` field: the server ignores the offer (RFC 7230 §6.7) and serves the request as a
 * plain one, which `node:http` only does for a request without it.
 */
function headWithoutUpgrade(request: IncomingMessage): Buffer {
  let head = `${request.method ?? 'GET'} ${request.url ?? '/'} HTTP/${request.httpVersion}\r\n`;
  const raw = request.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() !== 'upgrade') head += `${raw[i]}: ${raw[i + 1]}\r\n`;
  }
  // Field values reach JavaScript as latin1, one character per byte: they go back the same.
  return Buffer.from(`${head}\r\n`, 'latin1');
}

/** The plain HTTP side of one WebSocket server: see the module comment. */
export class PlainHttp {
  private readonly http: HttpServer;
  /** Connections served as plain HTTP and not yet closed or upgraded. */
  private readonly sockets = new Set<Socket>();
  /** Per connection, its requests not answered yet, and what waits for them to be. */
  private readonly answering = new Map<Socket, { pending: number; then: (() => void) | null }>();

  constructor(listener: RequestListener, settings: PlainHttpSettings, lateUpgrade: LateUpgrade) {
    this.http = createServer(
      {
        maxHeaderSize: settings.maxHeadBytes,
        headersTimeout: settings.timeout,
        requestTimeout: Math.max(NODE_REQUEST_TIMEOUT, settings.timeout),
        // Those timeouts are enforced by a sweep at this interval; Node's default is 30 s.
        connectionsCheckingInterval: Math.max(10, Math.min(1000, settings.timeout / 2)),
      },
      this.counted(guarded(listener, settings.onError)),
    );
    // One more than the limit, so that a late upgrade over it shows (see `Server`).
    this.http.maxHeadersCount = settings.maxHeaders + 1;
    this.http.on('upgrade', (request: IncomingMessage, duplex: Duplex, head: Buffer) => {
      const socket = duplex as Socket;
      if (!asksForWebSocket(requestHeadOf(request).headers)) {
        this.afterAnswers(socket, () => this.take(socket, Buffer.concat([headWithoutUpgrade(request), head])));
        return;
      }
      this.afterAnswers(socket, () => {
        this.sockets.delete(socket);
        lateUpgrade(request, socket, head);
      });
    });
    // Node starts tracking connections, and the sweep of their timeouts, when a server
    // begins listening; this one never listens, so it is told it did.
    this.http.emit('listening');
  }

  /** Connections held: they count against the WebSocket server's `maxConnections`. */
  get size(): number {
    return this.sockets.size;
  }

  /** Serve `socket`, paused, whose `bytes` were read already and go first. */
  take(socket: Socket, bytes: Buffer): void {
    if (!this.sockets.has(socket)) {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    }
    if (bytes.length > 0) socket.unshift(bytes);
    this.http.emit('connection', socket);
    socket.resume();
  }

  /** `listener`, with each request counted on its connection until its response is done (see `afterAnswers`). */
  private counted(listener: RequestListener): RequestListener {
    return (request, response) => {
      const socket = request.socket;
      const state = this.answering.get(socket) ?? { pending: 0, then: null };
      this.answering.set(socket, state);
      state.pending++;
      // 'close' comes once the response is finished and let go of its socket, or the socket closed.
      response.once('close', () => {
        if (--state.pending > 0) return;
        this.answering.delete(socket);
        const then = state.then;
        state.then = null;
        if (then !== null && !socket.destroyed) then();
      });
      listener(request, response);
    };
  }

  /** Run `then` once every request before it on `socket` is answered: at once if none waits. */
  private afterAnswers(socket: Socket, then: () => void): void {
    const state = this.answering.get(socket);
    if (state === undefined) then();
    else state.then = then;
  }

  /** End every connection, answered or not, and stop the timeout sweep. */
  close(): void {
    this.http.close();
    for (const socket of this.sockets) socket.destroy();
  }
}
