/**
 * Gathers the fragments of one message (RFC 6455 §5.4). A few fragments are kept as the
 * views they arrived as and joined once, at the end; past that they are copied into one
 * growing buffer, so that a flood of tiny fragments costs its bytes and not an object per
 * fragment — the message size limit then bounds the memory, whatever the fragmenting.
 * @module
 */

/** Fragments kept as views before switching to a growing buffer. */
const MAX_VIEWS = 32;
/** Smallest capacity of the growing buffer. */
const MIN_CAPACITY = 4096;

/** See the module comment. */
export class MessageAssembler {
  private views: Uint8Array[] = [];
  private buffer: Uint8Array | null = null;
  private length = 0;

  /**
   * `maxSize` is the largest message the parser lets through, so the buffer never needs
   * more; `allocate` makes buffers whose every byte will be written.
   */
  constructor(
    private readonly maxSize: number,
    private readonly allocate: (size: number) => Uint8Array,
  ) {}

  /** Bytes gathered so far. */
  get size(): number {
    return this.length;
  }

  /** Add the next fragment's payload. Views are kept, so their bytes must not change. */
  add(piece: Uint8Array): void {
    if (piece.length === 0) return;
    if (this.buffer === null && this.views.length < MAX_VIEWS) {
      this.views.push(piece);
      this.length += piece.length;
      return;
    }
    const needed = this.length + piece.length;
    if (this.buffer === null || this.buffer.length < needed) this.grow(needed);
    this.buffer!.set(piece, this.length);
    this.length = needed;
  }

  /** The whole message; the assembler is then empty. */
  finish(): Uint8Array {
    const whole = this.buffer !== null ? this.buffer.subarray(0, this.length) : join(this.views, this.length, this.allocate);
    this.reset();
    return whole;
  }

  /** Forget the message (the connection closed mid-message). */
  reset(): void {
    this.views = [];
    this.buffer = null;
    this.length = 0;
  }

  private grow(needed: number): void {
    const capacity = Math.min(Math.max(needed * 2, MIN_CAPACITY), Math.max(this.maxSize, needed));
    const next = this.allocate(capacity);
    if (this.buffer !== null) {
      next.set(this.buffer.subarray(0, this.length), 0);
    } else {
      let at = 0;
      for (const view of this.views) {
        next.set(view, at);
        at += view.length;
      }
      this.views = [];
    }
    this.buffer = next;
  }
}

function join(views: Uint8Array[], length: number, allocate: (size: number) => Uint8Array): Uint8Array {
  if (views.length === 1) return views[0]!;
  if (views.length === 0) return allocate(0); // of the host's type, as every other payload
  const whole = allocate(length);
  let at = 0;
  for (const view of views) {
    whole.set(view, at);
    at += view.length;
  }
  return whole;
}
