/**
 * Upgrading requests that an existing `node:http` / `node:https` server received (Express,
 * Fastify, …), which goes on serving plain HTTP on the same port.
 * @module
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { HeaderList } from '../handshake/headers.ts';
import type { Peer } from '../peer/peer.ts';
import { resolveServerOptions, type ResolvedServerOptions, type ServerOptions } from './options.ts';
import type { UpgradeRequestHead } from '../handshake/validate.ts';
import { completeUpgrade, policyError, reject } from './upgrade.ts';

/** Handles the `upgrade` event of a `node:http` server; see {@link createUpgradeHandler}. */
export type UpgradeHandler = (request: IncomingMessage, socket: Duplex, head: Buffer) => Peer | null;

/**
 * Make a handler for the `upgrade` event of an HTTP server: it validates the request
 * (§4.2.1), answers 101 and returns the {@link Peer}, or answers with the HTTP error and
 * returns null. Options are resolved once here, not per request.
 *
 * ```ts
 * const upgrade = createUpgradeHandler({ protocols: ['chat'] });
 * httpServer.on('upgrade', (req, socket, head) => {
 *   const peer = upgrade(req, socket, head);
 *   if (peer) serve(peer);
 * });
 * ```
 */
export function createUpgradeHandler(options: ServerOptions = {}): UpgradeHandler {
  const resolved = resolveUpgradeOptions('createUpgradeHandler', options);
  // `maxConnections` counts the peers this handler made and that are still open.
  let open = 0;
  const forget = (): void => void open--;
  return (request, socket, head) => {
    if (open >= resolved.maxConnections) {
      reject(socket as Socket, policyError(503, 'WS_HANDSHAKE_OVERLOADED', 'too many connections'), request.method);
      return null;
    }
    const peer = upgradeWith(request, socket, head, resolved);
    if (peer !== null && !peer.closed) {
      open++;
      peer.onClosed(forget);
    }
    return peer;
  };
}

/** One-off form of {@link createUpgradeHandler}: upgrade this request with these options (no `maxConnections`: nothing counts across calls). */
export function handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer, options: ServerOptions = {}): Peer | null {
  return upgradeWith(request, socket, head, resolveUpgradeOptions('handleUpgrade', options));
}

/** The options resolved; `onRequest` is refused: here plain requests are the HTTP server's own. */
function resolveUpgradeOptions(call: string, options: ServerOptions): ResolvedServerOptions {
  if (options.onRequest != null) throw new TypeError(`${call}: onRequest is for server() and bind(); here your HTTP server answers plain requests itself`);
  return resolveServerOptions(options);
}

function upgradeWith(request: IncomingMessage, socket: Duplex, head: Buffer, options: ResolvedServerOptions): Peer | null {
  (socket as Socket).setNoDelay(true);
  return completeUpgrade(socket as Socket, requestHeadOf(request), head, options, () => true, false);
}

/** The head of a request `node:http` parsed, as the upgrade checks read it: raw header lines, in order. */
export function requestHeadOf(request: IncomingMessage): UpgradeRequestHead {
  const headers = new HeaderList();
  const raw = request.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!);
  return { method: request.method ?? 'GET', target: request.url ?? '/', version: `HTTP/${request.httpVersion}`, headers };
}
