/**
 * The permessage-deflate codec (RFC 7692 §7.2): round trips between a client and a server
 * codec for each context policy, window size and level; what context takeover changes on
 * the wire; fragmented and interleaved messages over the process-wide streams; the tail;
 * a decompression bomb; recovery after bad data; and what a codec holds per connection.
 */
import assert from 'node:assert/strict';
import { constants, createInflateRaw, deflateRawSync } from 'node:zlib';
import { describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

import fc from 'fast-check';

import { DeflateCodec, resolveDeflateOptions, zlibDriverAvailable, type DeflateOptions, type DeflateParams, type OutputAllocator } from '../../src/extensions/permessage-deflate/index.ts';
import { assertSameBytes, concat, deflateBomb, endsWithTail, GiB, inflateWire, KiB, MiB, sample, split, TAIL, type SampleKind } from './helpers.ts';

interface Pair {
  client: DeflateCodec;
  server: DeflateCodec;
  dispose(): void;
}

/** Both ends of one connection, as negotiated with `params`. */
function pair(params: DeflateParams, options: DeflateOptions = {}, allocate?: OutputAllocator): Pair {
  const resolved = resolveDeflateOptions(options);
  const client = new DeflateCodec('client', params, resolved, allocate);
  const server = new DeflateCodec('server', params, resolved, allocate);
  return {
    client,
    server,
    dispose: () => {
      client.dispose();
      server.dispose();
    },
  };
}

function agreed(noContextTakeover: boolean, bits = 15): DeflateParams {
  return { serverNoContextTakeover: noContextTakeover, clientNoContextTakeover: noContextTakeover, serverMaxWindowBits: bits, clientMaxWindowBits: bits };
}

const NO_LIMIT = Number.MAX_SAFE_INTEGER;
const KINDS: SampleKind[] = ['zeros', 'json', 'prose', 'utf8', 'random'];

/** What `codec` compresses `data` to; it must not choose to send it uncompressed. */
function compressed(codec: DeflateCodec, data: Uint8Array): Uint8Array {
  const payload = codec.compress(data);
  assert.ok(payload !== null, 'sent uncompressed');
  return payload;
}

/**
 * Send `data` from one codec to the other, whole, and check it arrives unchanged. Null:
 * the sender chose to send it uncompressed (RSV1 clear), which the receiving codec never sees.
 */
function roundTrip(from: DeflateCodec, to: DeflateCodec, data: Uint8Array, what: string): Uint8Array | null {
  const payload = from.compress(data);
  if (payload === null) return null;
  assertSameBytes(to.decompress(payload, true, NO_LIMIT), data, what);
  return payload;
}

test('§7.2: the synchronous zlib driver the codec relies on is available on this Node', () => {
  assert.equal(zlibDriverAvailable(), true);
});

describe('round trips', () => {
  for (const noContextTakeover of [true, false]) {
    for (const bits of [8, 9, 12, 15]) {
      for (const level of [0, 1, 6, 9]) {
        const name = `§7.2 ${noContextTakeover ? 'no context takeover' : 'context takeover'}, window bits ${bits}, level ${level}: messages both ways arrive unchanged`;
        test(name, () => {
          const { client, server, dispose } = pair(agreed(noContextTakeover, bits), { level });
          try {
            let seed = 1;
            for (const length of [0, 1, 100, 5000, 70_000]) {
              for (const kind of KINDS) {
                const data = sample(kind, length, seed++);
                roundTrip(client, server, data, `client→server ${kind} ${length}`);
                roundTrip(server, client, data, `server→client ${kind} ${length}`);
              }
            }
            // A message with repeats farther back than small windows reach, and again.
            const block = sample('random', 3000, 99);
            const far = concat([block, sample('prose', 40_000), block, block]);
            for (let i = 0; i < 3; i++) {
              roundTrip(client, server, far, `client→server far repeats #${i}`);
              roundTrip(server, client, far, `server→client far repeats #${i}`);
            }
          } finally {
            dispose();
          }
        });
      }
    }
  }

  test('§7.2.1: without context takeover the payload is plain DEFLATE: an independent raw inflater reads it', () => {
    for (const bits of [9, 12, 15]) {
      const { client, server, dispose } = pair(agreed(true, bits));
      for (const kind of KINDS) {
        const data = sample(kind, 20_000, bits);
        for (const [name, codec] of [['client', client], ['server', server]] as const) {
          const payload = codec.compress(data);
          // Random data grows: without context takeover it is sent uncompressed instead.
          if (kind === 'random') assert.equal(payload, null, `${name} random window ${bits}`);
          else assertSameBytes(inflateWire(payload!, bits), data, `${name} ${kind} window ${bits}`);
        }
      }
      dispose();
    }
  });

  test('§7.2.2: the codec reads what an independent raw deflater wrote (sync flush, tail removed)', () => {
    for (const noContextTakeover of [true, false]) {
      const { server, dispose } = pair(agreed(noContextTakeover));
      for (const kind of KINDS) {
        const data = sample(kind, 33_333, 5);
        const wire = deflateRawSync(data, { finishFlush: constants.Z_SYNC_FLUSH, level: 9 });
        assert.ok(endsWithTail(wire));
        assertSameBytes(server.decompress(wire.subarray(0, wire.length - 4), true, NO_LIMIT), data, kind);
      }
      dispose();
    }
  });

  test('§7.2.3.1: an empty message compresses to a short payload and decompresses to nothing', () => {
    for (const noContextTakeover of [true, false]) {
      const { client, server, dispose } = pair(agreed(noContextTakeover));
      const payload = compressed(client, new Uint8Array(0))!;
      assert.ok(payload.length <= 2, `empty message payload is ${payload.length} bytes`);
      assert.equal(server.decompress(payload, true, NO_LIMIT)?.length, 0);
      // A compressed message whose payload is empty (which §7.2.1 never makes) is empty too.
      assert.equal(server.decompress(new Uint8Array(0), true, NO_LIMIT)?.length, 0);
      dispose();
    }
  });

  test('§7.2.1: with context takeover, an empty message right after another is an empty stored block (00 once its tail is removed), and the context goes on', () => {
    const { client, server, dispose } = pair(agreed(false));
    const text = new TextEncoder().encode('hello, hello, hello');
    roundTrip(client, server, text, 'the first message');
    for (const what of ['an empty message after a message', 'an empty message after an empty one']) {
      // zlib writes nothing at all for it: a payload must still be there to inflate.
      const payload = compressed(client, new Uint8Array(0));
      assert.deepEqual([...payload], [0x00], what);
      assert.equal(server.decompress(payload, true, NO_LIMIT)?.length, 0, what);
    }
    roundTrip(client, server, text, 'the next message, in the same context');
    dispose();
  });

  test('§7.2: random messages, parameters and frame splits survive the trip (property)', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.constantFrom(8, 9, 10, 12, 15),
        fc.constantFrom(0, 1, 9),
        fc.array(fc.tuple(fc.uint8Array({ maxLength: 3000, size: 'max' }), fc.constantFrom<SampleKind>('json', 'random', 'zeros'), fc.array(fc.nat(), { maxLength: 4 })), {
          minLength: 1,
          maxLength: 6,
        }),
        (noContextTakeover, bits, level, messages) => {
          const { client, server, dispose } = pair(agreed(noContextTakeover, bits), { level });
          try {
            for (const [noise, kind, cuts] of messages) {
              const data = concat([noise, sample(kind, noise.length, noise.length + 1), noise]);
              const payload = client.compress(data);
              if (payload === null) continue; // grown: sent uncompressed, nothing to inflate
              const frames = split(payload, cuts.map((cut) => cut % (payload.length + 1)));
              const out = frames.map((frame, i) => server.decompress(frame, i === frames.length - 1, NO_LIMIT)!);
              assertSameBytes(concat(out), data, 'reassembled');
            }
          } finally {
            dispose();
          }
        },
      ),
      { numRuns: 150, seed: 7692 },
    );
  });
});

