import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  HandshakeError,
  HeaderList,
  RequestHeadParser,
  validateUpgradeRequest,
  type UpgradeRequest,
  type UpgradeRequestHead,
} from '../../src/handshake/index.ts';
import { bytes, requestHead, RFC_KEY, VALID_HEADER_LINES } from './helpers.ts';

/** Parses a request head built from a request line and header lines. */
function request(requestLine: string, headerLines: readonly string[]): UpgradeRequestHead {
  const parsed = new RequestHeadParser().feed(bytes(requestHead(requestLine, headerLines)));
  assert.ok(parsed !== null);
  return parsed;
}

/** The valid request with some header lines replaced, removed (value null) or added. */
function withHeaders(changes: Record<string, string | null>, requestLine = 'GET /chat HTTP/1.1'): UpgradeRequestHead {
  const lines: string[] = [];
  const pending = new Map(Object.entries(changes).map(([name, value]) => [name.toLowerCase(), value]));
  for (const line of VALID_HEADER_LINES) {
    const name = line.slice(0, line.indexOf(':')).toLowerCase();
    if (!pending.has(name)) {
      lines.push(line);
      continue;
    }
    const value = pending.get(name);
    pending.delete(name);
    if (value !== null && value !== undefined) lines.push(`${name}: ${value}`);
  }
  for (const [name, value] of pending) if (value !== null && value !== undefined) lines.push(`${name}: ${value}`);
  return request(requestLine, lines);
}

function rejects(head: UpgradeRequestHead, status: number, code: string): HandshakeError {
  let caught: unknown;
  try {
    validateUpgradeRequest(head);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof HandshakeError, `expected a HandshakeError, got ${String(caught)}`);
  assert.equal(caught.status, status);
  assert.equal(caught.code, code);
  assert.equal(caught.message, caught.reason);
  assert.ok(!/[\r\n]/.test(caught.reason), 'reason is one line');
  return caught;
}

function accepts(head: UpgradeRequestHead): UpgradeRequest {
  return validateUpgradeRequest(head);
}

test('RFC 6455 §4.2.1: a valid request yields key, protocols, extensions, origin, host and path', () => {
  const result = accepts(withHeaders({ 'sec-websocket-extensions': 'permessage-deflate; client_max_window_bits' }, 'GET /chat?room=1 HTTP/1.1'));
  assert.deepEqual(result, {
    key: RFC_KEY,
    protocols: ['chat', 'superchat'],
    extensions: [{ name: 'permessage-deflate', params: [['client_max_window_bits', true]] }],
    origin: 'http://example.com',
    host: 'server.example.com',
    path: '/chat?room=1',
  });
});

test('RFC 6455 §4.2.1: optional fields may be absent', () => {
  const result = accepts(withHeaders({ origin: null, 'sec-websocket-protocol': null }));
  assert.deepEqual(result.protocols, []);
  assert.deepEqual(result.extensions, []);
  assert.equal(result.origin, undefined);
});

test('RFC 6455 §4.2.1 item 1: a method other than GET gets 405 with Allow: GET', () => {
  for (const method of ['POST', 'HEAD', 'get', 'OPTIONS']) {
    const error = rejects(withHeaders({}, `${method} /chat HTTP/1.1`), 405, 'WS_HANDSHAKE_METHOD');
    assert.deepEqual(error.headers, { Allow: 'GET' });
  }
});

test('RFC 6455 §4.2.1 item 1: HTTP/1.1 or higher is required (505 otherwise)', () => {
  const base = withHeaders({});
  rejects({ ...base, version: 'HTTP/1.0' }, 505, 'WS_HANDSHAKE_HTTP_VERSION');
  rejects({ ...base, version: 'HTTP/2' }, 505, 'WS_HANDSHAKE_HTTP_VERSION');
  accepts({ ...base, version: 'HTTP/1.1' });
  accepts(withHeaders({}, 'GET /chat HTTP/1.2'));
});

test('RFC 6455 §4.2.1 item 1 / §3: the resource name comes from origin-form or absolute-form targets', () => {
  assert.equal(accepts(withHeaders({}, 'GET / HTTP/1.1')).path, '/');
  assert.equal(accepts(withHeaders({}, 'GET /a/b?c=d&e HTTP/1.1')).path, '/a/b?c=d&e');
  assert.equal(accepts(withHeaders({}, 'GET http://server.example.com/chat?x HTTP/1.1')).path, '/chat?x');
  assert.equal(accepts(withHeaders({}, 'GET HTTPS://server.example.com:8443 HTTP/1.1')).path, '/');
  assert.equal(accepts(withHeaders({}, 'GET ws://h?q=1 HTTP/1.1')).path, '/?q=1');
  for (const target of ['*', 'chat', 'ftp://h/x', 'http:///x', '/chat#frag', 'http://h/p#f']) {
    rejects(withHeaders({}, `GET ${target} HTTP/1.1`), 400, 'WS_HANDSHAKE_BAD_TARGET');
  }
});

