import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { FrameDecoder } from '../../src/frame/decoder.ts';
import { encodeFrame, type FrameSpec } from '../../src/frame/encoder.ts';
import type { ProtocolErrorCode } from '../../src/frame/errors.ts';
import { ProtocolError } from '../../src/frame/errors.ts';
import { simdReadRegion } from '../../src/frame/mask-simd.ts';
import { Opcode } from '../../src/frame/opcode.ts';
import { concat, decodeAll, feedInPlace, hex, randomBytes, RecordingSink, seededRandom, toHex, utf8, type DecodedFrame, type InPlaceFeed } from './helpers.ts';

const LIMIT = 64 * 1024 * 1024;
const RFC_KEY = hex('37 fa 21 3d');

/** A decoder for frames sent by a server (a client's decoder) or by a client (a server's). */
function decoderFor(from: 'server' | 'client', maxMessageSize = LIMIT, allowRsv1 = false): [FrameDecoder, RecordingSink] {
  const sink = new RecordingSink();
  return [new FrameDecoder(sink, { expectMasked: from === 'client', maxMessageSize, allowRsv1 }), sink];
}

function frame(opcode: number, fin: boolean, payload: Uint8Array | string, rsv1 = false): DecodedFrame {
  return { opcode, fin, rsv1, payload: typeof payload === 'string' ? utf8(payload) : payload };
}

function counting(length: number, start = 0): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (start + i) & 0xff;
  return out;
}

/** Asserts that `sink` saw exactly one error, and it is this one. */
function assertFailed(sink: RecordingSink, code: ProtocolErrorCode, closeCode: number, section: string): void {
  assert.equal(sink.errors.length, 1, `one error expected, got ${sink.errors.map((e) => e.code).join(', ')}`);
  const error = sink.errors[0]!;
  assert.ok(error instanceof ProtocolError);
  assert.equal(error.code, code);
  assert.equal(error.closeCode, closeCode);
  assert.equal(error.section, section);
  assert.ok(error.message.endsWith(`(${section})`), error.message);
}

describe('RFC 6455 §5.7 examples, decoded byte for byte', () => {
  test('§5.7 the client reads the unmasked text frame 81 05 48 65 6c 6c 6f as "Hello"', () => {
    const sink = decodeAll(hex('81 05 48 65 6c 6c 6f'), false);
    assert.deepEqual(sink.frames, [frame(Opcode.Text, true, 'Hello')]);
    assert.deepEqual(sink.errors, []);
  });

  test('§5.7 the server reads the masked text frame 81 85 37 fa 21 3d 7f 9f 4d 51 58 as "Hello"', () => {
    const sink = decodeAll(hex('81 85 37 fa 21 3d 7f 9f 4d 51 58'), true);
    assert.deepEqual(sink.frames, [frame(Opcode.Text, true, 'Hello')]);
  });

  test('§5.7 the client reads the fragmented text frames 01 03 48 65 6c / 80 02 6c 6f', () => {
    const sink = decodeAll(hex('01 03 48 65 6c 80 02 6c 6f'), false);
    assert.deepEqual(sink.frames, [frame(Opcode.Text, false, 'Hel'), frame(Opcode.Continuation, true, 'lo')]);
  });

  test('§5.7 the client reads the unmasked ping 89 05 48 65 6c 6c 6f', () => {
    const sink = decodeAll(hex('89 05 48 65 6c 6c 6f'), false);
    assert.deepEqual(sink.frames, [frame(Opcode.Ping, true, 'Hello')]);
  });

  test('§5.7 the server reads the masked pong 8a 85 37 fa 21 3d 7f 9f 4d 51 58', () => {
    const sink = decodeAll(hex('8a 85 37 fa 21 3d 7f 9f 4d 51 58'), true);
    assert.deepEqual(sink.frames, [frame(Opcode.Pong, true, 'Hello')]);
  });

  test('§5.7 the client reads 256 bytes of binary data after 82 7e 01 00', () => {
    const data = counting(256);
    const sink = decodeAll(concat([hex('82 7e 01 00'), data]), false);
    assert.deepEqual(sink.frames, [frame(Opcode.Binary, true, data)]);
  });

  test('§5.7 the client reads 64 KiB of binary data after 82 7f 00 00 00 00 00 01 00 00', () => {
    const data = counting(65536, 7);
    const sink = decodeAll(concat([hex('82 7f 00 00 00 00 00 01 00 00'), data]), false);
    assert.equal(sink.frames.length, 1);
    assert.deepEqual(sink.frames[0], frame(Opcode.Binary, true, data));
  });

  test('§5.7 every example decodes back to what the encoder produced, masked to a server', () => {
    const specs: FrameSpec[] = [
      { opcode: Opcode.Text, payload: utf8('Hello') },
      { opcode: Opcode.Text, fin: false, payload: utf8('Hel') },
      { opcode: Opcode.Ping, payload: utf8('Hello') },
      { opcode: Opcode.Continuation, payload: utf8('lo') },
      { opcode: Opcode.Binary, payload: counting(256) },
      { opcode: Opcode.Binary, payload: counting(65536) },
    ];
    const sink = decodeAll(specs.map((spec) => encodeFrame({ ...spec, maskKey: RFC_KEY })), true);
    assert.deepEqual(
      sink.frames,
      specs.map((spec) => frame(spec.opcode, spec.fin ?? true, spec.payload)),
    );
  });
});

