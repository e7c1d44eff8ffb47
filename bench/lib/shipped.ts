/**
 * wspeer as it ships: the JavaScript `npm run build` makes in `dist/` (compiled by `tsc`,
 * then bundled per entry point; the runner builds it before the first round), not the
 * TypeScript sources through tsx, whose transform wraps each named closure in a `__name`
 * call at run time and would charge wspeer for work its users never run. ws and
 * uWebSockets are measured as shipped too.
 * @module
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as Wspeer from '../../src/index.ts';
import { repoRoot } from './root.ts';

const ENTRY = pathToFileURL(join(repoRoot, 'dist', 'index.js'));

/** The built library's public API. */
export async function loadWspeer(): Promise<typeof Wspeer> {
  return (await import(ENTRY.href)) as typeof Wspeer;
}

/** Build `src/` into `dist/` (`npm run build`); throws with the build's output if it fails. */
export function buildShipped(): void {
  const result = spawnSync('npm', ['run', '--silent', 'build'], { cwd: repoRoot, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`npm run build failed:\n${result.stdout}${result.stderr}`);
}
