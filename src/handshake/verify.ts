/**
 * Client side: checking that the server's response completes the opening
 * handshake (RFC 6455 §4.1, last list: "the client MUST validate the
 * server's response as follows").
 */

import { HandshakeError, HandshakeResponseError, InvalidHeaderError, type HandshakeResponseErrorCode } from './errors.ts';
import { parseExtensions, type ExtensionOffer } from './extensions.ts';
import { describe } from './field-lines.ts';
import { computeAccept } from './keys.ts';
import { isSupportedHttpVersion } from './request.ts';
import type { ParsedResponse } from './response.ts';
import { equalsIgnoreAsciiCase, listContainsToken, splitList } from './tokens.ts';

/** What the client sent, which the response is checked against. */
export interface VerifyOptions {
  /** The `Sec-WebSocket-Key` that was sent. */
  key: string;
  /** Subprotocols that were offered (default none). */
  protocols?: readonly string[];
  /**
   * Extensions that were offered (default none): the
   * `Sec-WebSocket-Extensions` value sent, or a list of offers or names.
   */
  extensionsOffered?: string | readonly (string | ExtensionOffer)[];
}

/** The outcome of a successful handshake. */
export interface HandshakeResult {
  /** The subprotocol the server selected, if any. */
  protocol: string | undefined;
  /** The extensions the server accepted, with their parameters, in order. */
  extensions: ExtensionOffer[];
}

/**
 * Verifies a parsed response against the request that was sent:
 *
 * 1. status 101 (anything else, e.g. a 401 or a redirect, fails);
 * 2. HTTP/1.1 or later;
 * 3. `Upgrade` is `websocket` (case-insensitive), and nothing else: not a list
 *    naming other protocols too, not a repeated field;
 * 4. `Connection` lists `upgrade` (case-insensitive);
 * 5. exactly one `Sec-WebSocket-Accept`, equal to the value expected for the key;
 * 6. `Sec-WebSocket-Protocol`, if present, is a single offered subprotocol
 *    (and absent when none was offered); absent is fine otherwise;
 * 7. `Sec-WebSocket-Extensions`, if present, is well-formed and names only
 *    extensions that were offered.
 *
 * Whether the accepted extension parameters are acceptable is for each
 * extension to decide.
 *
 * @throws {HandshakeResponseError} for the first check failed, carrying the
 * status, the headers and the start of the body.
 * @throws {InvalidHeaderError} if `extensionsOffered` is an unparseable string.
 */
export function verifyServerResponse(response: ParsedResponse, options: VerifyOptions): HandshakeResult {
  const fail = (code: HandshakeResponseErrorCode, message: string): never => {
    throw new HandshakeResponseError(code, message, response.status, response.headers, response.rest);
  };
  const { headers } = response;

  // §4.1: "If the status code received from the server is not 101, the
  // client handles the response per HTTP procedures" - not a WebSocket.
  if (response.status !== 101) {
    const text = response.statusText === '' ? '' : ` ${response.statusText}`;
    const said = firstLine(response.rest);
    fail('WS_RESPONSE_BAD_STATUS', `Expected status 101 Switching Protocols, got ${response.status}${text}${said === '' ? '' : `; the body begins ${JSON.stringify(said)}`}`);
  }
  if (!isSupportedVersion(response.version)) {
    fail('WS_RESPONSE_MALFORMED', `Upgrade response uses ${response.version}; HTTP/1.1 is required`);
  }
  // §4.1 response rule 2: a value that is not "websocket" fails, so a list must hold that
  // one token alone (RFC 7230 §7: empty list elements do not count).
  const upgrade = splitList(headers.get('upgrade') ?? '');
  if (upgrade.length !== 1 || !equalsIgnoreAsciiCase(upgrade[0]!, 'websocket')) {
    fail('WS_RESPONSE_BAD_UPGRADE', 'Response Upgrade header is not "websocket" alone');
  }
  // §4.1 response rule 3.
  if (!listContainsToken(headers.get('connection'), 'upgrade')) {
    fail('WS_RESPONSE_BAD_CONNECTION', 'Response Connection header does not include "Upgrade"');
  }
  // §4.1 response rule 4; §11.3.3: the field must not repeat.
  const accepts = headers.getAll('sec-websocket-accept');
  const expected = computeAccept(options.key);
  if (accepts.length !== 1 || accepts[0] !== expected) {
    const got = accepts.length === 0 ? 'none' : describe(accepts.join(', '));
    fail('WS_RESPONSE_BAD_ACCEPT', `Sec-WebSocket-Accept mismatch: expected ${expected}, got ${got}`);
  }
  const protocol = selectedProtocol(headers.getAll('sec-websocket-protocol'), options.protocols ?? [], fail);
  const extensions = acceptedExtensions(headers.get('sec-websocket-extensions'), options.extensionsOffered, fail);
  return { protocol, extensions };
}

