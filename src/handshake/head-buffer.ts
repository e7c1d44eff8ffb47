/**
 * Incremental accumulation of an HTTP head up to its blank line, shared by
 * the request and response parsers.
 */

import { HeadCompleteError } from './errors.ts';
import { latin1Decode } from './latin1.ts';

const CR = 0x0d;
const LF = 0x0a;

/** Why accumulation stopped early; the owning parser maps it to an error. */
export type HeadFailure = 'too-large' | 'too-many-headers' | 'bare-lf';

/** A complete head and whatever followed it in the same chunk. */
export interface CompletedHead {
  /** The head decoded as latin1, without the terminating CRLF CRLF. */
  readonly text: string;
  /** Bytes after the head: a view into the last chunk fed. */
  readonly rest: Uint8Array;
}

/**
 * Throws a RangeError unless `maxBytes` (an integer of at least 4, for CRLF CRLF) and
 * `maxFieldLines` (a non-negative integer) can bound a head: options are checked with it
 * where they are given, not at the first connection.
 */
export function checkHeadLimits(maxBytes: number, maxFieldLines: number): void {
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 4) {
    throw new RangeError(`maxHeadBytes (the head size limit) must be an integer >= 4, got ${maxBytes}`);
  }
  if (!Number.isSafeInteger(maxFieldLines) || maxFieldLines < 0) {
    throw new RangeError(`maxHeaders (the header count limit) must be a non-negative integer, got ${maxFieldLines}`);
  }
}

/**
 * Collects bytes until CRLF CRLF, enforcing a byte limit and a limit on the
 * number of field lines as the bytes arrive, so an oversized head is refused
 * without buffering it. Each byte is examined once, however the input is
 * split; the terminator search is a native `indexOf` for LF.
 */
export class HeadAccumulator {
  readonly #maxBytes: number;
  readonly #maxFieldLines: number;
  readonly #fail: (failure: HeadFailure) => never;
  #buffer = new Uint8Array(0);
  #length = 0;
  #lineCount = 0;
  #done = false;

  /**
   * @param maxBytes Largest accepted head, including its terminator.
   * @param maxFieldLines Largest accepted number of lines after the start line.
   * @param fail Called (and expected to throw) when a limit is exceeded or
   * a bare LF is seen.
   */
  constructor(maxBytes: number, maxFieldLines: number, fail: (failure: HeadFailure) => never) {
    checkHeadLimits(maxBytes, maxFieldLines);
    this.#maxBytes = maxBytes;
    this.#maxFieldLines = maxFieldLines;
    this.#fail = fail;
  }

  /**
   * Adds a chunk. Returns the completed head once CRLF CRLF has arrived,
   * otherwise `null`. Calls `fail` as soon as the input is known to break a
   * limit. Called again after returning a head, throws a {@link HeadCompleteError}.
   */
  push(chunk: Uint8Array): CompletedHead | null {
    if (this.#done) throw new HeadCompleteError();
    // Only this many bytes of the chunk can still belong to an acceptable head.
    const room = this.#maxBytes - this.#length;
    const scanEnd = Math.min(chunk.length, room);
    for (let lf = chunk.indexOf(LF); lf !== -1 && lf < scanEnd; lf = chunk.indexOf(LF, lf + 1)) {
      // RFC 7230 §3.5 lets recipients accept a bare LF as a line end, but
      // intermediaries may not; accepting it invites request smuggling.
      if (this.#byteBefore(chunk, lf, 1) !== CR) this.#fail('bare-lf');
      if (this.#byteBefore(chunk, lf, 2) === LF && this.#byteBefore(chunk, lf, 3) === CR) {
        return this.#complete(chunk, lf + 1);
      }
      this.#lineCount++;
      // The first line is the request or status line, not a field.
      if (this.#lineCount - 1 > this.#maxFieldLines) this.#fail('too-many-headers');
    }
    if (chunk.length > room) this.#fail('too-large');
    this.#append(chunk);
    return null;
  }

  /** The byte `distance` positions before `chunk[index]`, looking into earlier chunks; -1 before the start. */
  #byteBefore(chunk: Uint8Array, index: number, distance: number): number {
    const position = index - distance;
    if (position >= 0) return chunk[position] ?? -1;
    const buffered = this.#length + position;
    return buffered >= 0 ? (this.#buffer[buffered] ?? -1) : -1;
  }

  #complete(chunk: Uint8Array, end: number): CompletedHead {
    this.#done = true;
    let head: Uint8Array;
    if (this.#length === 0) {
      // Common case: the whole head arrived in one chunk; no copy needed.
      head = chunk.subarray(0, end - 4);
    } else {
      this.#append(chunk.subarray(0, end));
      head = this.#buffer.subarray(0, this.#length - 4);
    }
    const text = latin1Decode(head);
    this.#buffer = new Uint8Array(0);
    return { text, rest: chunk.subarray(end) };
  }

  #append(bytes: Uint8Array): void {
    const needed = this.#length + bytes.length;
    if (needed > this.#buffer.length) {
      // Callers guarantee needed <= maxBytes, so growth stops at the limit.
      const capacity = Math.min(this.#maxBytes, Math.max(needed, 2 * this.#buffer.length, 256));
      const grown = new Uint8Array(capacity);
      grown.set(this.#buffer.subarray(0, this.#length));
      this.#buffer = grown;
    }
    this.#buffer.set(bytes, this.#length);
    this.#length = needed;
  }
}