describe('RFC 6455 §5.2–§5.5 header rules: the connection fails with 1002', () => {
  type Rule = [name: string, from: 'server' | 'client', bytes: string, code: ProtocolErrorCode, section: string];
  const rules: Rule[] = [
    ['§5.2 RSV1 set with no extension negotiated', 'server', 'c1 00', 'WS_ERR_RESERVED_BITS', 'RFC 6455 §5.2'],
    ['§5.2 RSV2 set', 'server', 'a1 00', 'WS_ERR_RESERVED_BITS', 'RFC 6455 §5.2'],
    ['§5.2 RSV3 set', 'server', '91 00', 'WS_ERR_RESERVED_BITS', 'RFC 6455 §5.2'],
    ['§5.2 RSV2 set on a masked client frame', 'client', 'a2 80 00 00 00 00', 'WS_ERR_RESERVED_BITS', 'RFC 6455 §5.2'],
    ['§5.1 a server fails an unmasked client frame', 'client', '81 01 61', 'WS_ERR_UNMASKED_FRAME', 'RFC 6455 §5.1'],
    ['§5.1 a server fails an unmasked client ping', 'client', '89 00', 'WS_ERR_UNMASKED_FRAME', 'RFC 6455 §5.1'],
    ['§5.1 a client fails a masked server frame', 'server', '81 81 00 00 00 00 61', 'WS_ERR_MASKED_FRAME', 'RFC 6455 §5.1'],
    ['§5.1 a client fails a masked server close', 'server', '88 80 01 02 03 04', 'WS_ERR_MASKED_FRAME', 'RFC 6455 §5.1'],
    ['§5.5 a ping with FIN clear', 'server', '09 00', 'WS_ERR_CONTROL_FRAGMENTED', 'RFC 6455 §5.5'],
    ['§5.5 a close with FIN clear', 'client', '08 80 00 00 00 00', 'WS_ERR_CONTROL_FRAGMENTED', 'RFC 6455 §5.5'],
    ['§5.5 a pong with FIN clear', 'server', '0a 00', 'WS_ERR_CONTROL_FRAGMENTED', 'RFC 6455 §5.5'],
    ['§5.5 a ping with a 126-byte payload', 'server', `89 7e 00 7e ${'00 '.repeat(126)}`, 'WS_ERR_CONTROL_TOO_LONG', 'RFC 6455 §5.5'],
    ['§5.5 a close with a 64-bit length', 'server', '88 7f 00 00 00 00 00 01 00 00', 'WS_ERR_CONTROL_TOO_LONG', 'RFC 6455 §5.5'],
    ['§5.5 a masked pong with a 126-byte payload', 'client', '8a fe 00 7e 00 00 00 00', 'WS_ERR_CONTROL_TOO_LONG', 'RFC 6455 §5.5'],
    ['§5.2 a 64-bit length with the most significant bit set', 'server', '82 7f 80 00 00 00 00 00 00 00', 'WS_ERR_LENGTH_TOO_LARGE', 'RFC 6455 §5.2'],
    ['§5.2 a 64-bit length of 2^64-1', 'client', '82 ff ff ff ff ff ff ff ff ff 00 00 00 00', 'WS_ERR_LENGTH_TOO_LARGE', 'RFC 6455 §5.2'],
    ['§5.2 a 16-bit length of 5 (non-minimal)', 'server', '82 7e 00 05 01 02 03 04 05', 'WS_ERR_NON_MINIMAL_LENGTH', 'RFC 6455 §5.2'],
    ['§5.2 a 16-bit length of 125 (non-minimal)', 'server', '82 7e 00 7d', 'WS_ERR_NON_MINIMAL_LENGTH', 'RFC 6455 §5.2'],
    ['§5.2 a 16-bit length of 0 (non-minimal)', 'client', '82 fe 00 00 00 00 00 00', 'WS_ERR_NON_MINIMAL_LENGTH', 'RFC 6455 §5.2'],
    ['§5.2 a 64-bit length of 5 (non-minimal)', 'server', '82 7f 00 00 00 00 00 00 00 05', 'WS_ERR_NON_MINIMAL_LENGTH', 'RFC 6455 §5.2'],
    ['§5.2 a 64-bit length of 65535 (non-minimal)', 'server', '82 7f 00 00 00 00 00 00 ff ff', 'WS_ERR_NON_MINIMAL_LENGTH', 'RFC 6455 §5.2'],
    ['§5.4 a continuation with no message in progress', 'server', '80 01 61', 'WS_ERR_UNEXPECTED_CONTINUATION', 'RFC 6455 §5.4'],
    ['§5.4 a continuation after a complete message', 'server', '81 01 61 00 01 62', 'WS_ERR_UNEXPECTED_CONTINUATION', 'RFC 6455 §5.4'],
    ['§5.4 a new text frame inside a fragmented message', 'server', '01 01 61 81 01 62', 'WS_ERR_EXPECTED_CONTINUATION', 'RFC 6455 §5.4'],
    ['§5.4 a new binary frame inside a fragmented message', 'server', '02 01 61 89 00 02 01 62', 'WS_ERR_EXPECTED_CONTINUATION', 'RFC 6455 §5.4'],
  ];
  for (let opcode = 3; opcode <= 0xf; opcode++) {
    if (opcode >= 8 && opcode <= 0xa) continue;
    const name = opcode.toString(16);
    rules.push([`§5.2 reserved opcode 0x${name}`, 'server', `8${name} 00`, 'WS_ERR_RESERVED_OPCODE', 'RFC 6455 §5.2']);
    rules.push([`§5.2 reserved opcode 0x${name} on a masked client frame`, 'client', `8${name} 80 00 00 00 00`, 'WS_ERR_RESERVED_OPCODE', 'RFC 6455 §5.2']);
  }

  for (const [name, from, bytes, code, section] of rules) {
    test(`${name} → 1002 ${code}`, () => {
      const input = hex(bytes);
      // Whole, then byte by byte: the verdict does not depend on how the bytes arrive.
      for (const byteByByte of [false, true]) {
        const [decoder, sink] = decoderFor(from);
        if (byteByByte) for (let i = 0; i < input.length; i++) decoder.push(input.slice(i, i + 1));
        else decoder.push(input.slice());
        assertFailed(sink, code, 1002, section);
        assert.equal(decoder.isStopped, true);
        assert.equal(decoder.bufferedBytes, 0);
      }
    });
  }

  test('§5.4 control frames may be injected between the fragments of a message', () => {
    const sink = decodeAll(hex('01 03 48 65 6c 89 02 68 69 8a 00 88 00 80 02 6c 6f'), false);
    assert.deepEqual(sink.errors, []);
    assert.deepEqual(sink.frames, [
      frame(Opcode.Text, false, 'Hel'),
      frame(Opcode.Ping, true, 'hi'),
      frame(Opcode.Pong, true, ''),
      frame(Opcode.Close, true, ''),
      frame(Opcode.Continuation, true, 'lo'),
    ]);
  });

  test('§5.5 a control frame of exactly 125 bytes is accepted', () => {
    const payload = counting(125);
    const sink = decodeAll(encodeFrame({ opcode: Opcode.Ping, payload, maskKey: RFC_KEY }), true);
    assert.deepEqual(sink.frames, [frame(Opcode.Ping, true, payload)]);
  });

  test('§5.2 after a violation nothing more is emitted, whatever follows', () => {
    const [decoder, sink] = decoderFor('server');
    decoder.push(hex('81 01 61 c1 00 81 01 62 89 00'));
    assert.deepEqual(sink.frames, [frame(Opcode.Text, true, 'a')]);
    assertFailed(sink, 'WS_ERR_RESERVED_BITS', 1002, 'RFC 6455 §5.2');
    decoder.push(hex('81 01 63'));
    decoder.push(hex('82 7e 01 00'));
    assert.equal(sink.frames.length, 1);
    assert.equal(sink.errors.length, 1);
    assert.deepEqual(sink.log, ['frame', 'error']);
  });

  test('stop() makes the decoder ignore all further input and drop a partial frame', () => {
    const [decoder, sink] = decoderFor('server');
    decoder.push(hex('82 0a 01 02 03'));
    assert.equal(decoder.bufferedBytes, 10);
    decoder.stop();
    assert.equal(decoder.isStopped, true);
    assert.equal(decoder.bufferedBytes, 0);
    decoder.push(hex('04 05 06 07 08 09 0a 81 01 61'));
    assert.deepEqual(sink.frames, []);
    assert.deepEqual(sink.errors, []);
  });
});

describe('RFC 7692 §6.1 RSV1 when an extension is negotiated', () => {
  test('RFC 7692 §6.1 RSV1 is accepted on the first frame of a data message and reported', () => {
    const [decoder, sink] = decoderFor('server', LIMIT, true);
    decoder.push(hex('41 01 61 80 01 62 c2 00'));
    assert.deepEqual(sink.frames, [frame(Opcode.Text, false, 'a', true), frame(Opcode.Continuation, true, 'b'), frame(Opcode.Binary, true, '', true)]);
    assert.deepEqual(sink.errors, []);
  });

  test('RFC 7692 §6.1 RSV1 on a continuation frame → 1002', () => {
    const [decoder, sink] = decoderFor('server', LIMIT, true);
    decoder.push(hex('41 01 61 c0 01 62'));
    assertFailed(sink, 'WS_ERR_RESERVED_BITS', 1002, 'RFC 7692 §6.1');
    assert.equal(sink.frames.length, 1);
  });

  test('RFC 7692 §6.1 RSV1 on a control frame → 1002', () => {
    const [decoder, sink] = decoderFor('server', LIMIT, true);
    decoder.push(hex('c9 00'));
    assertFailed(sink, 'WS_ERR_RESERVED_BITS', 1002, 'RFC 7692 §6.1');
  });

  test('RFC 7692 §6.1 the pieces of a split frame carry its RSV1 bit', () => {
    const [decoder, sink] = decoderFor('server', LIMIT, true);
    const bytes = hex('42 04 01 02 03 04 80 03 05 06 07');
    decoder.push(bytes.slice(0, 4));
    decoder.push(bytes.slice(4, 9));
    decoder.push(bytes.slice(9));
    assert.deepEqual(
      sink.parts.filter((part) => part.piece.length > 0).map((part) => [part.opcode, part.rsv1, toHex(part.piece)]),
      [
        [Opcode.Binary, true, '01 02'],
        [Opcode.Binary, true, '03 04'],
        [Opcode.Continuation, false, '05'],
        [Opcode.Continuation, false, '06 07'],
      ],
    );
    assert.deepEqual(sink.frames, [frame(Opcode.Binary, false, hex('01 02 03 04'), true), frame(Opcode.Continuation, true, hex('05 06 07'))]);
  });

  test('setAllowRsv1 switches the rule on and off', () => {
    const [decoder, sink] = decoderFor('server');
    decoder.setAllowRsv1(true);
    decoder.push(hex('c1 01 61'));
    decoder.setAllowRsv1(false);
    decoder.push(hex('c1 01 62'));
    assert.deepEqual(sink.frames, [frame(Opcode.Text, true, 'a', true)]);
    assertFailed(sink, 'WS_ERR_RESERVED_BITS', 1002, 'RFC 6455 §5.2');
  });
});

