/**
 * The last step of `npm run build`: the JavaScript `tsc` emitted into `dist/`, one module per
 * source file, is bundled into one module per entry point (`index.js`, `core.js`,
 * `cli/main.js`, sharing their common code in chunks), and the per-file modules are removed.
 * Node loads an ES module graph file by file: resolving, reading and compiling the 73
 * modules behind `index.js` took longer than all the library's own top-level work (import
 * 143–169 ms against 66–73 ms bundled, and 0.6 MB less heap after it). Source maps are
 * chained, so stack traces still map to `src/`. The declarations stay as `tsc` wrote them,
 * less those that no entry point's declarations lead to: a module's internals, which a user
 * can neither import nor see.
 *
 * Usage: `tsx scripts/bundle.ts [dir]` (default `dist`).
 * @module
 */
import { build } from 'esbuild';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/** Entry points, as the package's `exports` and `bin` reach them. */
const ENTRIES = ['index', 'core', 'cli/main'];

/** Every file under `dir`, as paths relative to it. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((file) => statSync(join(dir, file)).isFile());
}

/** Relative module specifiers in a declaration file: `import`/`export … from`, `import '…'` and `import('…')` types. */
const SPECIFIER = /(?:\bfrom|\bimport)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g;

/** The declaration files under `dir` that the entry points' declarations lead to, relative to it. */
function reachableDeclarations(dir: string): Set<string> {
  const reached = new Set<string>();
  const pending = ENTRIES.map((entry) => relative(dir, join(dir, `${entry}.d.ts`)));
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (reached.has(file)) continue;
    const path = join(dir, file);
    if (!existsSync(path)) throw new Error(`${file}: a declaration file that a module imports is missing`);
    reached.add(file);
    for (const [, specifier] of readFileSync(path, 'utf8').matchAll(SPECIFIER)) {
      pending.push(relative(dir, join(dirname(path), specifier!.replace(/\.[jt]s$/, '.d.ts'))));
    }
  }
  return reached;
}

// Absolute, with no trailing separator: `${dist}-bundle-` must name a sibling, not a child.
const dist = resolve(process.argv[2] ?? 'dist');
// Beside `dist`, at its depth: the source maps' paths to `src/` stay right when moved in.
const staging = mkdtempSync(`${dist}-bundle-`);
try {
  await build({
    entryPoints: Object.fromEntries(ENTRIES.map((entry) => [entry, join(dist, `${entry}.js`)])),
    outdir: staging,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: 'linked',
    // The tarball ships no src/: the maps carry the TypeScript they lead to (esbuild's default, kept on purpose).
    sourcesContent: true,
    chunkNames: 'chunks/[name]-[hash]',
    legalComments: 'none',
    logLevel: 'warning',
  });
  const declarations = reachableDeclarations(dist);
  for (const file of filesUnder(dist)) {
    const unreachable = file.endsWith('.d.ts') && !declarations.has(file);
    if (unreachable || file.endsWith('.js') || file.endsWith('.js.map')) rmSync(join(dist, file));
  }
  cpSync(staging, dist, { recursive: true });
} finally {
  rmSync(staging, { recursive: true, force: true });
}
