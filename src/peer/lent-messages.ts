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
 * queued on the stream as usual.
 * @module
 */
import { writevSync } from 'node:fs';
import type { Socket } from 'node:net';
import type { Connection } from '../connection/connection.ts';
import { simdReadRegion } from '../frame/mask-simd.ts';
import { allocateUnsafe } from './buffers.ts';
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
    // Writing cannot start another lending read: reads come from the event loop only.
    for (let i = 0; i < writers.length; i++) {
      const writer = writers[i]!;
      writer.queuedWhileLending = false;
      writer.flush(region);
    }
    writers.length = 0;
  }
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

interface DescriptorSocket extends Socket {
  _handle?: { fd?: number } | null;
}

/**
 * Write `chunks[0..count)` to `socket` so that none of `region`'s bytes is referenced after
 * the call: see the module comment. `onWritten` as for {@link writeChunks}.
 */
export function writeBeforeReuse(socket: Socket, chunks: Uint8Array[], count: number, region: ArrayBufferLike, onWritten: (() => void) | undefined): void {
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
    chunks[rest++] = chunk.buffer === region ? copyOf(chunk) : chunk;
  }
  // Slots past `rest` held chunks now written: cleared so that they keep nothing alive.
  chunks.fill(EMPTY, rest, count);
  writeChunks(socket, chunks, rest, onWritten);
}

const EMPTY = new Uint8Array(0);

/** Bytes the kernel took in one `writev` on the socket's descriptor; 0 if it took none or there is none. */
function writeDirect(socket: DescriptorSocket, chunks: Uint8Array[], count: number): number {
  const fd = socket._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) return 0;
  try {
    return writevSync(fd, chunks.slice(0, count));
  } catch {
    // EAGAIN (the send buffer is full) and the like: the stream writes it all, and reports
    // any error of the socket itself as it always does.
    return 0;
  }
}

function copyOf(chunk: Uint8Array): Uint8Array {
  const copy = allocateUnsafe(chunk.length);
  copy.set(chunk);
  return copy;
}