describe('RFC 6455 §7.4.1 1009: messages over the size limit', () => {
  test('§7.4.1 a frame claiming 2 GiB fails with 1009 from its header alone, with nothing buffered', () => {
    const header = hex('82 7f 00 00 00 00 80 00 00 00');
    for (const byteByByte of [false, true]) {
      const [decoder, sink] = decoderFor('server');
      if (byteByByte) {
        for (let i = 0; i < header.length; i++) {
          decoder.push(header.slice(i, i + 1));
          assert.ok(decoder.bufferedBytes <= 14);
        }
      } else {
        decoder.push(header.slice());
      }
      assertFailed(sink, 'WS_ERR_FRAME_TOO_BIG', 1009, 'RFC 6455 §7.4.1');
      assert.equal(decoder.bufferedBytes, 0);
    }
  });

  test('§7.4.1 a masked client frame claiming 2 GiB fails with 1009 at its header, with nothing buffered', () => {
    const [decoder, sink] = decoderFor('client', 1024);
    decoder.push(hex('82 ff 00 00 00 00 80 00 00 00 11 22 33 44'));
    assertFailed(sink, 'WS_ERR_FRAME_TOO_BIG', 1009, 'RFC 6455 §7.4.1');
    assert.equal(decoder.bufferedBytes, 0);
  });

  test('§7.4.1 a frame within the limit whose buffer cannot be allocated fails with 1009 rather than throwing out of the parser', () => {
    const sink = new RecordingSink();
    const decoder = new FrameDecoder(sink, {
      expectMasked: false,
      maxMessageSize: LIMIT,
      allocate: () => {
        throw new RangeError('Array buffer allocation failed');
      },
    });
    // The header of a 1 MiB frame and its first bytes: its payload is assembled across chunks.
    decoder.push(concat([hex('82 7f 00 00 00 00 00 10 00 00'), counting(100)]));
    assertFailed(sink, 'WS_ERR_FRAME_TOO_BIG', 1009, 'RFC 6455 §7.4.1');
    assert.match(sink.errors[0]!.message, /no memory for a payload of 1048576 bytes/);
    decoder.push(counting(100));
    assert.equal(sink.errors.length, 1, 'nothing more is parsed');
  });

  test('§7.4.1 a long payload whose buffer cannot grow past its first MiB fails with 1009 rather than throwing out of the parser', () => {
    const sink = new RecordingSink();
    const decoder = new FrameDecoder(sink, {
      expectMasked: false,
      maxMessageSize: 8 << 20,
      allocate: () => {
        throw new RangeError('Array buffer allocation failed');
      },
    });
    // A 2 MiB frame's header alone, then its first MiB (held in the staging buffer), then more.
    decoder.push(hex('82 7f 00 00 00 00 00 20 00 00'));
    decoder.push(new Uint8Array(1 << 20));
    assert.equal(sink.errors.length, 0, 'the first MiB needs no allocation of its own');
    decoder.push(counting(1000));
    assertFailed(sink, 'WS_ERR_FRAME_TOO_BIG', 1009, 'RFC 6455 §7.4.1');
    assert.match(sink.errors[0]!.message, /no memory for a payload of 2097152 bytes/);
    assert.equal(decoder.isStopped, true);
  });

  test('§7.4.1/RFC 7692 §8.1 a compressed message may be longer on the wire than the limit, by what deflate adds to incompressible data at most', () => {
    // The limit bounds the inflated size (checked while inflating); 65,536 random bytes deflate to some 65,560.
    const limit = 65_536;
    const bound = limit + limit / 8 + limit / 64 + 128;
    const [decoder, sink] = decoderFor('server', limit, true);
    decoder.push(encodeFrame({ opcode: Opcode.Binary, rsv1: true, payload: counting(limit + 24) }));
    assert.equal(sink.frames.length, 1);
    // Fragmented: the continuations (RSV1 clear, §6.1) belong to the compressed message too.
    decoder.push(encodeFrame({ opcode: Opcode.Binary, rsv1: true, fin: false, payload: counting(limit) }));
    decoder.push(encodeFrame({ opcode: Opcode.Continuation, fin: true, payload: counting(bound - limit) }));
    assert.equal(sink.frames.length, 3);
    assert.equal(sink.errors.length, 0);
    decoder.push(encodeFrame({ opcode: Opcode.Binary, rsv1: true, fin: false, payload: counting(limit) }));
    decoder.push(hex('00 7e 24 81')); // a continuation header that takes the message to bound + 1 (74,881 bytes)
    assertFailed(sink, 'WS_ERR_MESSAGE_TOO_BIG', 1009, 'RFC 6455 §7.4.1');
    assert.match(sink.errors[0]!.message, /compressed message payload over 74880 bytes, more than a message within the limit of 65536 bytes deflates to/);

    const [plain, plainSink] = decoderFor('server', limit, true);
    plain.push(hex('82 7f 00 00 00 00 00 01 00 01')); // uncompressed, one byte over
    assertFailed(plainSink, 'WS_ERR_FRAME_TOO_BIG', 1009, 'RFC 6455 §7.4.1');
  });

  test('§7.4.1 a frame of exactly the limit is accepted, one byte more is 1009', () => {
    const [decoder, sink] = decoderFor('server', 300);
    decoder.push(encodeFrame({ opcode: Opcode.Binary, payload: counting(300) }));
    assert.equal(sink.frames.length, 1);
    assert.deepEqual(sink.errors, []);
    decoder.push(hex('82 7e 01 2d'));
    assertFailed(sink, 'WS_ERR_FRAME_TOO_BIG', 1009, 'RFC 6455 §7.4.1');
  });

  test('§7.4.1 fragments summing over the limit fail with 1009 at the header of the frame that crosses it', () => {
    const [decoder, sink] = decoderFor('server', 300);
    decoder.push(encodeFrame({ opcode: Opcode.Text, fin: false, payload: counting(200) }));
    decoder.push(encodeFrame({ opcode: Opcode.Ping, payload: counting(100) }));
    decoder.push(encodeFrame({ opcode: Opcode.Continuation, fin: false, payload: counting(100) }));
    assert.deepEqual(sink.errors, [], 'exactly at the limit so far');
    decoder.push(hex('00 01'));
    assertFailed(sink, 'WS_ERR_MESSAGE_TOO_BIG', 1009, 'RFC 6455 §7.4.1');
    assert.equal(sink.frames.length, 3);
    assert.equal(decoder.bufferedBytes, 0);
  });

  test('§7.4.1 the limit applies per message: the next message starts from zero', () => {
    const [decoder, sink] = decoderFor('server', 10);
    for (let i = 0; i < 5; i++) {
      decoder.push(encodeFrame({ opcode: Opcode.Binary, fin: false, payload: counting(6) }));
      decoder.push(encodeFrame({ opcode: Opcode.Continuation, payload: counting(4) }));
    }
    assert.equal(sink.frames.length, 10);
    assert.deepEqual(sink.errors, []);
  });

  test('§5.5 control frames are not counted against the message limit', () => {
    const [decoder, sink] = decoderFor('server', 4);
    decoder.push(encodeFrame({ opcode: Opcode.Binary, fin: false, payload: counting(4) }));
    decoder.push(encodeFrame({ opcode: Opcode.Ping, payload: counting(125) }));
    decoder.push(encodeFrame({ opcode: Opcode.Continuation, payload: new Uint8Array(0) }));
    assert.equal(sink.frames.length, 3);
    assert.equal(sink.errors.length, 0);
  });

  test('a split frame is buffered once, at its announced size, after its header is checked', () => {
    const [decoder, sink] = decoderFor('server', 1000);
    const bytes = encodeFrame({ opcode: Opcode.Binary, payload: counting(1000) });
    decoder.push(bytes.slice(0, 3));
    assert.equal(decoder.bufferedBytes, 3, 'three header bytes held');
    decoder.push(bytes.slice(3, 14));
    assert.equal(decoder.bufferedBytes, 1000);
    decoder.push(bytes.slice(14));
    assert.equal(decoder.bufferedBytes, 0);
    assert.deepEqual(sink.frames, [frame(Opcode.Binary, true, counting(1000))]);
  });
});

