import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { OutputQueue } from '../../src/connection/output.ts';
import { concat, toHex } from '../frame/helpers.ts';

/** Largest reservation served from the shared slab (a quarter of its 64 KiB). */
const SLAB_REGION_MAX = 16 * 1024;

/** Moves the shared slab to a fresh one with at least 48 KiB free, so batching tests are deterministic. */
function freshSlab(): void {
  const filler = new OutputQueue();
  let at: number;
  do {
    at = filler.reserve(SLAB_REGION_MAX);
    filler.take();
  } while (at !== 0);
}

/** Reserves `bytes.length` bytes in `queue` and writes `bytes` there. */
function write(queue: OutputQueue, bytes: Uint8Array | number[]): void {
  const data = bytes instanceof Uint8Array ? bytes : Uint8Array.from(bytes);
  const at = queue.reserve(data.length);
  queue.buffer.set(data, at);
}

/** `length` bytes all equal to `value`, then a counter, so runs of different writes differ. */
function block(length: number, value: number, serial: number): Uint8Array {
  const out = new Uint8Array(length).fill(value);
  out[0] = serial & 0xff;
  out[length - 1] = (serial >>> 8) & 0xff;
  return out;
}

describe('OutputQueue: batching small frames into a shared slab', () => {
  test('many small writes in a row leave as one chunk holding exactly those bytes', () => {
    freshSlab();
    const queue = new OutputQueue();
    const expected: Uint8Array[] = [];
    for (let i = 0; i < 100; i++) {
      const bytes = block(2 + (i % 7), 0x40 + (i % 16), i);
      write(queue, bytes);
      expected.push(bytes);
    }
    const total = concat(expected);
    assert.equal(queue.size, total.length);
    const chunks = queue.take();
    assert.equal(chunks.length, 1);
    assert.deepEqual(chunks[0], total);
    assert.equal(queue.size, 0);
  });

  test('take() empties the queue and lets go of the slab', () => {
    const queue = new OutputQueue();
    assert.deepEqual(queue.take(), []);
    assert.equal(queue.buffer.length, 0);
    write(queue, [1, 2, 3]);
    assert.ok(queue.buffer.length > 0);
    assert.equal(toHex(concat(queue.take())), '01 02 03');
    assert.equal(queue.buffer.length, 0, 'an idle queue pins no buffer');
    assert.deepEqual(queue.take(), []);
    write(queue, [4]);
    assert.equal(toHex(concat(queue.take())), '04');
  });

  test('a large payload is appended as the same object, between the runs around it', () => {
    freshSlab();
    const queue = new OutputQueue();
    const payload = new Uint8Array(50_000).fill(9);
    write(queue, [0x82, 0x7e]);
    queue.append(payload);
    write(queue, [0x89, 0x00]);
    queue.append(new Uint8Array(0));
    write(queue, [0x8a, 0x00]);
    assert.equal(queue.size, 2 + 50_000 + 2 + 2);
    const chunks = queue.take();
    assert.equal(chunks.length, 3);
    assert.equal(toHex(chunks[0]!), '82 7e');
    assert.equal(chunks[1], payload, 'not copied');
    assert.equal(toHex(chunks[2]!), '89 00 8a 00', 'an empty append does not split a run');
  });

  test('release gives back the unused tail of the last reservation, and the run continues after it', () => {
    freshSlab();
    const queue = new OutputQueue();
    const at = queue.reserve(10);
    queue.buffer.set([1, 2, 3, 4], at);
    queue.release(6);
    assert.equal(queue.size, 4);
    write(queue, [5, 6, 7]);
    queue.release(0);
    assert.equal(queue.size, 7);
    const chunks = queue.take();
    assert.equal(chunks.length, 1);
    assert.equal(toHex(chunks[0]!), '01 02 03 04 05 06 07');
  });

  test('a reservation over 16 KiB that starts a run gets a buffer of its own, which release trims', () => {
    freshSlab();
    const queue = new OutputQueue();
    queue.append(Uint8Array.from([0xaa]));
    const at = queue.reserve(SLAB_REGION_MAX + 1);
    assert.equal(at, 0);
    assert.equal(queue.buffer.length, SLAB_REGION_MAX + 1);
    const own = queue.buffer;
    own.set([1, 2, 3], 0);
    // Trimmed, it is still long enough to leave as a chunk of its own (short ones are joined).
    queue.release(SLAB_REGION_MAX + 1 - 4096);
    assert.equal(queue.size, 1 + 4096);
    write(queue, [0xbb]);
    const chunks = queue.take();
    assert.deepEqual(chunks.map((chunk) => chunk.length), [1, 4096, 1]);
    assert.deepEqual([chunks[0]![0], chunks[2]![0]], [0xaa, 0xbb]);
    assert.equal(chunks[1]!.buffer, own.buffer);
    assert.deepEqual([...chunks[1]!.subarray(0, 3)], [1, 2, 3]);
  });

  test('a new slab comes from the queue\'s allocator (no zero-fill needed) and is used as a plain Uint8Array', () => {
    const sizes: number[] = [];
    // A Buffer-like subclass, as Node's Buffer.allocUnsafe returns.
    class Sub extends Uint8Array {}
    const queue = new OutputQueue((size) => {
      sizes.push(size);
      return new Sub(size).fill(0xee);
    });
    // 48 KiB are left in the slab: three regions of 16 KiB go there, two in a new one.
    freshSlab();
    for (let i = 0; i < 5; i++) write(queue, block(SLAB_REGION_MAX, i, i));
    assert.deepEqual(sizes, [64 * 1024]);
    const chunks = queue.take();
    assert.ok(chunks.every((chunk) => chunk.constructor === Uint8Array), 'regions are plain views');
    assert.deepEqual(concat(chunks), concat([0, 1, 2, 3, 4].map((i) => block(SLAB_REGION_MAX, i, i))));
  });

  test('slab regions are made by the queue\'s view factory, over the slab\'s own memory', () => {
    class Region extends Uint8Array {}
    const made: Array<[number, number]> = [];
    const queue = new OutputQueue(undefined, (buffer, byteOffset, length) => {
      made.push([byteOffset, length]);
      return new Region(buffer as ArrayBuffer, byteOffset, length);
    });
    freshSlab();
    write(queue, [1, 2, 3]);
    const slab = queue.buffer;
    write(queue, [4]);
    const [chunk] = queue.take();
    assert.ok(chunk instanceof Region);
    assert.equal(chunk.buffer, slab.buffer, 'a view, not a copy');
    assert.equal(toHex(chunk), '01 02 03 04');
    assert.deepEqual(made, [[chunk.byteOffset, 4]]);
  });

  test('a run begun in a slab that another queue has since replaced is still viewed over its own slab', () => {
    class Region extends Uint8Array {}
    const view = (buffer: ArrayBufferLike, byteOffset: number, length: number): Uint8Array => new Region(buffer as ArrayBuffer, byteOffset, length);
    freshSlab();
    const a = new OutputQueue(undefined, view);
    const b = new OutputQueue(undefined, view);
    write(a, [1, 2]);
    const first = a.buffer;
    // b fills the rest of the slab, and its next reservation starts a new one.
    while (b.buffer === first || b.buffer.length === 0) write(b, block(SLAB_REGION_MAX, 7, 0));
    const [chunk] = a.take();
    assert.ok(chunk instanceof Region);
    assert.equal(chunk.buffer, first.buffer);
    assert.equal(toHex(chunk), '01 02');
    b.take();
  });

  test('a buffer of its own as the only chunk is trimmed by release too', () => {
    freshSlab();
    const queue = new OutputQueue();
    const at = queue.reserve(SLAB_REGION_MAX + 10);
    queue.buffer.set([7, 8], at);
    queue.release(SLAB_REGION_MAX + 8);
    assert.equal(queue.size, 2);
    assert.deepEqual(queue.take().map(toHex), ['07 08']);
  });

  test('takeInto fills a caller\'s array from index 0 with what take would return, and leaves its later slots', () => {
    const marker = Uint8Array.from([0xff]);
    const build = (queue: OutputQueue, chunks: number): void => {
      freshSlab();
      for (let i = 0; i < chunks; i++) {
        // Appended payloads end runs: `chunks` chunks, alternating runs and payloads (long
        // enough not to be joined with the runs around them).
        if (i % 2 === 0) write(queue, [i, i]);
        else queue.append(new Uint8Array(4096).fill(i));
      }
    };
    for (const chunks of [0, 1, 2, 5]) {
      const expected = new OutputQueue();
      build(expected, chunks);
      const taken = expected.take().map(toHex);
      const queue = new OutputQueue();
      build(queue, chunks);
      const target = [marker, marker, marker, marker, marker, marker, marker];
      const count = queue.takeInto(target);
      assert.equal(count, chunks);
      assert.deepEqual(target.slice(0, count).map(toHex), taken, `${chunks} chunks`);
      assert.ok(target.slice(count).every((slot) => slot === marker), 'later slots untouched');
      assert.equal(queue.size, 0);
      assert.equal(queue.takeInto(target), 0, 'the queue is empty after');
    }
  });

  test('take() hands the caller an array of its own, even when nothing is queued', () => {
    const queue = new OutputQueue();
    const empty = queue.take();
    empty.push(Uint8Array.of(1));
    assert.deepEqual(new OutputQueue().take(), [], 'another queue is not affected');
    assert.deepEqual(queue.take(), []);
  });

  test('clear() drops everything queued', () => {
    const queue = new OutputQueue();
    write(queue, [1, 2]);
    queue.append(new Uint8Array(5));
    queue.clear();
    assert.equal(queue.size, 0);
    assert.equal(queue.buffer.length, 0);
    assert.deepEqual(queue.take(), []);
    write(queue, [3]);
    assert.equal(toHex(concat(queue.take())), '03');
  });
});

