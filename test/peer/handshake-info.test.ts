import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { test } from 'node:test';

import { HeaderList } from '../../src/handshake/headers.ts';
import { ParsedHandshakeInfo } from '../../src/peer/handshake-info.ts';

function fields(lines: [string, string][]): HeaderList {
  const list = new HeaderList();
  for (const [name, value] of lines) list.append(name, value);
  return list;
}

test('handshake info: headers by lower-case name, repeated fields joined, built once', () => {
  const info = new ParsedHandshakeInfo('/chat?x=1', fields([['Host', 'a.test'], ['X-Tag', 'one'], ['x-tag', 'two']]), 'v1', '');
  assert.equal(info.path, '/chat?x=1');
  assert.equal(info.protocol, 'v1');
  assert.equal(info.headers.host, 'a.test');
  assert.equal(info.headers['x-tag'], 'one, two');
  assert.equal(info.headers, info.headers, 'the same record on every read');
  assert.deepEqual(Object.keys(info.headers), ['host', 'x-tag']);
});

test('handshake info: a header named __proto__ is kept as a field, not taken as a prototype', () => {
  const info = new ParsedHandshakeInfo('/', fields([['__proto__', 'x'], ['constructor', 'y']]), '', '');
  assert.equal(Object.getPrototypeOf(info.headers), null);
  assert.equal(Object.getOwnPropertyDescriptor(info.headers, '__proto__')?.value, 'x');
  assert.equal(info.headers.constructor, 'y');
});

test('handshake info: JSON and util.inspect show the four fields, headers included', () => {
  const info = new ParsedHandshakeInfo('/p', fields([['Host', 'h']]), '', 'permessage-deflate');
  assert.deepEqual(JSON.parse(JSON.stringify(info)), { path: '/p', headers: { host: 'h' }, protocol: '', extensions: 'permessage-deflate' });
  const shown = inspect(info);
  assert.match(shown, /path: '\/p'/);
  assert.match(shown, /host: 'h'/);
  assert.match(shown, /extensions: 'permessage-deflate'/);
});
