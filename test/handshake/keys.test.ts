import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';

import { computeAccept, generateKey, isValidKey, WEBSOCKET_GUID } from '../../src/handshake/index.ts';
import { RFC_ACCEPT, RFC_KEY } from './helpers.ts';
import { nodeComputeAccept } from '../../src/handshake/node-accept.ts';

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

test('generateKey takes its random bytes from the source it is given (no Web Crypto needed)', () => {
  const key = generateKey((target) => target.fill(0xff));
  assert.equal(key, Buffer.alloc(16, 0xff).toString('base64'));
});

test("the Node adapters' accept value (node:crypto) equals the plain TypeScript one, key for key", () => {
  assert.equal(nodeComputeAccept(RFC_KEY), RFC_ACCEPT);
  for (let i = 0; i < 200; i++) {
    const key = randomBytes(16).toString('base64');
    assert.equal(computeAccept(key), nodeComputeAccept(key), key);
  }
});