describe('the wire format', () => {
  test('§7.2.1: the 00 00 ff ff tail is removed from every message', () => {
    for (const noContextTakeover of [true, false]) {
      for (const bits of [8, 9, 15]) {
        const { client, server, dispose } = pair(agreed(noContextTakeover, bits));
        for (const length of [0, 1, 64, 4096, 100_000]) {
          for (const kind of KINDS) {
            const data = sample(kind, length, 3);
            for (const codec of [client, server]) {
              const payload = codec.compress(data);
              assert.ok(payload === null || !endsWithTail(payload), `${kind} ${length}: payload ends with the tail`);
            }
          }
        }
        dispose();
      }
    }
  });

  test('§7.2.2: decompression restores the tail itself: a payload with the tail left on decodes to the same bytes', () => {
    const { client, server, dispose } = pair(agreed(true));
    const data = sample('json', 5000);
    const payload = compressed(client, data)!;
    // An extra empty stored block is harmless (§7.2.3.4), so both forms decode alike.
    assertSameBytes(server.decompress(concat([payload, TAIL]), true, NO_LIMIT), data, 'with tail');
    assertSameBytes(server.decompress(payload, true, NO_LIMIT), data, 'without tail');
    dispose();
  });

  test('§7.2.1: with context takeover an empty message after others is still an empty stored block, and what follows stays intact', () => {
    for (const noContextTakeover of [false, true]) {
      const { client, server, dispose } = pair(agreed(noContextTakeover));
      const sequence = ['x', '', '', 'abc', '', '', '', 'hello hello hello', ''].map((text) => new TextEncoder().encode(text));
      for (const [i, data] of sequence.entries()) {
        const payload = roundTrip(client, server, data, `message ${i} (${data.length} bytes)`);
        if (payload === null) {
          // It would grow ('x' is 1 byte): without context takeover it goes uncompressed.
          assert.ok(noContextTakeover && data.length > 0, `message ${i} sent uncompressed`);
          continue;
        }
        // §7.2.1: an empty block with no compression ends every message; without its tail it is 00.
        if (data.length === 0) assert.deepEqual([...payload], [0x00], `message ${i}: empty message payload`);
        assert.ok(payload.length > 0, `message ${i}: a compressed payload is never empty`);
      }
      dispose();
    }
  });

  test('§7.1.1: without context takeover the same message compresses to the same bytes every time, on every codec', () => {
    const data = sample('prose', 4000, 11);
    const first = pair(agreed(true));
    const second = pair(agreed(true));
    const reference = compressed(first.client, data);
    for (let i = 0; i < 5; i++) {
      assert.deepEqual(compressed(first.client, data), reference, `repeat ${i}`);
      assert.deepEqual(compressed(second.client, data), reference, `other codec, repeat ${i}`);
      // Each can be read by a fresh decompressor: no message depends on an earlier one.
      assertSameBytes(pair(agreed(true)).server.decompress(reference, true, NO_LIMIT), data, 'fresh reader');
    }
    first.dispose();
    second.dispose();
  });

  test('§7.1.1: with context takeover a repeated message shrinks to a back-reference into the previous one', () => {
    for (const level of [1, 6]) {
      const { client, server, dispose } = pair(agreed(false), { level });
      const data = sample('random', 2000, 4);
      const sizes: number[] = [];
      for (let i = 0; i < 4; i++) sizes.push(roundTrip(client, server, data, `message ${i}`)!.length);
      assert.ok(sizes[0]! > 1900, `random data does not compress on its own: ${sizes[0]}`);
      for (let i = 1; i < 4; i++) assert.ok(sizes[i]! < sizes[0]! / 10, `level ${level}: message ${i} is ${sizes[i]} bytes, the first ${sizes[0]}`);
      // The same bytes without context takeover would grow: they are sent uncompressed.
      const fresh = pair(agreed(true), { level });
      assert.equal(fresh.client.compress(data), null);
      fresh.dispose();
      dispose();
    }
  });

  test('§7.1.1: with context takeover a later message needs the earlier ones: a fresh reader cannot decode it', () => {
    const { client, server, dispose } = pair(agreed(false));
    const data = sample('random', 2000, 8);
    roundTrip(client, server, data, 'first');
    const second = compressed(client, data);
    const stranger = pair(agreed(false));
    assert.throws(() => stranger.server.decompress(second, true, NO_LIMIT), 'a back-reference before the start of the stream is invalid');
    assertSameBytes(server.decompress(second, true, NO_LIMIT), data, 'the real peer decodes it');
    stranger.dispose();
    dispose();
  });

  test('§7.1.2: a window of 8 bits is honoured with stored blocks; 9 already compresses', () => {
    const data = sample('zeros', 50_000);
    // With context takeover, so that a message that grows is still compressed.
    const eight = pair(agreed(false, 8));
    const nine = pair(agreed(false, 9));
    const stored = compressed(eight.client, data);
    // Stored blocks: the payload is the message plus block headers, with no LZ77 matches at all.
    assert.ok(stored.length >= data.length, `window 8: ${stored.length} bytes for ${data.length}`);
    assert.ok(stored.length < data.length + 64);
    assertSameBytes(inflateWire(stored, 8), data, 'a window-8 inflater reads it');
    assert.ok(compressed(nine.client, data).length < 1000, 'window 9 compresses');
    // Only the sender the 8 applies to is held to it.
    const serverOnly = pair({ ...agreed(false, 15), serverMaxWindowBits: 8 });
    assert.ok(compressed(serverOnly.server, data).length >= data.length);
    assert.ok(compressed(serverOnly.client, data).length < 1000);
    // Without context takeover, stored blocks that only add headers are not worth sending.
    const eightFresh = pair(agreed(true, 8));
    assert.equal(eightFresh.client.compress(data), null);
    for (const p of [eight, nine, serverOnly, eightFresh]) p.dispose();
  });
});

