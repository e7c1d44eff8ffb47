/**
 * The line protocol between the runner and the processes it starts.
 *
 * A load process (load generator or client benchmark) prints `MARK start` and `MARK end` around
 * its measured interval and a final `RESULT {json}`; the runner samples the server at each mark
 * and answers `GO`. A server prints `READY <name> <details>` once listening and answers each
 * `stats` / `stats gc` line on stdin with `STATS {json}`.
 * @module
 */
import type { LatencySummary } from './stats.ts';

/** Echo traffic: every connection keeps `inFlight` messages outstanding. */
export interface EchoLoad {
  readonly mode: 'echo';
  readonly url: string;
  readonly connections: number;
  readonly inFlight: number;
  readonly payloadSize: number;
  readonly text: boolean;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** Only for the `raw` server, which sends the client's masked frames back. */
  readonly allowMaskedEcho: boolean;
  /** Offer permessage-deflate, send compressed JSON text and inflate every echo. */
  readonly deflate: boolean;
}

/** Connection churn: upgrade, close handshake, TCP close — `count` times, `concurrency` at once. */
export interface HandshakeLoad {
  readonly mode: 'handshake';
  readonly url: string;
  readonly count: number;
  readonly concurrency: number;
  readonly warmupCount: number;
}

/** Idle connections: open `count`, hold them while the server's memory is sampled. */
export interface IdleLoad {
  readonly mode: 'idle';
  readonly url: string;
  readonly count: number;
  readonly concurrency: number;
  readonly warmupCount: number;
  readonly settleMs: number;
  /**
   * When above 0: offer permessage-deflate, and over each connection send one compressed JSON
   * message of this many bytes and check its echo before holding the connection.
   */
  readonly deflateMessage: number;
}

/** Anything a load process can be asked to do. */
export type LoadConfig = EchoLoad | HandshakeLoad | IdleLoad;

/** What a load process reports at the end; figures cover the measured interval only. */
export interface LoadResult {
  /** Messages echoed (echo mode), handshakes completed (handshake mode) or connections held open (idle mode). */
  readonly completed: number;
  /** Payload bytes echoed back (one direction). */
  readonly bytes: number;
  /** Connection errors, failed upgrades, unexpected closes. */
  readonly errors: number;
  /** Echoes that did not match what was sent. */
  readonly mismatches: number;
  readonly elapsedMs: number;
  readonly latencyMs: LatencySummary;
  /** CPU time the load process itself used during the interval, in microseconds. */
  readonly ownCpuUs: number;
}

/** A server's self-reported accounting. */
export interface ServerStats {
  /** User and system CPU time, in microseconds. */
  readonly cpuUs: number;
  /** The system (kernel) part of `cpuUs`. */
  readonly systemUs: number;
  /** Minor page faults so far: fresh memory touched for the first time, zeroed by the kernel. */
  readonly minorFaults: number;
  /**
   * Full (mark-compact) collections so far. V8 starts them when its old generation plus the
   * external memory allocated since the last one nears a limit set from the heap's size: a
   * small heap just past 8 MB churning large Buffers can make dozens a second.
   */
  readonly fullGcs: number;
  readonly rss: number;
  readonly heapUsed: number;
  readonly external: number;
  /** With `stats settle`: the memory figures once V8 gave back its young generation's burst (see control.ts). */
  readonly settled?: SettledMemory;
}

/** Memory once settled: `reached` is false if the young generation was not back at its smallest within the limit. */
export interface SettledMemory {
  readonly rss: number;
  readonly heapUsed: number;
  readonly external: number;
  readonly waitedMs: number;
  readonly reached: boolean;
}

/** Prefixes of the protocol lines. */
export const Line = { ready: 'READY', stats: 'STATS', mark: 'MARK', result: 'RESULT', go: 'GO' } as const;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function numbers(value: unknown, keys: readonly string[]): boolean {
  return isRecord(value) && keys.every((key) => typeof value[key] === 'number' || value[key] === null);
}

/** Parses the JSON of a `STATS` line. */
export function parseServerStats(json: string): ServerStats {
  const value: unknown = JSON.parse(json);
  if (!numbers(value, ['cpuUs', 'systemUs', 'minorFaults', 'fullGcs', 'rss', 'heapUsed', 'external'])) throw new Error(`bad STATS line: ${json}`);
  const settled = isRecord(value) ? value['settled'] : undefined;
  if (settled !== undefined && !(numbers(settled, ['rss', 'heapUsed', 'external', 'waitedMs']) && isRecord(settled) && typeof settled['reached'] === 'boolean')) {
    throw new Error(`bad STATS line: ${json}`);
  }
  return value as unknown as ServerStats;
}

/** Parses the JSON of a `RESULT` line (`NaN` percentiles arrive as `null`). */
export function parseLoadResult(json: string): LoadResult {
  const value: unknown = JSON.parse(json);
  const ok =
    numbers(value, ['completed', 'bytes', 'errors', 'mismatches', 'elapsedMs', 'ownCpuUs']) &&
    isRecord(value) &&
    numbers(value['latencyMs'], ['count', 'p50', 'p99', 'p999']);
  if (!ok) throw new Error(`bad RESULT line: ${json}`);
  return value as unknown as LoadResult;
}

/** Parses a load config passed on the command line. */
export function parseLoadConfig(json: string | undefined): LoadConfig {
  const value: unknown = JSON.parse(json ?? 'null');
  if (!isRecord(value) || !['echo', 'handshake', 'idle'].includes(String(value['mode'])) || typeof value['url'] !== 'string') {
    throw new Error('usage: loadgen \'{"mode":"echo"|"handshake"|"idle","url":"ws://127.0.0.1:PORT",…}\'');
  }
  return value as unknown as LoadConfig;
}
