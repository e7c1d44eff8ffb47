/**
 * Load generator: speaks WebSocket itself over raw `node:net` sockets, so its own cost is small,
 * fixed and identical for every server under test. Usage: `loadgen.ts '<LoadConfig JSON>'`.
 * Prints `MARK start`, `MARK end` and `RESULT {json}` (see `lib/protocol.ts`).
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { CompressedMessages, DEFLATE_OFFER } from './lib/deflate.ts';
import { DeflateEchoParser, exchangeOnce } from './lib/deflate-echo.ts';
import { echoSetup } from './lib/echo-setup.ts';
import { EchoParser, Opcode, encodeCloseFrame } from './lib/frames.ts';
import { cpuSince, exitAfter, finish, mark, sleep } from './lib/load-process.ts';
import { jsonPayload } from './lib/payloads.ts';
import { parseLoadConfig, type EchoLoad, type HandshakeLoad, type IdleLoad, type LoadResult } from './lib/protocol.ts';
import { LatencyRecorder, SendTimes } from './lib/stats.ts';
import { openWebSocket, type UpgradeTarget } from './lib/upgrade.ts';

const UPGRADE_TIMEOUT_MS = 10_000;

/**
 * Where connection `index` of `total` goes, offering permessage-deflate when `deflate` is set.
 * Loopback source addresses are spread over only when one address could run out of ports.
 */
function targetFor(url: string, index: number, total: number, deflate = false): UpgradeTarget {
  const { hostname, port } = new URL(url);
  const sources = Math.ceil(total / 20_000);
  return {
    host: hostname,
    port: Number(port),
    timeoutMs: UPGRADE_TIMEOUT_MS,
    ...(sources > 1 ? { localAddress: `127.0.0.${1 + (index % Math.min(sources, 4))}` } : {}),
    ...(deflate ? { extensions: DEFLATE_OFFER } : {}),
  };
}

/** Runs `task(i)` for i in 0..count-1 with at most `concurrency` running at once. */
async function pool(count: number, concurrency: number, task: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

async function runEcho(config: EchoLoad): Promise<LoadResult> {
  const { payloadSize, connect } = echoSetup(config);
  const latency = new LatencyRecorder();
  let measuring = false;
  let sending = true;
  let completed = 0;
  let errors = 0;

  const upgraded = await Promise.all(
    Array.from({ length: config.connections }, (_, i) => openWebSocket(targetFor(config.url, i, config.connections, config.deflate))),
  );
  const parsers: Array<EchoParser | DeflateEchoParser> = [];
  const sockets: Socket[] = [];
  for (const connection of upgraded) {
    const { socket, leftover } = connection;
    const { next, parser } = connect(connection);
    const sendTimes = new SendTimes(config.inFlight);
    const onData = (chunk: Buffer): void => {
      const echoed = Math.min(parser.push(chunk), sendTimes.outstanding);
      if (echoed === 0) return;
      // Echoes that arrived in one read share one receive time; a clock read per chunk, not per message.
      const now = performance.now();
      for (let i = 0; i < echoed; i++) {
        const sentAt = sendTimes.shift();
        if (measuring) latency.record(now - sentAt);
      }
      if (measuring) completed += echoed;
      if (!sending) return;
      socket.write(next(echoed));
      for (let i = 0; i < echoed; i++) sendTimes.push(now);
    };
    socket.on('data', onData);
    socket.on('error', () => {
      if (sending) errors++;
    });
    socket.on('close', () => {
      if (sending) errors++;
    });
    if (leftover.length > 0) onData(leftover);
    const start = performance.now();
    socket.write(next(config.inFlight));
    for (let i = 0; i < config.inFlight; i++) sendTimes.push(start);
    parsers.push(parser);
    sockets.push(socket);
  }

  await sleep(config.warmupMs);
  latency.reset();
  completed = 0;
  const cpuStart = process.cpuUsage();
  const startedAt = performance.now();
  measuring = true;
  void mark('start'); // throughput keeps flowing; the runner's sample lands within a pipe hop
  await sleep(config.durationMs);
  measuring = false;
  const elapsedMs = performance.now() - startedAt;
  const ownCpuUs = cpuSince(cpuStart);
  await mark('end');
  sending = false;
  for (const socket of sockets) socket.destroy();
  // Inflation may still be catching up on the last echoes of a deflate run.
  await Promise.all(parsers.map((parser) => (parser instanceof DeflateEchoParser ? parser.settle() : undefined)));
  for (const parser of parsers) if (parser instanceof DeflateEchoParser) parser.dispose();
  const mismatches = parsers.reduce((sum, parser) => sum + parser.mismatches + (parser.closed ? 1 : 0), 0);
  return { completed, bytes: completed * payloadSize, errors, mismatches, elapsedMs, latencyMs: latency.summary(), ownCpuUs };
}

/**
 * One full connection life: upgrade (and one compressed exchange, with `message`), close
 * handshake, TCP close. Resolves with the time to the 101 in milliseconds; rejects on any failure.
 */
async function churnOne(target: UpgradeTarget, message?: CompressedMessages): Promise<number> {
  const started = performance.now();
  const upgraded = await openWebSocket(target);
  const upgradeMs = performance.now() - started;
  const { socket } = upgraded;
  if (message !== undefined) await exchangeOnce(upgraded, message, UPGRADE_TIMEOUT_MS);
  const leftover = message === undefined ? upgraded.leftover : Buffer.alloc(0);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('close handshake timed out'));
    }, UPGRADE_TIMEOUT_MS);
    let answered = false;
    const onData = (chunk: Buffer): void => {
      // The first byte of the server's next frame must open a close frame (any status).
      answered = ((chunk[0] ?? 0) & 0x0f) === Opcode.close;
      socket.off('data', onData);
      socket.on('data', () => undefined);
      socket.end();
    };
    socket.on('data', onData);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      if (answered) resolve();
      else reject(new Error('no close frame before the TCP close'));
    });
    if (leftover.length > 0) onData(leftover);
    socket.write(encodeCloseFrame(randomBytes(4)));
  });
  return upgradeMs;
}

