import assert from 'node:assert/strict';
import { test } from 'node:test';

import { DEFAULT_MAX_HEAD_BYTES, HandshakeError, HeadCompleteError, RequestHeadParser, ResponseHeadParser, type ParsedRequest } from '../../src/handshake/index.ts';
import { bytes, concat, requestHead, VALID_HEADER_LINES, VALID_REQUEST } from './helpers.ts';

/** Feeds chunks until a request is produced; fails if it never is. */
function feedAll(parser: RequestHeadParser, chunks: readonly Uint8Array[]): ParsedRequest {
  for (const [index, chunk] of chunks.entries()) {
    const result = parser.feed(chunk);
    if (result !== null) {
      assert.equal(index, chunks.length - 1, 'request completed before the last chunk');
      return result;
    }
  }
  assert.fail('request never completed');
}

function parse(text: string): ParsedRequest {
  return feedAll(new RequestHeadParser(), [bytes(text)]);
}

/** A comparable snapshot of a parsed request. */
function snapshot(request: ParsedRequest): unknown {
  return {
    method: request.method,
    target: request.target,
    version: request.version,
    headers: [...request.headers],
    rest: [...request.rest],
  };
}

function assertHandshakeError(action: () => unknown, status: number, code?: string): void {
  assert.throws(action, (error: unknown) => {
    assert.ok(error instanceof HandshakeError, `expected HandshakeError, got ${String(error)}`);
    assert.equal(error.status, status);
    if (code !== undefined) assert.equal(error.code, code);
    return true;
  });
}

