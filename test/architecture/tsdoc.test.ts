/**
 * Every declaration src/ exports carries a TSDoc comment (`/** … *\/`) right above it, which
 * the published declarations keep: an export without one reaches users undocumented.
 * Re-exports are documented where they are declared; overloads share the first one's comment.
 * And a TSDoc comment stands right above what it documents: one followed by another was left
 * behind when something was put between it and its declaration.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';

const SRC = new URL('../../src/', import.meta.url).pathname;

const DECLARATION = /^export (?:declare )?(?:async )?(?:abstract )?(function\*?|class|const|let|interface|type|enum) (\w+)/;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

/** Whether the lines above `index`, past any `//` lines, end a TSDoc comment. */
function documented(lines: readonly string[], index: number): boolean {
  let above = index - 1;
  while (above >= 0 && lines[above]!.trimStart().startsWith('//')) above -= 1;
  if (above < 0 || !lines[above]!.trimEnd().endsWith('*/')) return false;
  while (above >= 0 && !lines[above]!.includes('/*')) above -= 1;
  return above >= 0 && lines[above]!.includes('/**');
}

/** The exported declarations of `text` that have no TSDoc, as `line: text`. */
function undocumentedExports(text: string): string[] {
  const lines = text.split('\n');
  const seen = new Set<string>();
  const missing: string[] = [];
  lines.forEach((line, index) => {
    const match = DECLARATION.exec(line);
    if (match === null) return;
    const name = match[2]!;
    if (seen.has(name)) return; // a later overload or the implementation
    seen.add(name);
    if (!documented(lines, index)) missing.push(`${index + 1}: ${line.trim()}`);
  });
  return missing;
}

/** TSDoc comments directly followed by another (blank lines aside), as `line: text`; a file's opening comment may be. */
function strandedComments(text: string): string[] {
  const lines = text.split('\n');
  const stranded: string[] = [];
  let start = -1;
  lines.forEach((line, index) => {
    const trimmed = line.trim();
    if (trimmed.startsWith('/**')) start = index;
    if (start < 0 || !trimmed.endsWith('*/')) return;
    let next = index + 1;
    while (next < lines.length && lines[next]!.trim() === '') next += 1;
    if (start > 0 && next < lines.length && lines[next]!.trim().startsWith('/**')) stranded.push(`${start + 1}: ${lines[start]!.trim()}`);
    start = -1;
  });
  return stranded;
}

test('the checker tells a documented export from one whose comment belongs to another', () => {
  const text = [
    '/** Documented. */',
    'export function a(): void {}',
    '/** Overloaded. */',
    'export function b(x: string): void;',
    'export function b(x: number): void;',
    'export function b(x: unknown): void {}',
    '/** Kept over a line comment. */',
    '// why it is shaped so',
    'export class C {}',
    '/** A comment left behind. */',
    'export const d = 1;',
    'export class E {}',
    '/* not TSDoc */',
    'export type F = 1;',
  ].join('\n');
  assert.deepEqual(undocumentedExports(text), ['12: export class E {}', '14: export type F = 1;']);
});

test('every declaration exported from src/ has a TSDoc comment', () => {
  const missing = sourceFiles(SRC).flatMap((file) =>
    undocumentedExports(readFileSync(file, 'utf8')).map((entry) => `${relative(SRC, file)}:${entry}`),
  );
  assert.deepEqual(missing, []);
});

test('a TSDoc comment followed by another TSDoc comment is found; a file\'s opening one is not', () => {
  const text = ['/** The module. */', '', '/** A. */', 'const a = 1;', '/** Left behind. */', '/** B. */', 'function b(): void {}'].join('\n');
  assert.deepEqual(strandedComments(text), ['5: /** Left behind. */']);
});

test('every TSDoc comment in src/ stands right above what it documents', () => {
  const stranded = sourceFiles(SRC).flatMap((file) => strandedComments(readFileSync(file, 'utf8')).map((entry) => `${relative(SRC, file)}:${entry}`));
  assert.deepEqual(stranded, []);
});
