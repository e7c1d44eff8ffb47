import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  encodeFrame,
  encodeFrameParts,
  headerLength,
  MAX_16BIT_LENGTH,
  MAX_7BIT_LENGTH,
  MAX_HEADER_LENGTH,
  writeHeader,
} from '../../src/frame/encoder.ts';
import { Opcode } from '../../src/frame/opcode.ts';
import { hex, toHex, utf8 } from './helpers.ts';

const RFC_KEY = hex('37 fa 21 3d');
const HELLO = utf8('Hello');

/** 0x00, 0x01, … wrapping: recognisable payload bytes. */
function counting(length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = i & 0xff;
  return out;
}

describe('RFC 6455 §5.7 examples, encoded byte for byte', () => {
  test('§5.7 a single-frame unmasked text message "Hello" is 81 05 48 65 6c 6c 6f', () => {
    assert.equal(toHex(encodeFrame({ opcode: Opcode.Text, payload: HELLO })), '81 05 48 65 6c 6c 6f');
  });

  test('§5.7 a single-frame masked text message "Hello" is 81 85 37 fa 21 3d 7f 9f 4d 51 58', () => {
    const payload = HELLO.slice();
    assert.equal(toHex(encodeFrame({ opcode: Opcode.Text, payload, maskKey: RFC_KEY })), '81 85 37 fa 21 3d 7f 9f 4d 51 58');
    assert.deepEqual(payload, HELLO, 'the caller’s payload is not masked in place');
  });

  test('§5.7 a fragmented unmasked text message: 01 03 48 65 6c, then 80 02 6c 6f', () => {
    assert.equal(toHex(encodeFrame({ opcode: Opcode.Text, fin: false, payload: utf8('Hel') })), '01 03 48 65 6c');
    assert.equal(toHex(encodeFrame({ opcode: Opcode.Continuation, payload: utf8('lo') })), '80 02 6c 6f');
  });

  test('§5.7 an unmasked ping "Hello" is 89 05 48 65 6c 6c 6f', () => {
    assert.equal(toHex(encodeFrame({ opcode: Opcode.Ping, payload: HELLO })), '89 05 48 65 6c 6c 6f');
  });

  test('§5.7 a masked pong "Hello" is 8a 85 37 fa 21 3d 7f 9f 4d 51 58', () => {
    assert.equal(toHex(encodeFrame({ opcode: Opcode.Pong, payload: HELLO, maskKey: RFC_KEY })), '8a 85 37 fa 21 3d 7f 9f 4d 51 58');
  });

  test('§5.7 256 bytes of binary data in one unmasked frame: 82 7e 01 00 + data', () => {
    const data = counting(256);
    const frame = encodeFrame({ opcode: Opcode.Binary, payload: data });
    assert.equal(frame.length, 4 + 256);
    assert.equal(toHex(frame.subarray(0, 4)), '82 7e 01 00');
    assert.deepEqual(frame.subarray(4), data);
  });

  test('§5.7 64 KiB of binary data in one unmasked frame: 82 7f 00 00 00 00 00 01 00 00 + data', () => {
    const data = counting(65536);
    const frame = encodeFrame({ opcode: Opcode.Binary, payload: data });
    assert.equal(frame.length, 10 + 65536);
    assert.equal(toHex(frame.subarray(0, 10)), '82 7f 00 00 00 00 00 01 00 00');
    assert.deepEqual(frame.subarray(10), data);
  });
});

