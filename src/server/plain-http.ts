/**
 * Plain HTTP on a WebSocket server's port (the `onRequest` option; seed 003 serves both on
 * one port). A connection whose first request does not ask for a WebSocket is handed, with
 * the bytes read from it so far, to a `node:http` server that listens nowhere: it answers
 * that request and the ones that follow on the connection with the application's listener.
 * An upgrade request that comes later on such a connection is handed back to the WebSocket
 * server. Connections that upgrade on their first request never meet `node:http`.
 * @module
 */
import { createServer, type IncomingMessage, type RequestListener, type Server as HttpServer } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

/** How the HTTP server bounds its requests: the WebSocket server's own limits. */
export interface PlainHttpLimits {
  /** Milliseconds a client has to send a request head. */
  timeout: number;
  /** Largest request head in bytes. */
  maxHeadBytes: number;
}

/** What is done with an upgrade request that came on a connection served as plain HTTP. */
export type LateUpgrade = (request: IncomingMessage, socket: Socket, head: Buffer) => void;

// `node:http` throws unless the request timeout is 0 or at least the head's.
const NODE_REQUEST_TIMEOUT = 300_000;

/** The plain HTTP side of one WebSocket server: see the module comment. */
export class PlainHttp {
  private readonly http: HttpServer;
  /** Connections served as plain HTTP and not yet closed or upgraded. */
  private readonly sockets = new Set<Socket>();

  constructor(listener: RequestListener, limits: PlainHttpLimits, lateUpgrade: LateUpgrade) {
    this.http = createServer(
      {
        maxHeaderSize: limits.maxHeadBytes,
        headersTimeout: limits.timeout,
        requestTimeout: Math.max(NODE_REQUEST_TIMEOUT, limits.timeout),
        // Those timeouts are enforced by a sweep at this interval; Node's default is 30 s.
        connectionsCheckingInterval: Math.max(10, Math.min(1000, limits.timeout / 2)),
      },
      listener,
    );
    this.http.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      this.sockets.delete(socket as Socket);
      lateUpgrade(request, socket as Socket, head);
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
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    if (bytes.length > 0) socket.unshift(bytes);
    this.http.emit('connection', socket);
    socket.resume();
  }

  /** End every connection, answered or not, and stop the timeout sweep. */
  close(): void {
    this.http.close();
    for (const socket of this.sockets) socket.destroy();
  }
}
