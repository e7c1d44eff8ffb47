/**
 * The plain TypeScript SHA-1 and base64 behind `computeAccept` in the protocol core: the
 * FIPS 180-4 examples, every padding boundary against `node:crypto`, and base64 against
 * Node's own encoder.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { test } from 'node:test';

import { base64Encode, sha1 } from '../../src/handshake/sha1.ts';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);

test('SHA-1 of the FIPS 180 examples: "abc", the two-block message, and the empty message', () => {
  assert.equal(hex(sha1(ascii('abc'))), 'a9993e364706816aba3e25717850c26c9cd0d89d');
  assert.equal(hex(sha1(ascii('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'))), '84983e441c3bd26ebaae4aa1f95129e5e54670f1');
  assert.equal(hex(sha1(new Uint8Array(0))), 'da39a3ee5e6b4b0d3255bfef95601890afd80709');
});

test('SHA-1 of a million "a"s (the FIPS 180 long example: many blocks, a length past 16 bits)', () => {
  assert.equal(hex(sha1(new Uint8Array(1_000_000).fill(0x61))), '34aa973cd4c4daa4f61eeb2bdbad27316534016f');
});

test('SHA-1 equals node:crypto at every length from 0 to 300 bytes (each padding boundary: 55, 56, 63, 64, 119, 120 …)', () => {
  for (let length = 0; length <= 300; length++) {
    const message = randomBytes(length);
    assert.equal(hex(sha1(message)), createHash('sha1').update(message).digest('hex'), `length ${length}`);
  }
});

test('SHA-1 reads a view at its own offset, not from the start of its buffer', () => {
  const backing = randomBytes(200);
  const view = backing.subarray(37, 137);
  assert.equal(hex(sha1(view)), createHash('sha1').update(view).digest('hex'));
});

test('base64 (RFC 4648 §4) equals Buffer\'s at every length from 0 to 64 bytes, padding included', () => {
  assert.equal(base64Encode(ascii('foobar')), 'Zm9vYmFy'); // RFC 4648 §10
  assert.equal(base64Encode(ascii('fo')), 'Zm8=');
  assert.equal(base64Encode(ascii('f')), 'Zg==');
  for (let length = 0; length <= 64; length++) {
    const bytes = randomBytes(length);
    assert.equal(base64Encode(bytes), bytes.toString('base64'), `length ${length}`);
  }
});
