/**
 * The published declarations (`npm run build`'s `.d.ts`): what a TypeScript user sees. They
 * must compile for a project that checks library types (`skipLibCheck: false`), and leave
 * out what is marked `@internal`: the members by which the peer's parts call each other
 * are no API, and an application that could see them could call them.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSC = join(ROOT, 'node_modules', '.bin', 'tsc');

function tsc(args: readonly string[], cwd: string): string {
  const result = spawnSync(TSC, args, { cwd, encoding: 'utf8' });
  assert.equal(result.status, 0, `tsc ${args.join(' ')}:\n${result.stdout}${result.stderr}`);
  return result.stdout;
}

test('the declarations compile for a strict consumer that checks library types, and name no internal member', { timeout: 120_000 }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wspeer-dts-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  tsc(['-p', 'tsconfig.build.json', '--outDir', join(dir, 'dist'), '--sourceMap', 'false'], ROOT);

  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  writeFileSync(
    join(dir, 'use.ts'),
    [
      "import { bind, type Message, type Peer } from './dist/index.js';",
      "import { Connection, EventCollector } from './dist/core.js';",
      'export async function echo(): Promise<void> {',
      "  const bound = await bind('ws://127.0.0.1:0/');",
      '  const peer: Peer = await bound.accept();',
      '  peer.onMessage((message: Message) => void peer.send(message));',
      "  peer.onPong((data) => void data.readUInt8(0));",
      '}',
      "export const core = new Connection('server', new EventCollector());",
      'core.receive(new Uint8Array(0));',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        target: 'ES2022',
        lib: ['ES2022'],
        types: ['node'],
        typeRoots: [join(ROOT, 'node_modules', '@types')],
        skipLibCheck: false,
        noEmit: true,
      },
      files: ['use.ts'],
    }),
  );
  tsc(['-p', '.'], dir);

  const peer = readFileSync(join(dir, 'dist', 'peer', 'peer.d.ts'), 'utf8');
  for (const internal of ['receiveRead', 'pongReceived', 'pingReceived', 'messageQueued', 'flushQueued', 'onDrain', 'beat()']) {
    assert.ok(!peer.includes(internal), `peer.d.ts names the internal ${internal}`);
  }
  for (const api of ['onMessage(', 'onPing(', 'ping(', 'shutdown(', 'constructor(']) assert.ok(peer.includes(api), `peer.d.ts lacks ${api}`);
});
