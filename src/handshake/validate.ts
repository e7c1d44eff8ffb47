/**
 * Server side: checking that a parsed request is a valid WebSocket opening
 * handshake (RFC 6455 §4.2.1).
 */

import { HandshakeError } from './errors.ts';
import { parseExtensions, type ExtensionOffer } from './extensions.ts';
import { describe } from './field-lines.ts';
import { isSupportedHttpVersion } from './request.ts';
import { parseSubprotocols } from './subprotocol.ts';
import { equalsIgnoreAsciiCase, listContainsToken } from './tokens.ts';

/** The only protocol version this library speaks (RFC 6455 §4.1 item 9). */
export const WEBSOCKET_VERSION = '13';

/** Read access to header fields, as offered by `HeaderList`. */
export interface HeaderLookup {
  /** The field's value with repeated occurrences joined by `", "`. */
  get(name: string): string | undefined;
  /** Every occurrence of the field. */
  getAll(name: string): readonly string[];
}

/**
 * The parts of a request the validator reads. A `ParsedRequest` fits, and so
 * does a request parsed elsewhere (e.g. by an HTTP server) once its headers
 * are wrapped in a `HeaderList` and its version written as on the request line.
 */
export interface UpgradeRequestHead {
  readonly method: string;
  readonly target: string;
  /** As on the request line: `HTTP/1.1` (`node:http`'s `httpVersion` is `1.1`: prefix it). */
  readonly version: string;
  readonly headers: HeaderLookup;
  /**
   * The head as text, when it was parsed from its bytes here (`ParsedRequest`): a server
   * keeps it and makes the header record only when asked. Absent for a head parsed elsewhere.
   */
  readonly text?: string;
}

/** What a valid opening handshake asks for. */
export interface UpgradeRequest {
  /** The `Sec-WebSocket-Key`, to compute the accept value from. */
  key: string;
  /** Offered subprotocols, in the client's order (possibly empty). */
  protocols: string[];
  /** Offered extensions, in the client's order (possibly empty). */
  extensions: ExtensionOffer[];
  /** The `Origin` header, if sent (browsers always send it). */
  origin: string | undefined;
  /** The `Host` header. */
  host: string;
  /** The resource name: path plus query, e.g. `/chat?room=1`. */
  path: string;
}

/**
 * Validates an opening handshake request (RFC 6455 §4.2.1) and extracts
 * what the server needs to answer it. Rules are checked in this order:
 *
 * 1. method GET — 405 with `Allow: GET`;
 * 2. HTTP/1.1 or later — 505;
 * 3. a request-target in origin form or absolute form, without fragment — 400;
 * 4. exactly one `Host`, a uri-host with an optional port (RFC 7230 §5.4) — 400;
 * 5. no body announced (`Content-Length` other than 0, or `Transfer-Encoding`):
 *    the bytes after the head are the WebSocket's (RFC 7230 §3.3.3) — 400;
 * 6. `Upgrade` lists `websocket` (case-insensitive) — 400;
 * 7. `Connection` lists `upgrade` (case-insensitive) — 400;
 * 8. `Sec-WebSocket-Version: 13` — 426 with `Sec-WebSocket-Version: 13`
 *    when missing or another version, 400 when malformed or repeated;
 * 9. exactly one `Sec-WebSocket-Key`, base64 of 16 bytes — 400;
 * 10. `Sec-WebSocket-Protocol`, if present, unique tokens — 400;
 * 11. `Sec-WebSocket-Extensions`, if present, well-formed — 400.
 *
 * @throws {HandshakeError} for the first rule broken.
 */
export function validateUpgradeRequest(request: UpgradeRequestHead): UpgradeRequest {
  const { headers } = request;
  checkMethod(request.method);
  checkHttpVersion(request.version);
  const path = resourceName(request.target);
  const host = requireHost(headers);
  refuseBody(headers);
  checkUpgradeHeader(headers);
  checkConnectionHeader(headers);
  checkWebSocketVersion(headers);
  const key = requireKey(headers);
  const protocolHeader = headers.get('sec-websocket-protocol');
  const protocols = protocolHeader === undefined ? [] : parseSubprotocols(protocolHeader);
  const extensionHeader = headers.get('sec-websocket-extensions');
  const extensions = extensionHeader === undefined ? [] : parseExtensions(extensionHeader);
  return { key, protocols, extensions, origin: headers.get('origin'), host, path };
}

/**
 * Whether `key` is a valid `Sec-WebSocket-Key`: base64 that decodes to
 * exactly 16 bytes (RFC 6455 §4.1 item 7, §4.2.1 item 5), i.e. 22 base64
 * digits followed by `==`. The unused low bits of the last digit are not
 * required to be zero, matching common base64 decoders.
 */
export function isValidKey(key: string): boolean {
  if (key.length !== 24 || key.charCodeAt(22) !== 0x3d || key.charCodeAt(23) !== 0x3d) return false;
  for (let i = 0; i < 22; i++) {
    if (!isBase64Digit(key.charCodeAt(i))) return false;
  }
  return true;
}