describe('RFC 6455 §5.2 header layout', () => {
  test('§5.2 the minimal length encoding decides the header size: 2, 4 or 10 bytes, plus 4 when masked', () => {
    const cases: [number, number][] = [
      [0, 2],
      [1, 2],
      [125, 2],
      [126, 4],
      [65535, 4],
      [65536, 10],
      [2 ** 32, 10],
      [Number.MAX_SAFE_INTEGER, 10],
    ];
    for (const [length, size] of cases) {
      assert.equal(headerLength(length, false), size, `unmasked ${length}`);
      assert.equal(headerLength(length, true), size + 4, `masked ${length}`);
    }
    assert.equal(MAX_7BIT_LENGTH, 125);
    assert.equal(MAX_16BIT_LENGTH, 65535);
    assert.equal(MAX_HEADER_LENGTH, 14);
  });

  test('§5.2 payload length 125 uses the 7-bit field and 126 the 16-bit field', () => {
    assert.equal(toHex(encodeFrame({ opcode: Opcode.Binary, payload: new Uint8Array(125) }).subarray(0, 2)), '82 7d');
    assert.equal(toHex(encodeFrame({ opcode: Opcode.Binary, payload: new Uint8Array(126) }).subarray(0, 4)), '82 7e 00 7e');
    assert.equal(toHex(encodeFrame({ opcode: Opcode.Binary, payload: new Uint8Array(65535) }).subarray(0, 4)), '82 7e ff ff');
  });

  test('§5.2 a 64-bit length is written big-endian with the most significant bit clear', () => {
    const target = new Uint8Array(10);
    assert.equal(writeHeader(target, 0, Opcode.Binary, true, false, 2 ** 32 + 0x01020304, null), 10);
    assert.equal(toHex(target), '82 7f 00 00 00 01 01 02 03 04');
    assert.equal(writeHeader(target, 0, Opcode.Binary, true, false, 2 ** 53 - 1, null), 10);
    assert.equal(toHex(target), '82 7f 00 1f ff ff ff ff ff ff');
  });

  test('§5.2 FIN, RSV1 and the opcode share the first byte', () => {
    const target = new Uint8Array(2);
    writeHeader(target, 0, Opcode.Text, false, false, 0, null);
    assert.equal(toHex(target), '01 00');
    writeHeader(target, 0, Opcode.Text, true, true, 0, null);
    assert.equal(toHex(target), 'c1 00');
    writeHeader(target, 0, Opcode.Continuation, false, false, 3, null);
    assert.equal(toHex(target), '00 03');
    writeHeader(target, 0, Opcode.Close, true, false, 2, null);
    assert.equal(toHex(target), '88 02');
    assert.equal(toHex(encodeFrame({ opcode: Opcode.Binary, rsv1: true, fin: false, payload: new Uint8Array(0) })), '42 00');
  });

  test('§5.2 every 4-bit opcode is written, reserved ones too; one past 4 bits, or a key not of 4 bytes (§5.3), is a RangeError', () => {
    for (let opcode = 0; opcode <= 0x0f; opcode++) {
      assert.equal(encodeFrame({ opcode, payload: new Uint8Array(0) })[0], 0x80 | opcode);
    }
    for (const opcode of [-1, 0x10, 1.5, Number.NaN]) {
      assert.throws(() => encodeFrame({ opcode, payload: new Uint8Array(0) }), { name: 'RangeError', message: /an opcode is 4 bits \(RFC 6455 §5\.2\)/ });
    }
    for (const length of [0, 3, 5]) {
      assert.throws(() => encodeFrame({ opcode: Opcode.Binary, payload: new Uint8Array(1), maskKey: new Uint8Array(length) }), {
        name: 'RangeError',
        message: /a masking key is 4 bytes \(RFC 6455 §5\.3\)/,
      });
    }
  });

  test('§5.2 writeHeader writes at an offset, takes the key from an offset in a pool, and returns the end', () => {
    const target = new Uint8Array(20).fill(0xee);
    const pool = hex('00 11 22 33 37 fa 21 3d 44');
    const end = writeHeader(target, 3, Opcode.Text, true, false, 300, pool, 4);
    assert.equal(end, 3 + 8);
    assert.equal(toHex(target), 'ee ee ee 81 fe 01 2c 37 fa 21 3d ee ee ee ee ee ee ee ee ee');
  });

  test('§5.3 the MASK bit is set in each length form', () => {
    assert.equal(toHex(encodeFrame({ opcode: Opcode.Binary, payload: new Uint8Array(0), maskKey: RFC_KEY })), '82 80 37 fa 21 3d');
    assert.equal(toHex(encodeFrame({ opcode: Opcode.Binary, payload: new Uint8Array(126), maskKey: RFC_KEY }).subarray(0, 8)), '82 fe 00 7e 37 fa 21 3d');
    assert.equal(
      toHex(encodeFrame({ opcode: Opcode.Binary, payload: new Uint8Array(65536), maskKey: RFC_KEY }).subarray(0, 14)),
      '82 ff 00 00 00 00 00 01 00 00 37 fa 21 3d',
    );
  });
});

describe('encodeFrameParts ownership', () => {
  test('an unmasked payload is returned as the caller’s own array, not a copy', () => {
    const payload = utf8('no copy');
    const [header, body] = encodeFrameParts({ opcode: Opcode.Text, payload });
    assert.equal(toHex(header), '81 07');
    assert.equal(body, payload);
  });

  test('§5.3 a masked payload is a masked copy; the caller’s array is unchanged', () => {
    const payload = HELLO.slice();
    const [header, body] = encodeFrameParts({ opcode: Opcode.Text, payload, maskKey: RFC_KEY });
    assert.equal(toHex(header), '81 85 37 fa 21 3d');
    assert.notEqual(body, payload);
    assert.equal(toHex(body), '7f 9f 4d 51 58');
    assert.deepEqual(payload, HELLO);
  });

  test('a null maskKey means unmasked', () => {
    assert.equal(toHex(encodeFrame({ opcode: Opcode.Ping, payload: new Uint8Array(0), maskKey: null })), '89 00');
  });
});
