/**
 * The package as `npm run build` makes it, built into a temporary directory the same way.
 * Its declarations (`.d.ts`, what a TypeScript user sees) must compile for a project that
 * checks library types (`skipLibCheck: false`), and leave out what is marked `@internal`:
 * the members by which the peer's parts call each other are no API, and an application
 * that could see them could call them. Its JavaScript is one bundled module per entry point
 * (the tests elsewhere run the sources): those must work, over a real socket for the Node
 * API and byte by byte for the sans-I/O core, CommonJS code must be able to `require()` them
 * where Node loads ES modules so, and their source maps must lead to `src/`. The core's
 * declarations must compile with no Node or DOM types, and the tarball must hold the LICENSE.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, sep } from 'node:path';
import { before, after, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

import type * as Wspeer from '../../src/index.ts';
import type * as Core from '../../src/core.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSC = join(ROOT, 'node_modules', '.bin', 'tsc');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');

function run(command: string, args: readonly string[], cwd: string): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8' });
  assert.equal(result.status, 0, `${command} ${args.join(' ')}:\n${result.stdout}${result.stderr}`);
  return result.stdout;
}

// Built once for every test here, as `npm run build` builds (its two steps, into `dir`).
let dir = '';
let dist = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'wspeer-package-'));
  dist = join(dir, 'dist');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  run(TSC, ['-p', 'tsconfig.build.json', '--outDir', dist], ROOT);
  run(TSX, ['scripts/bundle.ts', dist], ROOT);
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Every file under `dist`, relative to it. */
function distFiles(): string[] {
  return readdirSync(dist, { recursive: true, encoding: 'utf8' }).filter((file) => statSync(join(dist, file)).isFile());
}

