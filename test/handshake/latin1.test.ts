import assert from 'node:assert/strict';
import { test } from 'node:test';

import fc from 'fast-check';

import { latin1Decode, latin1Encode } from '../../src/handshake/index.ts';

test('latin1Decode maps every byte to the code point of the same value', () => {
  const all = new Uint8Array(256).map((_, index) => index);
  const text = latin1Decode(all);
  assert.equal(text.length, 256);
  for (let code = 0; code < 256; code++) assert.equal(text.charCodeAt(code), code);
});

test('latin1Decode is not fooled by UTF-8, a BOM or windows-1252 ranges', () => {
  assert.equal(latin1Decode(new Uint8Array([0xc3, 0xa9])), '\xc3\xa9');
  assert.equal(latin1Decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x41])), '\xef\xbb\xbfA');
  assert.equal(latin1Decode(new Uint8Array([0x80, 0x9f])), '\x80\x9f');
  assert.equal(latin1Decode(new Uint8Array([0xf0, 0x9f, 0x98, 0x80])), '\xf0\x9f\x98\x80');
  assert.equal(latin1Decode(new Uint8Array(0)), '');
});

test('latin1Decode handles inputs longer than one decoding chunk', () => {
  const long = new Uint8Array(10_000).map((_, index) => (index * 7) & 0xff);
  assert.equal(latin1Decode(long), Buffer.from(long).toString('latin1'));
});

test('property: latin1Decode agrees with Buffer latin1 and inverts latin1Encode', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600, size: 'max' }), (input) => {
      const text = latin1Decode(input);
      assert.equal(text, Buffer.from(input).toString('latin1'));
      assert.deepEqual(latin1Encode(text), input);
    }),
  );
});

test('latin1Encode refuses code points above 255', () => {
  assert.deepEqual([...latin1Encode('A\xff')], [0x41, 0xff]);
  assert.throws(() => latin1Encode('\u0100'), RangeError);
  assert.throws(() => latin1Encode('\u{1f600}'), RangeError);
});
