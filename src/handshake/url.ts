/**
 * Client side: turning a WebSocket URL into connection parameters
 * (RFC 6455 §3).
 */

import { InvalidUrlError } from './errors.ts';

/** Where and how to connect, as derived from a WebSocket URL. */
export interface WebSocketTarget {
  /** `true` for `wss:` (and `https:`), which needs TLS. */
  secure: boolean;
  /**
   * Host name or address, without brackets for IPv6 literals; suitable
   * for connecting. Internationalised names are in their ASCII (punycode) form.
   */
  host: string;
  /** Port number; the scheme's default (80 or 443) when the URL has none. */
  port: number;
  /** Resource name: path plus query, at least `/`. */
  path: string;
}

/**
 * A WHATWG `URL` object, as the program's types declare the global (the DOM library,
 * `@types/node`, Deno's or Bun's), and `never` where they declare none: the core's
 * declarations must compile with the ES2022 library alone, which has no `URL`.
 */
export type UrlObject = typeof globalThis extends { URL: abstract new (...args: never[]) => infer Instance } ? Instance : never;

const SCHEMES: Readonly<Record<string, boolean>> = {
  'ws:': false,
  'wss:': true,
  'http:': false,
  'https:': true,
};

/**
 * Parses a WebSocket URL (`ws://`, `wss://`; `http://` and `https://` are
 * accepted as aliases), as a string or a `URL`, into a {@link WebSocketTarget}.
 *
 * Relies on the WHATWG `URL` parser available in every modern runtime, so
 * IPv6 literals, percent-encoding and international host names behave as in
 * browsers.
 *
 * @throws {InvalidUrlError} `WS_URL_INVALID` if the URL does not parse,
 * `WS_URL_BAD_SCHEME` for another scheme, `WS_URL_FRAGMENT` if it has a
 * fragment (forbidden by RFC 6455 §3), and `WS_URL_CREDENTIALS` if it
 * embeds a user name or password (not supported: pass an `Authorization`
 * header instead); a `TypeError` for what is neither a string nor a `URL`.
 */
export function parseUrl(given: string | UrlObject): WebSocketTarget {
  const url = given instanceof URL ? given.href : given;
  if (typeof url !== 'string') throw new TypeError(`the URL must be a string or a URL, got ${url === null ? 'null' : typeof url}`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidUrlError('WS_URL_INVALID', `Invalid URL: ${url}`, url);
  }
  const secure = SCHEMES[parsed.protocol];
  if (secure === undefined) {
    throw new InvalidUrlError('WS_URL_BAD_SCHEME', `Unsupported URL scheme ${parsed.protocol} (expected ws: or wss:)`, url);
  }
  // `parsed.hash` is empty for a bare trailing "#", which is still a fragment.
  if (url.includes('#')) {
    throw new InvalidUrlError('WS_URL_FRAGMENT', 'WebSocket URLs must not contain a fragment', url);
  }
  if (parsed.username !== '' || parsed.password !== '') {
    throw new InvalidUrlError('WS_URL_CREDENTIALS', 'Credentials in WebSocket URLs are not supported', url);
  }
  if (parsed.hostname === '') {
    throw new InvalidUrlError('WS_URL_INVALID', `URL has no host: ${url}`, url);
  }
  const host = parsed.hostname.startsWith('[') ? parsed.hostname.slice(1, -1) : parsed.hostname;
  const port = parsed.port === '' ? defaultPort(secure) : Number(parsed.port);
  return { secure, host, port, path: `${parsed.pathname || '/'}${parsed.search}` };
}

/**
 * {@link parseUrl} for a URL to connect to: port 0, which a server may listen on (any free
 * port), names no port a client could reach, and is refused here with `WS_URL_INVALID`
 * rather than failing at the socket.
 */
export function parseConnectUrl(url: string | UrlObject): WebSocketTarget {
  const target = parseUrl(url);
  if (target.port === 0) throw new InvalidUrlError('WS_URL_INVALID', `Cannot connect to port 0: ${String(url)}`, String(url));
  return target;
}

/** The default port for a scheme: 443 with TLS, 80 without (RFC 6455 §3). */
export function defaultPort(secure: boolean): number {
  return secure ? 443 : 80;
}