function isBase64Digit(code: number): boolean {
  return (
    (code >= 0x41 && code <= 0x5a) || // A-Z
    (code >= 0x61 && code <= 0x7a) || // a-z
    (code >= 0x30 && code <= 0x39) || // 0-9
    code === 0x2b || // +
    code === 0x2f // /
  );
}

// RFC 6455 §4.2.1 item 1: "An HTTP/1.1 or higher GET request".
function checkMethod(method: string): void {
  if (method !== 'GET') {
    throw new HandshakeError(405, 'WS_HANDSHAKE_METHOD', `Method ${describe(method)} is not allowed; use GET`, {
      Allow: 'GET',
    });
  }
}

// RFC 6455 §4.2.1 item 1: HTTP/1.1 or higher.
function checkHttpVersion(version: string): void {
  const supported =
    version.length === 8 &&
    version.startsWith('HTTP/') &&
    version[6] === '.' &&
    isSupportedHttpVersion(version.charCodeAt(5) - 0x30, version.charCodeAt(7) - 0x30);
  if (!supported) {
    throw new HandshakeError(505, 'WS_HANDSHAKE_HTTP_VERSION', `HTTP version ${describe(version)} is not supported; use HTTP/1.1`);
  }
}

/**
 * RFC 6455 §4.2.1 item 1 and §3: the Request-URI is the resource name, or
 * an absolute http(s)/ws(s) URI containing it. Fragments are never valid.
 */
function resourceName(target: string): string {
  if (target.includes('#')) throw badTarget(target, 'it contains a fragment');
  if (target.startsWith('/')) return target;
  const schemeEnd = target.indexOf('://');
  const scheme = schemeEnd === -1 ? '' : target.slice(0, schemeEnd);
  if (!['http', 'https', 'ws', 'wss'].some((known) => equalsIgnoreAsciiCase(scheme, known))) {
    throw badTarget(target, 'expected a path such as "/" or an absolute http(s) or ws(s) URI');
  }
  const authorityStart = schemeEnd + 3;
  let pathStart = authorityStart;
  while (pathStart < target.length && target[pathStart] !== '/' && target[pathStart] !== '?') pathStart++;
  if (pathStart === authorityStart) throw badTarget(target, 'the URI has no host');
  const path = target.slice(pathStart);
  return path.startsWith('/') ? path : `/${path}`;
}

function badTarget(target: string, problem: string): HandshakeError {
  return new HandshakeError(400, 'WS_HANDSHAKE_BAD_TARGET', `Invalid request target ${describe(target)}: ${problem}`);
}

