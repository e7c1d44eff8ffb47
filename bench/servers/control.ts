/**
 * The server side of the runner protocol: announce readiness, report own CPU and memory on
 * request, and exit when the runner goes away (stdin closes) so no server is ever orphaned.
 * @module
 */
import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';

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

/** Prints `READY <name> <details>` and starts answering `stats` / `stats gc` / `exit` on stdin. */
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
      if (command.startsWith('stats')) reportStats(command === 'stats gc');
    }
  });
  process.stdin.on('end', () => process.exit(0));
  process.stdout.write(`READY ${name} ${details}\n`);
}

function reportStats(collectGarbage: boolean): void {
  if (collectGarbage) {
    // Two passes: the first can leave objects that only become collectable after finalisers ran.
    globalThis.gc?.();
    globalThis.gc?.();
  }
  const cpu = process.cpuUsage();
  const memory = process.memoryUsage();
  const stats = {
    cpuUs: cpu.user + cpu.system,
    systemUs: cpu.system,
    minorFaults: process.resourceUsage().minorPageFault,
    fullGcs,
    rss: memory.rss,
    heapUsed: memory.heapUsed,
    external: memory.external,
  };
  process.stdout.write(`STATS ${JSON.stringify(stats)}\n`);
}

/** Prints why the server cannot run and exits, so the runner reports it as unavailable. */
export function unavailable(reason: string): never {
  process.stderr.write(`UNAVAILABLE ${reason}\n`);
  process.exit(2);
}
