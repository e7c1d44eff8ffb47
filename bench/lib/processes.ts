/**
 * Spawning benchmark processes: pinned to a core, with a raised descriptor limit, tracked so
 * that every child is killed when the runner exits for any reason.
 * @module
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createServer } from 'node:net';
import { join, sep } from 'node:path';
import { repoRoot } from './root.ts';

/** Where `tsconfig.bench.json` puts the compiled bench (gitignored). */
const BENCH_BUILD = '.bench-build';

const live = new Set<ChildProcessWithoutNullStreams>();
let cleanupInstalled = false;

function killAll(): void {
  for (const child of live) child.kill('SIGKILL');
  live.clear();
}

function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      killAll();
      process.exit(130);
    });
  }
}

let tasksetWorks: boolean | undefined;

/** Whether `taskset` exists and may pin processes here. */
export function canPin(): boolean {
  tasksetWorks ??= spawnSync('taskset', ['-c', '0', 'true']).status === 0;
  return tasksetWorks;
}

let benchCompiled = false;

/**
 * Compiles `bench/` into plain JavaScript, once per run. The processes measured run that, as
 * users run their code: no tsx loader thread, no source maps, none of its heap. Its heap
 * alone moved results: the old generation past V8's 8 MB threshold for incremental marking
 * is marked again and again while 64 KiB messages churn external memory (a server with tsx
 * made some 70 full collections in 4 s; without, none). `BENCH_TSX=1` runs the sources
 * through tsx as before, to see that again.
 */
export function compileBench(): void {
  if (benchCompiled) return;
  const tsc = join(repoRoot, 'node_modules', '.bin', 'tsc');
  const result = spawnSync(tsc, ['-p', 'tsconfig.bench.json'], { cwd: repoRoot, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`compiling the bench failed:\n${result.stdout}${result.stderr}`);
  benchCompiled = true;
}

/** Whether the processes run their TypeScript through tsx (`BENCH_TSX=1`) rather than compiled. */
export const THROUGH_TSX = process.env['BENCH_TSX'] === '1';

/** How to run a bench script: its compiled counterpart (`bench/x.ts` → `.bench-build/bench/x.js`), or through tsx. */
function scriptArgs(script: string): string[] {
  return THROUGH_TSX ? ['--import', 'tsx', script] : [join(BENCH_BUILD, script.replace(/\.ts$/, '.js'))];
}

/** How to start one Node process running one of the bench's TypeScript files. */
export interface NodeProcessOptions {
  readonly script: string;
  readonly args?: readonly string[];
  readonly core?: number;
  readonly env?: Readonly<Record<string, string>>;
  readonly nodeFlags?: readonly string[];
}

/**
 * Starts `node <script>`, compiled (see {@link compileBench}), through `bash -c 'ulimit -n
 * <hard limit>; exec …'`, so the child may hold tens of thousands of sockets, and through
 * `taskset` when pinning works. Every step `exec`s, so the returned pid is the Node process
 * itself.
 */
export function startNode(options: NodeProcessOptions): ChildProcessWithoutNullStreams {
  installCleanup();
  if (!THROUGH_TSX) compileBench();
  const pin = options.core !== undefined && canPin() ? ['taskset', '-c', String(options.core)] : [];
  const command = [...pin, process.execPath, ...(options.nodeFlags ?? []), ...scriptArgs(options.script), ...(options.args ?? [])];
  const child = spawn('bash', ['-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"', 'bench', ...command], {
    cwd: repoRoot,
    env: { ...process.env, ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** Kills a child and waits until it is gone (SIGKILL after `graceMs`). */
export async function stopChild(child: ChildProcessWithoutNullStreams, graceMs = 2000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.stdin.end();
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** A free loopback TCP port (asked from the kernel, then released for the server to take). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/**
 * Line-oriented reader over a child's stdout (and a tail of its stderr for error messages).
 * `next` waits for the next line matching a prefix, with a timeout.
 */
export class ChildLines {
  private readonly lines: string[] = [];
  private waiter: (() => void) | undefined;
  private buffered = '';
  private exited = false;
  /** The last lines the child wrote to stderr. */
  stderrTail: string[] = [];

  constructor(private readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (text: string) => {
      this.buffered += text;
      const parts = this.buffered.split('\n');
      this.buffered = parts.pop() ?? '';
      this.lines.push(...parts);
      this.wake();
    });
    child.stderr.on('data', (text: string) => {
      this.stderrTail = [...this.stderrTail, ...text.split('\n').filter((line) => line.trim() !== '')].slice(-20);
    });
    child.once('exit', () => {
      this.exited = true;
      this.wake();
    });
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }

  /** Resolves with the next stdout line starting with one of `prefixes`; other lines are dropped. */
  async next(prefixes: readonly string[], timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.lines.length > 0) {
        const line = this.lines.shift()!;
        if (prefixes.some((prefix) => line.startsWith(prefix))) return line;
      }
      if (this.exited) throw new Error(`process exited (code ${this.child.exitCode}) ${this.explain()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${prefixes.join('/')} line within ${timeoutMs} ms ${this.explain()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** The most telling stderr line, for error reports. */
  explain(): string {
    const reason =
      this.stderrTail.find((line) => line.startsWith('UNAVAILABLE')) ??
      this.stderrTail.find((line) => /error/i.test(line)) ??
      this.stderrTail.at(-1) ??
      '';
    return reason.replace('UNAVAILABLE ', '').replaceAll(repoRoot + sep, './');
  }
}
