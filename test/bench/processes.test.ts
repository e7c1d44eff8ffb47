/**
 * The bench's processes run as users' code runs: compiled to JavaScript, with no tsx in the
 * process (its loader and heap moved results; see `compileBench`). A server started the
 * bench's way must come up from its compiled copy, find the repository from there, and
 * answer the runner's protocol.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { ChildLines, freePort, startNode, stopChild } from '../../bench/lib/processes.ts';
import { parseServerStats } from '../../bench/lib/protocol.ts';

test('a bench server runs compiled, without tsx, and answers stats', { timeout: 60_000 }, async () => {
  const port = await freePort();
  const child = startNode({ script: 'bench/servers/raw.ts', env: { PORT: String(port) } });
  try {
    const lines = new ChildLines(child);
    const ready = await lines.next(['READY'], 30_000);
    assert.match(ready, /^READY raw /);
    // `bash -c … exec`: the pid is the Node process itself.
    const commandLine = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0');
    assert.ok(commandLine.some((part) => part.endsWith('.bench-build/bench/servers/raw.js')), commandLine.join(' '));
    assert.ok(!commandLine.some((part) => part.includes('tsx')), commandLine.join(' '));
    child.stdin.write('stats\n');
    const stats = parseServerStats((await lines.next(['STATS'], 10_000)).slice('STATS '.length));
    assert.ok(stats.cpuUs > 0 && stats.rss > 0);
  } finally {
    await stopChild(child);
  }
});
