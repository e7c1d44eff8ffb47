import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { READ_REGION_SIZE, simdMaskAvailable, simdReadRegion } from '../../src/frame/mask-simd.ts';
import { applyMask, copyMasked, defaultRandomFill, MaskKeySource, xorBytes, xorMask, xorMaskWords } from '../../src/frame/mask.ts';
import { hex, randomBytes, seededRandom, toHex } from './helpers.ts';

/** The definition of §5.3: octet i of the payload is XORed with octet (i MOD 4) of the key. */
function referenceMask(data: Uint8Array, key: Uint8Array, keyOffset: number): Uint8Array {
  const out = Uint8Array.from(data); // a copy even when `data` is a Buffer
  for (let i = 0; i < out.length; i++) out[i] = out[i]! ^ key[(keyOffset + i) & 3]!;
  return out;
}

const random = seededRandom(0x5eed);
const KEYS = [hex('37 fa 21 3d'), hex('00 00 00 00'), hex('ff ff ff ff'), hex('01 80 7f fe'), randomBytes(random, 4)];

describe('RFC 6455 §5.3 client-to-server masking', () => {
  test('§5.3/§5.7 the masked "Hello" example: key 37 fa 21 3d turns 48 65 6c 6c 6f into 7f 9f 4d 51 58', () => {
    const data = hex('48 65 6c 6c 6f');
    applyMask(data, hex('37 fa 21 3d'));
    assert.equal(toHex(data), '7f 9f 4d 51 58');
  });

  // Short payloads are masked a byte at a time, long ones a 32-bit word at a time once the
  // address is aligned: lengths 0..300 cover both paths, every tail, and the switch between them.
  const MAX_LENGTH = 300;

  test('§5.3 applyMask equals the byte-wise definition for every length 0..300, byteOffset 0..7 and key offset 0..3', () => {
    const backing = randomBytes(random, MAX_LENGTH + 16);
    const failures: string[] = [];
    for (const key of KEYS) {
      for (let byteOffset = 0; byteOffset < 8; byteOffset++) {
        for (let length = 0; length <= MAX_LENGTH; length++) {
          for (let keyOffset = 0; keyOffset < 4; keyOffset++) {
            const buffer = backing.slice();
            const view = buffer.subarray(byteOffset, byteOffset + length);
            const expected = backing.slice();
            expected.set(referenceMask(view, key, keyOffset), byteOffset);
            applyMask(view, key, keyOffset);
            // Equal to the reference inside the view, untouched outside it.
            if (Buffer.compare(buffer, expected) !== 0) failures.push(`key ${toHex(key)}, length ${length}, byteOffset ${byteOffset}, keyOffset ${keyOffset}`);
          }
        }
      }
    }
    assert.deepEqual(failures.slice(0, 5), []);
  });

  test('§5.3 xorMask over [start, end) equals the definition with k0 applied at start, for every alignment', () => {
    const backing = randomBytes(random, MAX_LENGTH + 32);
    const failures: string[] = [];
    for (const key of KEYS) {
      const [k0, k1, k2, k3] = [key[0]!, key[1]!, key[2]!, key[3]!];
      for (let byteOffset = 0; byteOffset < 4; byteOffset++) {
        for (let start = 0; start < 8; start++) {
          for (let length = 0; length <= MAX_LENGTH; length++) {
            const buffer = backing.slice();
            const data = buffer.subarray(byteOffset, byteOffset + start + length + 5);
            const expected = backing.slice();
            expected.set(referenceMask(data.subarray(start, start + length), key, 0), byteOffset + start);
            xorMask(data, k0, k1, k2, k3, start, start + length);
            if (Buffer.compare(buffer, expected) !== 0) failures.push(`key ${toHex(key)}, byteOffset ${byteOffset}, start ${start}, length ${length}`);
          }
        }
      }
    }
    assert.deepEqual(failures.slice(0, 5), []);
  });

  test('§5.3 xorMaskWords (through one DataView of the chunk) equals the definition for every start, length 0..140 and key', () => {
    // The chunk is itself a view at an odd offset of a larger buffer, as a socket read can be.
    const backing = randomBytes(random, 200);
    const failures: string[] = [];
    for (const key of KEYS) {
      for (let start = 0; start < 8; start++) {
        for (let length = 0; length <= 140; length++) {
          const chunk = backing.slice().subarray(3, 3 + 160);
          const words = new DataView(chunk.buffer, chunk.byteOffset, chunk.length);
          const expected = Uint8Array.from(chunk);
          expected.set(referenceMask(chunk.subarray(start, start + length), key, 0), start);
          xorMaskWords(words, chunk, key[0]!, key[1]!, key[2]!, key[3]!, start, start + length);
          if (toHex(chunk) !== toHex(expected)) failures.push(`key ${toHex(key)} start ${start} length ${length}`);
        }
      }
    }
    assert.deepEqual(failures, []);
  });

  test('xorBytes and xorMaskWords report whether the unmasked bytes are all ASCII, with one high byte at any position', () => {
    const key = hex('37 fa 21 3d');
    const [k0, k1, k2, k3] = [key[0]!, key[1]!, key[2]!, key[3]!];
    const failures: string[] = [];
    for (let length = 0; length <= 140; length++) {
      for (let start = 0; start < 4; start++) {
        // -1: all ASCII; otherwise the one byte at `high` is 0x80 | something once unmasked.
        for (let high = -1; high < length; high++) {
          const plain = new Uint8Array(start + length + 3).fill(0x7f);
          if (high >= 0) plain[start + high] = 0x80 + (high % 0x80);
          const masked = plain.slice();
          masked.set(referenceMask(plain.subarray(start, start + length), key, 0), start);
          const byBytes = masked.slice();
          const bytesAscii = (xorBytes(byBytes, k0, k1, k2, k3, start, start + length) & 0x8080_8080) === 0;
          const byWords = masked.slice();
          const wordsAscii = (xorMaskWords(new DataView(byWords.buffer), byWords, k0, k1, k2, k3, start, start + length) & 0x8080_8080) === 0;
          if (bytesAscii !== (high < 0) || wordsAscii !== (high < 0)) failures.push(`length ${length} start ${start} high ${high}: ${bytesAscii} ${wordsAscii}`);
          if (toHex(byBytes) !== toHex(plain) || toHex(byWords) !== toHex(plain)) failures.push(`length ${length} start ${start} high ${high}: wrong bytes`);
        }
      }
    }
    assert.deepEqual(failures.slice(0, 5), []);
  });

  test('§5.3 xorMask defaults to the whole array', () => {
    const data = hex('00 00 00 00 00 00');
    xorMask(data, 1, 2, 3, 4);
    assert.equal(toHex(data), '01 02 03 04 01 02');
  });

  test('§5.3 masking is an involution: masking twice restores the data, at every length and alignment', () => {
    const backing = randomBytes(random, 300);
    for (let byteOffset = 0; byteOffset < 8; byteOffset++) {
      for (const length of [0, 1, 3, 4, 5, 31, 32, 33, 63, 64, 65, 127, 200, 291]) {
        for (let keyOffset = 0; keyOffset < 4; keyOffset++) {
          const buffer = backing.slice();
          const view = buffer.subarray(byteOffset, byteOffset + length);
          applyMask(view, KEYS[0]!, keyOffset);
          if (length > 0) assert.notDeepEqual(view, backing.subarray(byteOffset, byteOffset + length));
          applyMask(view, KEYS[0]!, keyOffset);
          assert.deepEqual(buffer, backing);
        }
      }
    }
  });

  test('§5.3 a payload masked piece by piece with running key offsets equals one masked whole', () => {
    const data = randomBytes(random, 257);
    const whole = data.slice();
    applyMask(whole, KEYS[3]!);
    for (const cut of [1, 2, 3, 5, 7, 33, 100, 256]) {
      const pieces = data.slice();
      for (let at = 0; at < pieces.length; at += cut) applyMask(pieces.subarray(at, at + cut), KEYS[3]!, at);
      assert.deepEqual(pieces, whole, `pieces of ${cut}`);
    }
  });

  test('§5.3 masking works on a Node Buffer at an odd byteOffset (a pooled Buffer)', () => {
    const source = Buffer.alloc(200, 0xaa);
    const view = source.subarray(3, 3 + 150);
    const expected = referenceMask(view, KEYS[0]!, 2);
    applyMask(view, KEYS[0]!, 2);
    assert.deepEqual(new Uint8Array(view), expected);
    assert.equal(source[2], 0xaa);
    assert.equal(source[153], 0xaa);
  });
});