describe('OutputQueue: short chunks joined when taken', () => {
  /** Queues `pieces` on `queue`, each ending the run before it (another queue writes in between). */
  function interleaved(queue: OutputQueue, pieces: Uint8Array[]): void {
    const other = new OutputQueue();
    for (const piece of pieces) {
      if (piece.length >= 4096) queue.append(piece);
      else write(queue, piece);
      write(other, [0xee]);
    }
    other.take();
  }

  test('frames queued between another queue\'s leave as one chunk, their bytes in order', () => {
    freshSlab();
    const queue = new OutputQueue();
    const pieces = Array.from({ length: 20 }, (_, i) => block(130, i, i));
    interleaved(queue, pieces);
    const chunks = queue.take();
    assert.equal(chunks.length, 1);
    assert.deepEqual(chunks[0], concat(pieces));
  });

  test('short chunks appended as they are (a broadcast\'s shared frames) are joined too', () => {
    freshSlab();
    const queue = new OutputQueue();
    const frames = Array.from({ length: 5 }, (_, i) => block(40, i, i));
    for (const frame of frames) queue.append(frame);
    const chunks = queue.take();
    assert.equal(chunks.length, 1);
    assert.deepEqual(chunks[0], concat(frames));
    assert.ok(frames.every((frame, i) => frame[0] === i), 'the shared frames are left as they were');
  });

  test('a long chunk leaves as it is, the same object, between the joined short ones around it', () => {
    freshSlab();
    const queue = new OutputQueue();
    const long = new Uint8Array(4096).fill(9);
    const pieces = [block(10, 1, 1), block(20, 2, 2), long, block(30, 3, 3), block(40, 4, 4)];
    interleaved(queue, pieces);
    const chunks = queue.take();
    assert.deepEqual(chunks.map((chunk) => chunk.length), [30, 4096, 70]);
    assert.equal(chunks[1], long);
    assert.deepEqual(concat(chunks), concat(pieces));
  });

  test('a short chunk alone between long ones is not copied', () => {
    freshSlab();
    const queue = new OutputQueue();
    const longA = new Uint8Array(5000).fill(1);
    const longB = new Uint8Array(6000).fill(2);
    const lone = Uint8Array.from([7, 7, 7]);
    queue.append(longA);
    queue.append(lone);
    queue.append(longB);
    const chunks = queue.take();
    assert.equal(chunks.length, 3);
    assert.ok(chunks[0] === longA && chunks[1] === lone && chunks[2] === longB);
  });

  test('short chunks worth more than 16 KiB are joined into pieces of at most 16 KiB, in order', () => {
    freshSlab();
    const queue = new OutputQueue();
    const pieces = Array.from({ length: 30 }, (_, i) => block(1500 + i, i, i));
    interleaved(queue, pieces);
    const chunks = queue.take();
    assert.ok(chunks.length >= 3, `${chunks.length} chunks`);
    assert.ok(chunks.every((chunk) => chunk.length <= SLAB_REGION_MAX));
    assert.deepEqual(concat(chunks), concat(pieces));
  });

  test('two joins in one take, the second in a fresh slab, send each byte once: whatever room the slab had left', () => {
    const pieces = [block(30, 1, 1), block(30, 2, 2), new Uint8Array(5000).fill(3), block(30, 4, 4), block(30, 5, 5), new Uint8Array(5000).fill(6), block(7, 7, 7)];
    for (let room = 0; room <= 200; room++) {
      freshSlab();
      const queue = new OutputQueue();
      interleaved(queue, pieces);
      // Fill the shared slab until `room` bytes are left in it, in pieces it serves itself.
      const filler = new OutputQueue();
      let left = 64 * 1024 - filler.reserve(0);
      while (left > room) {
        const size = Math.min(SLAB_REGION_MAX, left - room);
        filler.reserve(size);
        left -= size;
      }
      filler.take();
      assert.deepEqual(concat(queue.take()), concat(pieces), `with ${room} bytes left in the slab`);
    }
  });

  test('a reservation whose allocator throws (a buffer of its own, a fresh slab) counts nothing as queued', () => {
    const queue = new OutputQueue(() => {
      throw new RangeError('quota');
    });
    assert.throws(() => queue.reserve(SLAB_REGION_MAX + 1), /quota/);
    assert.equal(queue.size, 0);
    // Fill the shared slab to its end: the next reservation needs a fresh one.
    const filler = new OutputQueue();
    let left = 64 * 1024 - filler.reserve(0);
    while (left > 0) {
      const size = Math.min(SLAB_REGION_MAX, left);
      filler.reserve(size);
      left -= size;
    }
    filler.take();
    assert.throws(() => queue.reserve(10), /quota/);
    assert.equal(queue.size, 0);
    assert.equal(queue.take().length, 0);
  });

  test('joined bytes are never overwritten by later writes, across slab replacements', () => {
    freshSlab();
    const queue = new OutputQueue();
    const taken: Uint8Array[] = [];
    const wanted: Uint8Array[] = [];
    for (let round = 0; round < 40; round++) {
      const pieces = Array.from({ length: 12 }, (_, i) => block(200 + ((round * 7 + i) % 50), round & 0xff, i));
      interleaved(queue, pieces);
      wanted.push(...pieces);
      taken.push(...queue.take());
    }
    assert.deepEqual(concat(taken), concat(wanted));
  });
});

