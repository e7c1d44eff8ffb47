/**
 * Lent messages (the `lentMessages` option): a lent read's whole messages go to the
 * application as they lie in the shared read region, which the next read fills again. So
 * whatever a peer queues while they are lent may lie there too, and every peer that queued
 * writes before the read returns; a message left for `read` is copied out.
 *
 * Node's stream writes cannot carry such bytes: a write the kernel takes in part keeps
 * pointers to the rest until the socket drains. So the bytes go straight to the socket's
 * descriptor in one synchronous vectored write, when nothing waits ahead of them in the
 * stream (else they would overtake it); whatever the kernel does not take at once, and
 * everything when the direct write cannot be made, is copied out of the region first and
 * queued on the stream as usual. The socket's `bytesWritten` counts the direct writes too.
 *
 * A message of one frame split across reads is assembled in a buffer that is lent the same
 * way and reused afterwards: a fresh buffer each time costs more than the copy into it (the
 * allocator gives large freed blocks back to the kernel, and every page of the next one
 * faults in again: about 1 ms to allocate and fill 4 MiB, against 0.35 ms to fill reused
 * memory). Such a buffer is taken back only if its message expired during a lending read
 * and no write of that read still holds part of it (one that does keeps the buffer: see
 * `holdable`), and is kept for the next message of its size class, up to 16 MiB of them
 * per process.
 * @module
 */
import { writevSync } from 'node:fs';
import type { Socket } from 'node:net';
import type { Connection } from '../connection/connection.ts';
import { simdReadRegion } from '../frame/mask-simd.ts';
import { allocateUnsafe, bufferView } from './buffers.ts';
import { writeChunks } from './socket-events.ts';

/** A peer that may queue bytes lying in the read region while messages are lent. */
export interface LentWriter {
  /** Set while it is on the list of writers of the current lending read. */
  queuedWhileLending: boolean;
  /** Write what it queued; bytes in `region`'s buffer must be gone or copied on return. */
  flush(region: ArrayBufferLike): void;
}

let lendingOpen = false;
const writers: LentWriter[] = [];

/**
 * Parse `chunk`, a read lying in the region, lending its whole messages to the handler;
 * then every peer that queued meanwhile writes. One at a time: there is one region.
 */
export function receiveLending(connection: Connection, chunk: Uint8Array): void {
  lendingOpen = true;
  try {
    connection.receiveBorrowed(chunk, true);
  } finally {
    lendingOpen = false;
    const region = simdReadRegion()!.buffer;
    // Kept only once every writer has returned: one that threw may still hold them.
    const expired = expiredAssemblies.length > 0 ? expiredAssemblies.splice(0) : null;
    // Writing cannot start another lending read: reads come from the event loop only.
    for (let i = 0; i < writers.length; i++) {
      const writer = writers[i]!;
      writer.queuedWhileLending = false;
      writer.flush(region);
    }
    writers.length = 0;
    if (expired !== null) keepAssemblies(expired);
  }
}

// ——— Assembly buffers: reused for lent messages split across reads ———

/** Smaller messages are assembled in Node's allocations: cheap, and they rarely split. */
const ASSEMBLY_MIN = 32_768;
/** At most this many bytes of assembly buffers are kept unused, per process. */
const ASSEMBLY_KEPT_MAX = 16 * 1024 * 1024;

/** Every assembly buffer made, so that a write holding one copies it like the region. */
const assemblies = new WeakSet<ArrayBufferLike>();
/** Unused assembly buffers by capacity (a power of two). */
const keptAssemblies = new Map<number, ArrayBuffer[]>();
const kept = new Set<ArrayBufferLike>();
let keptBytes = 0;
/** Assembly buffers of messages that expired during the current lending read. */
const expiredAssemblies: ArrayBufferLike[] = [];

/**
 * The buffer a message of `size` bytes split across lending reads is assembled in (the
 * decoder's `allocateLendable`): a kept one of its size class, or a new one.
 */
export function allocateLendable(size: number): Uint8Array {
  if (size < ASSEMBLY_MIN || size > ASSEMBLY_KEPT_MAX) return allocateUnsafe(size);
  const capacity = 2 ** Math.ceil(Math.log2(size));
  let memory = keptAssemblies.get(capacity)?.pop();
  if (memory !== undefined) {
    kept.delete(memory);
    keptBytes -= capacity;
  } else {
    memory = new ArrayBuffer(capacity);
    assemblies.add(memory);
  }
  return bufferView(memory, 0, size);
}

/**
 * A lent message's `payload` expired: if it is an assembly buffer and the message was lent
 * by the current lending read, the buffer is kept for reuse once that read's writers are done.
 */
export function lentPayloadExpired(payload: Uint8Array | null): void {
  if (!lendingOpen || payload === null || payload.length < ASSEMBLY_MIN) return;
  const memory = payload.buffer;
  if (assemblies.has(memory)) expiredAssemblies.push(memory);
}