test('RFC 6455 §4.2.1 item 2: Host is required exactly once (400)', () => {
  rejects(withHeaders({ host: null }), 400, 'WS_HANDSHAKE_BAD_HOST');
  rejects(withHeaders({ host: '' }), 400, 'WS_HANDSHAKE_BAD_HOST');
  rejects(request('GET / HTTP/1.1', [...VALID_HEADER_LINES, 'Host: evil.example']), 400, 'WS_HANDSHAKE_BAD_HOST');
});

test('RFC 7230 §5.4: a Host that is not uri-host [":" port] is refused (400); hosts as clients send them pass', () => {
  // RFC 3986 §3.2.2: brackets hold an IPv6 address (or an IPvFuture), nothing else.
  for (const host of ['a b', 'a/b', 'user@h', 'h:port', '[::1', '::1', 'h:80:80', '<script>', 'hé', '"q"', ':80', ':', '[zz]', '[%]', '[example.com:8080]', '[1.2.3.4]', '[1:2:3:4:5:6:7:8:9]', '[::1]x', '[::1]:x', '[fe80::1%25]', '[::256.1.1.1]', '[1:2:3::4:5:6::7:8]', '[::zz]', '[1:2:3:4:5:6:7:g]', '[::12345]']) {
    rejects(withHeaders({ host }), 400, 'WS_HANDSHAKE_BAD_HOST');
  }
  for (const host of ['server.example.com', 'localhost:9001', '127.0.0.1:80', '[::1]:9001', '[fe80::1%25eth0]', 'my_host', 'xn--bcher-kva.example', '[2001:db8::1]:', '[::ffff:192.0.2.128]', '[1:2:3:4:5:6:7:8]:80', '[v7.a:b]']) {
    assert.equal(accepts(withHeaders({ host })).host, host);
  }
});

test('RFC 7230 §3.3.3: an upgrade request that announces a body is refused (400), Content-Length: 0 passes', () => {
  rejects(withHeaders({ 'content-length': '5' }), 400, 'WS_HANDSHAKE_BODY');
  rejects(withHeaders({ 'transfer-encoding': 'chunked' }), 400, 'WS_HANDSHAKE_BODY');
  accepts(withHeaders({ 'content-length': '0' }));
});

test('RFC 6455 §4.2.1 item 3: Upgrade must list websocket, case-insensitively (400)', () => {
  accepts(withHeaders({ upgrade: 'WebSocket' }));
  accepts(withHeaders({ upgrade: 'h2c, WEBSOCKET' }));
  rejects(withHeaders({ upgrade: null }), 400, 'WS_HANDSHAKE_BAD_UPGRADE');
  rejects(withHeaders({ upgrade: 'h2c' }), 400, 'WS_HANDSHAKE_BAD_UPGRADE');
  rejects(withHeaders({ upgrade: 'websockets' }), 400, 'WS_HANDSHAKE_BAD_UPGRADE');
});

test('RFC 6455 §4.2.1 item 4: Connection must list Upgrade, case-insensitively (400)', () => {
  accepts(withHeaders({ connection: 'keep-alive, Upgrade' }));
  accepts(withHeaders({ connection: 'upgrade' }));
  accepts(withHeaders({ connection: 'UPGRADE,keep-alive' }));
  rejects(withHeaders({ connection: null }), 400, 'WS_HANDSHAKE_BAD_CONNECTION');
  rejects(withHeaders({ connection: 'keep-alive' }), 400, 'WS_HANDSHAKE_BAD_CONNECTION');
  rejects(withHeaders({ connection: 'close' }), 400, 'WS_HANDSHAKE_BAD_CONNECTION');
});

