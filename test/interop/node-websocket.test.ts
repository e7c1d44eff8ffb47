/**
 * Node's own WebSocket client (undici's, global from Node 22, behind
 * `--experimental-websocket` in Node 20) as the peer: a client written independently of
 * this project and of ws, run in a child process against our server.
 */
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { within } from '../peer/helpers.ts';
import { EXERCISE, exerciseServer, type WhatwgReport } from './whatwg.ts';

/** Node 20 needs the flag; a Node that has the global refuses nothing by it. */
const FLAGS = typeof globalThis.WebSocket === 'function' ? [] : ['--experimental-websocket'];

/** Run the exercise in a fresh Node process and return its report. */
async function runInNode(url: string): Promise<WhatwgReport> {
  const script = `${EXERCISE}\nexercise(${JSON.stringify(url)}).then((report) => console.log(JSON.stringify(report)), (error) => { console.error(error); process.exitCode = 1; });`;
  const child = spawn(process.execPath, [...FLAGS, '--no-warnings', '--input-type=commonjs', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let errors = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => (output += text));
  child.stderr.setEncoding('utf8').on('data', (text: string) => (errors += text));
  const code = await within(new Promise<number | null>((resolve) => child.on('close', resolve)), 30_000, "Node's WebSocket client to finish").finally(() => child.kill());
  if (code !== 0) throw new Error(`the client exited with ${code}: ${errors.trim()}`);
  return JSON.parse(output) as WhatwgReport;
}

for (const deflate of [false, true]) {
  test(`Node's own WebSocket client echoes text and binary of every length class and closes with 4001${deflate ? ', compressed' : ''}`, async (t) => {
    const { url, check } = await exerciseServer(t, { deflate, client: "Node's WebSocket client" });
    await check(await runInNode(url));
  });
}
