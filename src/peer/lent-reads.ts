/**
 * Bulk reads straight into the masking module's memory. A socket that receives long
 * messages is switched, once, to reading into one region of the SIMD module's memory
 * shared by all sockets: the kernel copies the bytes there, they are unmasked where they
 * lie, and what is kept is copied out once. Node's own reads cost a fresh ArrayBuffer per
 * read and two copies through the module (in and out) for every long payload.
 *
 * Node 20 offers this (`onread`) only to sockets it creates for `net.connect`, not to
 * those a `net.Server` accepts, so the switch is made the way Node makes it for `onread`:
 * the socket's handle is given the buffer, and the socket the callback. Both are internals:
 * each is checked for before it is used, and a socket on which any is missing keeps
 * Node's reads.
 * @module
 */
import type { Socket } from 'node:net';
import { simdReadRegion } from '../frame/mask-simd.ts';
import { allocateUnsafe } from './buffers.ts';

/** What a socket's reads are handed to once they are lent. */
export interface LentReadTarget {
  /** Bytes the target owns from now on. */
  receive(chunk: Uint8Array): void;
  /** Bytes lent for the call only: the region is filled again by the next read. */
  receiveLent(chunk: Uint8Array): void;
}

/**
 * A read of Node's full read size (64 KiB) means the kernel held at least that much: the
 * peer is sending in bulk, and its socket is worth switching.
 */
export const BULK_READ = 65_536;

/** Reads shorter than this are copied out whole and handed over as owned chunks. */
const LENT_MIN = 16_384;

const kLentTarget = Symbol('wspeer.lentReads');

interface StreamHandle {
  useUserBuffer?: (buffer: Uint8Array) => void;
}

interface LendingSocket extends Socket {
  _handle?: StreamHandle | null;
  encrypted?: boolean;
  [kLentTarget]?: LentReadTarget;
  [key: symbol]: unknown;
}

/** The socket's own internal symbol of that description, if it has one that is unset. */
function unsetSymbol(socket: LendingSocket, description: string): symbol | undefined {
  for (const symbol of Object.getOwnPropertySymbols(socket)) {
    if (symbol.description === description) return socket[symbol] === null ? symbol : undefined;
  }
  return undefined;
}

/**
 * Switch `socket`'s reads to the shared region, handing them to `target`; false (and
 * nothing changed) where that is not possible: no SIMD; a TLS socket (its handle reads
 * ciphertext); a paused socket, or one with data queued in its stream (lent reads would
 * overtake that data, and a paused stream stops its reads only once its queue is full);
 * or a Node without the internals this relies on.
 */
export function lendReads(socket: Socket, target: LentReadTarget): boolean {
  const lending = socket as LendingSocket;
  const handle = lending._handle;
  if (lending.encrypted === true || socket.destroyed || socket.isPaused() || socket.readableLength > 0) return false;
  if (handle == null || typeof handle.useUserBuffer !== 'function') return false;
  const kBuffer = unsetSymbol(lending, 'kBuffer');
  const kBufferCb = unsetSymbol(lending, 'kBufferCb');
  if (kBuffer === undefined || kBufferCb === undefined || unsetSymbol(lending, 'kBufferGen') === undefined) return false;
  const region = simdReadRegion();
  if (region === null) return false;
  try {
    handle.useUserBuffer(region);
  } catch {
    return false;
  }
  // From here on Node's read callback finds the buffer and calls `onLentRead`, as it does
  // for a socket made with `onread`; and `pause()` / `resume()` stop and start the reads.
  lending[kLentTarget] = target;
  lending[kBuffer] = region;
  lending[kBufferCb] = onLentRead;
  return true;
}

/** Called by Node with the socket as `this` after each read into the region. */
function onLentRead(this: LendingSocket, length: number, region: Uint8Array): void {
  const target = this[kLentTarget]!;
  if (length >= LENT_MIN) {
    target.receiveLent(region.subarray(0, length));
  } else {
    const owned = allocateUnsafe(length);
    owned.set(region.subarray(0, length));
    target.receive(owned);
  }
}

/** Whether `socket`'s reads have been switched to the shared region. */
export function readsAreLent(socket: Socket): boolean {
  return (socket as LendingSocket)[kLentTarget] !== undefined;
}
