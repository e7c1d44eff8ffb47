import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  buildAcceptResponse,
  HandshakeResponseError,
  InvalidHeaderError,
  ResponseHeadParser,
  verifyServerResponse,
  type ParsedResponse,
  type VerifyOptions,
} from '../../src/handshake/index.ts';
import { bytes, concat, RFC_ACCEPT, RFC_KEY } from './helpers.ts';

function parse(text: string | Uint8Array): ParsedResponse {
  const result = new ResponseHeadParser().feed(typeof text === 'string' ? bytes(text) : text);
  assert.ok(result !== null, 'response head incomplete');
  return result;
}

function response(statusLine: string, headerLines: readonly string[], body = ''): ParsedResponse {
  return parse(`${statusLine}\r\n${headerLines.map((line) => `${line}\r\n`).join('')}\r\n${body}`);
}

const GOOD_LINES = ['Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Accept: ${RFC_ACCEPT}`];

function failsVerify(parsed: ParsedResponse, options: VerifyOptions, code: string): HandshakeResponseError {
  let caught: unknown;
  try {
    verifyServerResponse(parsed, options);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof HandshakeResponseError, `expected HandshakeResponseError, got ${String(caught)}`);
  assert.equal(caught.code, code);
  assert.equal(caught.status, parsed.status);
  assert.equal(caught.headers, parsed.headers);
  return caught;
}

test('parses the status line and headers', () => {
  const parsed = response('HTTP/1.1 101 Switching Protocols', GOOD_LINES);
  assert.equal(parsed.version, 'HTTP/1.1');
  assert.equal(parsed.status, 101);
  assert.equal(parsed.statusText, 'Switching Protocols');
  assert.equal(parsed.headers.get('sec-websocket-accept'), RFC_ACCEPT);
  assert.equal(parsed.rest.length, 0);
});

test('RFC 7230 §3.1.2: an empty reason phrase, with or without its space, is accepted', () => {
  assert.equal(response('HTTP/1.1 101 ', GOOD_LINES).statusText, '');
  assert.equal(response('HTTP/1.1 101', GOOD_LINES).status, 101);
});

test('RFC 7230 §3.1.2: malformed status lines are rejected', () => {
  for (const line of ['', 'HTTP/1.1', 'HTTP/1.1 1O1 x', 'HTTP/1.1  101 x', 'HTTP/1.1 1010', 'HTTP/1.1 10 x', 'HTTX/1.1 101 x', 'HTTP/1.1 101 a\x01b']) {
    assert.throws(
      () => response(line, GOOD_LINES),
      (error: unknown) => error instanceof HandshakeResponseError && error.code === 'WS_RESPONSE_MALFORMED' && error.status === 0,
      JSON.stringify(line),
    );
  }
});

test('malformed header lines are rejected, keeping the known status', () => {
  assert.throws(
    () => response('HTTP/1.1 101 Switching Protocols', ['Upgrade websocket']),
    (error: unknown) => error instanceof HandshakeResponseError && error.code === 'WS_RESPONSE_MALFORMED' && error.status === 101,
  );
});

test('one chunk, single bytes and every split point give the same result, frames preserved', () => {
  const head = bytes(buildAcceptResponse({ key: RFC_KEY, protocol: 'chat' }));
  const frame = new Uint8Array([0x81, 0x02, 0x68, 0x69]);
  const input = concat(head, frame);
  for (let split = 0; split <= input.length; split++) {
    const parser = new ResponseHeadParser();
    const result = parser.feed(input.subarray(0, split)) ?? parser.feed(input.subarray(split));
    assert.ok(result !== null, `split ${split}`);
    assert.equal(result.headers.get('sec-websocket-protocol'), 'chat');
    const expectedRest = split >= head.length ? input.subarray(head.length, split) : frame;
    assert.deepEqual([...result.rest], [...expectedRest], `split ${split}`);
  }
  const parser = new ResponseHeadParser();
  let result: ParsedResponse | null = null;
  for (const byte of head) result = parser.feed(new Uint8Array([byte]));
  assert.ok(result !== null);
  assert.equal(result.headers.get('sec-websocket-accept'), RFC_ACCEPT);
});

test('RFC 7231 §6.2: interim responses (100 Continue, 102) before the 101 are skipped, however the bytes are split, frames preserved', () => {
  const interim = bytes('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\nX-Step: 1\r\n\r\n');
  const head = bytes(buildAcceptResponse({ key: RFC_KEY, protocol: 'chat' }));
  const frame = new Uint8Array([0x81, 0x02, 0x68, 0x69]);
  const input = concat(concat(interim, head), frame);
  for (let split = 0; split <= input.length; split++) {
    const parser = new ResponseHeadParser();
    const result = parser.feed(input.subarray(0, split)) ?? parser.feed(input.subarray(split));
    assert.ok(result !== null, `split ${split}`);
    assert.equal(result.status, 101, `split ${split}`);
    assert.equal(result.headers.get('sec-websocket-protocol'), 'chat');
    assert.deepEqual([...result.rest], [...(split >= interim.length + head.length ? input.subarray(interim.length + head.length, split) : frame)], `split ${split}`);
  }
  const parser = new ResponseHeadParser();
  let result: ParsedResponse | null = null;
  for (const byte of input.subarray(0, interim.length + head.length)) result = parser.feed(new Uint8Array([byte]));
  assert.equal(result?.status, 101);
});

test('interim responses count against the head size limit: an endless stream of them fails', () => {
  const parser = new ResponseHeadParser(1024);
  assert.throws(
    () => {
      for (let i = 0; i < 100; i++) parser.feed(bytes('HTTP/1.1 100 Continue\r\n\r\n'));
    },
    (error: unknown) => error instanceof HandshakeResponseError && error.code === 'WS_RESPONSE_TOO_LARGE',
  );
});

test('an interim response that leaves less room than a head needs (4 bytes) fails as too large, not later', () => {
  const parser = new ResponseHeadParser(28);
  assert.throws(() => parser.feed(bytes('HTTP/1.1 100 Continue\r\n\r\n')), { code: 'WS_RESPONSE_TOO_LARGE' }); // 25 bytes, 3 left
});

test('RFC 7230 §3.5: a bare LF fails at once, not at the end of the head', () => {
  assert.throws(() => new ResponseHeadParser().feed(bytes('HTTP/1.1 101 Switching Protocols\nUpgrade: websocket\n')), { code: 'WS_RESPONSE_MALFORMED' });
});

test('a failed parser keeps failing with the same error', () => {
  const parser = new ResponseHeadParser();
  let first: unknown;
  assert.throws(() => parser.feed(bytes('XTTP/1.1 101 Switching Protocols\r\n\r\n')), (error: unknown) => {
    first = error;
    return error instanceof HandshakeResponseError && error.code === 'WS_RESPONSE_MALFORMED';
  });
  assert.throws(() => parser.feed(bytes('HTTP/1.1 101 Switching Protocols\r\n\r\n')), (error: unknown) => error === first);
});

test('the response head is size-limited, failing before its end arrives', () => {
  const parser = new ResponseHeadParser();
  parser.feed(bytes('HTTP/1.1 101 Switching Protocols\r\nX-Big: '));
  assert.throws(
    () => {
      for (let i = 0; i < 16; i++) parser.feed(bytes('a'.repeat(1024)));
    },
    (error: unknown) => error instanceof HandshakeResponseError && error.code === 'WS_RESPONSE_TOO_LARGE',
  );
  const many = new ResponseHeadParser(16384, 10);
  assert.throws(
    () => many.feed(bytes(`HTTP/1.1 101 x\r\n${'A: b\r\n'.repeat(11)}`)),
    (error: unknown) => error instanceof HandshakeResponseError && error.code === 'WS_RESPONSE_TOO_MANY_HEADERS',
  );
});

test('RFC 6455 §4.1: a correct 101 response verifies', () => {
  const result = verifyServerResponse(parse(buildAcceptResponse({ key: RFC_KEY })), { key: RFC_KEY });
  assert.deepEqual(result, { protocol: undefined, extensions: [] });
});

test('RFC 6455 §4.1: Upgrade and Connection compare case-insensitively as token lists', () => {
  const parsed = response('HTTP/1.1 101 Switching Protocols', ['upgrade: WebSocket', 'connection: keep-alive, UPGRADE', `sec-websocket-accept: ${RFC_ACCEPT}`]);
  assert.deepEqual(verifyServerResponse(parsed, { key: RFC_KEY }), { protocol: undefined, extensions: [] });
});

test('RFC 6455 §4.1: a status other than 101 fails, carrying status, headers and the body start', () => {
  const body = `{"error":"unauthorized"}${'x'.repeat(1000)}`;
  const parsed = response('HTTP/1.1 401 Unauthorized', ['WWW-Authenticate: Bearer', 'Content-Type: application/json'], body);
  const error = failsVerify(parsed, { key: RFC_KEY }, 'WS_RESPONSE_BAD_STATUS');
  assert.equal(error.status, 401);
  assert.equal(error.headers?.get('www-authenticate'), 'Bearer');
  assert.equal(error.body.length, 512);
  assert.equal(error.body.buffer.byteLength, 512, 'a copy, not a view of the read');
  const fromBuffer = new HandshakeResponseError('WS_RESPONSE_BAD_STATUS', 'x', 401, undefined, Buffer.alloc(64 * 1024).subarray(0, 100));
  assert.equal(fromBuffer.body.buffer.byteLength, 100, 'a copy of a Buffer too (whose slice is a view)');
  assert.ok(error.bodyText.startsWith('{"error":"unauthorized"}xxx'));
  assert.match(error.message, /101.*401 Unauthorized; the body begins "\{\\"error\\":\\"unauthorized\\"\}x{96}…"$/);
  const reason = failsVerify(response('HTTP/1.1 401 Unauthorized', [], 'token required\r\n\x1b[2Jmore'), { key: RFC_KEY }, 'WS_RESPONSE_BAD_STATUS');
  assert.equal(reason.message, 'Expected status 101 Switching Protocols, got 401 Unauthorized; the body begins "token required"');
  const redirect = failsVerify(response('HTTP/1.1 302 Found', ['Location: /elsewhere']), { key: RFC_KEY }, 'WS_RESPONSE_BAD_STATUS');
  assert.equal(redirect.headers?.get('location'), '/elsewhere');
  assert.equal(redirect.body.length, 0);
  assert.equal(redirect.message, 'Expected status 101 Switching Protocols, got 302 Found');
  // RFC 7230 §3.1.2: the reason phrase may be empty; the message then names the status alone.
  const bare = failsVerify(response('HTTP/1.1 403', []), { key: RFC_KEY }, 'WS_RESPONSE_BAD_STATUS');
  assert.equal(bare.message, 'Expected status 101 Switching Protocols, got 403');
  const old = failsVerify(response('HTTP/1.0 400 Bad Request', []), { key: RFC_KEY }, 'WS_RESPONSE_BAD_STATUS');
  assert.equal(old.status, 400);
});

test('RFC 6455 §4.1: a 101 over HTTP/1.0 fails', () => {
  failsVerify(response('HTTP/1.0 101 Switching Protocols', GOOD_LINES), { key: RFC_KEY }, 'WS_RESPONSE_MALFORMED');
});

test('RFC 6455 §4.1: a missing or wrong Upgrade fails', () => {
  failsVerify(response('HTTP/1.1 101 x', GOOD_LINES.slice(1)), { key: RFC_KEY }, 'WS_RESPONSE_BAD_UPGRADE');
  failsVerify(response('HTTP/1.1 101 x', ['Upgrade: h2c', ...GOOD_LINES.slice(1)]), { key: RFC_KEY }, 'WS_RESPONSE_BAD_UPGRADE');
});

test('RFC 6455 §4.1: an Upgrade that names anything besides websocket fails (client rule 2), whatever the case of websocket', () => {
  for (const value of ['foo, websocket', 'websocket, h2c', 'websocket, websocket', ',']) {
    failsVerify(response('HTTP/1.1 101 x', [`Upgrade: ${value}`, ...GOOD_LINES.slice(1)]), { key: RFC_KEY }, 'WS_RESPONSE_BAD_UPGRADE');
  }
  // The field repeated: one value each, two in all.
  failsVerify(response('HTTP/1.1 101 x', ['Upgrade: websocket', ...GOOD_LINES]), { key: RFC_KEY }, 'WS_RESPONSE_BAD_UPGRADE');
  for (const value of ['WebSocket', 'websocket,', ', WEBSOCKET']) {
    assert.doesNotThrow(() => verifyServerResponse(response('HTTP/1.1 101 x', [`Upgrade: ${value}`, ...GOOD_LINES.slice(1)]), { key: RFC_KEY }), value);
  }
});

test('RFC 6455 §4.1: a missing or wrong Connection fails', () => {
  failsVerify(response('HTTP/1.1 101 x', [GOOD_LINES[0] ?? '', GOOD_LINES[2] ?? '']), { key: RFC_KEY }, 'WS_RESPONSE_BAD_CONNECTION');
  failsVerify(response('HTTP/1.1 101 x', ['Connection: keep-alive', GOOD_LINES[0] ?? '', GOOD_LINES[2] ?? '']), { key: RFC_KEY }, 'WS_RESPONSE_BAD_CONNECTION');
});

test('RFC 6455 §4.1: a wrong, missing or repeated Sec-WebSocket-Accept fails', () => {
  const otherKey = 'AAAAAAAAAAAAAAAAAAAAAA==';
  const wrong = failsVerify(parse(buildAcceptResponse({ key: otherKey })), { key: RFC_KEY }, 'WS_RESPONSE_BAD_ACCEPT');
  assert.match(wrong.message, new RegExp(RFC_ACCEPT.replace(/[+/=]/g, '\\$&')));
  failsVerify(response('HTTP/1.1 101 x', GOOD_LINES.slice(0, 2)), { key: RFC_KEY }, 'WS_RESPONSE_BAD_ACCEPT');
  failsVerify(response('HTTP/1.1 101 x', [...GOOD_LINES, `Sec-WebSocket-Accept: ${RFC_ACCEPT}`]), { key: RFC_KEY }, 'WS_RESPONSE_BAD_ACCEPT');
  failsVerify(response('HTTP/1.1 101 x', [...GOOD_LINES.slice(0, 2), `Sec-WebSocket-Accept: ${RFC_ACCEPT.toLowerCase()}`]), { key: RFC_KEY }, 'WS_RESPONSE_BAD_ACCEPT');
});

test('RFC 6455 §4.1: the selected subprotocol must be one that was offered', () => {
  const chosen = parse(buildAcceptResponse({ key: RFC_KEY, protocol: 'chat' }));
  assert.equal(verifyServerResponse(chosen, { key: RFC_KEY, protocols: ['superchat', 'chat'] }).protocol, 'chat');
  failsVerify(chosen, { key: RFC_KEY, protocols: ['superchat'] }, 'WS_RESPONSE_BAD_PROTOCOL');
  failsVerify(chosen, { key: RFC_KEY }, 'WS_RESPONSE_BAD_PROTOCOL');
  failsVerify(chosen, { key: RFC_KEY, protocols: ['Chat'] }, 'WS_RESPONSE_BAD_PROTOCOL');
  const listed = response('HTTP/1.1 101 x', [...GOOD_LINES, 'Sec-WebSocket-Protocol: chat, superchat']);
  failsVerify(listed, { key: RFC_KEY, protocols: ['chat', 'superchat'] }, 'WS_RESPONSE_BAD_PROTOCOL');
  const twice = response('HTTP/1.1 101 x', [...GOOD_LINES, 'Sec-WebSocket-Protocol: chat', 'Sec-WebSocket-Protocol: chat']);
  failsVerify(twice, { key: RFC_KEY, protocols: ['chat'] }, 'WS_RESPONSE_BAD_PROTOCOL');
});

test('RFC 6455 §4.1: the server may decline every offered subprotocol', () => {
  const none = parse(buildAcceptResponse({ key: RFC_KEY }));
  assert.equal(verifyServerResponse(none, { key: RFC_KEY, protocols: ['chat'] }).protocol, undefined);
});

test('RFC 6455 §4.1: accepted extensions must have been offered (by name)', () => {
  const accepted = parse(
    buildAcceptResponse({ key: RFC_KEY, extensions: 'permessage-deflate; server_no_context_takeover; client_max_window_bits=10' }),
  );
  const expected = [
    {
      name: 'permessage-deflate',
      params: [
        ['server_no_context_takeover', true],
        ['client_max_window_bits', '10'],
      ],
    },
  ];
  assert.deepEqual(verifyServerResponse(accepted, { key: RFC_KEY, extensionsOffered: 'permessage-deflate; client_max_window_bits' }).extensions, expected);
  assert.deepEqual(verifyServerResponse(accepted, { key: RFC_KEY, extensionsOffered: ['permessage-deflate'] }).extensions, expected);
  assert.deepEqual(
    verifyServerResponse(accepted, { key: RFC_KEY, extensionsOffered: [{ name: 'permessage-deflate', params: [] }] }).extensions,
    expected,
  );
  const unoffered = failsVerify(accepted, { key: RFC_KEY }, 'WS_RESPONSE_BAD_EXTENSIONS');
  assert.match(unoffered.message, /permessage-deflate.*not offered/);
  failsVerify(accepted, { key: RFC_KEY, extensionsOffered: ['x-webkit-deflate-frame'] }, 'WS_RESPONSE_BAD_EXTENSIONS');
  const malformed = response('HTTP/1.1 101 x', [...GOOD_LINES, 'Sec-WebSocket-Extensions: permessage-deflate;;']);
  failsVerify(malformed, { key: RFC_KEY, extensionsOffered: ['permessage-deflate'] }, 'WS_RESPONSE_BAD_EXTENSIONS');
  assert.throws(() => verifyServerResponse(accepted, { key: RFC_KEY, extensionsOffered: 'bad;;' }), InvalidHeaderError);
});
