import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  buildClientRequest,
  hostHeader,
  InvalidHeaderError,
  InvalidUrlError,
  parseUrl,
  RequestHeadParser,
  validateUpgradeRequest,
  type ClientRequestOptions,
} from '../../src/handshake/index.ts';
import { bytes, RFC_KEY } from './helpers.ts';

test('RFC 6455 §4.1: the request head has every required field, in a stable order', () => {
  assert.equal(
    buildClientRequest({ host: 'server.example.com', path: '/chat', key: RFC_KEY }),
    'GET /chat HTTP/1.1\r\n' +
      'Host: server.example.com\r\n' +
      'Upgrade: websocket\r\n' +
      'Connection: Upgrade\r\n' +
      `Sec-WebSocket-Key: ${RFC_KEY}\r\n` +
      'Sec-WebSocket-Version: 13\r\n' +
      '\r\n',
  );
});

test('RFC 6455 §4.1: optional origin, protocols, extensions and headers are appended', () => {
  const head = buildClientRequest({
    host: 'h',
    key: RFC_KEY,
    origin: 'http://example.com',
    protocols: ['chat', 'superchat'],
    extensions: [{ name: 'permessage-deflate', params: [['client_max_window_bits', true]] }],
    headers: { Authorization: 'Bearer x', 'X-Multi': ['1', '2'] },
  });
  assert.equal(
    head,
    'GET / HTTP/1.1\r\n' +
      'Host: h\r\n' +
      'Upgrade: websocket\r\n' +
      'Connection: Upgrade\r\n' +
      `Sec-WebSocket-Key: ${RFC_KEY}\r\n` +
      'Sec-WebSocket-Version: 13\r\n' +
      'Origin: http://example.com\r\n' +
      'Sec-WebSocket-Protocol: chat, superchat\r\n' +
      'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n' +
      'Authorization: Bearer x\r\n' +
      'X-Multi: 1\r\n' +
      'X-Multi: 2\r\n' +
      '\r\n',
  );
});

test('RFC 6455 §4.1 item 4: Host carries the port only when it is not the default', () => {
  assert.equal(hostHeader('example.com', 80, false), 'example.com');
  assert.equal(hostHeader('example.com', 443, true), 'example.com');
  assert.equal(hostHeader('example.com', 443, false), 'example.com:443');
  assert.equal(hostHeader('example.com', 80, true), 'example.com:80');
  assert.equal(hostHeader('example.com', 9001, false), 'example.com:9001');
  assert.equal(hostHeader('example.com', undefined, true), 'example.com');
  assert.equal(hostHeader('127.0.0.1', 8080, false), '127.0.0.1:8080');
});

test('RFC 6455 §4.1 item 4 / RFC 3986 §3.2.2: IPv6 literals are bracketed', () => {
  assert.equal(hostHeader('::1', 9001, false), '[::1]:9001');
  assert.equal(hostHeader('::1', 80, false), '[::1]');
  assert.equal(hostHeader('[::1]', 9001, false), '[::1]:9001');
  assert.equal(hostHeader('fe80::1%25eth0', 443, true), '[fe80::1%25eth0]');
});

test('RFC 7230 §5.4: a host that is no uri-host is refused, not sent for the server to refuse', () => {
  // A port is no part of a host: 'example.com:8080' is not taken for an IPv6 literal and bracketed.
  for (const host of ['exa mple.com', 'example.com/evil', 'user@example.com', 'a?b', 'a#b', '"quoted"', 'hé', '[::1', 'example.com:8080', 'cafe:8080', '1:2:3:4:5:6:7:8:9', '[zz]', '[%]', '[1.2.3.4]']) {
    assert.throws(() => hostHeader(host, 80, false), InvalidHeaderError, host);
    assert.throws(() => buildClientRequest({ host, key: RFC_KEY }), InvalidHeaderError, host);
  }
  for (const host of ['example.com', '127.0.0.1', 'my_host', 'xn--bcher-kva.example', '[::1]', '::1', '2001:db8::ff00:42:8329', '::ffff:192.0.2.128', '1:2:3:4:5:6:7:8', '[v1.fe]']) hostHeader(host, 80, false);
  assert.throws(() => hostHeader('example.com:8080', 80, false), /Invalid host: "example.com:8080" \(a name, an IPv4 address or an IPv6 literal; the port goes apart\)/);
});

test('host and port are validated', () => {
  assert.throws(() => hostHeader('', 80, false), InvalidHeaderError);
  assert.throws(() => hostHeader('h', 0, false), InvalidHeaderError);
  assert.throws(() => hostHeader('h', 65536, false), InvalidHeaderError);
  assert.throws(() => hostHeader('h', 1.5, false), InvalidHeaderError);
  assert.throws(() => buildClientRequest({ host: 'h\r\nX-Injected: 1', key: RFC_KEY }), InvalidHeaderError);
});