const FRAME = new Uint8Array([0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);

test('parses the request line and lower-cases header names', () => {
  const request = parse(VALID_REQUEST);
  assert.equal(request.method, 'GET');
  assert.equal(request.target, '/chat?room=1');
  assert.equal(request.version, 'HTTP/1.1');
  assert.equal(request.headers.get('host'), 'server.example.com');
  assert.equal(request.headers.get('SEC-WEBSOCKET-PROTOCOL'), 'chat, superchat');
  assert.deepEqual([...request.headers.names()], [
    'host',
    'upgrade',
    'connection',
    'sec-websocket-key',
    'origin',
    'sec-websocket-protocol',
    'sec-websocket-version',
  ]);
  assert.equal(request.rest.length, 0);
});

test('trims optional whitespace around values and keeps inner whitespace', () => {
  const request = parse(requestHead('GET / HTTP/1.1', ['X-A: \t spaced  value \t', 'X-Empty:', 'X-B:tight']));
  assert.equal(request.headers.get('x-a'), 'spaced  value');
  assert.equal(request.headers.get('x-empty'), '');
  assert.equal(request.headers.get('x-b'), 'tight');
});

test('joins repeated headers with ", " and keeps each retrievable', () => {
  const request = parse(requestHead('GET / HTTP/1.1', ['Sec-WebSocket-Protocol: a', 'sec-websocket-protocol: b, c']));
  assert.equal(request.headers.get('sec-websocket-protocol'), 'a, b, c');
  assert.deepEqual(request.headers.getAll('Sec-WebSocket-Protocol'), ['a', 'b, c']);
  assert.equal(request.headers.has('SEC-WEBSOCKET-PROTOCOL'), true, 'has() ignores case, as get() does');
  assert.equal(request.headers.has('sec-websocket-extensions'), false);
});

test('one chunk, single bytes and every split point give the same result', () => {
  const input = concat(bytes(VALID_REQUEST), FRAME);
  const expected = snapshot(feedAll(new RequestHeadParser(), [input]));
  const single = [...input].map((byte) => new Uint8Array([byte]));
  // Feeding byte by byte completes at the head's last byte; the frame bytes are never fed.
  const headOnly = single.slice(0, VALID_REQUEST.length);
  assert.deepEqual(snapshot(feedAll(new RequestHeadParser(), headOnly)), { ...(expected as object), rest: [] });
  for (let split = 0; split <= input.length; split++) {
    const chunks = [input.subarray(0, split), input.subarray(split)];
    const parser = new RequestHeadParser();
    const first = parser.feed(chunks[0] as Uint8Array);
    const result = first ?? parser.feed(chunks[1] as Uint8Array);
    assert.ok(result !== null, `split ${split}`);
    const restExpected = split >= VALID_REQUEST.length ? [...input.subarray(VALID_REQUEST.length, split)] : [...FRAME];
    assert.deepEqual(snapshot(result), { ...(expected as object), rest: restExpected }, `split ${split}`);
  }
});

test('three-way splits around the terminator are handled', () => {
  const input = bytes(VALID_REQUEST);
  const end = input.length;
  const expected = snapshot(parse(VALID_REQUEST));
  for (let a = end - 6; a <= end; a++) {
    for (let b = a; b <= end; b++) {
      const parser = new RequestHeadParser();
      const result = [input.subarray(0, a), input.subarray(a, b), input.subarray(b)].reduce<ParsedRequest | null>(
        (done, chunk) => done ?? parser.feed(chunk),
        null,
      );
      assert.ok(result !== null, `${a}/${b}`);
      assert.deepEqual(snapshot(result), expected, `${a}/${b}`);
    }
  }
});

test('leftover bytes after the head are preserved exactly', () => {
  const request = feedAll(new RequestHeadParser(), [concat(bytes(VALID_REQUEST), FRAME, bytes('\r\n\r\n'))]);
  assert.deepEqual([...request.rest], [...FRAME, 13, 10, 13, 10]);
  const split = new RequestHeadParser();
  assert.equal(split.feed(bytes(VALID_REQUEST.slice(0, -1))), null);
  const result = split.feed(concat(bytes('\n'), FRAME));
  assert.ok(result !== null);
  assert.deepEqual([...result.rest], [...FRAME]);
});

test('431 for a 17 KiB head, raised before its end arrives', () => {
  const parser = new RequestHeadParser();
  assert.equal(parser.feed(bytes('GET / HTTP/1.1\r\nX-Big: ')), null);
  const filler = bytes('a'.repeat(1024));
  let thrown: unknown;
  let fed = 0;
  try {
    for (; fed < 17; fed++) parser.feed(filler);
  } catch (error) {
    thrown = error;
  }
  assert.ok(thrown instanceof HandshakeError);
  assert.equal(thrown.status, 431);
  assert.equal(thrown.code, 'WS_HANDSHAKE_HEAD_TOO_LARGE');
  assert.equal(fed, 15, 'raised as soon as the 16 KiB limit was crossed');
});

test('431 for a 17 KiB head in a single chunk', () => {
  const head = requestHead('GET / HTTP/1.1', [`X-Big: ${'a'.repeat(17 * 1024)}`]);
  assertHandshakeError(() => parse(head), 431, 'WS_HANDSHAKE_HEAD_TOO_LARGE');
});

test('the size limit counts the terminator and is configurable', () => {
  const head = requestHead('GET / HTTP/1.1', ['Host: a']);
  assert.ok(new RequestHeadParser(head.length).feed(bytes(head)) !== null);
  assertHandshakeError(() => new RequestHeadParser(head.length - 1).feed(bytes(head)), 431);
});

test('the default limit is 16 KiB, the terminator included: 16,384 bytes parse, one more is 431 (the response parser too)', () => {
  assert.equal(DEFAULT_MAX_HEAD_BYTES, 16_384);
  const requestOf = (length: number): string => {
    const bare = requestHead('GET / HTTP/1.1', ['X-Fill: ']);
    return requestHead('GET / HTTP/1.1', [`X-Fill: ${'a'.repeat(length - bare.length)}`]);
  };
  assert.ok(new RequestHeadParser().feed(bytes(requestOf(16_384))) !== null);
  assertHandshakeError(() => new RequestHeadParser().feed(bytes(requestOf(16_385))), 431, 'WS_HANDSHAKE_HEAD_TOO_LARGE');
  const responseOf = (length: number): string => {
    const bare = requestHead('HTTP/1.1 101 Switching Protocols', ['X-Fill: ']);
    return requestHead('HTTP/1.1 101 Switching Protocols', [`X-Fill: ${'a'.repeat(length - bare.length)}`]);
  };
  assert.ok(new ResponseHeadParser().feed(bytes(responseOf(16_384))) !== null);
  assert.throws(() => new ResponseHeadParser().feed(bytes(responseOf(16_385))), { code: 'WS_RESPONSE_TOO_LARGE' });
});

test('the limit is on the bytes taken: a head still open at exactly the limit waits for more, one byte past it is 431', () => {
  const parser = new RequestHeadParser(64);
  assert.equal(parser.feed(bytes(`GET / HTTP/1.1\r\nX-Fill: ${'a'.repeat(64 - 24)}`)), null);
  assertHandshakeError(() => parser.feed(bytes('a')), 431, 'WS_HANDSHAKE_HEAD_TOO_LARGE');
});

test('431 for 1000 headers, raised before the end of the head arrives', () => {
  const parser = new RequestHeadParser();
  parser.feed(bytes('GET / HTTP/1.1\r\n'));
  let thrown: unknown;
  let fed = 0;
  try {
    for (; fed < 1000; fed++) parser.feed(bytes(`X-H${fed}: v\r\n`));
  } catch (error) {
    thrown = error;
  }
  assert.ok(thrown instanceof HandshakeError);
  assert.equal(thrown.status, 431);
  assert.equal(thrown.code, 'WS_HANDSHAKE_TOO_MANY_HEADERS');
  assert.equal(fed, 100, 'the 101st header line is refused');
  assertHandshakeError(() => parser.feed(bytes('\r\n')), 431, 'WS_HANDSHAKE_TOO_MANY_HEADERS');
});

test('exactly maxHeaders header lines are accepted', () => {
  const lines = Array.from({ length: 100 }, (_, index) => `X-H${index}: v`);
  assert.equal(parse(requestHead('GET / HTTP/1.1', lines)).headers.size, 100);
  assertHandshakeError(() => parse(requestHead('GET / HTTP/1.1', [...lines, 'X-Last: v'])), 431);
  assert.equal(feedAll(new RequestHeadParser(16384, 3), [bytes(requestHead('GET / HTTP/1.1', ['A: 1', 'B: 2', 'C: 3']))]).headers.size, 3);
});

test('RFC 7230 §3.2.4: obs-fold is rejected with 400', () => {
  assertHandshakeError(() => parse(requestHead('GET / HTTP/1.1', ['X-A: one', ' two'])), 400, 'WS_HANDSHAKE_MALFORMED_HEADER');
  assertHandshakeError(() => parse(requestHead('GET / HTTP/1.1', ['X-A: one', '\ttwo'])), 400);
});

test('RFC 7230 §3.2: header lines without a colon or with a bad name are rejected with 400', () => {
  for (const line of ['NoColon', ': empty-name', 'Bad Name: x', 'Host : x', 'X(y): z', 'X\xe9: z']) {
    assertHandshakeError(() => parse(requestHead('GET / HTTP/1.1', [line])), 400, 'WS_HANDSHAKE_MALFORMED_HEADER');
  }
});

test('RFC 7230 §3.2: control characters in values are rejected with 400', () => {
  for (const value of ['a\0b', 'a\rb', 'a\x7fb', 'a\x1bb']) {
    assertHandshakeError(() => parse(requestHead('GET / HTTP/1.1', [`X-A: ${value}`])), 400, 'WS_HANDSHAKE_MALFORMED_HEADER');
  }
  assert.equal(parse(requestHead('GET / HTTP/1.1', ['X-A: caf\xe9'])).headers.get('x-a'), 'caf\xe9');
});

test('RFC 7230 §3.5: a bare LF is rejected with 400 as soon as it arrives', () => {
  const parser = new RequestHeadParser();
  assertHandshakeError(() => parser.feed(bytes('GET / HTTP/1.1\nHost: a')), 400, 'WS_HANDSHAKE_MALFORMED_HEADER');
  assertHandshakeError(() => parse('GET / HTTP/1.1\r\nHost: a\n\r\n\r\n'), 400);
});

test('RFC 7230 §3.5: one empty line before the request line is ignored, however it is split', () => {
  const expected = snapshot(parse(VALID_REQUEST));
  const led = bytes(`\r\n${VALID_REQUEST}`);
  assert.deepEqual(snapshot(feedAll(new RequestHeadParser(), [led])), expected);
  assert.deepEqual(snapshot(feedAll(new RequestHeadParser(), [...led].map((byte) => new Uint8Array([byte])))), expected);
  assert.deepEqual(snapshot(feedAll(new RequestHeadParser(), [led.subarray(0, 1), new Uint8Array(0), led.subarray(1, 3), led.subarray(3)])), expected);
  assert.deepEqual(snapshot(feedAll(new RequestHeadParser(), [new Uint8Array(0), led])), expected, 'an empty chunk first');
  // Only one: a second empty line ends an empty head; a CR alone is no line end.
  assertHandshakeError(() => parse(`\r\n\r\n${VALID_REQUEST}`), 400, 'WS_HANDSHAKE_MALFORMED_REQUEST_LINE');
  assertHandshakeError(() => parse(`\r${VALID_REQUEST}`), 400, 'WS_HANDSHAKE_MALFORMED_REQUEST_LINE');
});

test('RFC 7230 §3.1.1: malformed request lines are rejected with 400', () => {
  for (const line of [
    '',
    'GET',
    'GET /',
    'GET  / HTTP/1.1',
    'GET  HTTP/1.1', // an empty request-target
    'GET / HTTP/1.1 ',
    'GET /a b HTTP/1.1',
    'G@T / HTTP/1.1',
    'GET / HTTP/1.1x',
    'GET / HTTP/11',
    'GET / http/1.1',
    'GET / HTTP/a.1',
    'GET /\xe9 HTTP/1.1',
    ' GET / HTTP/1.1',
  ]) {
    assertHandshakeError(() => parse(requestHead(line, ['Host: a'])), 400, 'WS_HANDSHAKE_MALFORMED_REQUEST_LINE');
  }
});

test('RFC 6455 §4.1: HTTP versions below 1.1 are refused with 505; later 1.x minors are accepted', () => {
  for (const version of ['HTTP/1.0', 'HTTP/0.9', 'HTTP/2.0', 'HTTP/9.9']) {
    assertHandshakeError(() => parse(requestHead(`GET / ${version}`, ['Host: a'])), 505, 'WS_HANDSHAKE_HTTP_VERSION');
  }
  assert.equal(parse(requestHead('GET / HTTP/1.2', ['Host: a'])).version, 'HTTP/1.2');
});

test('keeps the raw request target, including absolute form', () => {
  assert.equal(parse(requestHead('GET /a%20b/c?x=1&y=%2F HTTP/1.1', [])).target, '/a%20b/c?x=1&y=%2F');
  assert.equal(parse(requestHead('GET http://h:8080/p?q HTTP/1.1', [])).target, 'http://h:8080/p?q');
});

test('a head with no header lines parses', () => {
  const request = parse('GET / HTTP/1.1\r\n\r\n');
  assert.equal(request.headers.size, 0);
});

test('a failed parser keeps failing, and a finished one refuses more input', () => {
  const failed = new RequestHeadParser();
  assertHandshakeError(() => failed.feed(bytes('BAD\r\n\r\n')), 400);
  assertHandshakeError(() => failed.feed(bytes(VALID_REQUEST)), 400);
  const finished = new RequestHeadParser();
  assert.ok(finished.feed(bytes(VALID_REQUEST)) !== null);
  assert.throws(() => finished.feed(bytes('x')), (error: HeadCompleteError) => error instanceof HeadCompleteError && error.code === 'WS_ERR_HEAD_COMPLETE');
});

test('rejects nonsensical limits', () => {
  assert.throws(() => new RequestHeadParser(0), RangeError);
  assert.throws(() => new RequestHeadParser(16384, -1), RangeError);
  assert.throws(() => new RequestHeadParser(Number.NaN), RangeError);
});

test('the header lines fixture round-trips through the parser', () => {
  const request = parse(VALID_REQUEST);
  assert.deepEqual(
    [...request.headers].map(([name, value]) => `${name}: ${value}`),
    VALID_HEADER_LINES.map((line) => {
      const colon = line.indexOf(':');
      return `${line.slice(0, colon).toLowerCase()}${line.slice(colon)}`;
    }),
  );
});
