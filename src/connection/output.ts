/**
 * The bytes a connection has to send, batched. Small frames of every connection are written
 * into one shared slab with a bump pointer, so consecutive frames of one connection form one
 * contiguous run and a burst of replies leaves as a single chunk. Large payloads travel as
 * chunks of their own, uncopied. A slab region is never rewritten once handed out: a full
 * slab is replaced, and the garbage collector frees it when its last view is gone. An idle
 * connection holds no buffer at all.
 * @module
 */

import type { PayloadView } from '../frame/decoder.ts';

/** Size of the shared slab: large enough to batch a tick's worth of small frames. */
const SLAB_SIZE = 64 * 1024;
/** A reservation larger than this gets a buffer of its own rather than a slab region. */
const DEDICATED_MIN = SLAB_SIZE / 4;
/** Chunks shorter than this are joined with their short neighbours when taken (see `takeInto`). */
const JOIN_MAX = 4096;

const EMPTY = new Uint8Array(0);
// Made by the first reservation, with that queue's allocator.
let slab: Uint8Array = EMPTY;
let slabUsed = SLAB_SIZE;
// The slab's memory, read once per slab for the views of its regions.
let slabBuffer: ArrayBufferLike = EMPTY.buffer;
let slabOffset = 0;
// A DataView of the slab for word-wise masking, made on first use.
let slabWords: DataView | null = null;
const zeroed = (size: number): Uint8Array => new Uint8Array(size);
const plainRegion = (buffer: ArrayBufferLike, byteOffset: number, length: number): Uint8Array => new Uint8Array(buffer, byteOffset, length);

/** See the module comment. */
export class OutputQueue {
  /**
   * The array the offset returned by the last `reserve` refers to. Reset by `take` so that
   * an idle connection pins no slab.
   */
  buffer: Uint8Array = EMPTY;
  // The chunks queued: the first on its own, since most ticks queue one (a slab run), and
  // the others in a list made only when there are several.
  private first: Uint8Array | null = null;
  private more: Uint8Array[] | null = null;
  // The open run: this queue's last region of the slab, still growing.
  private run: Uint8Array | null = null;
  private runStart = 0;
  private runEnd = 0;
  private pending = 0;

  /**
   * `allocate` makes the slab and the buffers of reservations too large for it; every byte
   * handed out gets written, so it need not zero-fill (a slab is tens of kilobytes).
   * `view` makes the chunk of a slab region, so a host can hand its socket the kind of
   * array it takes as it is (Node converts any other Uint8Array to a Buffer per write).
   */
  constructor(
    private allocate: (size: number) => Uint8Array = zeroed,
    private view: PayloadView = plainRegion,
  ) {}

  /** Serve another connection from now on (see `FrameWriter.take`): for an empty queue only. */
  bind(allocate: (size: number) => Uint8Array = zeroed, view: PayloadView = plainRegion): void {
    this.allocate = allocate;
    this.view = view;
  }

  /** Bytes queued and not yet taken. */
  get size(): number {
    return this.pending;
  }

  /**
   * Reserve `length` contiguous bytes to write into `buffer` at the returned offset. They
   * count as queued at once; `release` gives back an unused tail of the last reservation.
   */
  reserve(length: number): number {
    if (this.run === slab && this.runEnd === slabUsed && slabUsed + length <= SLAB_SIZE) {
      slabUsed += length;
      this.runEnd = slabUsed;
      this.pending += length;
      return slabUsed - length;
    }
    // Counted once reserved, never before: the host's hooks called here may throw.
    this.closeRun();
    if (length > DEDICATED_MIN) {
      const own = this.allocate(length);
      this.push(own);
      this.buffer = own;
      this.pending += length;
      return 0;
    }
    if (slabUsed + length > SLAB_SIZE) {
      slab = plainView(this.allocate(SLAB_SIZE));
      slabBuffer = slab.buffer;
      slabOffset = slab.byteOffset;
      slabWords = null;
      slabUsed = 0;
    }
    this.run = slab;
    this.buffer = slab;
    this.runStart = slabUsed;
    slabUsed += length;
    this.runEnd = slabUsed;
    this.pending += length;
    return this.runStart;
  }

  /**
   * A DataView over exactly `buffer` when that is the shared slab (one per slab, so masking
   * a frame there allocates nothing); null when the last reservation got a buffer of its own.
   */
  get words(): DataView | null {
    if (this.buffer !== slab) return null;
    return (slabWords ??= new DataView(slab.buffer, slab.byteOffset, slab.length));
  }