describe('fragmented messages', () => {
  for (const noContextTakeover of [true, false]) {
    test(`§7.2.2 ${noContextTakeover ? 'no context takeover' : 'context takeover'}: a message compressed once and sent in frames decompresses frame by frame`, () => {
      const { client, server, dispose } = pair(agreed(noContextTakeover));
      for (const [kind, length] of [
        ['json', 100_000],
        ['utf8', 9_000],
        ['random', 30_000],
        ['zeros', 200_000],
      ] as const) {
        const data = sample(kind, length, 2);
        for (const pieces of [2, 3, 17]) {
          const payload = client.compress(data);
          if (payload === null) continue; // random data without context takeover: sent uncompressed
          const step = Math.ceil(payload.length / pieces);
          const frames = split(payload, Array.from({ length: pieces }, (_, i) => i * step));
          const out: Uint8Array[] = [];
          frames.forEach((frame, i) => {
            const fin = i === frames.length - 1;
            const inflated = server.decompress(frame, fin, NO_LIMIT);
            assert.ok(inflated !== null);
            out.push(inflated);
          });
          assertSameBytes(concat(out), data, `${kind} ${length} in ${frames.length} frames`);
        }
        // A whole message between fragmented ones.
        roundTrip(client, server, data, `${kind} whole`);
      }
      dispose();
    });
  }

  test('§7.2.2: a compressed message in 1-byte frames', () => {
    const { client, server, dispose } = pair(agreed(true));
    const data = sample('json', 3000, 6);
    const payload = compressed(client, data);
    const out: Uint8Array[] = [];
    for (let i = 0; i < payload.length; i++) out.push(server.decompress(payload.subarray(i, i + 1), i === payload.length - 1, NO_LIMIT)!);
    assertSameBytes(concat(out), data, '1-byte frames');
    dispose();
  });

  test('two codecs interleaving fragmented messages through the process-wide streams stay correct', () => {
    // Same parameters, so both borrow the same shared streams for whole messages.
    const a = pair(agreed(true));
    const b = pair(agreed(true));
    const c = pair(agreed(true));
    const dataA = sample('json', 80_000, 21);
    const dataB = sample('prose', 80_000, 22);
    const framesA = split(compressed(a.client, dataA), [1000, 5000, 9000]);
    const framesB = split(compressed(b.client, dataB), [10, 2000, 3000, 7000]);
    const outA: Uint8Array[] = [];
    const outB: Uint8Array[] = [];
    const rounds = Math.max(framesA.length, framesB.length);
    for (let i = 0; i < rounds; i++) {
      if (i < framesA.length) outA.push(a.server.decompress(framesA[i]!, i === framesA.length - 1, NO_LIMIT)!);
      // A third connection uses the shared streams for whole messages, both ways, in between.
      const other = sample('utf8', 5000, 30 + i);
      roundTrip(c.client, c.server, other, `interleaved whole message ${i}`);
      roundTrip(c.server, c.client, other, `interleaved reply ${i}`);
      if (i < framesB.length) outB.push(b.server.decompress(framesB[i]!, i === framesB.length - 1, NO_LIMIT)!);
    }
    assertSameBytes(concat(outA), dataA, 'message A');
    assertSameBytes(concat(outB), dataB, 'message B');
    // And again, the other way round, after the shared streams were used.
    roundTrip(b.server, b.client, dataA, 'b server→client');
    roundTrip(a.server, a.client, dataB, 'a server→client');
    for (const p of [a, b, c]) p.dispose();
  });

  test('context-takeover and no-context-takeover codecs interleaved do not leak windows into each other', () => {
    const kept = pair(agreed(false));
    const fresh = pair(agreed(true));
    const data = sample('prose', 4000, 40);
    const reference = compressed(fresh.client, data);
    for (let i = 0; i < 4; i++) {
      roundTrip(kept.client, kept.server, data, `kept ${i}`);
      assert.deepEqual(roundTrip(fresh.client, fresh.server, data, `fresh ${i}`), reference, 'the shared compressor starts empty every time');
    }
    kept.dispose();
    fresh.dispose();
  });
});