test('buildClientRequest refuses injection and invalid arguments', () => {
  const base = { host: 'h', key: RFC_KEY };
  const invalid: ClientRequestOptions[] = [
    { ...base, key: 'short' },
    { ...base, path: 'no-slash' },
    { ...base, path: '/a b' },
    { ...base, path: '/a\r\nX: 1' },
    { ...base, path: '/a#frag' },
    { ...base, origin: 'http://a\r\nX: 1' },
    { ...base, protocols: ['a b'] },
    { ...base, protocols: ['a', 'a'] },
    { ...base, extensions: 'x\r\nX: 1' },
    { ...base, headers: { 'X-A': 'v\n' } },
    { ...base, headers: { Host: 'other' } },
    { ...base, headers: { 'sec-websocket-key': RFC_KEY } },
    { ...base, origin: 'http://a', headers: { Origin: 'http://b' } },
  ];
  for (const options of invalid) {
    assert.throws(() => buildClientRequest(options), InvalidHeaderError, JSON.stringify(options));
  }
  assert.match(buildClientRequest({ ...base, headers: { Origin: 'http://b' } }), /\r\nOrigin: http:\/\/b\r\n/);
});

test('a header value that is neither a string nor an array of strings is a TypeError that names what it got', () => {
  const base = { host: 'h', key: RFC_KEY };
  const given = (value: unknown): ClientRequestOptions => ({ ...base, headers: { 'X-A': value } as ClientRequestOptions['headers'] });
  assert.throws(() => buildClientRequest(given(null)), { name: 'TypeError', message: 'the value of header X-A must be a string or an array of strings, got null' });
  assert.throws(() => buildClientRequest(given(5)), { name: 'TypeError', message: 'the value of header X-A must be a string or an array of strings, got number' });
  assert.throws(() => buildClientRequest(given(['a', 1])), { name: 'TypeError', message: 'the value of header X-A must be a string or an array of strings, got object' });
  // An undefined value is a field left out, as an absent one.
  assert.doesNotMatch(buildClientRequest(given(undefined)), /X-A/);
});

test('a built request passes server validation', () => {
  const head = buildClientRequest({ ...parseUrl('ws://[::1]:9001/chat?x=1'), key: RFC_KEY, protocols: ['chat'], extensions: 'permessage-deflate' });
  const parsed = new RequestHeadParser().feed(bytes(head));
  assert.ok(parsed !== null);
  const request = validateUpgradeRequest(parsed);
  assert.equal(request.host, '[::1]:9001');
  assert.equal(request.path, '/chat?x=1');
  assert.deepEqual(request.protocols, ['chat']);
  assert.deepEqual(request.extensions, [{ name: 'permessage-deflate', params: [] }]);
});

test('RFC 6455 §3: parseUrl handles schemes, default ports and the resource name', () => {
  assert.deepEqual(parseUrl('ws://example.com'), { secure: false, host: 'example.com', port: 80, path: '/' });
  assert.deepEqual(parseUrl('wss://example.com'), { secure: true, host: 'example.com', port: 443, path: '/' });
  assert.deepEqual(parseUrl('ws://example.com:9001/chat?room=1&x'), { secure: false, host: 'example.com', port: 9001, path: '/chat?room=1&x' });
  assert.deepEqual(parseUrl('wss://example.com:443/a'), { secure: true, host: 'example.com', port: 443, path: '/a' });
  assert.deepEqual(parseUrl('WS://EXAMPLE.com/A'), { secure: false, host: 'example.com', port: 80, path: '/A' });
  assert.deepEqual(parseUrl('ws://example.com?q'), { secure: false, host: 'example.com', port: 80, path: '/?q' });
});

test('parseUrl maps http: to ws: and https: to wss:', () => {
  assert.deepEqual(parseUrl('http://example.com/x'), { secure: false, host: 'example.com', port: 80, path: '/x' });
  assert.deepEqual(parseUrl('https://example.com:8443/x'), { secure: true, host: 'example.com', port: 8443, path: '/x' });
});

test('parseUrl handles IPv6 literals, unbracketing the host', () => {
  assert.deepEqual(parseUrl('ws://[::1]:9001/'), { secure: false, host: '::1', port: 9001, path: '/' });
  assert.deepEqual(parseUrl('wss://[2001:db8::1]/p'), { secure: true, host: '2001:db8::1', port: 443, path: '/p' });
  assert.equal(parseUrl('ws://127.0.0.1:8080').host, '127.0.0.1');
});

test('parseUrl percent-encodes what the request line cannot carry raw', () => {
  assert.equal(parseUrl('ws://h/a b?c d').path, '/a%20b?c%20d');
  assert.equal(parseUrl('ws://h/caf\u00e9').path, '/caf%C3%A9');
  assert.equal(parseUrl('ws://b\u00fccher.example/').host, 'xn--bcher-kva.example');
});

function rejectsUrl(url: string, code: string): void {
  assert.throws(
    () => parseUrl(url),
    (error: unknown) => error instanceof InvalidUrlError && error.code === code && error.url === url,
    url,
  );
}

test('RFC 6455 §3: parseUrl rejects fragments, other schemes and garbage with typed errors', () => {
  rejectsUrl('ws://example.com/#frag', 'WS_URL_FRAGMENT');
  rejectsUrl('ws://example.com/#', 'WS_URL_FRAGMENT');
  rejectsUrl('ftp://example.com/', 'WS_URL_BAD_SCHEME');
  rejectsUrl('file:///tmp/x', 'WS_URL_BAD_SCHEME');
  rejectsUrl('mailto:a@b', 'WS_URL_BAD_SCHEME');
  rejectsUrl('not a url', 'WS_URL_INVALID');
  rejectsUrl('/relative', 'WS_URL_INVALID');
  rejectsUrl('ws://', 'WS_URL_INVALID');
  rejectsUrl('ws://h:99999/', 'WS_URL_INVALID');
  rejectsUrl('ws://user:pass@example.com/', 'WS_URL_CREDENTIALS');
});
