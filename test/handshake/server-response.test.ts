import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  buildAcceptResponse,
  buildRejectResponse,
  chooseSubprotocol,
  HandshakeError,
  InvalidHeaderError,
  ResponseHeadParser,
} from '../../src/handshake/index.ts';
import { bytes, RFC_ACCEPT, RFC_KEY } from './helpers.ts';

test('RFC 6455 §4.2.2 item 5: the 101 head carries Upgrade, Connection and the accept value', () => {
  assert.equal(
    buildAcceptResponse({ key: RFC_KEY }),
    'HTTP/1.1 101 Switching Protocols\r\n' +
      'Upgrade: websocket\r\n' +
      'Connection: Upgrade\r\n' +
      `Sec-WebSocket-Accept: ${RFC_ACCEPT}\r\n` +
      '\r\n',
  );
  assert.equal(buildAcceptResponse({ accept: RFC_ACCEPT }), buildAcceptResponse({ key: RFC_KEY }));
});

test('RFC 6455 §4.2.2 item 5: protocol, extensions and extra headers are appended', () => {
  const head = buildAcceptResponse({
    key: RFC_KEY,
    protocol: 'chat',
    extensions: 'permessage-deflate; server_no_context_takeover',
    headers: { 'Set-Cookie': ['a=1', 'b=2'], 'X-Server': 'wspeer' },
  });
  assert.equal(
    head,
    'HTTP/1.1 101 Switching Protocols\r\n' +
      'Upgrade: websocket\r\n' +
      'Connection: Upgrade\r\n' +
      `Sec-WebSocket-Accept: ${RFC_ACCEPT}\r\n` +
      'Sec-WebSocket-Protocol: chat\r\n' +
      'Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n' +
      'Set-Cookie: a=1\r\n' +
      'Set-Cookie: b=2\r\n' +
      'X-Server: wspeer\r\n' +
      '\r\n',
  );
  const structured = buildAcceptResponse({
    key: RFC_KEY,
    extensions: [{ name: 'permessage-deflate', params: [['client_max_window_bits', '10']] }],
  });
  assert.match(structured, /\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=10\r\n/);
  assert.doesNotMatch(buildAcceptResponse({ key: RFC_KEY, extensions: [] }), /Extensions/);
});

test('the 101 head parses back with the response parser', () => {
  const parsed = new ResponseHeadParser().feed(bytes(buildAcceptResponse({ key: RFC_KEY, protocol: 'chat' })));
  assert.ok(parsed !== null);
  assert.equal(parsed.status, 101);
  assert.equal(parsed.headers.get('sec-websocket-accept'), RFC_ACCEPT);
});

test('header values are checked for CR/LF injection', () => {
  const injections = [
    () => buildAcceptResponse({ key: RFC_KEY, headers: { 'X-A': 'ok\r\nX-Injected: 1' } }),
    () => buildAcceptResponse({ key: RFC_KEY, headers: { 'X-A\r\nX-Injected': 'v' } }),
    () => buildAcceptResponse({ key: RFC_KEY, headers: { 'X-A': ['fine', 'bad\n'] } }),
    () => buildAcceptResponse({ key: RFC_KEY, extensions: 'x\r\nX-Injected: 1' }),
    () => buildAcceptResponse({ key: RFC_KEY, protocol: 'chat\r\nX-Injected: 1' }),
    () => buildAcceptResponse({ accept: 'abc\r\n' }),
    () => buildRejectResponse(403, 'Forbidden', { 'X-A': 'v\rX' }),
  ];
  for (const build of injections) assert.throws(build, InvalidHeaderError);
});

