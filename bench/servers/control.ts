/**
 * The server side of the runner protocol: announce readiness, report own CPU and memory on
 * request, and exit when the runner goes away (stdin closes) so no server is ever orphaned.
 * @module
 */
import { constants, performance, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { getHeapSpaceStatistics } from 'node:v8';

// Counted from the start, as the other figures: the runner takes the difference over its interval.
let fullGcs = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    if ((entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) fullGcs++;
  }
}).observe({ entryTypes: ['gc'] });

/** The port to listen on, from the `PORT` environment variable. */
export function listenPort(): number {
  const port = Number(process.env['PORT']);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    process.stderr.write('PORT must be set to a TCP port\n');
    process.exit(2);
  }
  return port;
}

/**
 * V8 grows its young generation (up to 2 × 16 MiB) while a burst of work allocates, and gives
 * it back once the process has been idle for a while (some 8 to 15 s here). Its pages count
 * in RSS meanwhile: after 10,000 handshakes, up to 3 KB per connection that no connection
 * holds, and more for a server that allocated more on the way. `stats settle` waits for the
 * young generation to be back at its smallest, so that what is measured is what is kept.
 *
 * It collects at each poll: V8 shrinks the young generation only in a collection, once its
 * estimate of the allocation rate is low, and a process that runs no JavaScript at all
 * (uWebSockets.js' idle connections) makes no collection of its own, so it never shrank.
 * Collecting also brings the others there in 2 to 4 s rather than 10 to 15.
 */
const YOUNG_FLOOR = Math.min(youngGenerationBytes(), 1024 * 1024);
const SETTLE_LIMIT_MS = 40_000;
const SETTLE_POLL_MS = 500;

function youngGenerationBytes(): number {
  return getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')?.space_size ?? 0;
}

/** Prints `READY <name> <details>` and starts answering `stats` / `stats gc` / `stats settle` / `exit` on stdin. */
export function announceReady(name: string, details: string): void {
  let buffered = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (text: string) => {
    buffered += text;
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const command = buffered.slice(0, newline).trim();
      buffered = buffered.slice(newline + 1);
      if (command === 'exit') process.exit(0);
      if (command === 'stats settle') void reportSettled();
      else if (command.startsWith('stats')) reportStats(command === 'stats gc');
    }
  });
  process.stdin.on('end', () => process.exit(0));
  process.stdout.write(`READY ${name} ${details}\n`);
}

function reportStats(collectGarbage: boolean): void {
  process.stdout.write(`STATS ${JSON.stringify(statsNow(collectGarbage))}\n`);
}

function statsNow(collectGarbage: boolean): Record<string, unknown> {
  if (collectGarbage) collectAllGarbage();
  const cpu = process.cpuUsage();
  const memory = process.memoryUsage();
  return {
    cpuUs: cpu.user + cpu.system,
    systemUs: cpu.system,
    minorFaults: process.resourceUsage().minorPageFault,
    fullGcs,
    rss: memory.rss,
    heapUsed: memory.heapUsed,
    external: memory.external,
  };
}

function collectAllGarbage(): void {
  // Two passes: the first can leave objects that only become collectable after finalisers ran.
  globalThis.gc?.();
  globalThis.gc?.();
}

/** The `stats gc` figures now, and the memory figures again once settled (see `YOUNG_FLOOR`), in one line. */
async function reportSettled(): Promise<void> {
  const now = statsNow(true);
  const started = performance.now();
  while (youngGenerationBytes() > YOUNG_FLOOR && performance.now() - started < SETTLE_LIMIT_MS) {
    await sleep(SETTLE_POLL_MS);
    collectAllGarbage();
  }
  const waitedMs = Math.round(performance.now() - started);
  const reached = youngGenerationBytes() <= YOUNG_FLOOR;
  collectAllGarbage();
  const memory = process.memoryUsage();
  const settled = { rss: memory.rss, heapUsed: memory.heapUsed, external: memory.external, waitedMs, reached };
  process.stdout.write(`STATS ${JSON.stringify({ ...now, settled })}\n`);
}

/** Prints why the server cannot run and exits, so the runner reports it as unavailable. */
export function unavailable(reason: string): never {
  process.stderr.write(`UNAVAILABLE ${reason}\n`);
  process.exit(2);
}