test('the declarations compile for a strict consumer that checks library types, name no internal member, and are all reachable', { timeout: 120_000 }, () => {
  writeFileSync(
    join(dir, 'use.ts'),
    [
      "import { bind, type Message, type Peer } from './dist/index.js';",
      "import { Connection, EventCollector, parseUrl } from './dist/core.js';",
      "import './dist/cli/main.js';",
      'export async function echo(): Promise<void> {',
      "  const bound = await bind('ws://127.0.0.1:0/');",
      '  const peer: Peer = await bound.accept();',
      '  peer.onMessage((message: Message) => void peer.send(message));',
      "  peer.onPong((data) => void data.readUInt8(0));",
      '}',
      "export const core = new Connection('server', new EventCollector());",
      'core.receive(new Uint8Array(0));',
      // Where the types declare a global URL (here Node's), the core's URL parser takes one.
      "export const port: number = parseUrl(new URL('ws://127.0.0.1:9001/')).port;",
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
  const program = run(TSC, ['-p', '.', '--listFiles'], dir).split(/\r?\n/).map((file) => resolve(dir, file));
  // A declaration no entry point leads to is a module's internals, which a user can neither import nor see.
  const unreachable = distFiles().filter((file) => file.endsWith('.d.ts') && !program.includes(join(dist, file)));
  assert.deepEqual(unreachable, [], 'declarations shipped that no entry point leads to');
  assert.ok(program.includes(join(dist, 'peer', 'peer.d.ts')), 'the compiler lists the declarations it read');

  const peer = readFileSync(join(dir, 'dist', 'peer', 'peer.d.ts'), 'utf8');
  for (const internal of ['receiveRead', 'pongReceived', 'pingReceived', 'messageQueued', 'flushQueued', 'onDrain', 'beat()']) {
    assert.ok(!peer.includes(internal), `peer.d.ts names the internal ${internal}`);
  }
  for (const api of ['onMessage(', 'onPing(', 'ping(', 'shutdown(', 'constructor(']) assert.ok(peer.includes(api), `peer.d.ts lacks ${api}`);
});

test('the sans-I/O core\'s declarations compile with the ES2022 library alone, no Node or DOM types', { timeout: 120_000 }, () => {
  // wspeer/core runs in any runtime: its types may name only what every runtime's types have.
  writeFileSync(
    join(dir, 'use-core.ts'),
    [
      "import { Connection, EventCollector, parseUrl, type WebSocketTarget } from './dist/core.js';",
      "export const target: WebSocketTarget = parseUrl('ws://127.0.0.1:9001/');",
      "export const core = new Connection('client', new EventCollector());",
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'tsconfig.core.json'),
    JSON.stringify({
      compilerOptions: { strict: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', lib: ['ES2022'], types: [], skipLibCheck: false, noEmit: true },
      files: ['use-core.ts'],
    }),
  );
  run(TSC, ['-p', 'tsconfig.core.json'], dir);
});

test('the JavaScript is one module per entry point, with shared chunks, and its source maps lead to src/', { timeout: 120_000 }, () => {
  const modules = distFiles().filter((file) => file.endsWith('.js'));
  const entries = modules.filter((file) => !file.startsWith('chunks/')).sort();
  assert.deepEqual(entries, ['cli/main.js', 'core.js', 'index.js']);
  assert.ok(modules.length > entries.length, 'the entries share chunks');
  for (const file of modules) {
    const map = JSON.parse(readFileSync(join(dist, `${file}.map`), 'utf8')) as { sources: string[]; sourcesContent?: (string | null)[] };
    // Resolved from the map's place, each source is a TypeScript file of this checkout's src/.
    const sources = map.sources.map((source) => resolve(dist, file, '..', source));
    const misplaced = sources.filter((source) => !source.startsWith(join(ROOT, 'src') + sep) || !source.endsWith('.ts') || !existsSync(source));
    assert.ok(sources.length > 0 && misplaced.length === 0, `${file}: ${misplaced.slice(0, 3).join(', ')}`);
    // The tarball ships no src/: an installed package's maps must carry the sources themselves.
    const missing = sources.filter((source, index) => map.sourcesContent?.[index] !== readFileSync(source, 'utf8'));
    assert.deepEqual(missing, [], `${file} does not embed these sources`);
  }
});

test('the bundled index.js echoes over a loopback socket, and the bundled core.js parses a frame byte by byte', { timeout: 60_000 }, async () => {
  const api = (await import(pathToFileURL(join(dist, 'index.js')).href)) as typeof Wspeer;
  const server = await api.server('ws://127.0.0.1:0/', (peer) => peer.onMessage((message) => void peer.send(message)));
  try {
    const client = await api.connect(server.url);
    await client.write('through the bundle');
    const echo = await client.read(2000);
    assert.equal(echo?.data, 'through the bundle');
    assert.ok(client instanceof api.Peer);
    await client.shutdown();
  } finally {
    await server.close(500);
  }

  const core = (await import(pathToFileURL(join(dist, 'core.js')).href)) as typeof Core;
  const events = new core.EventCollector();
  const connection = new core.Connection('client', events);
  // A server's text frame "hi" (unmasked, §5.1), one byte at a time.
  for (const byte of [0x81, 0x02, 0x68, 0x69]) connection.receive(Uint8Array.of(byte));
  assert.deepEqual(events.events, [{ type: 'text', data: 'hi', fin: true }]);
});

test('the tarball holds what users need: the entry points, the bin, the README and the LICENSE package.json names; no sources or tests', { timeout: 60_000 }, () => {
  // The file list npm would pack, without building (the checkout's dist/ may be missing or stale).
  const [packed] = JSON.parse(run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], ROOT)) as [{ files: { path: string }[] }];
  const paths = packed.files.map((file) => file.path);
  for (const needed of ['package.json', 'README.md', 'LICENSE', 'bin/wspeer.js']) assert.ok(paths.includes(needed), `the tarball lacks ${needed}`);
  const stray = paths.filter((path) => !['package.json', 'README.md', 'LICENSE'].includes(path) && !path.startsWith('dist/') && !path.startsWith('bin/'));
  assert.deepEqual(stray, []);
  const license = readFileSync(join(ROOT, 'LICENSE'), 'utf8');
  const { license: declared } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { license: string };
  assert.ok(license.startsWith(`${declared} License`), `LICENSE is not the ${declared} license package.json declares`);
});

// Node 20.19 and 22.12 onwards load an ES module through require(): CommonJS code can use the package.
const requiresModules = (process.features as { require_module?: boolean }).require_module === true;

test('CommonJS code can require() both entry points', { skip: requiresModules ? false : 'this Node cannot require() an ES module' }, () => {
  const script = join(dir, 'consumer.cjs');
  writeFileSync(
    script,
    `const api = require(${JSON.stringify(join(dist, 'index.js'))});
const core = require(${JSON.stringify(join(dist, 'core.js'))});
process.stdout.write(JSON.stringify([typeof api.server, typeof api.connect, typeof core.Connection]));`,
  );
  const output = run(process.execPath, ['--no-warnings', script], dir);
  assert.deepEqual(JSON.parse(output), ['function', 'function', 'function']);
});
