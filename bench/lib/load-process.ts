/**
 * The load-process side of the runner protocol (see `protocol.ts`): marks, acknowledgements,
 * the final result, and the guarantees that the process never outlives its runner.
 * @module
 */
import { Line, type LoadResult } from './protocol.ts';

const acknowledgements: Array<() => void> = [];
let stdinBuffer = '';

process.stdin.setEncoding('utf8');
process.stdin.on('data', (text: string) => {
  stdinBuffer += text;
  let newline: number;
  while ((newline = stdinBuffer.indexOf('\n')) >= 0) {
    const line = stdinBuffer.slice(0, newline).trim();
    stdinBuffer = stdinBuffer.slice(newline + 1);
    if (line === Line.go) acknowledgements.shift()?.();
  }
});
// The runner holds the other end of stdin: when it goes away, so do we.
process.stdin.on('end', () => process.exit(3));

/**
 * Prints `MARK <name>` and resolves when the runner answered `GO` (after it sampled the server).
 * Without a runner attached (stdin is a terminal), resolves at once so the tool can run by hand.
 */
export function mark(name: 'start' | 'end'): Promise<void> {
  process.stdout.write(`${Line.mark} ${name}\n`);
  if (process.stdin.isTTY) return Promise.resolve();
  return new Promise((resolve) => acknowledgements.push(resolve));
}

/** Prints the result line and exits once stdout is flushed. */
export function finish(result: LoadResult): void {
  process.stdout.write(`${Line.result} ${JSON.stringify(result)}\n`, () => process.exit(0));
}

/** Exits with an error if the process is still alive after `ms` — a stuck server must not stall a run. */
export function exitAfter(ms: number): void {
  setTimeout(() => {
    process.stderr.write(`load process: deadline of ${ms} ms passed, exiting\n`);
    process.exit(4);
  }, ms).unref();
}

/** CPU microseconds (user + system) used by this process since `since`. */
export function cpuSince(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return used.user + used.system;
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