describe('a split payload past 1 MiB is given memory as its bytes come, not as its header declares', () => {
  const MiB = 1024 * 1024;

  test('a header declaring 60 MiB with 1 byte behind it holds 1 MiB; the buffer grows once that is full', () => {
    const [decoder, sink] = decoderFor('server');
    // FIN + binary, 64-bit length 0x03c00000 (60 MiB), unmasked (§5.2), then one byte.
    decoder.push(hex('82 7f 00 00 00 00 03 c0 00 00 2a'));
    assert.equal(decoder.bufferedBytes, MiB);
    decoder.push(new Uint8Array(MiB - 1));
    assert.equal(decoder.bufferedBytes, MiB, 'full, and nothing more has come');
    decoder.push(new Uint8Array(1));
    assert.equal(decoder.bufferedBytes, 60 * MiB, '128 times what came, capped at the length');
    assert.deepEqual(sink.errors, []);
    assert.equal(sink.frames.length, 0);
  });

  test('a first chunk holding 1/128 of the payload gets the whole buffer at once', () => {
    const [decoder] = decoderFor('server');
    const bytes = encodeFrame({ opcode: Opcode.Binary, payload: new Uint8Array(8 * MiB) });
    decoder.push(bytes.subarray(0, 10 + 64 * 1024));
    assert.equal(decoder.bufferedBytes, 8 * MiB);
  });

  test('payloads staged at once on several decoders, interleaved, each arrive intact (staging buffers are reused only once let go)', () => {
    const payloads = [0, 1, 2].map((i) => counting(3 * MiB + i * 1001, i * 37));
    const streams = payloads.map((payload) => encodeFrame({ opcode: Opcode.Binary, payload, maskKey: RFC_KEY }));
    const decoders = streams.map(() => decoderFor('client'));
    const at = streams.map(() => 0);
    const feed = (i: number, upTo: number): void => {
      decoders[i]![0].push(streams[i]!.slice(at[i], upTo));
      at[i] = upTo;
    };
    // Every decoder stages its header and a byte; then they take turns by uneven steps,
    // so that one grows out of its staging buffer while the others still fill theirs.
    for (let i = 0; i < 3; i++) feed(i, 15);
    for (let step = 0; at.some((done, i) => done < streams[i]!.length); step++) {
      const i = step % 3;
      feed(i, Math.min(streams[i]!.length, at[i]! + 100_003 * (i + 1)));
    }
    decoders.forEach(([decoder, sink], i) => {
      assert.deepEqual(sink.errors, []);
      assert.ok(Buffer.from(sink.frames[0]!.payload).equals(Buffer.from(payloads[i]!)), `payload ${i} is intact`);
      assert.equal(decoder.bufferedBytes, 0);
    });
  });

  for (const from of ['client', 'server'] as const) {
    test(`an 8 MiB message from a ${from} arrives intact however its chunks fall around the point where its buffer grows`, () => {
      const payload = counting(8 * MiB, 7);
      const bytes = encodeFrame({ opcode: Opcode.Binary, payload, maskKey: from === 'client' ? RFC_KEY : null });
      const header = bytes.length - payload.length;
      // The header and one byte make a 1 MiB buffer, which grows once 1 MiB has come: a
      // chunk may end exactly there, run past it, or the bytes around it come one by one.
      const full = header + MiB;
      const byteByByte = Array.from({ length: 16 }, (_, i) => full - 8 + i);
      const plans = [[header + 1, full, full + 5], [header + 1, full + 5], [header + 1, ...byteByByte]];
      for (const cuts of plans) {
        for (let at = full + 3 * MiB; at < bytes.length; at += 777_777) cuts.push(at);
        const [decoder, sink] = decoderFor(from);
        let start = 0;
        for (const cut of [...cuts, bytes.length]) {
          decoder.push(bytes.slice(start, cut));
          start = cut;
        }
        assert.deepEqual(sink.errors, []);
        assert.equal(sink.frames.length, 1);
        assert.ok(Buffer.from(sink.frames[0]!.payload).equals(Buffer.from(payload)), `the payload is intact (cuts ${cuts.slice(0, 4).join(', ')}…)`);
        assert.equal(decoder.bufferedBytes, 0);
      }
    });
  }
});

describe('RFC 6455 §5.2 framing is independent of how the bytes are chunked', () => {
  const random = seededRandom(42);
  const specs: FrameSpec[] = [
    { opcode: Opcode.Text, payload: utf8('Hello') },
    { opcode: Opcode.Binary, payload: new Uint8Array(0) },
    { opcode: Opcode.Text, fin: false, payload: utf8('frag') },
    { opcode: Opcode.Ping, payload: randomBytes(random, 125) },
    { opcode: Opcode.Continuation, fin: false, payload: randomBytes(random, 126) },
    { opcode: Opcode.Pong, payload: new Uint8Array(0) },
    { opcode: Opcode.Continuation, payload: randomBytes(random, 1) },
    { opcode: Opcode.Binary, payload: randomBytes(random, 300) },
    { opcode: Opcode.Binary, payload: randomBytes(random, 3) },
    { opcode: Opcode.Close, payload: hex('03 e8 62 79 65') },
  ];
  const bigSpecs: FrameSpec[] = [...specs, { opcode: Opcode.Binary, payload: randomBytes(random, 70000) }, { opcode: Opcode.Text, payload: utf8('end') }];

  function streams(list: FrameSpec[]): { name: string; fromClient: boolean; bytes: Uint8Array }[] {
    return [
      { name: 'an unmasked', fromClient: false, bytes: concat(list.map((spec) => encodeFrame(spec))) },
      { name: 'a masked', fromClient: true, bytes: concat(list.map((spec) => encodeFrame({ ...spec, maskKey: randomBytes(random, 4) }))) },
    ];
  }

  function expected(list: FrameSpec[]): DecodedFrame[] {
    return list.map((spec) => frame(spec.opcode, spec.fin ?? true, spec.payload));
  }

  function decodeChunks(bytes: Uint8Array, fromClient: boolean, cuts: number[]): RecordingSink {
    const sink = new RecordingSink();
    const decoder = new FrameDecoder(sink, { expectMasked: fromClient, maxMessageSize: LIMIT });
    let at = 0;
    for (const cut of [...cuts, bytes.length]) {
      decoder.push(bytes.slice(at, cut));
      at = cut;
    }
    assert.equal(decoder.bufferedBytes, 0);
    return sink;
  }

  for (const { name, fromClient, bytes } of streams(bigSpecs)) {
    test(`§5.2 ${name} stream of ${bigSpecs.length} frames gives the same frames whole and byte by byte`, () => {
      const want = expected(bigSpecs);
      const whole = decodeAll(bytes, fromClient);
      assert.deepEqual(whole.frames, want);
      assert.deepEqual(whole.parts, [], 'no frame spans chunks');
      const cuts = Array.from({ length: bytes.length - 1 }, (_, i) => i + 1);
      const single = decodeChunks(bytes, fromClient, cuts);
      assert.deepEqual(single.errors, []);
      assert.deepEqual(single.frames, want);
    });

    test(`§5.2 ${name} stream gives the same frames in random chunk sizes`, () => {
      const want = expected(bigSpecs);
      for (let round = 0; round < 30; round++) {
        const cuts: number[] = [];
        for (let at = 0; ; ) {
          at += 1 + Math.floor(random() * (round < 15 ? 20 : 5000));
          if (at >= bytes.length) break;
          cuts.push(at);
        }
        assert.deepEqual(decodeChunks(bytes, fromClient, cuts).frames, want, `round ${round}`);
      }
    });
  }

  for (const { name, fromClient, bytes } of streams(specs)) {
    test(`§5.2 ${name} stream split in two at every point gives the same frames`, () => {
      const want = expected(specs);
      for (let cut = 0; cut <= bytes.length; cut++) {
        assert.deepEqual(decodeChunks(bytes, fromClient, [cut]).frames, want, `split at ${cut}`);
      }
    });

    test(`§5.2 ${name} stream split in three at many points gives the same frames`, () => {
      const want = expected(specs);
      for (let first = 1; first < bytes.length; first += 7) {
        for (let second = first; second <= bytes.length; second += 5) {
          assert.deepEqual(decodeChunks(bytes, fromClient, [first, second]).frames, want, `split at ${first}, ${second}`);
        }
      }
    });
  }
});

