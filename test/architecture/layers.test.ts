/**
 * The layers of src/ and the one direction their imports may point: frame → connection →
 * extensions → peer → server / client → engines → cli (handshake and tls beside them). The protocol
 * core imports nothing from Node.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';

const SRC = new URL('../../src/', import.meta.url).pathname;

/** What each folder may import from (besides itself). */
const ALLOWED: Record<string, readonly string[]> = {
  frame: [],
  connection: ['frame'],
  handshake: [],
  extensions: ['frame', 'connection', 'handshake'],
  tls: [],
  peer: ['frame', 'connection', 'extensions', 'handshake', 'tls'],
  server: ['frame', 'connection', 'extensions', 'handshake', 'tls', 'peer'],
  client: ['frame', 'connection', 'extensions', 'handshake', 'tls', 'peer'],
  engines: ['frame', 'connection', 'extensions', 'handshake', 'tls', 'peer', 'server', 'client'],
  cli: ['frame', 'connection', 'extensions', 'handshake', 'tls', 'peer', 'server', 'client', 'engines'],
};

/** Files allowed `node:` imports inside otherwise pure layers. */
const NODE_ALLOWED_IN_PURE = new Set(['handshake/node-accept.ts']);
const PURE = new Set(['frame', 'connection', 'handshake']);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^(?:import|export)(?:[^'"]*from)?\s*'([^']+)';/gm)].map((match) => match[1]!);
}

test('imports point one way between the layers of src/, and the protocol core imports nothing from Node', () => {
  const problems: string[] = [];
  for (const file of sourceFiles(SRC)) {
    const path = relative(SRC, file);
    const layer = path.includes('/') ? path.split('/')[0]! : null;
    for (const specifier of importsOf(file)) {
      if (specifier.startsWith('node:')) {
        if (layer !== null && PURE.has(layer) && !NODE_ALLOWED_IN_PURE.has(path)) problems.push(`${path} imports ${specifier}`);
        continue;
      }
      if (!specifier.startsWith('.')) {
        problems.push(`${path} imports the package ${specifier} (no runtime dependencies)`);
        continue;
      }
      if (layer === null) continue; // the entry points (index, core, wrap) sit on top
      const target = relative(SRC, join(file, '..', specifier)).split('/')[0]!;
      if (target !== layer && !(ALLOWED[layer] ?? []).includes(target)) problems.push(`${path} imports ${specifier} (${layer} → ${target})`);
    }
  }
  assert.deepEqual(problems, []);
});
