/**
 * Inflating a connection's compressed echoes and checking them against the payload sent.
 * @module
 */
import { constants, createInflateRaw, inflateRawSync, type InflateRaw } from 'node:zlib';
import { DEFLATE_TAIL } from './deflate.ts';

/** Whether one compressed message, inflated on its own, is exactly `expected`. */
export function inflatesTo(compressed: Buffer, expected: Buffer): boolean {
  try {
    return inflateRawSync(Buffer.concat([compressed, DEFLATE_TAIL]), { finishFlush: constants.Z_SYNC_FLUSH }).equals(expected);
  } catch {
    return false;
  }
}

/**
 * Checks the compressed echoes of one connection through one inflater, in batches: each batch
 * goes in as a single sync-flushed write (one trip through the thread pool), and the output
 * must be the messages sent, in order, byte for byte: echo i is `payloads[i % payloads.length]`.
 *
 * One stream also reads a server that compresses every message afresh (no context takeover):
 * such messages never refer back, and a window kept for nothing does no harm. The exception is
 * a sender that ends messages with a final (BFINAL) block, which RFC 7692 §7.2.3.4 allows
 * without context takeover and which ends a stream; so with `independent` echoes, a batch that
 * does not come out right is checked again message by message, each inflated on its own, and
 * the stream is replaced. The inflating cost per echo is thus the same whatever the server
 * negotiated.
 */
export class InflateCheck {
  private inflater: InflateRaw | undefined;
  /** Increments with each new inflater; callbacks of a replaced one are ignored. */
  private generation = 0;
  /** Echoes checked so far, and how many of them were checked before the current inflater. */
  private checked = 0;
  private base = 0;
  /** Output bytes of the current inflater. */
  private produced = 0;
  private wrongBytes = false;
  private readonly length: number;
  /** Batches written and not yet through the inflater, oldest first. */
  private readonly batches: Buffer[][] = [];
  private failed = false;
  private waiters: Array<() => void> = [];

  constructor(
    private readonly payloads: readonly Buffer[],
    /** The server compresses each message without context: each echo stands alone. */
    private readonly independent: boolean,
    private readonly onMismatch: (count: number) => void,
  ) {
    this.length = payloads[0]?.length ?? 0;
    if (this.length === 0 || payloads.some((payload) => payload.length !== this.length)) throw new Error('payloads must be non-empty and of one length');
    this.renew();
  }

  /** Queues a batch of compressed echoes (payloads without their tails) for checking. */
  check(compressed: Buffer[]): void {
    if (this.failed || this.inflater === undefined) {
      this.onMismatch(compressed.length);
      return;
    }
    this.batches.push(compressed);
    const generation = this.generation;
    const input = Buffer.concat(compressed.flatMap((message) => [message, DEFLATE_TAIL]));
    this.inflater.write(input, () => {
      if (generation === this.generation) this.batchDone();
    });
  }

  /** Resolves when nothing is left to check, or after `timeoutMs`. */
  settle(timeoutMs: number): Promise<void> {
    if (this.batches.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Releases the inflater. */
  dispose(): void {
    this.generation++;
    this.inflater?.close();
    this.inflater = undefined;
  }

  private renew(): void {
    this.inflater?.close();
    const generation = ++this.generation;
    // Every write is sync-flushed, so its callback comes after all of its output.
    const inflater = createInflateRaw({ flush: constants.Z_SYNC_FLUSH });
    inflater.on('data', (chunk: Buffer) => {
      if (generation === this.generation) this.compare(chunk);
    });
    inflater.on('error', () => {
      if (generation === this.generation) this.broken();
    });
    this.inflater = inflater;
    this.base = this.checked;
    this.produced = 0;
    this.wrongBytes = false;
  }

  private payloadOf(echo: number): Buffer {
    return this.payloads[echo % this.payloads.length]!;
  }

  /** Output arrives in order: each byte must equal the byte at its offset in the messages sent. */
  private compare(chunk: Buffer): void {
    const length = this.length;
    let at = 0;
    while (at < chunk.length) {
      const position = this.produced % length;
      const take = Math.min(length - position, chunk.length - at);
      const expected = this.payloadOf(this.base + Math.floor(this.produced / length));
      if (chunk.compare(expected, position, position + take, at, at + take) !== 0) this.wrongBytes = true;
      this.produced += take;
      at += take;
    }
  }

  /** The oldest batch is through: its output must be exactly its echoes' messages. */
  private batchDone(): void {
    const batch = this.batches[0]!;
    const expected = (this.checked + batch.length - this.base) * this.length;
    if (this.wrongBytes || this.produced !== expected) {
      if (this.independent) return this.broken();
      this.onMismatch(batch.length);
      this.wrongBytes = false;
      this.produced = expected; // resynchronise, so one bad batch is counted once
    }
    this.checked += batch.length;
    this.batches.shift();
    if (this.batches.length === 0) this.wake();
  }

  /**
   * The stream failed or produced something else than expected. Independent echoes are then
   * checked one by one and a fresh stream takes over; echoes that depend on the lost window
   * can no longer be checked, and all count as mismatches.
   */
  private broken(): void {
    const outstanding = this.batches.splice(0).flat();
    if (this.independent) {
      for (const message of outstanding) if (!inflatesTo(message, this.payloadOf(this.checked++))) this.onMismatch(1);
      this.renew();
    } else {
      this.checked += outstanding.length;
      this.failed = true;
      this.onMismatch(outstanding.length);
    }
    this.wake();
  }

  private wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }
}