type Fail = (code: HandshakeResponseErrorCode, message: string) => never;

function isSupportedVersion(version: string): boolean {
  return isSupportedHttpVersion(version.charCodeAt(5) - 0x30, version.charCodeAt(7) - 0x30);
}

// §4.1 response rule 6 and §4.2.2 item 5.5: at most one value, one offered.
function selectedProtocol(values: readonly string[], offered: readonly string[], fail: Fail): string | undefined {
  if (values.length === 0) return undefined;
  if (offered.length === 0) {
    fail('WS_RESPONSE_BAD_PROTOCOL', `Server selected subprotocol ${describe(values.join(', '))} but none was offered`);
  }
  const value = values[0];
  if (values.length > 1 || value === undefined || !offered.includes(value)) {
    fail('WS_RESPONSE_BAD_PROTOCOL', `Server selected subprotocol ${describe(values.join(', '))}, which was not offered`);
  }
  return value;
}

// §4.1 response rule 5: only extensions present in the client's handshake.
function acceptedExtensions(
  value: string | undefined,
  offered: VerifyOptions['extensionsOffered'],
  fail: Fail,
): ExtensionOffer[] {
  const offeredNames = offeredExtensionNames(offered);
  if (value === undefined) return [];
  let extensions: ExtensionOffer[];
  try {
    extensions = parseExtensions(value);
  } catch (error) {
    if (!(error instanceof HandshakeError)) throw error;
    return fail('WS_RESPONSE_BAD_EXTENSIONS', `Server sent a malformed extension list: ${error.reason}`);
  }
  for (const extension of extensions) {
    if (!offeredNames.has(extension.name)) {
      fail('WS_RESPONSE_BAD_EXTENSIONS', `Server accepted extension ${describe(extension.name)}, which was not offered`);
    }
  }
  return extensions;
}

function offeredExtensionNames(offered: VerifyOptions['extensionsOffered']): Set<string> {
  if (offered === undefined) return new Set();
  if (typeof offered !== 'string') {
    return new Set(offered.map((extension) => (typeof extension === 'string' ? extension : extension.name)));
  }
  try {
    return new Set(parseExtensions(offered).map((extension) => extension.name));
  } catch {
    throw new InvalidHeaderError('extensionsOffered is not a valid Sec-WebSocket-Extensions value');
  }
}

/** Bytes of a refusal's body shown in its error message: a reason such as "token required". */
const SHOWN_BODY_BYTES = 120;

/** The first line of what came of the body with the head, cut short, for an error message. */
function firstLine(body: Uint8Array): string {
  const text = new TextDecoder('utf-8').decode(body.subarray(0, SHOWN_BODY_BYTES));
  const end = text.search(/[\r\n]/);
  const line = (end === -1 ? text : text.slice(0, end)).trim();
  return end === -1 && body.length > SHOWN_BODY_BYTES ? `${line}…` : line;
}
