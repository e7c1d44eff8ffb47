/**
 * `npm run soak [-- --connections 1000 --seconds 60 --window 8]`: that many clients echo
 * numbered messages through a wspeer server in another process for a bounded time, then
 * close. Every echo is checked: nothing lost, duplicated or reordered. The server's memory
 * is read before, at the peak and after everyone left; it must come back near its start.
 * Prints the figures and exits non-zero on any loss or leak.
 * @module
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { connect } from '../src/client/connect.ts';
import type { Peer } from '../src/peer/peer.ts';

interface Memory {
  rss: number;
  heapUsed: number;
  external: number;
  peers: number;
}

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at < 0 ? fallback : Number(process.argv[at + 1]);
}

const connections = option('connections', 1000);
const seconds = option('seconds', 60);
const window = option('window', 8);
/** Memory the server may keep after everyone left (caches, JIT code, pools), in bytes. */
const allowedGrowth = option('allowed-growth-mb', 16) * 1024 * 1024;

const server = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', new URL('./server.ts', import.meta.url).pathname], {
  stdio: ['pipe', 'pipe', 'inherit'],
});
const lines = createInterface({ input: server.stdout! });
const waiting: Array<(line: string) => void> = [];
lines.on('line', (line) => waiting.shift()?.(line));
const nextLine = (): Promise<string> => new Promise((resolve) => waiting.push(resolve));
const deadline = setTimeout(() => {
  console.error('soak: took too long, giving up');
  server.kill();
  process.exit(3);
}, (seconds + 120) * 1000);

async function memory(): Promise<Memory> {
  server.stdin!.write('memory\n');
  const line = await nextLine();
  return JSON.parse(line.slice('MEMORY '.length)) as Memory;
}

/** One client: send numbered messages, `window` in flight, and check each echo is the next number. */
async function client(url: string, until: number, totals: { sent: number; received: number; lost: number; duplicated: number; reordered: number }): Promise<void> {
  const peer: Peer = await connect(url, {}, { timeout: 30_000 });
  let next = 0;
  let expected = 0;
  const prefix = `${Math.random().toString(36).slice(2, 8)}:`;
  const send = (): void => {
    void peer.write(prefix + next++);
    totals.sent++;
  };
  for (let i = 0; i < window; i++) send();
  for await (const message of peer) {
    const text = message.data as string;
    const number = Number(text.slice(prefix.length));
    totals.received++;
    if (!text.startsWith(prefix) || number > expected) totals.lost += number > expected ? number - expected : 1;
    else if (number < expected) (number === expected - 1 ? totals.duplicated++ : totals.reordered++);
    expected = Math.max(expected, number + 1);
    if (Date.now() < until) send();
    else if (expected === next) break;
  }
  totals.lost += next - expected;
  await peer.shutdown(1000, 'done', 10_000);
}

const ready = await nextLine();
const url = ready.slice('READY '.length);
const before = await memory();
const totals = { sent: 0, received: 0, lost: 0, duplicated: 0, reordered: 0 };
const until = Date.now() + seconds * 1000;
console.log(`soak: ${connections} connections × ${window} in flight for ${seconds} s against ${url}`);
let peak = before;
const sampler = setInterval(() => {
  void memory().then((sample) => {
    if (sample.rss > peak.rss) peak = sample;
  });
}, 1000);
const clients: Promise<void>[] = [];
for (let i = 0; i < connections; i++) clients.push(client(url, until, totals));
const outcomes = await Promise.allSettled(clients);
clearInterval(sampler);
const failedClients = outcomes.filter((outcome) => outcome.status === 'rejected').length;
// Let the server see every close, then measure what it kept.
await new Promise((resolve) => setTimeout(resolve, 1500));
let after = await memory();
for (let i = 0; i < 5 && after.peers > 0; i++) {
  await new Promise((resolve) => setTimeout(resolve, 1000));
  after = await memory();
}
server.stdin!.end();
clearTimeout(deadline);

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
console.log(`messages: ${totals.sent} sent, ${totals.received} received, ${totals.lost} lost, ${totals.duplicated} duplicated, ${totals.reordered} reordered`);
console.log(`clients: ${connections - failedClients} finished, ${failedClients} failed`);
console.log(`server memory (rss / heap): before ${mb(before.rss)} / ${mb(before.heapUsed)}, peak ${mb(peak.rss)} / ${mb(peak.heapUsed)}, after ${mb(after.rss)} / ${mb(after.heapUsed)}; peers left ${after.peers}`);
const leaked = after.heapUsed + after.external - (before.heapUsed + before.external);
const problems = [
  totals.lost > 0 && 'messages lost',
  totals.duplicated > 0 && 'messages duplicated',
  totals.reordered > 0 && 'messages reordered',
  failedClients > 0 && 'clients failed',
  after.peers > 0 && 'peers still open on the server',
  leaked > allowedGrowth && `server heap grew by ${mb(leaked)} after everyone left`,
].filter(Boolean);
console.log(problems.length === 0 ? 'soak: ok' : `soak: FAILED — ${problems.join(', ')}`);
process.exitCode = problems.length === 0 ? 0 : 1;