describe('RFC 6455 §5.3 masking keys: "a fresh masking key … from a strong source of entropy"', () => {
  test('§5.3 MaskKeySource hands out consecutive distinct 4-byte slots and refills with a new pool when spent', () => {
    let fills = 0;
    const fill = (target: Uint8Array): void => {
      fills++;
      for (let i = 0; i < target.length; i++) target[i] = (fills * 64 + i) & 0xff;
    };
    const source = new MaskKeySource(fill, 12);
    assert.equal(fills, 0, 'no entropy drawn before the first key');
    assert.equal(source.next(), 0);
    const firstPool = source.pool;
    assert.equal(firstPool.length, 12);
    assert.equal(fills, 1);
    assert.equal(source.next(), 4);
    assert.equal(source.next(), 8);
    assert.equal(fills, 1);
    const keys = [0, 4, 8].map((at) => toHex(firstPool.subarray(at, at + 4)));
    assert.deepEqual(keys, ['40 41 42 43', '44 45 46 47', '48 49 4a 4b']);
    assert.equal(source.next(), 0);
    assert.equal(fills, 2);
    assert.notEqual(source.pool, firstPool, 'a spent pool is replaced, not overwritten');
    assert.equal(toHex(firstPool.subarray(0, 4)), '40 41 42 43', 'keys handed out earlier are unchanged');
    assert.equal(toHex(source.pool.subarray(0, 4)), '80 81 82 83');
  });

  test('§5.3 a random source that throws leaves no zeroed keys behind: the next key comes from a pool that was filled', () => {
    let failing = true;
    const source = new MaskKeySource((target) => {
      if (failing) throw new Error('entropy source not ready');
      target.fill(0xa5);
    }, 8);
    assert.throws(() => source.next(), /entropy source not ready/);
    assert.throws(() => source.next(), /entropy source not ready/, 'still no key while the source fails');
    failing = false;
    const at = source.next();
    assert.equal(toHex(source.pool.subarray(at, at + 4)), 'a5 a5 a5 a5');
  });

  test('§5.3 the default pool is 4096 bytes of CSPRNG output, 1024 keys per refill', () => {
    const source = new MaskKeySource();
    const offsets = new Set<number>();
    for (let i = 0; i < 1024; i++) offsets.add(source.next());
    const pool = source.pool;
    assert.equal(pool.length, 4096);
    assert.equal(offsets.size, 1024);
    assert.ok(pool.some((b) => b !== 0), 'the pool is filled');
    assert.equal(source.next(), 0);
    assert.notEqual(source.pool, pool);
  });

  test('§5.3 defaultRandomFill fills the whole target with random bytes', () => {
    const a = new Uint8Array(64);
    const b = new Uint8Array(64);
    defaultRandomFill(a);
    defaultRandomFill(b);
    assert.notDeepEqual(a, b);
    assert.notDeepEqual(a.subarray(48), new Uint8Array(16));
  });
});