function keepAssemblies(expired: readonly ArrayBufferLike[]): void {
  for (let i = 0; i < expired.length; i++) {
    const memory = expired[i]!;
    const capacity = memory.byteLength;
    // Kept once, however often it expired, unless a write holds it (`holdable`); and no
    // more than the cap.
    if (!assemblies.has(memory) || kept.has(memory) || keptBytes + capacity > ASSEMBLY_KEPT_MAX) continue;
    kept.add(memory);
    keptBytes += capacity;
    let list = keptAssemblies.get(capacity);
    if (list === undefined) keptAssemblies.set(capacity, (list = []));
    list.push(memory as ArrayBuffer);
  }
}

/**
 * `chunk`, made safe to hold past the lending read: bytes in the region are copied out; an
 * assembly buffer is given up to the write and never reused (the next message of its size
 * gets a new one). Copying what the kernel left of a long message cost more than that
 * (two 9-round A/B runs of the 4 MiB echo with `lentMessages`: 1.19× and 1.36× cheaper).
 */
function holdable(chunk: Uint8Array, region: ArrayBufferLike): Uint8Array {
  const memory = chunk.buffer;
  if (memory === region) return copyOf(chunk);
  assemblies.delete(memory);
  return chunk;
}

/** Whether a read's messages are lent just now: one kept past its call must be copied out. */
export function lendingNow(): boolean {
  return lendingOpen;
}

/** `writer` queued bytes: if messages are lent just now, it writes before the read returns. */
export function noteQueued(writer: LentWriter): void {
  if (!lendingOpen || writer.queuedWhileLending) return;
  writer.queuedWhileLending = true;
  writers.push(writer);
}

const kDirectBytes = Symbol('wspeer.directBytes');

interface DescriptorSocket extends Socket {
  _handle?: { fd?: number } | null;
  encrypted?: boolean;
  [kDirectBytes]?: number;
}

/**
 * Write `chunks[0..count)` to `socket` so that none of `region`'s bytes is referenced after
 * the call: see the module comment. `onWritten` as for {@link writeChunks}.
 */
export function writeBeforeReuse(socket: Socket, chunks: Uint8Array[], count: number, region: ArrayBufferLike, onWritten: ((error?: Error | null) => void) | undefined): void {
  let written = count > 0 && socket.writableLength === 0 && !socket.connecting ? writeDirect(socket as DescriptorSocket, chunks, count) : 0;
  let rest = 0;
  for (let i = 0; i < count; i++) {
    let chunk = chunks[i]!;
    if (written >= chunk.length) {
      written -= chunk.length;
      continue;
    }
    if (written > 0) {
      chunk = chunk.subarray(written);
      written = 0;
    }
    chunks[rest++] = holdable(chunk, region);
  }
  // Slots past `rest` held chunks now written: cleared so that they keep nothing alive.
  chunks.fill(EMPTY, rest, count);
  writeChunks(socket, chunks, rest, onWritten);
}

const EMPTY = new Uint8Array(0);

/** Bytes the kernel took in one `writev` on the socket's descriptor; 0 if it took none or there is none. */
function writeDirect(socket: DescriptorSocket, chunks: Uint8Array[], count: number): number {
  // A TLS socket's descriptor carries ciphertext: its bytes must go through its stream.
  if (socket.encrypted === true) return 0;
  const fd = socket._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) return 0;
  let written: number;
  try {
    written = writevSync(fd, chunks.slice(0, count));
  } catch {
    // EAGAIN (the send buffer is full) and the like: the stream writes it all, and reports
    // any error of the socket itself as it always does.
    return 0;
  }
  countDirect(socket, written);
  return written;
}

/**
 * Add `bytes` written past the socket's handle to its `bytesWritten`, which counts only what
 * the handle wrote: the first time, the socket gets a getter of its own that adds them.
 */
function countDirect(socket: DescriptorSocket, bytes: number): void {
  const counted = socket[kDirectBytes];
  if (counted !== undefined) {
    socket[kDirectBytes] = counted + bytes;
    return;
  }
  const handleCount = inheritedGetter(socket, 'bytesWritten');
  if (handleCount === undefined) return;
  socket[kDirectBytes] = bytes;
  Object.defineProperty(socket, 'bytesWritten', {
    configurable: true,
    get(this: DescriptorSocket): number | undefined {
      const handleBytes = handleCount.call(this) as number | undefined;
      return handleBytes === undefined ? undefined : handleBytes + (this[kDirectBytes] ?? 0);
    },
  });
}

/** The getter of `name` that `object` inherits, if any. */
function inheritedGetter(object: object, name: string): (() => unknown) | undefined {
  for (let proto = Object.getPrototypeOf(object) as object | null; proto !== null; proto = Object.getPrototypeOf(proto) as object | null) {
    const descriptor = Object.getOwnPropertyDescriptor(proto, name);
    if (descriptor !== undefined) return descriptor.get;
  }
  return undefined;
}

function copyOf(chunk: Uint8Array): Uint8Array {
  const copy = allocateUnsafe(chunk.length);
  copy.set(chunk);
  return copy;
}