describe('payload ownership and onFramePart', () => {
  test('a payload wholly inside the chunk is a view of it, unmasked in place', () => {
    const chunk = concat([
      encodeFrame({ opcode: Opcode.Text, payload: utf8('Hello'), maskKey: RFC_KEY }),
      encodeFrame({ opcode: Opcode.Binary, payload: counting(200), maskKey: hex('01 02 03 04') }),
    ]);
    const [decoder, sink] = decoderFor('client');
    decoder.push(chunk);
    assert.equal(sink.views.length, 2);
    assert.equal(sink.views[0]!.buffer, chunk.buffer);
    assert.equal(sink.views[0]!.byteOffset, chunk.byteOffset + 6);
    assert.equal(sink.views[1]!.buffer, chunk.buffer);
    assert.equal(sink.views[1]!.byteOffset, chunk.byteOffset + 11 + 8);
    assert.equal(toHex(chunk.subarray(6, 11)), '48 65 6c 6c 6f', 'the chunk itself was unmasked');
    assert.deepEqual(chunk.subarray(19), counting(200));
    assert.deepEqual(sink.parts, []);
  });

  test('§5.3 a chunk full of mid-sized masked frames, itself at an odd offset of a larger buffer, is unmasked frame by frame', () => {
    // 60..200 bytes: below, across and above the length where payloads are unmasked through
    // one view of the whole chunk; each frame with its own key and alignment.
    const random = seededRandom(7);
    const payloads = Array.from({ length: 141 }, (_, i) => randomBytes(random, 60 + i));
    const frames = concat(payloads.map((payload) => encodeFrame({ opcode: Opcode.Binary, payload, maskKey: randomBytes(random, 4) })));
    const backing = new Uint8Array(frames.length + 8);
    backing.set(frames, 5);
    const [decoder, sink] = decoderFor('client');
    decoder.push(backing.subarray(5, 5 + frames.length));
    assert.deepEqual(sink.errors, []);
    assert.deepEqual(sink.frames.map((f) => toHex(f.payload)), payloads.map(toHex));
    // The same bytes in two chunks cut mid-frame: the second chunk gets its own view.
    const [again, sink2] = decoderFor('client');
    const cut = Math.floor(frames.length / 2) + 3;
    again.push(frames.slice(0, cut));
    again.push(frames.slice(cut));
    assert.deepEqual(sink2.frames.map((f) => toHex(f.payload)), payloads.map(toHex));
  });

  test('the view option makes each whole payload from the chunk\'s ArrayBuffer, read once per chunk', () => {
    const frames = concat([
      encodeFrame({ opcode: Opcode.Text, payload: utf8('Hello'), maskKey: RFC_KEY }),
      encodeFrame({ opcode: Opcode.Binary, payload: counting(200), maskKey: hex('01 02 03 04') }),
      encodeFrame({ opcode: Opcode.Binary, payload: counting(3000), maskKey: hex('05 06 07 08') }),
    ]);
    const backing = new Uint8Array(frames.length + 20);
    backing.set(frames, 9);
    const chunk = backing.subarray(9, 9 + frames.length);
    const calls: [ArrayBufferLike, number, number][] = [];
    const sink = new RecordingSink();
    const decoder = new FrameDecoder(sink, {
      expectMasked: true,
      maxMessageSize: LIMIT,
      view: (buffer, byteOffset, length) => {
        calls.push([buffer, byteOffset, length]);
        return new Uint8Array(buffer, byteOffset, length);
      },
    });
    decoder.push(chunk);
    assert.deepEqual(calls, [
      [backing.buffer, 9 + 6, 5],
      [backing.buffer, 9 + 11 + 8, 200],
      [backing.buffer, 9 + 11 + 8 + 200 + 8, 3000],
    ]);
    assert.deepEqual(sink.frames, [frame(Opcode.Text, true, 'Hello'), frame(Opcode.Binary, true, counting(200)), frame(Opcode.Binary, true, counting(3000))]);
    // A payload split across chunks is assembled in its own buffer: no view of a chunk.
    calls.length = 0;
    decoder.push(frames.slice(0, 8));
    decoder.push(frames.slice(8));
    assert.deepEqual(calls.map(([, , length]) => length), [200, 3000]);
    assert.equal(sink.frames.length, 6);
  });

  test('messagesAt: whole short binary and ASCII text messages in the chunk come as the chunk and a place in it', () => {
    const fragmented = [
      encodeFrame({ opcode: Opcode.Binary, fin: false, payload: utf8('ab'), maskKey: RFC_KEY }),
      encodeFrame({ opcode: Opcode.Continuation, fin: true, payload: utf8('cd'), maskKey: RFC_KEY }),
    ];
    const specs: [string, Uint8Array, boolean][] = [
      ['binary 1 B', encodeFrame({ opcode: Opcode.Binary, payload: counting(1), maskKey: RFC_KEY }), true],
      ['ASCII text', encodeFrame({ opcode: Opcode.Text, payload: utf8('Hello'), maskKey: hex('01 02 03 04') }), true],
      ['binary 511 B', encodeFrame({ opcode: Opcode.Binary, payload: counting(511, 7), maskKey: RFC_KEY }), true],
      ['text that is not ASCII', encodeFrame({ opcode: Opcode.Text, payload: utf8('café'), maskKey: RFC_KEY }), false],
      ['binary 512 B (SIMD, not known to be short)', encodeFrame({ opcode: Opcode.Binary, payload: counting(512), maskKey: RFC_KEY }), false],
      ['empty', encodeFrame({ opcode: Opcode.Binary, payload: new Uint8Array(0), maskKey: RFC_KEY }), false],
      ['a ping', encodeFrame({ opcode: Opcode.Ping, payload: utf8('p'), maskKey: RFC_KEY }), false],
      ['compressed (RSV1)', encodeFrame({ opcode: Opcode.Binary, rsv1: true, payload: utf8('x'), maskKey: RFC_KEY }), false],
      ['first fragment', fragmented[0]!, false],
      ['last fragment', fragmented[1]!, false],
    ];
    const backing = new Uint8Array(specs.reduce((sum, [, bytes]) => sum + bytes.length, 0) + 13);
    backing.set(concat(specs.map(([, bytes]) => bytes)), 5);
    const chunk = backing.subarray(5, backing.length - 8);
    const at: { opcode: number; chunk: DataView; start: number; payload: Uint8Array }[] = [];
    const sink = new RecordingSink();
    sink.onMessageAt = (opcode, view, start, length) => {
      at.push({ opcode, chunk: view, start, payload: new Uint8Array(view.buffer, view.byteOffset + start, length).slice() });
      sink.log.push('at');
    };
    const decoder = new FrameDecoder(sink, { expectMasked: true, maxMessageSize: LIMIT, allowRsv1: true, messagesAt: true });
    decoder.push(chunk);
    assert.deepEqual(sink.log, specs.map(([, , taken]) => (taken ? 'at' : 'frame')));
    assert.deepEqual(at.map(({ opcode, payload }) => [opcode, toHex(payload)]), [
      [Opcode.Binary, toHex(counting(1))],
      [Opcode.Text, toHex(utf8('Hello'))],
      [Opcode.Binary, toHex(counting(511, 7))],
    ]);
    for (const { chunk: view } of at) {
      assert.equal(view.buffer, backing.buffer);
      assert.equal(view.byteOffset, 5, 'a view of exactly the chunk');
      assert.equal(view.byteLength, chunk.length);
    }
    assert.equal(at[0]!.chunk, at[2]!.chunk, 'one view per chunk');
    assert.deepEqual(sink.frames.map((f) => [f.opcode, f.fin, f.payload.length]), [
      [Opcode.Text, true, 5],
      [Opcode.Binary, true, 512],
      [Opcode.Binary, true, 0],
      [Opcode.Ping, true, 1],
      [Opcode.Binary, true, 1],
      [Opcode.Binary, false, 2],
      [Opcode.Continuation, true, 2],
    ]);
  });

  test('messagesAt: a message cut across chunks (byte by byte) comes through onFrame, whole', () => {
    const bytes = encodeFrame({ opcode: Opcode.Binary, payload: counting(40), maskKey: RFC_KEY });
    const sink = new RecordingSink();
    let taken = 0;
    sink.onMessageAt = () => void taken++;
    const decoder = new FrameDecoder(sink, { expectMasked: true, maxMessageSize: LIMIT, messagesAt: true });
    for (const byte of bytes) decoder.push(Uint8Array.of(byte));
    assert.equal(taken, 0);
    assert.deepEqual(sink.frames, [frame(Opcode.Binary, true, counting(40))]);
  });

  test('messagesAt is off without the option, and without a sink method to call', () => {
    const bytes = encodeFrame({ opcode: Opcode.Binary, payload: counting(40), maskKey: RFC_KEY });
    const withMethod = new RecordingSink();
    let taken = 0;
    withMethod.onMessageAt = () => void taken++;
    new FrameDecoder(withMethod, { expectMasked: true, maxMessageSize: LIMIT }).push(bytes);
    assert.equal(taken, 0);
    assert.equal(withMethod.frames.length, 1);
    const without = new RecordingSink();
    new FrameDecoder(without, { expectMasked: true, maxMessageSize: LIMIT, messagesAt: true }).push(bytes);
    assert.equal(without.frames.length, 1);
  });

  test('§8.1 onFrame says a masked payload is ASCII when unmasking showed it, at every path length', () => {
    for (const length of [0, 1, 5, 63, 64, 65, 125, 511]) {
      for (const high of [-1, 0, Math.floor(length / 2), length - 1]) {
        if (high >= length) continue;
        const payload = new Uint8Array(length).fill(0x61);
        if (high >= 0) payload[high] = 0xc3;
        const [decoder, sink] = decoderFor('client');
        decoder.push(encodeFrame({ opcode: Opcode.Text, payload, maskKey: RFC_KEY }));
        assert.deepEqual(sink.ascii, [high < 0], `length ${length}, byte 0xc3 at ${high}`);
      }
    }
    // Not known, so false: payloads unmasked through SIMD (512 bytes and up), split across
    // chunks, or not masked at all (a client reading a server).
    const cases: [string, FrameDecoder, RecordingSink, Uint8Array[]][] = [];
    const long = encodeFrame({ opcode: Opcode.Text, payload: new Uint8Array(512).fill(0x61), maskKey: RFC_KEY });
    cases.push(['512 bytes', ...decoderFor('client'), [long]]);
    const short = encodeFrame({ opcode: Opcode.Text, payload: utf8('abc'), maskKey: RFC_KEY });
    cases.push(['split', ...decoderFor('client'), [short.slice(0, 7), short.slice(7)]]);
    cases.push(['unmasked', ...decoderFor('server'), [encodeFrame({ opcode: Opcode.Text, payload: utf8('abc') })]]);
    for (const [name, decoder, sink, chunks] of cases) {
      for (const chunk of chunks) decoder.push(chunk);
      assert.deepEqual(sink.ascii, [false], name);
    }
  });

  test('a view aliases a chunk that is itself a view into a larger buffer', () => {
    const backing = new Uint8Array(64);
    backing.set(hex('82 03 0a 0b 0c'), 17);
    const chunk = backing.subarray(17, 22);
    const [decoder, sink] = decoderFor('server');
    decoder.push(chunk);
    assert.equal(sink.views[0]!.buffer, backing.buffer);
    assert.equal(sink.views[0]!.byteOffset, 19);
    assert.equal(toHex(sink.frames[0]!.payload), '0a 0b 0c');
  });

  test('§8.1 a data frame split across chunks is reported piece by piece, unmasked, before the whole frame', () => {
    const payload = counting(300, 3);
    for (const fromClient of [false, true]) {
      const bytes = encodeFrame({ opcode: Opcode.Binary, payload, maskKey: fromClient ? hex('a1 b2 c3 d4') : null });
      for (const step of [1, 2, 3, 5, 64, 299]) {
        const [decoder, sink] = decoderFor(fromClient ? 'client' : 'server');
        for (let at = 0; at < bytes.length; at += step) decoder.push(bytes.slice(at, at + step));
        assert.equal(sink.frames.length, 1);
        assert.deepEqual(sink.frames[0]!.payload, payload);
        assert.deepEqual(concat(sink.parts.map((part) => part.piece)), payload, `step ${step}`);
        assert.ok(sink.parts.every((part) => part.opcode === Opcode.Binary));
        assert.equal(sink.log.at(-1), 'frame');
        assert.equal(sink.log.indexOf('frame'), sink.log.length - 1, 'all pieces come before the frame');
      }
    }
  });

  test('§5.4 pieces of a continuation frame carry opcode 0', () => {
    const bytes = concat([
      encodeFrame({ opcode: Opcode.Text, fin: false, payload: utf8('ab') }),
      encodeFrame({ opcode: Opcode.Continuation, payload: utf8('cdefgh') }),
    ]);
    const [decoder, sink] = decoderFor('server');
    decoder.push(bytes.slice(0, 8));
    decoder.push(bytes.slice(8));
    assert.deepEqual(
      sink.frames.map((f) => [f.opcode, f.fin]),
      [
        [Opcode.Text, false],
        [Opcode.Continuation, true],
      ],
    );
    assert.ok(sink.parts.length > 0);
    assert.ok(sink.parts.every((part) => part.opcode === Opcode.Continuation));
    assert.equal(new TextDecoder().decode(concat(sink.parts.map((part) => part.piece))), 'cdefgh');
  });

  test('§5.5 control frames split across chunks are not reported in pieces', () => {
    const bytes = encodeFrame({ opcode: Opcode.Ping, payload: utf8('split ping'), maskKey: RFC_KEY });
    const [decoder, sink] = decoderFor('client');
    for (let i = 0; i < bytes.length; i++) decoder.push(bytes.slice(i, i + 1));
    assert.deepEqual(sink.parts, []);
    assert.deepEqual(sink.frames, [frame(Opcode.Ping, true, 'split ping')]);
  });

  test('a sink that stops the decoder on a piece gets no frame and nothing after it', () => {
    const sink = new RecordingSink();
    const decoder: FrameDecoder = new FrameDecoder(
      {
        onFrame: (...args) => sink.onFrame(...args),
        onFrameError: (error) => sink.onFrameError(error),
        onFramePart: (...args) => {
          sink.onFramePart(...args);
          decoder.stop();
        },
      },
      { expectMasked: false, maxMessageSize: LIMIT },
    );
    const bytes = concat([encodeFrame({ opcode: Opcode.Text, payload: utf8('abcdef') }), hex('81 01 61')]);
    decoder.push(bytes.slice(0, 4));
    decoder.push(bytes.slice(4));
    assert.equal(sink.parts.length, 1);
    assert.deepEqual(sink.frames, []);
    // The same when the stopping piece completes the frame.
    sink.parts = [];
    const late = new FrameDecoder(
      {
        onFrame: (...args) => sink.onFrame(...args),
        onFrameError: (error) => sink.onFrameError(error),
        onFramePart: (...args) => {
          sink.onFramePart(...args);
          if (sink.parts.length === 2) late.stop();
        },
      },
      { expectMasked: false, maxMessageSize: LIMIT },
    );
    late.push(bytes.slice(0, 4));
    late.push(bytes.slice(4));
    assert.equal(sink.parts.length, 2);
    assert.deepEqual(sink.frames, []);
  });
});