describe('limits and bad data', () => {
  test('§8: the crafted bomb really is one: 1 MiB that streams out to 1 GiB of zeros', async () => {
    const { payload, inflatedSize } = deflateBomb(4_161_791);
    assert.ok(payload.length < 1.02 * MiB, `${payload.length} bytes`);
    assert.ok(inflatedSize >= GiB);
    // Count the output of an ordinary streaming inflater without keeping it.
    const inflater = createInflateRaw({ chunkSize: 256 * KiB });
    const zeros = Buffer.alloc(256 * KiB);
    let total = 0;
    let nonZero = 0;
    inflater.on('data', (chunk: Buffer) => {
      total += chunk.length;
      if (!chunk.equals(zeros.subarray(0, chunk.length))) nonZero++;
    });
    inflater.write(payload);
    inflater.write(TAIL);
    await new Promise<void>((resolve) => inflater.flush(constants.Z_SYNC_FLUSH, () => resolve()));
    inflater.close();
    assert.equal(total, inflatedSize);
    assert.equal(nonZero, 0);
    // A small one of the same make, inflated whole.
    const small = deflateBomb(1000);
    assertSameBytes(inflateWire(small.payload), new Uint8Array(small.inflatedSize), 'small bomb');
  });

  test('§8: a 1 MiB payload that would inflate to 1 GiB is stopped at the limit, quickly, without the memory', () => {
    const { payload } = deflateBomb(4_161_791);
    for (const noContextTakeover of [true, false]) {
      const { server, dispose } = pair(agreed(noContextTakeover));
      globalThis.gc?.();
      const before = process.memoryUsage();
      const started = performance.now();
      const result = server.decompress(payload, true, 16 * MiB);
      const elapsed = performance.now() - started;
      const after = process.memoryUsage();
      assert.equal(result, null, 'over the limit gives null');
      assert.ok(elapsed < 2000, `took ${elapsed.toFixed(0)} ms`);
      const grew = Math.max(after.rss - before.rss, after.arrayBuffers - before.arrayBuffers);
      assert.ok(grew < 256 * MiB, `memory grew by ${(grew / MiB).toFixed(0)} MiB`);
      dispose();
    }
  });

  test('§8: the same bomb sent in frames is stopped by the limit of the frame that crosses it', () => {
    const { payload } = deflateBomb(4_161_791);
    const { server, dispose } = pair(agreed(true));
    const frames = split(payload, [1000, 2000, 3000, 50_000]);
    const limit = 8 * MiB;
    let used = 0;
    let stopped = -1;
    for (let i = 0; i < frames.length; i++) {
      const out = server.decompress(frames[i]!, i === frames.length - 1, limit - used);
      if (out === null) {
        stopped = i;
        break;
      }
      used += out.length;
    }
    assert.ok(stopped >= 0, 'stopped');
    assert.ok(used <= limit);
    dispose();
  });

  test('§8: the limit is exact: the full size passes, one byte less gives null', () => {
    for (const noContextTakeover of [true, false]) {
      const { client, server, dispose } = pair(agreed(noContextTakeover));
      const data = sample('zeros', 300_000);
      const payload = compressed(client, data);
      const probe = pair(agreed(noContextTakeover));
      // With context takeover the probe must see the same history: use fresh pairs for both checks.
      assert.equal(probe.server.decompress(payload, true, data.length - 1), null);
      assertSameBytes(server.decompress(payload, true, data.length), data, 'at the limit');
      probe.dispose();
      dispose();
    }
  });

  test('§8: after a bomb, the shared stream is usable again by other codecs', () => {
    const { payload } = deflateBomb(100_000);
    const bombed = pair(agreed(true));
    assert.equal(bombed.server.decompress(payload, true, MiB), null);
    bombed.dispose();
    const next = pair(agreed(true));
    for (const kind of KINDS) roundTrip(next.client, next.server, sample(kind, 10_000, 50), `after the bomb: ${kind}`);
    next.dispose();
  });

  const BAD: Array<[string, Uint8Array]> = [
    ['a reserved block type (BTYPE 11)', Uint8Array.of(0x07, 0x00)],
    ['a stored block whose length check fails', Uint8Array.of(0x00, 0x05, 0x00, 0x00, 0x00, 0x61)],
    ['a distance before the start of the data', Uint8Array.of(0x02, 0x04, 0x00)],
    ['bytes that are not DEFLATE', Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)],
  ];
  for (const [what, bad] of BAD) {
    test(`§7.2.2: ${what} throws, and the next message on a new codec still works`, () => {
      for (const noContextTakeover of [true, false]) {
        const broken = pair(agreed(noContextTakeover));
        assert.throws(() => broken.server.decompress(bad, true, NO_LIMIT));
        broken.dispose();
        const next = pair(agreed(noContextTakeover));
        for (const kind of KINDS) roundTrip(next.client, next.server, sample(kind, 20_000, 60), `after ${what}: ${kind}`);
        next.dispose();
      }
    });
  }

  test('§7.2.1: a message with no compressed byte, or with its tail left on, reads as what it plainly means and leaves a kept context intact', () => {
    for (const noContextTakeover of [false, true]) {
      const { client, server, dispose } = pair(agreed(noContextTakeover));
      const first = sample('json', 3000, 80);
      const second = sample('prose', 3000, 81);
      assertSameBytes(server.decompress(concat([compressed(client, first), TAIL]), true, NO_LIMIT), first, 'tail left on');
      // The tail restored on top of the one left on would leave the kept stream inside a
      // stored block's length fields: the next message would fail, or come out as raw bytes.
      roundTrip(client, server, second, `after the tail left on (no context takeover: ${noContextTakeover})`);
      assert.equal(server.decompress(new Uint8Array(0), true, NO_LIMIT)?.length, 0);
      roundTrip(client, server, first, `after an empty payload (no context takeover: ${noContextTakeover})`);
      // Either spread over frames: the tail cut 3 + 1, and an empty message in two empty frames.
      const payload = concat([compressed(client, second), TAIL]);
      assertSameBytes(concat(split(payload, [payload.length - 1]).map((frame, i) => server.decompress(frame, i === 1, NO_LIMIT)!)), second, 'tail over two frames');
      assert.equal(server.decompress(new Uint8Array(0), false, NO_LIMIT)?.length, 0);
      assert.equal(server.decompress(new Uint8Array(0), true, NO_LIMIT)?.length, 0);
      roundTrip(client, server, first, 'after both');
      dispose();
    }
  });

  test('§7.2.1: a payload that stops inside a block (cut short, or never flushed) is invalid: the restored tail would be read as its data', () => {
    // A stored block of 10 bytes ("abcdefghij", RFC 1951 §3.2.4) cut after 4 of them: zlib
    // alone takes the 4 restored bytes for 4 more of its data, and hands over 8 bytes.
    const cut = Uint8Array.of(0x00, 0x0a, 0x00, 0xf5, 0xff, 0x61, 0x62, 0x63, 0x64);
    const whole = Uint8Array.of(...cut, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x00);
    for (const noContextTakeover of [false, true]) {
      const { server, dispose } = pair(agreed(noContextTakeover));
      assert.throws(() => server.decompress(cut, true, NO_LIMIT), /does not end at a DEFLATE block boundary/);
      dispose();
      // The control: the same block whole, then the sync flush's empty stored block.
      const control = pair(agreed(noContextTakeover));
      assert.equal(Buffer.from(control.server.decompress(whole, true, NO_LIMIT)!).toString(), 'abcdefghij');
      control.dispose();
    }
  });

  test('§7.2.1: a message ending its DEFLATE stream with a final empty stored block (its tail removed) is followed by a message in a new stream, not lost', () => {
    const { client, server, dispose } = pair(agreed(false));
    const hello = deflateRawSync(Buffer.from('hello'), { finishFlush: constants.Z_SYNC_FLUSH });
    // The final block's header byte, BFINAL set and BTYPE 00; its length fields are the tail.
    const ended = concat([hello, Uint8Array.of(0x01)]);
    assert.equal(Buffer.from(server.decompress(ended, true, NO_LIMIT)!).toString(), 'hello');
    // The client's stream starts here, as the server's new one must.
    const data = sample('json', 2000, 82);
    roundTrip(client, server, data, 'the message after the ended stream');
    const repeat = roundTrip(client, server, data, 'the same again, as a back-reference into the new stream')!;
    assert.ok(repeat.length < 100, `the repeat took ${repeat.length} bytes: not a back-reference`);
    dispose();
  });

  test('§7.2.2: bad data in the middle of a fragmented message throws, and whole messages on other codecs still work', () => {
    const broken = pair(agreed(true));
    const good = sample('json', 50_000, 70);
    const frames = split(compressed(broken.client, good), [500]);
    assert.ok(broken.server.decompress(frames[0]!, false, NO_LIMIT) !== null);
    assert.throws(() => broken.server.decompress(Uint8Array.of(0x07, 0xff, 0xff, 0xff), true, NO_LIMIT));
    broken.dispose();
    const next = pair(agreed(true));
    roundTrip(next.client, next.server, good, 'after the broken fragment');
    next.dispose();
  });
});

