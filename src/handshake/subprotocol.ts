/**
 * Subprotocol negotiation (`Sec-WebSocket-Protocol`, RFC 6455 §1.9, §4.1,
 * §4.2.2).
 */

import { HandshakeError, InvalidHeaderError } from './errors.ts';
import { describe } from './field-lines.ts';
import { isToken, splitList } from './tokens.ts';

/**
 * Picks the subprotocol for a connection: the first entry of the server's
 * `supported` list (its order of preference) that the client `offered`.
 * Comparison is exact, as subprotocol names are case-sensitive.
 *
 * @returns the chosen name, or `undefined` if there is nothing in common.
 */
export function chooseSubprotocol(offered: readonly string[], supported: readonly string[]): string | undefined {
  if (offered.length === 0) return undefined;
  const offeredSet = new Set(offered);
  return supported.find((protocol) => offeredSet.has(protocol));
}

/**
 * Parses a client's `Sec-WebSocket-Protocol` value: a comma-separated list
 * of unique tokens (RFC 6455 §4.1 item 10). Empty elements are tolerated.
 *
 * @throws {HandshakeError} 400 `WS_HANDSHAKE_BAD_PROTOCOL` for a non-token
 * or repeated name.
 */
export function parseSubprotocols(value: string): string[] {
  const protocols = splitList(value);
  const problem = findSubprotocolProblem(protocols);
  if (problem !== undefined) throw new HandshakeError(400, 'WS_HANDSHAKE_BAD_PROTOCOL', problem);
  return protocols;
}

/**
 * Checks a list of subprotocols about to be offered or selected.
 *
 * @throws {InvalidHeaderError} for a non-token or repeated name.
 */
export function assertSubprotocols(protocols: readonly string[]): void {
  const problem = findSubprotocolProblem(protocols);
  if (problem !== undefined) throw new InvalidHeaderError(problem);
}

function findSubprotocolProblem(protocols: readonly string[]): string | undefined {
  const seen = new Set<string>();
  for (const protocol of protocols) {
    if (!isToken(protocol)) return `Subprotocol is not a token: ${describe(protocol)}`;
    if (seen.has(protocol)) return `Subprotocol offered twice: ${describe(protocol)}`;
    seen.add(protocol);
  }
  return undefined;
}