describe('borrowed chunks (pushBorrowed): a read buffer lent for the call only', () => {
  /** A mixed stream: short and long frames, whole and split, fragmented text, controls between. */
  function mixedStream(random: () => number): { bytes: Uint8Array; expected: DecodedFrame[] } {
    const key = (): Uint8Array => randomBytes(random, 4);
    const specs: FrameSpec[] = [
      { opcode: Opcode.Binary, payload: randomBytes(random, 32) },
      { opcode: Opcode.Text, payload: utf8('Hello, wörld') },
      { opcode: Opcode.Binary, payload: randomBytes(random, 300) },
      { opcode: Opcode.Binary, payload: randomBytes(random, 70_000) },
      { opcode: Opcode.Ping, payload: utf8('are you there') },
      { opcode: Opcode.Text, fin: false, payload: utf8('frag ') },
      { opcode: Opcode.Pong, payload: new Uint8Array(0) },
      { opcode: Opcode.Continuation, fin: true, payload: utf8('mented €') },
      { opcode: Opcode.Binary, payload: randomBytes(random, 5000) },
      { opcode: Opcode.Binary, payload: new Uint8Array(0) },
      { opcode: Opcode.Binary, payload: randomBytes(random, 200_001) },
    ];
    return {
      bytes: concat(specs.map((spec) => encodeFrame({ ...spec, maskKey: key() }))),
      expected: specs.map((spec) => frame(spec.opcode, spec.fin ?? true, spec.payload)),
    };
  }

  /** Feed `bytes` through one reused buffer in pieces of `sizes` (cycled), scribbling over it after each. */
  function feedLent(decoder: FrameDecoder, bytes: Uint8Array, region: Uint8Array, sizes: readonly number[]): void {
    for (let at = 0, i = 0; at < bytes.length; i++) {
      const length = Math.min(sizes[i % sizes.length]!, bytes.length - at, region.length);
      region.set(bytes.subarray(at, at + length));
      decoder.pushBorrowed(region.subarray(0, length));
      region.fill(0xee);
      at += length;
    }
  }

  test('every payload handed out is a copy of its own: the buffer filled again after each push changes none of them', () => {
    const random = seededRandom(99);
    const { bytes, expected } = mixedStream(random);
    for (const sizes of [[65_536], [262_144], [1, 2, 3, 7, 11], [16_384, 5, 100_000]]) {
      const region = new Uint8Array(262_144);
      const [decoder, sink] = decoderFor('client');
      feedLent(decoder, bytes, region, sizes);
      assert.deepEqual(sink.errors, []);
      // `views` are the payloads as handed out, not copied by the sink.
      assert.deepEqual(
        sink.views.map((view) => toHex(view.subarray(0, 64)) + ` (${view.length})`),
        expected.map((f) => toHex(f.payload.subarray(0, 64)) + ` (${f.payload.length})`),
        `pieces of ${sizes.join(', ')}`,
      );
      sink.views.forEach((view, i) => assert.ok(Buffer.from(view).equals(Buffer.from(expected[i]!.payload)), `frame ${i}`));
      assert.ok(sink.views.every((view) => view.length === 0 || view.buffer !== region.buffer), 'no payload aliases the lent buffer');
    }
  });

  test('the same in the SIMD read region, where long payloads are unmasked where they lie', () => {
    const region = simdReadRegion();
    assert.ok(region !== null);
    const { bytes, expected } = mixedStream(seededRandom(5));
    const [decoder, sink] = decoderFor('client');
    feedLent(decoder, bytes, region, [65_536, 1000, region.length]);
    assert.deepEqual(sink.errors, []);
    assert.equal(sink.views.length, expected.length);
    sink.views.forEach((view, i) => assert.ok(Buffer.from(view).equals(Buffer.from(expected[i]!.payload)), `frame ${i}`));
  });

  test('no message is reported by place from a borrowed chunk, and owned chunks still are', () => {
    const short = encodeFrame({ opcode: Opcode.Binary, payload: counting(40), maskKey: RFC_KEY });
    const sink = new RecordingSink();
    sink.onMessageAt = () => void sink.log.push('at');
    const decoder = new FrameDecoder(sink, { expectMasked: true, maxMessageSize: LIMIT, messagesAt: true });
    decoder.pushBorrowed(short.slice());
    decoder.push(short.slice());
    decoder.pushBorrowed(short.slice());
    assert.deepEqual(sink.log, ['frame', 'at', 'frame']);
    assert.deepEqual(sink.frames.map((f) => toHex(f.payload)), [toHex(counting(40)), toHex(counting(40))]);
  });

  test('lendPayloads: a whole uncompressed message in one frame is a view of the chunk; controls, fragments, compressed and split payloads are copies', () => {
    const random = seededRandom(17);
    const whole = [randomBytes(random, 3000), utf8('lent text €')];
    const specs: FrameSpec[] = [
      { opcode: Opcode.Binary, payload: whole[0]! },
      { opcode: Opcode.Ping, payload: utf8('ping') },
      { opcode: Opcode.Text, payload: whole[1]! },
      { opcode: Opcode.Binary, fin: false, payload: randomBytes(random, 500) },
      { opcode: Opcode.Continuation, fin: true, payload: randomBytes(random, 500) },
      { opcode: Opcode.Binary, rsv1: true, payload: randomBytes(random, 400) },
    ];
    const bytes = concat(specs.map((spec) => encodeFrame({ ...spec, maskKey: randomBytes(random, 4) })));
    const sink = new RecordingSink();
    const decoder = new FrameDecoder(sink, { expectMasked: true, maxMessageSize: LIMIT, allowRsv1: true });
    const chunk = bytes.slice();
    decoder.pushBorrowed(chunk, true);
    // A frame split across two lent chunks is assembled, so it is a copy.
    const split = encodeFrame({ opcode: Opcode.Binary, payload: randomBytes(random, 900), maskKey: RFC_KEY });
    decoder.pushBorrowed(split.slice(0, 300), true);
    decoder.pushBorrowed(split.slice(300), true);
    assert.deepEqual(sink.errors, []);
    assert.deepEqual(
      sink.views.map((view) => view.buffer === chunk.buffer),
      [true, false, true, false, false, false, false],
    );
    assert.ok(Buffer.from(sink.views[0]!).equals(Buffer.from(whole[0]!)));
    assert.ok(Buffer.from(sink.views[2]!).equals(Buffer.from(whole[1]!)));
    // Without lendPayloads, and on the next push, nothing is lent.
    const again = bytes.slice();
    decoder.pushBorrowed(again);
    assert.ok(sink.views.slice(7).every((view) => view.buffer !== again.buffer));
  });

  test('allocateLendable: a whole message split across lent chunks is assembled in its buffer; other split payloads, and any outside lendPayloads, in allocate\'s', () => {
    const random = seededRandom(23);
    const lendable = new Set<ArrayBufferLike>();
    const sink = new RecordingSink();
    const decoder = new FrameDecoder(sink, {
      expectMasked: true,
      maxMessageSize: LIMIT,
      allowRsv1: true,
      allocateLendable: (size) => {
        const buffer = new Uint8Array(size);
        lendable.add(buffer.buffer);
        return buffer;
      },
    });
    const payloads = [randomBytes(random, 900), randomBytes(random, 900), randomBytes(random, 900), randomBytes(random, 900)];
    const frames = [
      encodeFrame({ opcode: Opcode.Binary, payload: payloads[0]!, maskKey: RFC_KEY }),
      encodeFrame({ opcode: Opcode.Binary, fin: false, payload: payloads[1]!, maskKey: RFC_KEY }),
      encodeFrame({ opcode: Opcode.Continuation, payload: payloads[2]!, maskKey: RFC_KEY }),
      encodeFrame({ opcode: Opcode.Text, rsv1: true, payload: payloads[3]!, maskKey: RFC_KEY }),
    ];
    for (const frame of frames) {
      decoder.pushBorrowed(frame.slice(0, 300), true);
      decoder.pushBorrowed(frame.slice(300), true);
    }
    // Lent chunks, but without lendPayloads: the whole message is Node's copy.
    decoder.pushBorrowed(frames[0]!.slice(0, 300));
    decoder.pushBorrowed(frames[0]!.slice(300));
    assert.deepEqual(sink.errors, []);
    assert.deepEqual(
      sink.views.map((view) => lendable.has(view.buffer)),
      [true, false, false, false, false],
    );
    sink.views.slice(0, 4).forEach((view, i) => assert.ok(Buffer.from(view).equals(Buffer.from(payloads[i]!)), `payload ${i}`));
  });

  test('a push that throws leaves the decoder taking owned chunks as views again', () => {
    const sink = new RecordingSink();
    let throwOnce = true;
    const onFrame = sink.onFrame.bind(sink);
    sink.onFrame = (...args) => {
      onFrame(...args);
      if (throwOnce) {
        throwOnce = false;
        throw new Error('handler failed');
      }
    };
    const decoder = new FrameDecoder(sink, { expectMasked: true, maxMessageSize: LIMIT });
    const bytes = encodeFrame({ opcode: Opcode.Binary, payload: counting(40), maskKey: RFC_KEY });
    assert.throws(() => decoder.pushBorrowed(bytes.slice()), /handler failed/);
    const owned = bytes.slice();
    decoder.push(owned);
    assert.equal(sink.views[1]!.buffer, owned.buffer);
  });
});

