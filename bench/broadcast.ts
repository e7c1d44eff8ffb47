/**
 * Broadcast fan-out: the server's CPU per delivered message when one string goes to every
 * open connection — ws (`clients.forEach(send)`), uWebSockets.js (`publish`) and wspeer
 * (`Server.broadcast`). The servers run in this process, taking turns round by round; the
 * receiving connections run in a child process on the other core, which reads and counts the
 * bytes. A batch of broadcasts counts only once every byte has arrived, so the figure holds
 * the whole cost: encoding, framing and the socket writes. Medians of interleaved rounds,
 * ratios against ws. `npm run bench:broadcast [-- --quick] [-- --compare DIR]` (DIR: another
 * build of wspeer, run as one more subject).
 * @module
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Socket } from 'node:net';
import { WebSocketServer } from 'ws';
import type * as Wspeer from '../src/index.ts';
import { jsonPayload } from './lib/payloads.ts';
import { canPin, ChildLines, freePort, startNode, stopChild } from './lib/processes.ts';
import { formatNumber } from './lib/report.ts';
import { buildShipped, loadWspeer } from './lib/shipped.ts';
import { median } from './lib/stats.ts';
import { openWebSocket } from './lib/upgrade.ts';

const HOST = '127.0.0.1';
const CONNECTIONS = 256;
const SIZES = [128, 16 * 1024];
const BATCH = 20;

/** A server under test: where it listens, how it broadcasts, how many connections it holds. */
interface Subject {
  readonly name: string;
  readonly port: number;
  broadcast(text: string): void;
  connections(): number;
}

async function wsSubject(): Promise<Subject> {
  const wss = new WebSocketServer({ host: HOST, port: 0, perMessageDeflate: false });
  await new Promise((resolve) => wss.once('listening', resolve));
  const port = (wss.address() as { port: number }).port;
  return {
    name: 'ws',
    port,
    broadcast: (text) => {
      for (const client of wss.clients) client.send(text);
    },
    connections: () => wss.clients.size,
  };
}

/** The part of uWebSockets.js used here. */
interface UwsSocket {
  subscribe(topic: string): boolean;
}
interface UwsApp {
  ws(pattern: string, behavior: Record<string, unknown>): UwsApp;
  listen(host: string, port: number, callback: (token: unknown) => void): UwsApp;
  publish(topic: string, message: string, isBinary: boolean): boolean;
}

async function uwsSubject(): Promise<Subject | string> {
  const require = createRequire(import.meta.url);
  const packageDir = dirname(require.resolve('@trufflesuite/uws-js-unofficial/package.json'));
  const binary = join(packageDir, 'dist', `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`);
  let uws: { App(): UwsApp; DISABLED: number };
  try {
    uws = require(binary) as typeof uws;
  } catch (error) {
    return `native binary did not load: ${String(error)}`;
  }
  let open = 0;
  const port = await freePort();
  const app = uws.App().ws('/*', {
    compression: uws.DISABLED,
    maxBackpressure: 512 * 1024 * 1024,
    idleTimeout: 0,
    sendPingsAutomatically: false,
    open: (socket: UwsSocket) => {
      socket.subscribe('all');
      open++;
    },
    close: () => open--,
  });
  const listening = await new Promise<boolean>((resolve) => app.listen(HOST, port, (token) => resolve(Boolean(token))));
  if (!listening) return `could not listen on port ${port}`;
  return { name: 'uws', port, broadcast: (text) => app.publish('all', text, false), connections: () => open };
}

async function wspeerSubject(name: string, api: typeof Wspeer): Promise<Subject> {
  const instance = await api.server(`ws://${HOST}:0`, () => {});
  return { name, port: instance.address.port, broadcast: (text) => instance.broadcast(text), connections: () => instance.peers.size };
}

