/**
 * Small statistics helpers shared by the load generator, the runner and the micro-benchmarks.
 * @module
 */

/** Median of `values`; `NaN` for an empty list so a missing figure never looks like a zero. */
export function median(values: readonly number[]): number {
  const finite = values.filter((value) => Number.isFinite(value)).sort((a, b) => a - b);
  if (finite.length === 0) return Number.NaN;
  const middle = finite.length >> 1;
  return finite.length % 2 === 1 ? finite[middle]! : (finite[middle - 1]! + finite[middle]!) / 2;
}

/**
 * Nearest-rank percentile of an ascending list (`fraction` in 0..1).
 * Nearest rank rather than interpolation: a p99.9 should be a latency that really happened.
 */
export function percentileOfSorted(sorted: ArrayLike<number>, fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil(fraction * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]!;
}

/** Latency summary in milliseconds. */
export interface LatencySummary {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
}

/** Samples per block of a {@link LatencyRecorder}: 512 KiB, allocated in a fraction of a millisecond. */
const SAMPLE_BLOCK = 1 << 16;

/**
 * Collects latency samples (milliseconds) in typed arrays: every sample is kept so the tail
 * percentiles are exact, and a `Float64Array` keeps a few million samples cheap to sort.
 */
export class LatencyRecorder {
  /**
   * Samples in blocks of fixed size, never moved: growing one array by doubling it copied
   * millions of samples in the middle of the measured interval, a pause of 6 to 31 ms that
   * stretched the latency of every message in flight and so the p99.9 of the fastest servers.
   * Blocks filled during warm-up are reused after `reset`.
   */
  private readonly blocks: Float64Array[] = [new Float64Array(SAMPLE_BLOCK)];
  private block = 0;
  private fill = 0;

  /** Adds one sample. */
  record(milliseconds: number): void {
    if (this.fill === SAMPLE_BLOCK) {
      this.block++;
      this.fill = 0;
      if (this.block === this.blocks.length) this.blocks.push(new Float64Array(SAMPLE_BLOCK));
    }
    this.blocks[this.block]![this.fill++] = milliseconds;
  }

  /** Adds `times` samples of the same value (echoes that arrived in one read share a timestamp). */
  recordMany(milliseconds: number, times: number): void {
    for (let i = 0; i < times; i++) this.record(milliseconds);
  }

  /** Forgets everything recorded so far (end of warm-up). */
  reset(): void {
    this.block = 0;
    this.fill = 0;
  }

  /** Samples recorded since the last reset. */
  get count(): number {
    return this.block * SAMPLE_BLOCK + this.fill;
  }

  /** p50 / p99 / p99.9 of what was recorded. */
  summary(): LatencySummary {
    const count = this.count;
    const sorted = new Float64Array(count);
    for (let i = 0; i < this.block; i++) sorted.set(this.blocks[i]!, i * SAMPLE_BLOCK);
    sorted.set(this.blocks[this.block]!.subarray(0, this.fill), this.block * SAMPLE_BLOCK);
    sorted.sort();
    return {
      count,
      p50: percentileOfSorted(sorted, 0.5),
      p99: percentileOfSorted(sorted, 0.99),
      p999: percentileOfSorted(sorted, 0.999),
    };
  }
}

/**
 * FIFO of send timestamps for one connection. Echoes come back in send order, so the oldest
 * timestamp always belongs to the next echo; capacity is the in-flight window.
 */
export class SendTimes {
  private readonly times: Float64Array;
  private head = 0;
  private size = 0;

  constructor(capacity: number) {
    this.times = new Float64Array(capacity);
  }

  /** Number of messages sent and not yet echoed. */
  get outstanding(): number {
    return this.size;
  }

  /** Remembers that a message left at `time`; ignored when the window is already full. */
  push(time: number): void {
    if (this.size === this.times.length) return;
    this.times[(this.head + this.size) % this.times.length] = time;
    this.size++;
  }

  /** Send time of the oldest outstanding message, or `NaN` if none is outstanding. */
  shift(): number {
    if (this.size === 0) return Number.NaN;
    const time = this.times[this.head]!;
    this.head = (this.head + 1) % this.times.length;
    this.size--;
    return time;
  }
}

/**
 * The subjects in the order they take their turns in `round`: the rows of a Williams design,
 * a Latin square in which, over as many rounds as there are subjects (twice as many for an
 * odd count), each subject takes every place in the round equally often and follows every
 * other subject equally often. A fixed order measurably favoured some places, by up to 15 %
 * at 4 MiB; the subject measured just before may matter too (the caches and memory it leaves).
 */
export function turnOrder<T>(subjects: readonly T[], round: number): T[] {
  const count = subjects.length;
  if (count === 0) return [];
  // First row 0, 1, n−1, 2, n−2, …; row r adds r to each place. An odd count needs the
  // mirror of each row as well: rounds n…2n−1 run rows 0…n−1 backwards.
  const first = Array.from({ length: count }, (_, place) => (place % 2 === 1 ? (place + 1) / 2 : (count - place / 2) % count));
  const cycle = count % 2 === 0 ? count : 2 * count;
  const step = round % cycle;
  const row = first.map((index) => subjects[(index + step) % count]!);
  return step >= count ? row.reverse() : row;
}
