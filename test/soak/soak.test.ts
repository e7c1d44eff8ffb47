/**
 * A short soak on every test run: `npm run soak` with a few hundred connections for a few
 * seconds, in its own processes. It must finish with nothing lost, duplicated or reordered
 * and the server's heap back near its start.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';

test('soak: 200 connections echo for 3 s with nothing lost, duplicated or reordered, and no leak', { timeout: 120_000 }, async () => {
  const run = spawn(process.execPath, ['--import', 'tsx', 'soak/run.ts', '--connections', '200', '--seconds', '3'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  run.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  run.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => run.on('close', resolve));
  assert.equal(code, 0, output);
  const counts = /messages: (\d+) sent, (\d+) received, (\d+) lost, (\d+) duplicated, (\d+) reordered/.exec(output);
  assert.ok(counts !== null, output);
  const [sent, received, lost, duplicated, reordered] = counts.slice(1).map(Number);
  assert.ok(sent! > 1000, `only ${sent} messages were sent`);
  assert.deepEqual([received, lost, duplicated, reordered], [sent, 0, 0, 0]);
  assert.match(output, /peers left 0/);
});
