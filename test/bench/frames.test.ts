/**
 * The load generator's own frame readers: whatever way a server's stream is cut into
 * chunks (single bytes included), the echo checker counts every echo and flags a wrong one,
 * and the message reader returns the messages whole. A benchmark that miscounts is a wrong
 * benchmark, so these are checked like the library is.
 */
import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { test } from 'node:test';

import { EchoParser, encodeClientFrame, Opcode } from '../../bench/lib/frames.ts';
import { MessageReader } from '../../bench/lib/message-reader.ts';
import { binaryPayload, textPayload } from '../../bench/lib/payloads.ts';
import { encodeFrame } from '../../src/frame/encoder.ts';

/** A server's frame (unmasked, §5.1). */
function serverFrame(opcode: number, payload: Uint8Array, fin = true, rsv1 = false): Buffer {
  const frame = Buffer.from(encodeFrame({ opcode, payload, fin, maskKey: null }));
  if (rsv1) frame[0]! |= 0x40;
  return frame;
}

/** `stream` cut into pieces of `size` bytes. */
function chunks(stream: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < stream.length; at += size) out.push(stream.subarray(at, at + size));
  return out;
}

const SIZES = [0, 1, 125, 126, 65535, 65536, 70000];

for (const chunkSize of [1, 7, 4096, 1 << 20]) {
  test(`EchoParser counts every echo of every length class in chunks of ${chunkSize} bytes, and flags a wrong one`, () => {
    for (const length of SIZES) {
      const payload = new Uint8Array(length).map((_, i) => (i * 31) & 0xff);
      const parser = new EchoParser({ opcode: Opcode.binary, payloads: [payload], allowMasked: false });
      const bad = payload.slice();
      if (length > 0) bad[(length - 1) >> 1]! ^= 1; // the middle byte, one of the three the checker probes
      const stream = Buffer.concat([
        serverFrame(Opcode.binary, payload),
        serverFrame(Opcode.pong, new Uint8Array(0)), // an empty control frame between echoes
        serverFrame(Opcode.binary, payload),
        serverFrame(Opcode.binary, bad),
      ]);
      let echoes = 0;
      for (const piece of chunks(stream, chunkSize)) echoes += parser.push(piece);
      assert.equal(echoes, 3, `length ${length}`);
      assert.equal(parser.mismatches, length > 0 ? 1 : 0, `length ${length}`);
      assert.equal(parser.closed, false);
    }
  });

  test(`MessageReader returns fragmented and compressed-flagged messages whole in chunks of ${chunkSize} bytes`, () => {
    const reader = new MessageReader();
    const first = new Uint8Array(70000).fill(1);
    const second = new Uint8Array(300).fill(2);
    const stream = Buffer.concat([
      serverFrame(Opcode.text, first.subarray(0, 50000), false, true),
      serverFrame(Opcode.ping, new Uint8Array(0)), // a control frame between fragments
      serverFrame(0, first.subarray(50000), true),
      serverFrame(Opcode.binary, second),
      serverFrame(Opcode.binary, new Uint8Array(0)), // empty, possibly at the end of a chunk
      serverFrame(Opcode.close, Uint8Array.of(0x03, 0xe8)),
    ]);
    const messages = chunks(stream, chunkSize).flatMap((piece) => reader.push(piece));
    assert.deepEqual(
      messages.map((m) => [m.opcode, m.compressed, m.payload.length]),
      [
        [Opcode.text, true, 70000],
        [Opcode.binary, false, 300],
        [Opcode.binary, false, 0],
      ],
    );
    assert.deepEqual(new Uint8Array(messages[0]!.payload), first);
    assert.equal(reader.violations, 0);
    assert.equal(reader.closed, true);
  });
}

test('EchoParser checks each echo against the message sent in its turn: a stale or swapped buffer is a mismatch', () => {
  const payloads = [0, 1, 2].map((variant) => binaryPayload(70000, variant));
  const textPayloads = [0, 1].map((variant) => textPayload(125, true, variant));
  for (const chunkSize of [1, 4096]) {
    const parser = new EchoParser({ opcode: Opcode.binary, payloads, allowMasked: false });
    // Sent 0 1 2 0 1: the fourth echo carries message 1's bytes (a buffer reused too early).
    const stream = Buffer.concat([0, 1, 2, 1, 1].map((variant) => serverFrame(Opcode.binary, payloads[variant]!)));
    let echoes = 0;
    for (const piece of chunks(stream, chunkSize)) echoes += parser.push(piece);
    assert.equal(echoes, 5);
    assert.equal(parser.mismatches, 1, `chunks of ${chunkSize}`);
  }
  const textParser = new EchoParser({ opcode: Opcode.text, payloads: textPayloads, allowMasked: false });
  textParser.push(Buffer.concat([0, 0].map((variant) => serverFrame(Opcode.text, textPayloads[variant]!))));
  assert.equal(textParser.mismatches, 1, 'text variants differ where the checker probes');
  assert.ok(textPayloads.every((payload) => payload.length === 125 && isUtf8(payload)));
});

test('MessageReader counts a masked frame from a server as a violation (§5.1)', () => {
  const reader = new MessageReader();
  reader.push(encodeClientFrame(new Uint8Array(10), Opcode.binary, Uint8Array.of(1, 2, 3, 4)));
  assert.equal(reader.violations, 1);
});