describe('OutputQueue: queues sharing the slab', () => {
  test('two queues interleaving their writes each take exactly their own bytes, in order', () => {
    freshSlab();
    const a = new OutputQueue();
    const b = new OutputQueue();
    const wantA: Uint8Array[] = [];
    const wantB: Uint8Array[] = [];
    for (let i = 0; i < 40; i++) {
      const x = block(3 + (i % 5), 0xa0, i);
      write(a, x);
      wantA.push(x);
      if (i % 3 !== 0) {
        const y = block(1 + (i % 4), 0xb0, i);
        write(b, y);
        wantB.push(y);
      }
      if (i % 7 === 0) {
        // A reservation released in part, with the other queue writing right after.
        const at = a.reserve(20);
        a.buffer.set([0xee, i], at);
        a.release(18);
        wantA.push(Uint8Array.from([0xee, i]));
      }
    }
    assert.deepEqual(concat(a.take()), concat(wantA));
    assert.deepEqual(concat(b.take()), concat(wantB));
  });

  test('bytes already taken are never overwritten, across slab replacements', () => {
    freshSlab();
    const a = new OutputQueue();
    const b = new OutputQueue();
    const takenA: Uint8Array[] = [];
    const wantA: Uint8Array[] = [];
    const wantB: Uint8Array[] = [];
    const takenB: Uint8Array[] = [];
    for (let i = 0; i < 300; i++) {
      const x = block(1000 + (i % 13), 0x11, i);
      write(a, x);
      wantA.push(x);
      const y = block(700 + (i % 11), 0x22, i);
      write(b, y);
      wantB.push(y);
      if (i % 10 === 9) takenA.push(...a.take());
      if (i % 25 === 24) takenB.push(...b.take());
    }
    takenA.push(...a.take());
    takenB.push(...b.take());
    // 300 × ~1.7 KB: the 64 KiB slab was replaced several times meanwhile.
    assert.deepEqual(concat(takenA), concat(wantA));
    assert.deepEqual(concat(takenB), concat(wantB));
  });

  test('a write of one queue ends the other queue’s run; its runs are taken joined, in order', () => {
    freshSlab();
    const a = new OutputQueue();
    const b = new OutputQueue();
    write(a, [1]);
    write(a, [2]);
    write(b, [3]);
    write(a, [4]);
    write(b, [5]);
    write(b, [6]);
    assert.deepEqual(a.take().map(toHex), ['01 02 04']);
    assert.deepEqual(b.take().map(toHex), ['03 05 06']);
  });
});
