import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  equalsIgnoreAsciiCase,
  HandshakeError,
  HeaderList,
  isFieldValue,
  isToken,
  listContainsToken,
  parseTokenList,
  splitList,
  trimOws,
} from '../../src/handshake/index.ts';

test('RFC 7230 §3.2.6: tokens exclude delimiters, spaces and controls', () => {
  assert.ok(isToken("!#$%&'*+-.^_`|~09AZaz"));
  for (const bad of ['', 'a b', 'a,b', 'a;b', 'a"b', 'a/b', 'a:b', 'a=b', 'a\tb', 'é', 'a\x7f', '{x}']) {
    assert.equal(isToken(bad), false, JSON.stringify(bad));
  }
});

test('RFC 7230 §3.2.6: the token alphabet is exactly VCHAR minus the delimiters', () => {
  const delimiters = '"(),/:;<=>?@[\\]{}';
  for (let code = 0; code < 256; code++) {
    const char = String.fromCharCode(code);
    const expected = code > 0x20 && code < 0x7f && !delimiters.includes(char);
    assert.equal(isToken(char), expected, `char code ${code}`);
    assert.equal(isToken(`a${char}b`), expected, `char code ${code} inside`);
  }
});

test('RFC 7230 §3.2: field values reject CR, LF and other controls but allow obs-text', () => {
  assert.ok(isFieldValue('text/plain; q=0.5\tand more'));
  assert.ok(isFieldValue('caf\xe9'));
  assert.ok(isFieldValue(''));
  for (const bad of ['a\r\nX-Injected: 1', 'a\n', 'a\r', 'a\0', 'a\x7f', 'a\u0100']) {
    assert.equal(isFieldValue(bad), false, JSON.stringify(bad));
  }
});

test('RFC 7230 §3.2.3: trimOws strips only SP and HTAB', () => {
  assert.equal(trimOws(' \t value \t '), 'value');
  assert.equal(trimOws('\xa0value\xa0'), '\xa0value\xa0');
  assert.equal(trimOws('   '), '');
});

test('RFC 7230 §7: lists tolerate OWS and empty elements', () => {
  assert.deepEqual(splitList(' a ,, b\t,c , '), ['a', 'b', 'c']);
  assert.deepEqual(splitList(''), []);
  assert.deepEqual(splitList(' , ,'), []);
  assert.deepEqual(parseTokenList('chat ,superchat,,'), ['chat', 'superchat']);
});

test('RFC 7230 §7: parseTokenList rejects non-token elements with 400', () => {
  assert.throws(
    () => parseTokenList('chat, super chat'),
    (error: unknown) => error instanceof HandshakeError && error.status === 400 && error.code === 'WS_HANDSHAKE_BAD_TOKEN_LIST',
  );
});

test('RFC 6455 §4.2.1 items 3-4: token lists compare ASCII case-insensitively', () => {
  assert.ok(listContainsToken('keep-alive, Upgrade', 'upgrade'));
  assert.ok(listContainsToken('WebSocket', 'websocket'));
  assert.ok(!listContainsToken('upgrades', 'upgrade'));
  assert.ok(!listContainsToken(undefined, 'upgrade'));
  assert.ok(equalsIgnoreAsciiCase('ABCxyz', 'abcXYZ'));
  // Every edge of both ranges, either way round: A and Z against a and z; @ [ ` { fold to nothing.
  for (const [upper, lower] of [['AZ', 'az'], ['az', 'AZ']]) assert.ok(equalsIgnoreAsciiCase(upper!, lower!), `${upper} ${lower}`);
  for (const [a, b] of [['@', '`'], ['`', '@'], ['[', '{'], ['{', '[']]) assert.ok(!equalsIgnoreAsciiCase(a!, b!), `${a} ${b}`);
  assert.ok(!equalsIgnoreAsciiCase('\xc9', '\xe9'));
  assert.ok(!equalsIgnoreAsciiCase('[', '{'));
});

test('HeaderList joins repeated fields but keeps each occurrence', () => {
  const headers = new HeaderList();
  headers.append('Set-Cookie', 'a=1');
  headers.append('X-Other', 'x');
  headers.append('set-cookie', 'b=2');
  assert.equal(headers.get('SET-COOKIE'), 'a=1, b=2');
  assert.deepEqual(headers.getAll('set-cookie'), ['a=1', 'b=2']);
  assert.deepEqual(headers.getAll('missing'), []);
  assert.equal(headers.get('missing'), undefined);
  assert.equal(headers.size, 3);
  assert.deepEqual([...headers.names()], ['set-cookie', 'x-other']);
  assert.deepEqual([...headers], [
    ['set-cookie', 'a=1'],
    ['x-other', 'x'],
    ['set-cookie', 'b=2'],
  ]);
  assert.deepEqual({ ...headers.toRecord() }, { 'set-cookie': 'a=1, b=2', 'x-other': 'x' });
});

test('HeaderList.toRecord is safe for a __proto__ field and inherits nothing', () => {
  const headers = new HeaderList();
  headers.append('__proto__', 'x');
  headers.append('Host', 'h');
  const record = headers.toRecord();
  assert.equal(Object.getOwnPropertyDescriptor(record, '__proto__')?.value, 'x');
  assert.deepEqual(Object.keys(record), ['__proto__', 'host']);
  for (const inherited of ['constructor', 'toString', 'hasOwnProperty', 'valueOf']) assert.equal(record[inherited], undefined, inherited);
  assert.equal(Object.getPrototypeOf(Object.getPrototypeOf(record)), null);
  assert.ok(Object.isFrozen(Object.getPrototypeOf(record)), 'no one can add a field to every record');
  assert.deepEqual(JSON.parse(JSON.stringify(record)), { ['__proto__']: 'x', host: 'h' });
});