describe('what the codec hands out', () => {
  test('outputs are Buffers, as every payload a peer hands out, and hold about their length (a queued or kept message holds what it counts)', () => {
    // A slab of Node's pool as this Node makes it: Node 26 makes one 64 bytes over Buffer.poolSize, to align it.
    const slab = Buffer.allocUnsafe(1).buffer.byteLength;
    for (const noContextTakeover of [true, false]) {
      const { client, server, dispose } = pair(agreed(noContextTakeover));
      for (const [kind, length] of [['zeros', 1 * MiB], ['json', 100_000], ['prose', 5000]] as const) {
        const data = sample(kind, length, 3);
        const payload = compressed(client, data);
        assert.ok(Buffer.isBuffer(payload), `${kind}: compressed is a Buffer`);
        // Small ones lie in a slab of Node's pool, shared; larger ones in memory of their size.
        assert.ok(payload.buffer.byteLength <= Math.max(2 * payload.length + 1024, slab), `${kind}: ${payload.length} bytes keep ${payload.buffer.byteLength}`);
        const inflated = server.decompress(payload, true, NO_LIMIT)!;
        assert.ok(Buffer.isBuffer(inflated), `${kind}: inflated is a Buffer`);
        assertSameBytes(inflated, data, kind);
      }
      dispose();
    }
  });

  test('a small output cut from a shared slab is handed out where zlib wrote it, not copied into another slab', () => {
    for (const noContextTakeover of [true, false]) {
      const sizes: number[] = [];
      // A slab allocator, as a peer's: small buffers are cuts of a larger ArrayBuffer.
      const allocate = (size: number): Uint8Array => {
        sizes.push(size);
        return size < 4096 ? Buffer.from(new ArrayBuffer(8192), 0, size) : Buffer.allocUnsafeSlow(size);
      };
      const { client, server, dispose } = pair(agreed(noContextTakeover), {}, allocate);
      const data = sample('json', 1000, 5);
      roundTrip(client, server, data, 'warming up: the streams are made'); // zlib's own buffers are not the codec's
      sizes.length = 0;
      const payload = compressed(client, data);
      const inflated = server.decompress(payload, true, NO_LIMIT)!;
      assertSameBytes(inflated, data, 'the round trip');
      assert.ok(sizes.length > 0, 'the outputs come from the allocator given');
      assert.equal(inflated.buffer.byteLength, 8192, 'a cut of a slab');
      // Each first buffer is sized for more than comes out: a copy would be one of the output's own
      // length (for the compressed one, with the 4-byte tail that §7.2.1 then removes).
      assert.ok(!sizes.includes(payload.length + 4), `the compressed output (${payload.length + 4} bytes) was copied: allocations ${sizes.join(', ')}`);
      assert.ok(!sizes.includes(inflated.length), `the inflated output (${inflated.length} bytes) was copied: allocations ${sizes.join(', ')}`);
      dispose();
    }
  });

});

describe('what a codec holds per connection', () => {
  setFlagsFromString('--expose-gc');
  const collectGarbage = runInNewContext('gc') as () => void;
  const heapAfterGc = (): number => {
    collectGarbage();
    collectGarbage();
    return process.memoryUsage().heapUsed;
  };

  test('an idle codec holds its state alone: what follows from its parameters is shared by every codec that agreed on them', () => {
    const resolved = resolveDeflateOptions({});
    const codecs: DeflateCodec[] = [];
    const before = heapAfterGc();
    // Each options object its own, as each client connection resolves its own.
    for (let i = 0; i < 20_000; i++) codecs.push(new DeflateCodec(i % 2 === 0 ? 'server' : 'client', agreed(i % 3 === 0), { ...resolved }));
    const perCodec = (heapAfterGc() - before) / codecs.length;
    // 100 bytes or so; some 400 with its own keys, stream factories and flags.
    assert.ok(perCodec < 200, `${perCodec.toFixed(0)} bytes per idle codec`);
    // Still each codec to its own parameters.
    const { client, server, dispose } = pair(agreed(false, 9));
    roundTrip(client, server, sample('json', 5000, 1), 'a 512-byte window and context takeover');
    dispose();
    assert.equal(codecs.length, 20_000);
  });
});