/** Bytes of one server frame carrying `payload` bytes (RFC 6455 §5.2: no mask from a server). */
function frameBytes(payload: number): number {
  return payload + (payload < 126 ? 2 : payload < 65536 ? 4 : 10);
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Server CPU (µs) per delivered message for one round of `batches` batches of BATCH broadcasts. */
async function round(subject: Subject, sink: Sink, text: string, batches: number): Promise<number> {
  await sink.command(`open ${subject.port} ${CONNECTIONS}`, 'opened');
  await until(() => subject.connections() === CONNECTIONS, `${subject.name} to hold ${CONNECTIONS} connections`);
  const perBatch = BATCH * CONNECTIONS * frameBytes(Buffer.byteLength(text));
  let expected = 0;
  const runBatches = async (count: number): Promise<void> => {
    for (let b = 0; b < count; b++) {
      for (let i = 0; i < BATCH; i++) subject.broadcast(text);
      expected += perBatch;
      await sink.command(`expect ${expected}`, 'got');
    }
  };
  await runBatches(Math.max(2, batches >> 2)); // warm-up
  const start = process.cpuUsage();
  await runBatches(batches);
  const used = process.cpuUsage(start);
  await sink.command('close', 'closed');
  await until(() => subject.connections() === 0, `${subject.name} to see its connections close`);
  return (used.user + used.system) / (batches * BATCH * CONNECTIONS);
}

/** The child process holding the receiving connections, driven by one command line at a time. */
class Sink {
  private readonly lines: ChildLines;
  constructor(private readonly child: ReturnType<typeof startNode>) {
    this.lines = new ChildLines(child);
  }
  async command(line: string, answer: string): Promise<void> {
    this.child.stdin.write(`${line}\n`);
    await this.lines.next([answer], 30_000);
  }
  stop(): Promise<void> {
    return stopChild(this.child);
  }
}

/** Child side: open, count and close connections as the parent says. */
async function runSink(): Promise<void> {
  let sockets: Socket[] = [];
  let received = 0;
  let awaited = Infinity;
  const check = (): void => {
    if (received < awaited) return;
    awaited = Infinity;
    process.stdout.write('got\n');
  };
  const commands: Record<string, (args: string[]) => Promise<void>> = {
    open: async ([port, count]) => {
      for (let i = 0; i < Number(count); i++) {
        const { socket, leftover } = await openWebSocket({ host: HOST, port: Number(port), timeoutMs: 10_000 });
        received += leftover.length;
        socket.on('data', (chunk: Buffer) => {
          received += chunk.length;
          check();
        });
        socket.on('error', () => undefined);
        sockets.push(socket);
      }
      process.stdout.write('opened\n');
    },
    expect: async ([total]) => {
      awaited = Number(total);
      check();
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      sockets = [];
      received = 0;
      process.stdout.write('closed\n');
    },
  };
  let pending = '';
  let queue = Promise.resolve();
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (text: string) => {
    const lines = (pending + text).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      const [name, ...args] = line.trim().split(' ');
      const run = commands[name ?? ''];
      if (run !== undefined) queue = queue.then(() => run(args));
    }
  });
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const rounds = quick ? 3 : 7;
  const batches = quick ? 10 : 30;
  buildShipped();
  const subjects: Subject[] = [await wsSubject()];
  const uws = await uwsSubject();
  if (typeof uws === 'string') console.log(`uws left out: ${uws}`);
  else subjects.push(uws);
  subjects.push(await wspeerSubject('wspeer', await loadWspeer()));
  const compared = process.argv.indexOf('--compare');
  if (compared > 0) {
    const dir = resolve(process.argv[compared + 1] ?? '.');
    const api = (await import(pathToFileURL(join(dir, 'index.js')).href)) as typeof Wspeer;
    subjects.push(await wspeerSubject(`wspeer-${basename(dir)}`, api));
  }
  // The servers' process on core 0 (all its threads), the receiving connections on core 1.
  if (canPin()) spawnSync('taskset', ['-a', '-p', '-c', '0', String(process.pid)]);
  const sink = new Sink(startNode({ script: 'bench/broadcast.ts', args: ['--sink'], core: 1 }));
  console.log(`# Broadcast to ${CONNECTIONS} connections: server CPU per delivered message\n`);
  console.log(`${rounds} interleaved rounds of ${batches} × ${BATCH} broadcasts; medians; the receiving connections in a child process${canPin() ? ' on the other core' : ''}.\n`);
  for (const size of SIZES) {
    const text = jsonPayload(size).toString();
    const samples = new Map<string, number[]>(subjects.map((subject) => [subject.name, []]));
    for (let r = 0; r < rounds; r++) {
      for (const subject of subjects) {
        process.stderr.write(`[${size} B] round ${r + 1}/${rounds} ${subject.name}\n`);
        samples.get(subject.name)!.push(await round(subject, sink, text, batches));
      }
    }
    const ws = median(samples.get('ws')!);
    const uwsMedian = samples.has('uws') ? median(samples.get('uws')!) : NaN;
    console.log(`## ${size} B JSON text\n\n| server | CPU µs per delivery | vs ws | vs uws |\n| --- | --- | --- | --- |`);
    for (const subject of subjects) {
      const value = median(samples.get(subject.name)!);
      const vsUws = Number.isNaN(uwsMedian) ? '–' : `${(value / uwsMedian).toFixed(2)}×`;
      console.log(`| ${subject.name} | ${formatNumber(value)} | ${(value / ws).toFixed(2)}× | ${vsUws} |`);
    }
    console.log('');
  }
  await sink.stop();
  process.exit(0);
}

if (process.argv.includes('--sink')) await runSink();
else await main();
