import assert from 'node:assert/strict';
import { test } from 'node:test';

import { computeAccept, generateKey, isValidKey, WEBSOCKET_GUID } from '../../src/handshake/index.ts';
import { RFC_ACCEPT, RFC_KEY } from './helpers.ts';

test('RFC 6455 §1.3: the sample key yields the sample accept value', () => {
  assert.equal(computeAccept(RFC_KEY), RFC_ACCEPT);
});

test('RFC 6455 §1.3: the GUID is the one the RFC fixes', () => {
  assert.equal(WEBSOCKET_GUID, '258EAFA5-E914-47DA-95CA-C5AB0DC85B11');
});

test('RFC 6455 §4.1 item 7: generated keys are base64 of 16 random bytes, fresh each time', () => {
  const keys = new Set<string>();
  for (let i = 0; i < 64; i++) {
    const key = generateKey();
    assert.ok(isValidKey(key), key);
    assert.equal(Buffer.from(key, 'base64').length, 16);
    keys.add(key);
  }
  assert.equal(keys.size, 64);
});

test('RFC 6455 §4.2.1 item 5: isValidKey accepts exactly base64 of 16 bytes', () => {
  assert.ok(isValidKey(RFC_KEY));
  assert.ok(isValidKey('AAAAAAAAAAAAAAAAAAAAAA=='));
  assert.ok(isValidKey('+/+/+/+/+/+/+/+/+/+/+w=='));
  for (const bad of [
    '',
    'dGhlIHNhbXBsZSBub25jZQ', // missing padding
    'dGhlIHNhbXBsZSBub25jZQ=', // one pad
    'dGhlIHNhbXBsZSBub25jZQ==x',
    'dGhlIHNhbXBsZSBub25jZ===', // 15 bytes
    'dGhlIHNhbXBsZSBub25jZWVl', // 18 bytes
    'dGhlIHNhbXBsZSBub25jZ-==', // base64url digit
    'dGhlIHNhbXBsZSBub25jZ ==',
    Buffer.alloc(17).toString('base64'),
    Buffer.alloc(15).toString('base64'),
  ]) {
    assert.equal(isValidKey(bad), false, bad);
  }
});
