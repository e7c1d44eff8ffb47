/**
 * Reads into memory of our own. A socket that has read 64 KiB is switched, once, to reading
 * into one region of the SIMD masking module's memory, shared by every socket of the
 * process: each read is handed on before the next can fill it again. A long read is parsed
 * where it lies, payloads unmasked in place and copied out once (Node's reads would go
 * through the module with a copy in and a copy out), or lent to the application for the
 * call (the `lentMessages` option); a short one is copied out whole (from a shared slab
 * under 4 KiB: buffers.ts) and parsed as an owned chunk. Either way a read makes no fresh
 * ArrayBuffer (Node makes one per read, and the young-generation GC sweeps each) and skips
 * the stream's per-read machinery.
 *
 * A read fills the whole region (256 KiB, several 64 KiB messages whole) while its target
 * has that much room under its high-water mark, and Node's 64 KiB otherwise: a peer near
 * its mark overshoots it by no more than with Node's reads. While the target assembles a
 * long unmasked payload (a client reading its server's message), the next read goes
 * straight into the payload's own buffer instead, which it would be copied into anyway.
 *
 * Node 20 offers such reads (`onread`) only to the sockets it connects, not to those a
 * `net.Server` accepts, so the switch is made as Node makes it for `onread`: the socket's
 * handle is given the buffer, and the socket the callback and the function that picks the
 * next read's buffer. All are internals: each is checked for before it is used, and a
 * socket on which any is missing keeps Node's reads.
 * @module
 */
import type { Socket } from 'node:net';
import { simdReadRegion } from '../frame/mask-simd.ts';
import { allocateUnsafe } from './buffers.ts';

/** What a socket's reads are handed to once they are lent. */
export interface LentReadTarget {
  /**
   * The bytes of one read. `lent`: they lie in the region, for the call only (the next read
   * fills it again); otherwise the target owns them.
   */
  receiveRead(chunk: Uint8Array, lent: boolean): void;
  /** Bytes the next read may add before the target passes its bounds (its high-water mark). */
  readRoom(): number;
  /**
   * Where the next read may go straight into, at most `maxLength` bytes: the rest of a
   * message being assembled, which would otherwise be copied there out of the region.
   */
  directTarget(maxLength: number): Uint8Array | null;
  /** `length` bytes were read into what {@link directTarget} gave. */
  receiveDirect(length: number): void;
}

/**
 * Bytes a socket reads the usual way before it is switched: a connection that only opens
 * and closes does not pay for the switch, and one that streams is switched at once.
 */
export const LEND_AFTER = 65_536;

/** What {@link lendReads} did: switched, not now (the socket is paused or has data queued), or never. */
export type LendOutcome = 'lent' | 'not now' | 'never';

/** Reads shorter than this are copied out whole and handed over as owned chunks. */
const LENT_MIN = 16_384;

/** Node's own read size: what a read takes when its target has less room than the region. */
const NODE_READ_SIZE = 65_536;

/**
 * The longest read straight into a message being assembled: some 1 ms of copying for one
 * read to hold the event loop. Reads as long as the socket had bytes for took a client 0.45x
 * the CPU per 4 MiB message of region reads copied out, and reads capped at 64 KiB 0.7x
 * (a scratch download load, 3 interleaved runs each).
 */
const DIRECT_READ_MAX = 4 * 1024 * 1024;

// The buffer of the read after the current one, picked by `onLentRead` for Node to fetch
// through `nextReadBuffer` (which Node calls with no socket, right after the callback).
let nextRead: Uint8Array | null = null;

const kLentTarget = Symbol('wspeer.lentReads');

// Set once a socket lacks the stream's internal symbols: no socket of this Node has them.
let symbolsMissing = false;

interface StreamHandle {
  useUserBuffer?: (buffer: Uint8Array) => void;
}

interface LendingSocket extends Socket {
  _handle?: StreamHandle | null;
  encrypted?: boolean;
  [kLentTarget]?: LentReadTarget;
  [key: symbol]: unknown;
}