/** RFC 3986 §3.2.2 reg-name (unreserved, pct-encoded, sub-delims), which an IPv4 address is too; not empty (RFC 7230 §2.7.1). */
const REG_NAME = /^[A-Za-z0-9\-._~%!$&'()*+,;=]+$/;
/** RFC 3986 §3.2.2: `IPvFuture = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" )`. */
const IPV_FUTURE = /^v[0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+$/;
/** RFC 6874: a zone, after `%25`, is unreserved and pct-encoded characters. */
const ZONE_ID = /^(?:[A-Za-z0-9\-._~]|%[0-9A-Fa-f]{2})+$/;
const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/;
const IPV4 = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/**
 * Whether `host` is a uri-host (RFC 3986 §3.2.2): an IP literal in brackets (an IPv6
 * address, with a zone (RFC 6874) or not, or an IPvFuture), or a non-empty reg-name or
 * IPv4 address. `example.com:8080` is none: a port is no part of a host.
 */
export function isUriHost(host: string): boolean {
  if (!host.startsWith('[')) return REG_NAME.test(host);
  if (!host.endsWith(']')) return false;
  const literal = host.slice(1, -1);
  if (IPV_FUTURE.test(literal)) return true;
  const zone = literal.indexOf('%25');
  return isIpv6(zone === -1 ? literal : literal.slice(0, zone)) && (zone === -1 || ZONE_ID.test(literal.slice(zone + 3)));
}

/** RFC 3986 §3.2.2 IPv6address: eight 16-bit groups, a run of them elided by `::`, the last two as IPv4 if written so. */
function isIpv6(text: string): boolean {
  const halves = text.split('::');
  if (halves.length > 2) return false;
  const groups = halves.flatMap((half) => (half === '' ? [] : half.split(':')));
  let count = groups.length;
  if (count > 0 && groups[count - 1]!.includes('.')) {
    if (!IPV4.test(groups.pop()!)) return false;
    count++; // an IPv4 address counts as two groups
  }
  if (!groups.every((group) => HEX_GROUP.test(group))) return false;
  return halves.length === 2 ? count <= 7 : count === 8;
}

/** RFC 7230 §5.4: `Host = uri-host [ ":" port ]`. */
function isHostField(value: string): boolean {
  // A reg-name has no ':', and an IP literal ends at its ']': what follows is the port.
  const end = value.startsWith('[') ? value.indexOf(']') + 1 : value.indexOf(':');
  if (end === 0) return false;
  const host = end === -1 ? value : value.slice(0, end);
  const rest = end === -1 ? '' : value.slice(end);
  return isUriHost(host) && (rest === '' || /^:[0-9]*$/.test(rest));
}

// RFC 6455 §4.2.1 item 2; RFC 7230 §5.4 requires 400 for a missing or repeated Host, or an invalid one.
function requireHost(headers: HeaderLookup): string {
  const hosts = headers.getAll('host');
  if (hosts.length !== 1 || hosts[0] === undefined || hosts[0] === '') {
    const problem = hosts.length > 1 ? 'Host header appears more than once' : 'Missing Host header';
    throw new HandshakeError(400, 'WS_HANDSHAKE_BAD_HOST', problem);
  }
  if (!isHostField(hosts[0])) throw new HandshakeError(400, 'WS_HANDSHAKE_BAD_HOST', `Invalid Host header ${describe(hosts[0])}`);
  return hosts[0];
}

/**
 * RFC 7230 §3.3.3: a body is part of the HTTP request, not of the connection it upgrades.
 * Read as frames it would fail the connection, and a proxy in front would split the
 * stream elsewhere than we do: a request that announces one is refused.
 */
function refuseBody(headers: HeaderLookup): void {
  const length = headers.get('content-length');
  if (headers.get('transfer-encoding') !== undefined || (length !== undefined && length !== '0')) {
    throw new HandshakeError(400, 'WS_HANDSHAKE_BODY', 'An upgrade request carries no body (Content-Length or Transfer-Encoding)');
  }
}

/**
 * Whether a request asks for a WebSocket at all: its `Upgrade` lists `websocket`, case
 * aside (RFC 6455 §4.2.1 item 3). One that does not is plain HTTP, whatever else it holds.
 */
export function asksForWebSocket(headers: HeaderLookup): boolean {
  return listContainsToken(headers.get('upgrade'), 'websocket');
}

// RFC 6455 §4.2.1 item 3: Upgrade containing "websocket", case-insensitive.
function checkUpgradeHeader(headers: HeaderLookup): void {
  if (!asksForWebSocket(headers)) {
    throw new HandshakeError(400, 'WS_HANDSHAKE_BAD_UPGRADE', 'Upgrade header must include "websocket"');
  }
}

// RFC 6455 §4.2.1 item 4: Connection containing "Upgrade", case-insensitive.
function checkConnectionHeader(headers: HeaderLookup): void {
  if (!listContainsToken(headers.get('connection'), 'upgrade')) {
    throw new HandshakeError(400, 'WS_HANDSHAKE_BAD_CONNECTION', 'Connection header must include "Upgrade"');
  }
}

/**
 * RFC 6455 §4.2.1 item 6 and §4.2.2 item 4: version 13, otherwise 426
 * advertising the versions understood. RFC 7231 §6.5.15 requires a 426 to
 * carry `Upgrade` too. A repeated or non-numeric value is plain malformed.
 */
function checkWebSocketVersion(headers: HeaderLookup): void {
  const versions = headers.getAll('sec-websocket-version');
  if (versions.length > 1) {
    throw new HandshakeError(400, 'WS_HANDSHAKE_BAD_VERSION', 'Sec-WebSocket-Version header appears more than once');
  }
  const version = versions[0];
  if (version === WEBSOCKET_VERSION) return;
  if (version !== undefined && !isDecimal(version)) {
    throw new HandshakeError(400, 'WS_HANDSHAKE_BAD_VERSION', `Malformed Sec-WebSocket-Version ${describe(version)}`);
  }
  const problem = version === undefined ? 'Missing Sec-WebSocket-Version' : `WebSocket version ${version} is not supported`;
  throw new HandshakeError(426, 'WS_HANDSHAKE_UNSUPPORTED_VERSION', `${problem}; this server supports version 13`, {
    'Sec-WebSocket-Version': WEBSOCKET_VERSION,
    Upgrade: 'websocket',
  });
}

function isDecimal(text: string): boolean {
  if (text.length === 0 || text.length > 3) return false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x30 || code > 0x39) return false;
  }
  return true;
}

// RFC 6455 §4.2.1 item 5 and §11.3.1: exactly one key, 16 bytes in base64.
function requireKey(headers: HeaderLookup): string {
  const keys = headers.getAll('sec-websocket-key');
  if (keys.length > 1) {
    throw new HandshakeError(400, 'WS_HANDSHAKE_BAD_KEY', 'Sec-WebSocket-Key header appears more than once');
  }
  const key = keys[0];
  if (key === undefined) throw new HandshakeError(400, 'WS_HANDSHAKE_BAD_KEY', 'Missing Sec-WebSocket-Key');
  if (!isValidKey(key)) {
    throw new HandshakeError(400, 'WS_HANDSHAKE_BAD_KEY', 'Sec-WebSocket-Key must be base64 of 16 bytes');
  }
  return key;
}
