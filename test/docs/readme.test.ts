/**
 * The README's TypeScript examples, as a reader would paste them: each must compile against
 * the library's sources under strict settings, so that an API change cannot leave the README
 * behind. The first example (an echo server and a client) also runs, over loopback.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { closedPort } from '../peer/helpers.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSC = join(ROOT, 'node_modules', '.bin', 'tsc');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');

/** Every ```ts block of the README, without the indentation of the list item it sits in. */
function examples(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  return [...readme.matchAll(/^( *)```ts\n([\s\S]*?)^ *```$/gm)].map(([, indent = '', body = '']) =>
    body
      .split('\n')
      .map((line) => (line.startsWith(indent) ? line.slice(indent.length) : line))
      .join('\n'),
  );
}

/**
 * What the examples leave to the reader's application: the bytes it read, how it writes and
 * closes its transport, its handler of connection events, its way to get a token.
 */
const APPLICATION = `declare const bytesFromTheNetwork: Uint8Array;
declare function send(chunks: Uint8Array[]): void;
declare function closeTheTransport(): void;
declare const handler: import('wspeer/core').ConnectionHandler;
declare function fetchToken(): Promise<string>;
`;

/** An example that imports nothing uses the Node API's names: it gets the import a reader would add. */
function asModule(example: string): string {
  return /^import /m.test(example) ? example : `import { server, startClientEngine } from 'wspeer';\n${example}`;
}

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'wspeer-readme-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function run(command: string, args: readonly string[], cwd: string): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: 60_000 });
  assert.equal(result.status, 0, `${command} ${args.join(' ')}:\n${result.stdout}${result.stderr}`);
  return result.stdout;
}

test('the README has its examples: the echo, the routes, the engine, diagnostics, and the sans-I/O core', () => {
  const all = examples().join('\n');
  for (const name of ["from 'wspeer'", "from 'wspeer/core'", 'startClientEngine(', 'onRequest:', 'DiagnosticsChannel', 'validateUpgradeRequest(']) {
    assert.ok(all.includes(name), `no README example uses ${name}`);
  }
});

test('every README example compiles against the sources, strictly', { timeout: 120_000 }, () => {
  const files = examples().map((example, index) => {
    const file = `example-${index + 1}.ts`;
    writeFileSync(join(dir, file), `${asModule(example)}\nexport {};\n`);
    return file;
  });
  writeFileSync(join(dir, 'application.d.ts'), APPLICATION);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        lib: ['ES2022'],
        types: ['node'],
        typeRoots: [join(ROOT, 'node_modules', '@types')],
        allowImportingTsExtensions: true,
        skipLibCheck: true,
        noEmit: true,
        paths: { wspeer: [join(ROOT, 'src', 'index.ts')], 'wspeer/core': [join(ROOT, 'src', 'core.ts')] },
      },
      files: ['application.d.ts', ...files],
    }),
  );
  run(TSC, ['-p', '.'], dir);
});

test('the first README example runs: its client gets its echo and completes the closing handshake', { timeout: 60_000 }, async () => {
  const [first = ''] = examples();
  assert.match(first, /127\.0\.0\.1:9001/);
  // Another port than the README's, which `npm start` may hold; and what it computes, printed.
  const port = await closedPort();
  const script = first.replaceAll('127.0.0.1:9001', `127.0.0.1:${port}`).replace("from 'wspeer'", `from ${JSON.stringify(join(ROOT, 'src', 'index.ts'))}`);
  const file = join(dir, 'first.ts');
  writeFileSync(file, `${script}\nconsole.log(JSON.stringify({ reply, closed: peer.closeCode }));\n`);
  const output = run(TSX, [file], dir);
  assert.deepEqual(JSON.parse(output), { reply: { opcode: 1, fin: true, data: 'hello' }, closed: 1000 });
});