/** The socket's own internal symbol of that description, if it has one. */
function internalSymbol(socket: LendingSocket, description: string): symbol | undefined {
  return Object.getOwnPropertySymbols(socket).find((symbol) => symbol.description === description);
}

/**
 * Switch `socket`'s reads to the shared region, handing them to `target`. Not now: the
 * socket is paused, or has data queued in its stream (lent reads would overtake that data,
 * and a paused stream stops reading only once its queue is full). Never: no SIMD; a TLS
 * socket (its handle reads ciphertext); a socket whose creator set `onread`; or a Node
 * without the internals this relies on. Nothing is changed unless it answers 'lent'.
 */
export function lendReads(socket: Socket, target: LentReadTarget): LendOutcome {
  const lending = socket as LendingSocket;
  if (lending.encrypted === true || symbolsMissing) return 'never';
  if (socket.destroyed || socket.isPaused() || socket.readableLength > 0) return 'not now';
  const handle = lending._handle;
  if (handle == null || typeof handle.useUserBuffer !== 'function') return 'never';
  const kBuffer = internalSymbol(lending, 'kBuffer');
  const kBufferCb = internalSymbol(lending, 'kBufferCb');
  const kBufferGen = internalSymbol(lending, 'kBufferGen');
  if (kBuffer === undefined || kBufferCb === undefined || kBufferGen === undefined) {
    symbolsMissing = true;
    return 'never';
  }
  const region = simdReadRegion();
  if (region === null || lending[kBuffer] !== null || lending[kBufferCb] !== null || lending[kBufferGen] !== null) return 'never';
  const first = readBufferFor(target, region);
  try {
    handle.useUserBuffer(first);
  } catch {
    return 'never';
  }
  // From here on Node's read callback finds the buffer and calls `onLentRead`, as it does
  // for a socket made with `onread`, then asks `nextReadBuffer` for the next read's buffer
  // (as for an `onread.buffer` function); `pause()` / `resume()` stop and start the reads.
  lending[kLentTarget] = target;
  lending[kBuffer] = first;
  lending[kBufferCb] = onLentRead;
  lending[kBufferGen] = nextReadBuffer;
  return 'lent';
}

// The region's first 64 KiB, made once.
let nodeSizedRead: Uint8Array | null = null;

/** The whole region if `target` has room for it, else its first 64 KiB. */
function readBufferFor(target: LentReadTarget, region: Uint8Array): Uint8Array {
  if (target.readRoom() >= region.length) return region;
  return (nodeSizedRead ??= region.subarray(0, NODE_READ_SIZE));
}

function nextReadBuffer(): Uint8Array | null {
  const next = nextRead;
  nextRead = null;
  return next;
}

/** Called by Node with the socket as `this` after each read into the region or a direct target. */
function onLentRead(this: LendingSocket, length: number, buffer: Uint8Array): void {
  const target = this[kLentTarget]!;
  const region = simdReadRegion()!;
  if (buffer.buffer !== region.buffer) {
    target.receiveDirect(length);
  } else if (length >= LENT_MIN) {
    target.receiveRead(buffer.subarray(0, length), true);
  } else {
    const owned = allocateUnsafe(length);
    owned.set(buffer.subarray(0, length));
    target.receiveRead(owned, false);
  }
  // Straight into the message being assembled if there is one; else keep the buffer, unless
  // the room the target has left calls for the other size.
  const wanted = directTargetOf(target) ?? readBufferFor(target, region);
  nextRead = wanted === buffer ? null : wanted;
}

/** Where `target`'s next read may go straight into, if it is worth a read of its own. */
function directTargetOf(target: LentReadTarget): Uint8Array | null {
  const direct = target.directTarget(DIRECT_READ_MAX);
  return direct !== null && direct.length >= LENT_MIN ? direct : null;
}

/** Whether `socket`'s reads have been switched to the shared region. */
export function readsAreLent(socket: Socket): boolean {
  return (socket as LendingSocket)[kLentTarget] !== undefined;
}