test('the handshake fields cannot be overridden or omitted', () => {
  assert.throws(() => buildAcceptResponse({ key: RFC_KEY, headers: { upgrade: 'h2c' } }), InvalidHeaderError);
  assert.throws(() => buildAcceptResponse({ key: RFC_KEY, headers: { 'Sec-WebSocket-Accept': 'x' } }), InvalidHeaderError);
  assert.throws(() => buildAcceptResponse({}), InvalidHeaderError);
  assert.throws(() => buildAcceptResponse({ key: RFC_KEY, protocol: 'a, b' }), InvalidHeaderError);
  assert.throws(() => buildRejectResponse(400, 'x', { 'Content-Length': '0' }), InvalidHeaderError);
  // RFC 7230 §3.3.1, §3.3.2: a 1xx response carries neither.
  assert.throws(() => buildAcceptResponse({ key: RFC_KEY, headers: { 'Content-Length': '10' } }), InvalidHeaderError);
  assert.throws(() => buildAcceptResponse({ key: RFC_KEY, headers: { 'Transfer-Encoding': 'chunked' } }), InvalidHeaderError);
});

test('buildRejectResponse writes a complete close-delimited response with a one-line body', () => {
  assert.equal(
    buildRejectResponse(403, 'Origin not allowed'),
    'HTTP/1.1 403 Forbidden\r\n' +
      'Connection: close\r\n' +
      'Content-Type: text/plain\r\n' +
      'Content-Length: 19\r\n' +
      '\r\n' +
      'Origin not allowed\n',
  );
});

test('buildRejectResponse uses the error status, reason and headers (405 Allow)', () => {
  const error = new HandshakeError(405, 'WS_HANDSHAKE_METHOD', 'Method "POST" is not allowed; use GET', { Allow: 'GET' });
  const response = buildRejectResponse(error, { 'X-Trace': '1' });
  assert.ok(response.startsWith('HTTP/1.1 405 Method Not Allowed\r\nConnection: close\r\n'));
  assert.match(response, /\r\nAllow: GET\r\nX-Trace: 1\r\n\r\nMethod "POST" is not allowed; use GET\n$/);
});

test('RFC 7231 §6.5.15: the 426 rejection carries Sec-WebSocket-Version and Upgrade', () => {
  const error = new HandshakeError(426, 'WS_HANDSHAKE_UNSUPPORTED_VERSION', 'version 8 is not supported', {
    'Sec-WebSocket-Version': '13',
    Upgrade: 'websocket',
  });
  const response = buildRejectResponse(error);
  assert.ok(response.startsWith('HTTP/1.1 426 Upgrade Required\r\n'));
  assert.match(response, /\r\nConnection: Upgrade, close\r\n/);
  assert.match(response, /\r\nSec-WebSocket-Version: 13\r\n/);
  assert.match(response, /\r\nUpgrade: websocket\r\n/);
});

test('buildRejectResponse: Content-Length matches the body, and reasons stay on one ASCII line', () => {
  for (const reason of ['', 'plain', 'two\r\nlines', 'caf\u00e9 \u{1f600}']) {
    const response = buildRejectResponse(400, reason);
    const [head, body] = response.split('\r\n\r\n') as [string, string];
    const length = Number(/Content-Length: (\d+)/.exec(head)?.[1]);
    assert.equal(length, body.length);
    assert.match(body, /^[\x20-\x7e]*\n$/);
  }
  assert.equal(buildRejectResponse(431, 'x').split('\r\n')[0], 'HTTP/1.1 431 Request Header Fields Too Large');
  assert.equal(buildRejectResponse(418, 'x').split('\r\n')[0], 'HTTP/1.1 418 Client Error');
  assert.equal(buildRejectResponse(599, 'x').split('\r\n')[0], 'HTTP/1.1 599 Server Error');
  assert.throws(() => buildRejectResponse(200, 'ok'), RangeError);
  assert.throws(() => buildRejectResponse(101, 'no'), RangeError);
});

test('RFC 6455 §4.2.2 item 5.5: chooseSubprotocol follows the server preference', () => {
  assert.equal(chooseSubprotocol(['a', 'b', 'c'], ['c', 'b']), 'c');
  assert.equal(chooseSubprotocol(['b', 'c'], ['x', 'b', 'c']), 'b');
  assert.equal(chooseSubprotocol(['a'], ['b']), undefined);
  assert.equal(chooseSubprotocol([], ['b']), undefined);
  assert.equal(chooseSubprotocol(['a'], []), undefined);
  assert.equal(chooseSubprotocol(['Chat'], ['chat']), undefined);
});