test('RFC 6455 §4.2.1 item 5: Sec-WebSocket-Key must be base64 of exactly 16 bytes (400)', () => {
  rejects(withHeaders({ 'sec-websocket-key': null }), 400, 'WS_HANDSHAKE_BAD_KEY');
  rejects(withHeaders({ 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ' }), 400, 'WS_HANDSHAKE_BAD_KEY');
  rejects(withHeaders({ 'sec-websocket-key': Buffer.alloc(17).toString('base64') }), 400, 'WS_HANDSHAKE_BAD_KEY');
  rejects(withHeaders({ 'sec-websocket-key': Buffer.alloc(15).toString('base64') }), 400, 'WS_HANDSHAKE_BAD_KEY');
  rejects(withHeaders({ 'sec-websocket-key': 'not base64 at all!!!!!==' }), 400, 'WS_HANDSHAKE_BAD_KEY');
  rejects(request('GET / HTTP/1.1', [...VALID_HEADER_LINES, `Sec-WebSocket-Key: ${RFC_KEY}`]), 400, 'WS_HANDSHAKE_BAD_KEY');
  assert.equal(accepts(withHeaders({ 'sec-websocket-key': Buffer.alloc(16, 7).toString('base64') })).key, 'BwcHBwcHBwcHBwcHBwcHBw==');
});

test('RFC 6455 §4.2.1 item 6 / §4.2.2 item 4: a version other than 13 gets 426 with Sec-WebSocket-Version: 13', () => {
  for (const version of ['8', '12', '14', '0']) {
    const error = rejects(withHeaders({ 'sec-websocket-version': version }), 426, 'WS_HANDSHAKE_UNSUPPORTED_VERSION');
    assert.equal(error.headers['Sec-WebSocket-Version'], '13');
    assert.equal(error.headers['Upgrade'], 'websocket');
  }
});

test('RFC 6455 §4.2.1 item 6: a missing Sec-WebSocket-Version gets 426 with Sec-WebSocket-Version: 13', () => {
  const error = rejects(withHeaders({ 'sec-websocket-version': null }), 426, 'WS_HANDSHAKE_UNSUPPORTED_VERSION');
  assert.equal(error.headers['Sec-WebSocket-Version'], '13');
});

test('RFC 6455 §4.2.1 item 6 / §11.3.5: a malformed or repeated Sec-WebSocket-Version gets 400', () => {
  rejects(withHeaders({ 'sec-websocket-version': 'thirteen' }), 400, 'WS_HANDSHAKE_BAD_VERSION');
  rejects(withHeaders({ 'sec-websocket-version': '13, 8' }), 400, 'WS_HANDSHAKE_BAD_VERSION');
  rejects(withHeaders({ 'sec-websocket-version': '' }), 400, 'WS_HANDSHAKE_BAD_VERSION');
  // Not a 1*DIGIT version at all (§4.2.2 item 4 answers 426 only to a version we do not speak).
  for (const version of ['1a', 'abc', '-1', '1.3']) rejects(withHeaders({ 'sec-websocket-version': version }), 400, 'WS_HANDSHAKE_BAD_VERSION');
  rejects(request('GET / HTTP/1.1', [...VALID_HEADER_LINES, 'Sec-WebSocket-Version: 13']), 400, 'WS_HANDSHAKE_BAD_VERSION');
});

test('RFC 6455 §4.2.1 item 8 / §4.1 item 10: subprotocols must be unique tokens (400)', () => {
  assert.deepEqual(accepts(withHeaders({ 'sec-websocket-protocol': ' a ,, b.v2 ,' })).protocols, ['a', 'b.v2']);
  const repeated = request('GET / HTTP/1.1', [...VALID_HEADER_LINES, 'Sec-WebSocket-Protocol: mqtt']);
  assert.deepEqual(accepts(repeated).protocols, ['chat', 'superchat', 'mqtt']);
  rejects(withHeaders({ 'sec-websocket-protocol': 'chat, chat' }), 400, 'WS_HANDSHAKE_BAD_PROTOCOL');
  rejects(withHeaders({ 'sec-websocket-protocol': 'a b' }), 400, 'WS_HANDSHAKE_BAD_PROTOCOL');
  rejects(withHeaders({ 'sec-websocket-protocol': 'x/y' }), 400, 'WS_HANDSHAKE_BAD_PROTOCOL');
});

test('RFC 6455 §4.2.1 item 9 / §9.1: Sec-WebSocket-Extensions must be well-formed (400)', () => {
  const repeated = request('GET / HTTP/1.1', [
    ...VALID_HEADER_LINES,
    'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits',
    'Sec-WebSocket-Extensions: permessage-deflate',
  ]);
  assert.deepEqual(accepts(repeated).extensions.map((extension) => extension.name), ['permessage-deflate', 'permessage-deflate']);
  rejects(withHeaders({ 'sec-websocket-extensions': 'permessage-deflate;;' }), 400, 'WS_HANDSHAKE_BAD_EXTENSIONS');
});

test('RFC 6455 §4.2.1: rules are checked in order (405 before 426)', () => {
  rejects(withHeaders({ 'sec-websocket-version': '8' }, 'POST / HTTP/1.1'), 405, 'WS_HANDSHAKE_METHOD');
  rejects(withHeaders({ 'sec-websocket-version': '8', 'sec-websocket-key': 'bad' }), 426, 'WS_HANDSHAKE_UNSUPPORTED_VERSION');
});

test('validation accepts heads parsed elsewhere', () => {
  const headers = new HeaderList();
  for (const line of VALID_HEADER_LINES) {
    const colon = line.indexOf(':');
    headers.append(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  assert.equal(validateUpgradeRequest({ method: 'GET', target: '/', version: 'HTTP/1.1', headers }).key, RFC_KEY);
});