describe('RFC 6455 §5.3 masking of long payloads (the SIMD path and its edges)', () => {
  // From 512 bytes the WebAssembly SIMD module takes whole 16-byte blocks, 64 KiB per call;
  // what is left goes to the byte loop with the key phase carried over.
  // The module XORs 64 bytes a step, then 16 at a time: 560, 575, 576 and 591 end on 3, 3, 0 and
  // 0 sixteen-byte blocks after the last step, with and without a byte-loop tail.
  const LENGTHS = [511, 512, 513, 527, 528, 529, 560, 575, 576, 591, 1000, 4096 + 3, 65535, 65536, 65537, 65536 * 2 + 15, 300_001];

  test('§5.3 applyMask equals the byte-wise definition across the SIMD threshold, block edges, offsets and key phases', () => {
    for (const length of LENGTHS) {
      for (const byteOffset of [0, 1, 3]) {
        for (const keyOffset of [0, 1, 2, 3]) {
          const key = KEYS[(length + byteOffset + keyOffset) % KEYS.length]!;
          const backing = randomBytes(random, length + 8);
          const view = backing.slice().subarray(byteOffset, byteOffset + length);
          const expected = referenceMask(view, key, keyOffset);
          applyMask(view, key, keyOffset);
          assert.ok(Buffer.from(view).equals(Buffer.from(expected)), `length ${length}, byteOffset ${byteOffset}, keyOffset ${keyOffset}`);
        }
      }
    }
  });

  test('§5.3 copyMasked copies and unmasks in one pass, to any offset of the target, leaving the rest alone', () => {
    for (const length of [0, 5, 511, 512, 4099, 65536 + 17]) {
      const key = KEYS[length % KEYS.length]!;
      const source = randomBytes(random, length);
      const before = source.slice();
      const target = randomBytes(random, length + 9);
      const untouched = target.slice();
      copyMasked(source, target, 7, key[0]!, key[1]!, key[2]!, key[3]!);
      assert.ok(Buffer.from(source).equals(Buffer.from(before)), 'the source is not changed');
      assert.ok(Buffer.from(target.subarray(7, 7 + length)).equals(Buffer.from(referenceMask(source, key, 0))), `length ${length}`);
      assert.deepEqual([...target.subarray(0, 7)], [...untouched.subarray(0, 7)]);
      assert.deepEqual([...target.subarray(7 + length)], [...untouched.subarray(7 + length)]);
    }
  });

  test('the SIMD module is in use on this runtime (Node 20 has WebAssembly SIMD)', () => {
    assert.equal(simdMaskAvailable, true);
  });

  test('§5.3 without WebAssembly (node --jitless) masking falls back to JavaScript, nothing is read into a region, and long masked messages still echo intact', () => {
    const fixture = fileURLToPath(new URL('../fixtures/without-wasm.ts', import.meta.url));
    const run = spawnSync(process.execPath, ['--jitless', '--import', 'tsx', fixture], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(run.stdout.trim().split('\n'), ['wasm undefined simd false region null', 'masking true', 'echo 600 ok', 'echo 70000 ok', 'echo 300000 ok']);
  });
});

describe('RFC 6455 §5.3 masking in the read region (bytes read straight into the SIMD module\'s memory)', () => {
  test('the region is one fixed view of the module\'s memory, the same on every call', () => {
    const region = simdReadRegion();
    assert.ok(region !== null);
    assert.equal(region.length, READ_REGION_SIZE);
    assert.equal(simdReadRegion(), region);
    assert.ok(!(region.buffer instanceof SharedArrayBuffer) && region.byteOffset >= 16 * 1024, 'clear of the block the module masks copies in');
  });

  test('§5.3 xorMask on bytes in the region equals the byte-wise definition, in place, at any offset and key phase', () => {
    const region = simdReadRegion()!;
    for (const length of [512, 527, 4099, READ_REGION_SIZE - 16 - 5, READ_REGION_SIZE - 16]) {
      for (const at of [0, 1, 7, 16]) {
        for (const keyOffset of [0, 3]) {
          const key = KEYS[(length + at) % KEYS.length]!;
          const data = randomBytes(random, length);
          region.set(data, at);
          const before = region[at + length] ?? 0;
          applyMask(region.subarray(at, at + length), key, keyOffset);
          assert.ok(Buffer.from(region.subarray(at, at + length)).equals(Buffer.from(referenceMask(data, key, keyOffset))), `length ${length} at ${at}`);
          if (at + length < region.length) assert.equal(region[at + length], before, 'nothing past the range');
        }
      }
    }
  });

  test('§5.3 in the region, every length from 512 to 656 (each count of 16-byte blocks after the module\'s 64-byte steps, and each byte tail) equals the definition', () => {
    const region = simdReadRegion()!;
    for (let length = 512; length <= 656; length++) {
      for (const at of [0, 5]) {
        const key = KEYS[length % KEYS.length]!;
        const data = randomBytes(random, length + 1);
        region.set(data, at);
        applyMask(region.subarray(at, at + length), key, 0);
        assert.ok(Buffer.from(region.subarray(at, at + length)).equals(Buffer.from(referenceMask(data.subarray(0, length), key, 0))), `length ${length} at ${at}`);
        assert.equal(region[at + length], data[length], `length ${length} at ${at}: the byte after is untouched`);
      }
    }
  });

  test('§5.3 copyMasked from the region unmasks it there and copies it out once, to any offset of the target', () => {
    const region = simdReadRegion()!;
    for (const length of [512, 513, 4099, READ_REGION_SIZE - 17, READ_REGION_SIZE]) {
      const key = KEYS[length % KEYS.length]!;
      const data = randomBytes(random, length);
      const at = READ_REGION_SIZE - length;
      region.set(data, at);
      const target = randomBytes(random, length + 9);
      const untouched = target.slice();
      copyMasked(region.subarray(at), target, 7, key[0]!, key[1]!, key[2]!, key[3]!);
      const expected = Buffer.from(referenceMask(data, key, 0));
      assert.ok(Buffer.from(target.subarray(7, 7 + length)).equals(expected), `length ${length}`);
      assert.deepEqual([...target.subarray(0, 7)], [...untouched.subarray(0, 7)]);
      assert.deepEqual([...target.subarray(7 + length)], [...untouched.subarray(7 + length)]);
      const whole = length & ~15;
      assert.ok(Buffer.from(region.subarray(at, at + whole)).equals(expected.subarray(0, whole)), 'whole blocks were unmasked where they lay');
    }
  });
});
