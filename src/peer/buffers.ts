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

/** Every byte of an assembly buffer is overwritten: skip the zero-fill. */
export const allocateUnsafe = (size: number): Uint8Array => Buffer.allocUnsafe(size);

/**
 * Memory of its own, never a slice of Node's shared pool: a small Buffer from the pool
 * keeps its whole 8 KiB slab alive, whatever else was cut from it.
 */
export const allocateUnpooled = (size: number): Uint8Array => Buffer.allocUnsafeSlow(size);
