/**
 * The repository's root, found from this file's place by walking up to wspeer's own
 * `package.json`: the same from `bench/lib/` (run through tsx) and from its compiled copy
 * in `.bench-build/bench/lib/` (see `processes.ts`).
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === 'wspeer') return dir;
    if (dirname(dir) === dir) throw new Error(`no wspeer package.json above ${from}`);
  }
}

/** Absolute path of the repository root, without a trailing separator. */
export const repoRoot = findRoot(dirname(fileURLToPath(import.meta.url)));
