/**
 * `wrap`: a peer over a socket that already exists (the seed's `websocket.new`), in either
 * role, with or without its opening handshake done.
 * @module
 */
import type { Socket } from 'node:net';
import { describeOptionValue } from './connection/errors.ts';
import { clientHandshake, type ConnectOptions } from './client/connect.ts';
import { parseConnectUrl } from './handshake/url.ts';
import { ConnectionClosedError, TimeoutError } from './peer/errors.ts';
import { flag, resolvePeerOptions } from './peer/options.ts';
import { Peer } from './peer/peer.ts';
import { resolveServerOptions, type ServerOptions } from './server/options.ts';
import { completeUpgrade, readRequestHeadAsync, refusalOf } from './server/upgrade.ts';

/** What every `wrap` takes. */
interface WrapCommon {
  /** The opening handshake already happened on this socket. Default false: perform it. */
  handshaked?: boolean;
  /** Bytes already read from the socket after the handshake (they belong to the WebSocket stream). */
  head?: Uint8Array;
}

/** Take over a socket as the server end. */
export interface WrapServerOptions extends WrapCommon, ServerOptions {
  /** Our end of the connection. */
  role: 'server';
}

/** Take over a socket as the client end. */
export interface WrapClientOptions extends WrapCommon, ConnectOptions {
  /** Our end of the connection. */
  role: 'client';
  /** Not handshaked: the URL to request (its host and path go in the request). */
  url?: string | URL;
}

/** How to take over a socket. */
export type WrapOptions = WrapServerOptions | WrapClientOptions;

/**
 * A peer over `socket`. Handshaked: resolves at once. Otherwise a server reads and answers
 * the client's request, and a client sends its request for `url` and verifies the answer
 * (rejecting as `connect` does). A server rejects with the `HandshakeError` it
 * answered (its `status` and `code` say why; the HTTP error was sent), a `TimeoutError`
 * once `timeout` passes, or a `ConnectionClosedError` if the client went first. Over a
 * socket that has already closed, a handshaked peer is closed from the start (its reads
 * return null), and a handshake still to do rejects at once with `ConnectionClosedError`.
 */
export async function wrap(socket: Socket, options: WrapOptions): Promise<Peer> {
  // Any other role would otherwise be taken for 'server', and a client would not mask.
  const role: unknown = options?.role;
  if (role !== 'server' && role !== 'client') throw new TypeError(`wrap: options.role must be 'server' or 'client', got ${describeOptionValue(role)}`);
  socket.setNoDelay(true);
  if (flag('handshaked', options.handshaked, false)) {
    return new Peer(socket, options.role, resolvePeerOptions(options), undefined, options.head);
  }
  // Closed already: no 'close' is to come for the handshake to wait on.
  if (socket.closed) throw new ConnectionClosedError('the opening handshake');
  if (options.role === 'client') {
    if (options.url === undefined) throw new TypeError('wrap: a client that still has to handshake needs options.url');
    return clientHandshake(socket, parseConnectUrl(options.url), options);
  }
  const resolved = resolveServerOptions(options);
  const deadline = Date.now() + resolved.timeout; // for the whole handshake, `verify` included
  const request = await readRequestHeadAsync(socket, deadline, resolved);
  const peer = await completeUpgrade(socket, request, request.rest, resolved, () => true, true, deadline);
  if (peer !== null) return peer;
  // Refused (the HTTP error was sent), or `verify` outlived the deadline, or the client went.
  throw refusalOf(socket) ?? (Date.now() >= deadline ? new TimeoutError('the opening handshake', resolved.timeout) : new ConnectionClosedError('the opening handshake'));
}
