/**
 * Shared driver for the client benchmarks: opens the connections through a client adapter,
 * keeps a window of messages in flight on each, measures the process's own CPU per message,
 * and speaks the runner protocol (`MARK` / `RESULT`) like the load generator does.
 * @module
 */
import { performance } from 'node:perf_hooks';
import { cpuSince, exitAfter, finish, mark, sleep } from '../lib/load-process.ts';
import { binaryPayload, textPayload } from '../lib/payloads.ts';
import { parseLoadConfig } from '../lib/protocol.ts';
import { LatencyRecorder, SendTimes } from '../lib/stats.ts';

/** Bookkeeping for one connection; adapters call `sent()` and `echoed()`. */
export class EchoTracker {
  private readonly sendTimes: SendTimes;

  constructor(
    /** The message to send, as the client API takes it. */
    readonly payload: string | Buffer,
    readonly inFlight: number,
    private readonly shared: SharedCounters,
  ) {
    this.sendTimes = new SendTimes(inFlight);
  }

  /** False once the measured interval is over: adapters stop sending. */
  get running(): boolean {
    return this.shared.running;
  }

  /** Records that one message was handed to the client. */
  sent(): void {
    this.sendTimes.push(performance.now());
  }

  /** Checks and records one echo; returns whether another message should be sent. */
  echoed(data: string | Uint8Array): boolean {
    const sentAt = this.sendTimes.shift();
    const shared = this.shared;
    if (shared.measuring) {
      shared.latency.record(performance.now() - sentAt);
      shared.completed++;
    }
    if (!matches(data, this.payload)) shared.mismatches++;
    return shared.running;
  }
}

interface SharedCounters {
  running: boolean;
  measuring: boolean;
  completed: number;
  mismatches: number;
  readonly latency: LatencyRecorder;
}

function matches(data: string | Uint8Array, expected: string | Buffer): boolean {
  if (typeof expected === 'string') {
    return typeof data === 'string' ? data === expected : Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString() === expected;
  }
  if (typeof data === 'string' || data.length !== expected.length) return false;
  const last = expected.length - 1;
  return last < 0 || (data[0] === expected[0] && data[last >> 1] === expected[last >> 1] && data[last] === expected[last]);
}

/** A client implementation under test. */
export interface ClientAdapter {
  /** Opens one connection and starts its echo loop; resolves once the first window was sent. */
  start(url: string, tracker: EchoTracker): Promise<{ close(): void }>;
}

/** Runs the client benchmark described by the command-line config and exits. */
export async function runClientBenchmark(adapter: ClientAdapter): Promise<void> {
  const config = parseLoadConfig(process.argv[2]);
  if (config.mode !== 'echo') throw new Error('client benchmarks only run echo loads');
  exitAfter(config.warmupMs + config.durationMs + 60_000);
  const payload = config.text ? textPayload(config.payloadSize).toString('utf8') : binaryPayload(config.payloadSize);
  const shared: SharedCounters = { running: true, measuring: false, completed: 0, mismatches: 0, latency: new LatencyRecorder() };
  let errors = 0;
  const connections = await Promise.all(
    Array.from({ length: config.connections }, () =>
      adapter.start(config.url, new EchoTracker(payload, config.inFlight, shared)).catch((error: unknown) => {
        errors++;
        process.stderr.write(`client connection failed: ${error instanceof Error ? error.message : String(error)}\n`);
        return undefined;
      }),
    ),
  );
  await sleep(config.warmupMs);
  shared.latency.reset();
  shared.completed = 0;
  const cpuStart = process.cpuUsage();
  const startedAt = performance.now();
  shared.measuring = true;
  void mark('start');
  await sleep(config.durationMs);
  shared.measuring = false;
  const elapsedMs = performance.now() - startedAt;
  const ownCpuUs = cpuSince(cpuStart);
  await mark('end');
  shared.running = false;
  for (const connection of connections) connection?.close();
  const completed = shared.completed;
  finish({
    completed,
    bytes: completed * config.payloadSize,
    errors,
    mismatches: shared.mismatches,
    elapsedMs,
    latencyMs: shared.latency.summary(),
    ownCpuUs,
  });
}
