/**
 * The soak test's server: the echo server of `wspeer serve`, in a process of its own, which
 * prints `READY <url>` and answers `memory` on stdin with its memory after a full GC.
 * Start it with `--expose-gc`.
 * @module
 */
import { startEchoServer } from '../src/cli/serve.ts';

const echo = await startEchoServer({ host: '127.0.0.1', port: 0, path: '/', options: {} });
process.stdout.write(`READY ${echo.url}\n`);

let pending = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (text: string) => {
  pending += text;
  for (let newline = pending.indexOf('\n'); newline >= 0; newline = pending.indexOf('\n')) {
    const command = pending.slice(0, newline).trim();
    pending = pending.slice(newline + 1);
    if (command === 'memory') reportMemory();
  }
});
// The runner holds stdin: when it goes, so does the server.
process.stdin.on('end', () => void echo.close(1000).then(() => process.exit(0)));

function reportMemory(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  const usage = process.memoryUsage();
  process.stdout.write(`MEMORY ${JSON.stringify({ rss: usage.rss, heapUsed: usage.heapUsed, external: usage.external, peers: echo.peers.size })}\n`);
}