async function runHandshakes(config: HandshakeLoad): Promise<LoadResult> {
  let errors = 0;
  const churn = async (index: number, total: number, latency?: LatencyRecorder): Promise<void> => {
    try {
      const upgradeMs = await churnOne(targetFor(config.url, index, total));
      latency?.record(upgradeMs);
    } catch {
      errors++;
    }
  };
  await pool(config.warmupCount, config.concurrency, (i) => churn(i, config.warmupCount));
  const latency = new LatencyRecorder();
  errors = 0;
  await mark('start');
  const cpuStart = process.cpuUsage();
  const startedAt = performance.now();
  await pool(config.count, config.concurrency, (i) => churn(i, config.count, latency));
  const elapsedMs = performance.now() - startedAt;
  const ownCpuUs = cpuSince(cpuStart);
  await sleep(50); // let the server finish tearing down the last connections before it is sampled
  await mark('end');
  const summary = latency.summary();
  return { completed: summary.count, bytes: 0, errors, mismatches: 0, elapsedMs, latencyMs: summary, ownCpuUs };
}

async function runIdle(config: IdleLoad): Promise<LoadResult> {
  const deflate = config.deflateMessage > 0;
  const message = deflate ? new CompressedMessages([jsonPayload(config.deflateMessage)], randomBytes(4)) : undefined;
  // Warm-up churn first, so one-time allocations (zlib streams a server shares between its
  // connections included) are in the baseline rather than divided over N.
  await pool(config.warmupCount, config.concurrency, async (i) => {
    await churnOne(targetFor(config.url, i, config.warmupCount, deflate), message).catch(() => undefined);
  });
  await sleep(config.settleMs);
  await mark('start');
  const cpuStart = process.cpuUsage();
  const startedAt = performance.now();
  const open: Socket[] = [];
  const latency = new LatencyRecorder();
  let errors = 0;
  await pool(config.count, config.concurrency, async (i) => {
    const started = performance.now();
    try {
      const upgraded = await openWebSocket(targetFor(config.url, i, config.count, deflate));
      latency.record(performance.now() - started);
      if (message !== undefined) await exchangeOnce(upgraded, message, UPGRADE_TIMEOUT_MS);
      const { socket } = upgraded;
      socket.on('error', () => undefined);
      socket.on('close', () => errors++);
      open.push(socket);
    } catch {
      errors++;
    }
  });
  const elapsedMs = performance.now() - startedAt;
  const ownCpuUs = cpuSince(cpuStart);
  await sleep(config.settleMs);
  await mark('end');
  const held = open.filter((socket) => !socket.destroyed).length;
  const failed = errors;
  for (const socket of open) socket.destroy();
  return { completed: held, bytes: 0, errors: failed, mismatches: 0, elapsedMs, latencyMs: latency.summary(), ownCpuUs };
}

const config = parseLoadConfig(process.argv[2]);
exitAfter(config.mode === 'echo' ? config.warmupMs + config.durationMs + 60_000 : 180_000);
const result =
  config.mode === 'echo' ? await runEcho(config) : config.mode === 'handshake' ? await runHandshakes(config) : await runIdle(config);
finish(result);