  /** Give back the last `unused` bytes of the last reservation. */
  release(unused: number): void {
    if (unused === 0) return;
    this.pending -= unused;
    if (this.run !== null) {
      this.runEnd -= unused;
      // Nothing else can have reserved in between: reservations are synchronous.
      if (this.run === slab) slabUsed = this.runEnd;
      return;
    }
    const more = this.more;
    if (more === null) {
      this.first = this.first!.subarray(0, this.first!.length - unused);
    } else {
      const own = more[more.length - 1]!;
      more[more.length - 1] = own.subarray(0, own.length - unused);
    }
  }

  /** Queue a chunk as it is, after everything reserved so far (its owner must not change it). */
  append(data: Uint8Array): void {
    if (data.length === 0) return;
    this.closeRun();
    this.pending += data.length;
    this.push(data);
  }

  /** Everything queued, in order, as chunks for one vectored write; the queue is then empty. */
  take(): Uint8Array[] {
    // A fresh array each time, even empty: the caller owns what it is given (the hot path uses `takeInto`).
    const chunks: Uint8Array[] = [];
    this.takeInto(chunks);
    return chunks;
  }

  /**
   * Like `take`, into `target` from index 0 (its other slots are left as they are);
   * returns how many chunks. A caller that reuses its array allocates nothing per write.
   * Consecutive short chunks leave joined into one: frames queued between other queues'
   * (the frames of a broadcast, shared by every queue) would otherwise each cost the socket
   * a chunk of its vectored write, which costs more than copying their bytes.
   */
  takeInto(target: Uint8Array[]): number {
    this.closeRun();
    const first = this.first;
    const more = this.more;
    let count = 0;
    if (more !== null) count = this.joinShort(more, target);
    else if (first !== null) target[count++] = first;
    this.clear();
    return count;
  }

  /** `chunks` into `target`, runs of short ones copied into one region each; returns how many. */
  private joinShort(chunks: Uint8Array[], target: Uint8Array[]): number {
    let count = 0;
    let from = 0;
    let bytes = 0;
    for (let i = 0; i <= chunks.length; i++) {
      const chunk = i < chunks.length ? chunks[i]! : null;
      if (chunk !== null && chunk.length < JOIN_MAX && bytes + chunk.length <= DEDICATED_MIN) {
        bytes += chunk.length;
        continue;
      }
      // chunks[from..i) are short: one stays as it is, several are joined.
      if (i - from === 1) target[count++] = chunks[from]!;
      else if (i > from) target[count++] = this.join(chunks, from, i, bytes);
      if (chunk === null) break;
      if (chunk.length < JOIN_MAX) {
        from = i;
        bytes = chunk.length;
      } else {
        target[count++] = chunk;
        from = i + 1;
        bytes = 0;
      }
    }
    return count;
  }

  /** `chunks[from..to)`, `bytes` long in all (at most a slab region), copied into one fresh slab region. */
  private join(chunks: Uint8Array[], from: number, to: number, bytes: number): Uint8Array {
    const at = this.reserve(bytes);
    const buffer = this.buffer;
    for (let i = from, offset = at; i < to; i++) {
      buffer.set(chunks[i]!, offset);
      offset += chunks[i]!.length;
    }
    // The region is returned, not queued: a later reservation that closed it as a run
    // would push it onto `chunks`, the list being taken, and it would go out twice.
    this.run = null;
    return this.view(slabBuffer, slabOffset + at, bytes);
  }

  /** Drop everything queued (the transport is gone). */
  clear(): void {
    this.run = null;
    this.buffer = EMPTY;
    this.first = null;
    this.more = null;
    this.pending = 0;
  }

  private push(data: Uint8Array): void {
    if (this.first === null) this.first = data;
    else (this.more ??= [this.first]).push(data);
  }

  private closeRun(): void {
    const run = this.run;
    if (run === null) return;
    if (this.runEnd > this.runStart) {
      // A run is in a slab; another queue may have moved on to a new one since it began.
      const current = run === slab;
      this.push(this.view(current ? slabBuffer : run.buffer, (current ? slabOffset : run.byteOffset) + this.runStart, this.runEnd - this.runStart));
    }
    this.run = null;
  }
}

/**
 * The slab as a plain Uint8Array whatever the allocator returned: a subclass such as Node's
 * Buffer would make each region's `subarray` go through its species constructor.
 */
function plainView(bytes: Uint8Array): Uint8Array {
  return bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}