describe('payload bytes written in place (inPlaceTarget / pushInPlace): a host reading straight into the payload', () => {
  const MiB = 1024 * 1024;

  /** `decoder`, fed through its in-place methods. */
  const inPlace = (decoder: FrameDecoder): InPlaceFeed => ({
    target: (maxLength) => decoder.inPlaceTarget(maxLength),
    wrote: (count) => decoder.pushInPlace(count),
    push: (chunk) => decoder.push(chunk),
  });

  test('§5.2 a long unmasked payload written in place comes out as pushed: the same frames, each byte reported once as a piece, whatever the piece size', () => {
    const random = seededRandom(41);
    const long = [randomBytes(random, 3 * MiB + 5), randomBytes(random, 70_000), randomBytes(random, 200)];
    const short = [randomBytes(random, 100_000), randomBytes(random, 30_000), randomBytes(random, 20)];
    const cases: Array<[[Uint8Array, Uint8Array, Uint8Array], number[]]> = [
      [[long[0]!, long[1]!, long[2]!], [4096, 65_536, Number.POSITIVE_INFINITY]],
      [[short[0]!, short[1]!, short[2]!], [1, 999]],
    ];
    for (const [payloads, pieces] of cases) {
      const bytes = concat([
        encodeFrame({ opcode: Opcode.Binary, payload: payloads[0] }),
        encodeFrame({ opcode: Opcode.Ping, payload: utf8('between') }),
        encodeFrame({ opcode: Opcode.Text, fin: false, payload: payloads[1] }),
        encodeFrame({ opcode: Opcode.Continuation, payload: payloads[2] }),
      ]);
      const [reference, expected] = decoderFor('server');
      reference.push(bytes.slice());
      for (const piece of pieces) {
        const [decoder, sink] = decoderFor('server');
        const written = feedInPlace(inPlace(decoder), bytes, 4000, piece);
        // (Past 1 MiB, all but the first MiB: that is staged when its header comes with few bytes.)
        assert.ok(written > payloads[0].length / 2, `most of the first payload went in place (${written} bytes, pieces of ${piece})`);
        assert.deepEqual(sink.errors, []);
        assert.deepEqual(sink.frames, expected.frames);
        const pieceBytes = (opcode: number): Buffer => Buffer.concat(sink.parts.filter((part) => part.opcode === opcode).map((part) => part.piece));
        assert.ok(pieceBytes(Opcode.Binary).equals(Buffer.from(payloads[0])), 'the binary payload, piece by piece');
        assert.ok(pieceBytes(Opcode.Text).equals(Buffer.from(payloads[1])), 'the text frame, split at 7 bytes and then written in place');
        assert.equal(decoder.bufferedBytes, 0);
        assert.equal(decoder.inPlaceTarget(), null, 'between frames: nothing to write in place');
      }
    }
  });

  test('§5.3 a masked payload has no place to be written in (its bytes are unmasked on the way in)', () => {
    const [decoder] = decoderFor('client');
    decoder.push(encodeFrame({ opcode: Opcode.Binary, payload: counting(100_000), maskKey: RFC_KEY }).subarray(0, 50_000));
    assert.ok(decoder.bufferedBytes > 0);
    assert.equal(decoder.inPlaceTarget(), null);
    assert.throws(() => decoder.pushInPlace(1), RangeError);
  });

  test('a staging buffer (reused by other decoders) and a lendable one (reused by the host) are never offered', () => {
    const [staged] = decoderFor('server');
    // A header and one byte of a 3 MiB payload: its first MiB is staged.
    staged.push(encodeFrame({ opcode: Opcode.Binary, payload: new Uint8Array(3 * MiB) }).subarray(0, 11));
    assert.equal(staged.bufferedBytes, MiB);
    assert.equal(staged.inPlaceTarget(), null, 'staged');
    staged.push(new Uint8Array(MiB));
    assert.ok(staged.inPlaceTarget() !== null, 'grown out of staging into a buffer of its own');

    const sink = new RecordingSink();
    const lending = new FrameDecoder(sink, { expectMasked: false, maxMessageSize: LIMIT, allocateLendable: (size) => new Uint8Array(size) });
    lending.pushBorrowed(encodeFrame({ opcode: Opcode.Binary, payload: new Uint8Array(100_000) }).subarray(0, 50_000), true);
    assert.ok(lending.bufferedBytes > 0);
    assert.equal(lending.inPlaceTarget(), null, 'lendable');
  });

  test('a full buffer offers nothing until the next chunk grows it; maxLength cuts the offer; a stopped decoder offers nothing', () => {
    const [decoder, sink] = decoderFor('server');
    const payload = counting(4 * MiB, 3);
    const bytes = encodeFrame({ opcode: Opcode.Binary, payload });
    // 10 KiB of payload buys a buffer of 1.25 MiB (128 times), its own.
    decoder.push(bytes.slice(0, 10 + 10 * 1024));
    const first = decoder.inPlaceTarget();
    assert.ok(first !== null);
    assert.equal(first.length, 1.25 * MiB - 10 * 1024);
    assert.equal(decoder.inPlaceTarget(1000)!.length, 1000);
    assert.equal(decoder.inPlaceTarget(0), null);
    first.set(bytes.subarray(10 + 10 * 1024, 10 + 1.25 * MiB));
    decoder.pushInPlace(first.length);
    assert.equal(decoder.inPlaceTarget(), null, 'full');
    decoder.push(bytes.slice(10 + 1.25 * MiB, 10 + 1.25 * MiB + 1));
    assert.ok(decoder.inPlaceTarget() !== null, 'grown');
    decoder.stop();
    assert.equal(decoder.inPlaceTarget(), null);
    assert.deepEqual(sink.frames, []);
  });

  test('pushInPlace refuses a count the offer does not cover, changing nothing', () => {
    const [decoder, sink] = decoderFor('server');
    const payload = counting(50_000, 9);
    const bytes = encodeFrame({ opcode: Opcode.Binary, payload });
    decoder.push(bytes.slice(0, 1000));
    const room = decoder.inPlaceTarget()!.length;
    for (const count of [0, -1, 1.5, Number.NaN, room + 1]) assert.throws(() => decoder.pushInPlace(count), RangeError, String(count));
    const target = decoder.inPlaceTarget()!;
    target.set(bytes.subarray(1000));
    decoder.pushInPlace(room);
    assert.deepEqual(sink.frames, [frame(Opcode.Binary, true, payload)]);
  });
});

describe('decoders at rest (FrameDecoder.rest / take)', () => {
  test('a decoder given back to rest and then fed bytes throws, rather than hand frames to the sink it last served', () => {
    const options = { expectMasked: false, maxMessageSize: LIMIT, allowRsv1: false };
    // Empty the pool first (earlier tests may have filled it), so that this one rests.
    const held = Array.from({ length: 16 }, () => FrameDecoder.take(new RecordingSink(), options));
    const [decoder, sink] = decoderFor('server');
    FrameDecoder.rest(decoder);
    assert.throws(() => decoder.push(encodeFrame({ opcode: Opcode.Text, payload: utf8('late') })), /a decoder at rest was fed bytes/);
    assert.deepEqual(sink.frames, []);
    // Taken out of the pool again (it is the one on top), not to be lent to later tests.
    assert.equal(FrameDecoder.take(new RecordingSink(), options), decoder);
    for (const other of held) FrameDecoder.rest(other);
  });
});
