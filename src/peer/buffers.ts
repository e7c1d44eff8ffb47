/**
 * Node Buffers made cheaply for the connection's hot path. Every payload a peer hands out
 * is a Buffer, as users of `ws` expect; made with `Buffer#subarray`, each one costs a read
 * of `.buffer` through the runtime and a species lookup. The parser instead reads a chunk's
 * ArrayBuffer once and builds each payload directly over it with {@link bufferView}.
 * @module
 */

/**
 * A Uint8Array subclass whose instances are Buffers in every observable way: Buffer's
 * prototype is on their chain (so `Buffer.isBuffer`, `instanceof`, `toString`, `equals`,
 * `readUInt32LE`… work) and their `constructor` is `Buffer`, as for Node's own Buffers.
 */
class PayloadBuffer extends Uint8Array {}
Object.setPrototypeOf(PayloadBuffer.prototype, Buffer.prototype);
Object.defineProperty(PayloadBuffer.prototype, 'constructor', { value: Buffer, writable: true, configurable: true });

/** A Buffer over `length` bytes of `buffer` from `byteOffset`, sharing its memory. */
export const bufferView = (buffer: ArrayBufferLike, byteOffset: number, length: number): Buffer =>
  new PayloadBuffer(buffer as ArrayBuffer, byteOffset, length) as unknown as Buffer;

/**
 * Small allocations are cut from slabs of this size: that of Node's own pool before Node 24
 * (64 KiB since, and for up to 32 KiB). A kept message holds its whole slab alive, so what
 * it holds does not grow with the Node it runs on.
 */
const SLAB_SIZE = 8192;
/** From this size up, an allocation is memory of its own. */
const SLAB_MAX = SLAB_SIZE >>> 1;
let slab = new ArrayBuffer(0);
let slabUsed = 0;

/**
 * A Buffer of `size` bytes, not zeroed (every byte of it is overwritten): cut from a shared
 * 8 KiB slab under 4 KiB, as `Buffer.allocUnsafe` did before Node 24; of its own above.
 */
export const allocateUnsafe = (size: number): Uint8Array => {
  if (size >= SLAB_MAX) return Buffer.allocUnsafeSlow(size);
  if (size > slab.byteLength - slabUsed) {
    slab = Buffer.allocUnsafeSlow(SLAB_SIZE).buffer;
    slabUsed = 0;
  }
  // Node's own Buffer class, as for its pool: a view of ours (`bufferView`) costs the same in
  // shipped code, but five times as much under a TypeScript loader, where the siege test's
  // server then starved its well-behaved client.
  const cut = Buffer.from(slab, slabUsed, size);
  slabUsed = (slabUsed + size + 7) & ~7; // 8-byte aligned, as Node's pool
  return cut;
};

/**
 * Memory of its own, never a slice of a shared slab, which the buffer would keep alive
 * whole, whatever else was cut from it.
 */
export const allocateUnpooled = (size: number): Uint8Array => Buffer.allocUnsafeSlow(size);
