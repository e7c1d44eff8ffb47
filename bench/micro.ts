/**
 * Micro-benchmarks: masking, UTF-8 validation, frame decoding and the handshake's SHA-1,
 * each implementation measured in the same process on the same buffers.
 * `npm run bench:micro [-- --quick]`.
 * @module
 */
import { isUtf8 } from 'node:buffer';
import * as crypto from 'node:crypto';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { encodeClientFrame } from './lib/frames.ts';
import { binaryPayload, textPayload } from './lib/payloads.ts';
import { formatNumber } from './lib/report.ts';
import { median } from './lib/stats.ts';

const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 3 : 7;
const BATCH_MS = quick ? 40 : 100;
const require = createRequire(import.meta.url);

/** One implementation of one benchmark; `run` processes `bytes` bytes (or one operation). */
interface Candidate {
  readonly name: string;
  readonly run: (() => void) | string; // a string says why it is unavailable
}

/** Keeps results observable so the optimiser cannot drop the work. */
let sink = 0;

/** Median over rounds of calls per second, each round a batch sized to last about BATCH_MS. */
function callsPerSecond(run: () => void): number {
  let iterations = 1;
  for (;;) {
    const started = performance.now();
    for (let i = 0; i < iterations; i++) run();
    const elapsed = performance.now() - started;
    if (elapsed >= BATCH_MS / 4) {
      iterations = Math.max(1, Math.round((iterations * BATCH_MS) / elapsed));
      break;
    }
    iterations *= 4;
  }
  const rates: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const started = performance.now();
    for (let i = 0; i < iterations; i++) run();
    rates.push(iterations / ((performance.now() - started) / 1000));
  }
  return median(rates);
}

function printTable(title: string, unit: string, rows: ReadonlyArray<readonly [string, string, number | string]>): void {
  const reference = new Map<string, number>();
  const lines = [`| case | implementation | ${unit} | vs first |`, '| --- | --- | --- | --- |'];
  for (const [group, name, value] of rows) {
    if (typeof value === 'string') {
      lines.push(`| ${group} | ${name} | ${value} | |`);
      continue;
    }
    if (!reference.has(group)) reference.set(group, value);
    lines.push(`| ${group} | ${name} | ${formatNumber(value)} | ${(value / reference.get(group)!).toFixed(2)}× |`);
  }
  process.stdout.write(`\n### ${title}\n\n${lines.join('\n')}\n`);
}

function measureGroup(group: string, bytes: number, candidates: readonly Candidate[], scale: number): Array<[string, string, number | string]> {
  return candidates.map((candidate) => {
    process.stderr.write(`  ${group}: ${candidate.name}\n`);
    const value = typeof candidate.run === 'string' ? candidate.run : (callsPerSecond(candidate.run) * bytes) / scale;
    return [group, candidate.name, value];
  });
}

/** Loads an export of one of our modules, or explains why it cannot. */
async function ourExport(specifier: string, name: string): Promise<((...args: never[]) => unknown) | string> {
  try {
    const module: unknown = await import(specifier);
    const value = typeof module === 'object' && module !== null ? Reflect.get(module, name) : undefined;
    return typeof value === 'function' ? (value as (...args: never[]) => unknown) : `unavailable (no ${name} export)`;
  } catch {
    return 'unavailable';
  }
}

function isNative(fn: unknown): boolean {
  return typeof fn === 'function' && Function.prototype.toString.call(fn).includes('[native code]');
}

// --- Masking -------------------------------------------------------------------------------

interface BufferUtil {
  mask(source: Uint8Array, mask: Uint8Array, output: Uint8Array, offset: number, length: number): void;
  unmask(buffer: Uint8Array, mask: Uint8Array): void;
}
const bufferUtil = require('bufferutil') as BufferUtil;
const bufferUtilKind = isNative(bufferUtil.mask) ? 'native' : 'JS fallback';
const applyMask = (await ourExport('../src/frame/mask.ts', 'applyMask')) as ((data: Uint8Array, key: Uint8Array, offset?: number) => void) | string;
type CopyMasked = (source: Uint8Array, target: Uint8Array, offset: number, k0: number, k1: number, k2: number, k3: number) => void;
const copyMasked = (await ourExport('../src/frame/mask.ts', 'copyMasked')) as CopyMasked | string;
const simdReadRegion = (await ourExport('../src/frame/mask-simd.ts', 'simdReadRegion')) as (() => Uint8Array | null) | string;

/**
 * How the parser unmasks what a lent read put in the SIMD read region: where it lies, then
 * one copy out into the buffer it assembles, region by region for a payload longer than one.
 * (The kernel's copy into the region is not in the figure, as it is in none of the others.)
 */
function regionRun(data: Uint8Array, output: Uint8Array): (() => void) | string {
  const region = typeof simdReadRegion === 'string' ? null : simdReadRegion();
  if (region === null || typeof copyMasked === 'string') return 'unavailable';
  const piece = region.subarray(0, Math.min(region.length, data.length));
  piece.set(data.subarray(0, piece.length));
  return () => {
    for (let at = 0; at < data.length; at += piece.length) copyMasked(piece, output, at, key[0]!, key[1]!, key[2]!, key[3]!);
  };
}

const key = Uint8Array.of(0x37, 0xfa, 0x21, 0x3d);
const maskRows: Array<[string, string, number | string]> = [];
for (const size of [32, 64 * 1024, 4 * 1024 * 1024]) {
  const data = binaryPayload(size);
  const output = Buffer.allocUnsafe(size);
  const label = size >= 1024 * 1024 ? `${size / 1024 / 1024} MiB` : size >= 1024 ? `${size / 1024} KiB` : `${size} B`;
  maskRows.push(
    ...measureGroup(`mask ${label}`, size, [
      {
        name: 'byte loop (in place)',
        run: () => {
          for (let i = 0; i < data.length; i++) data[i] = data[i]! ^ key[i & 3]!;
        },
      },
      { name: `bufferutil.mask (${bufferUtilKind}, copy)`, run: () => bufferUtil.mask(data, key, output, 0, size) },
      { name: `bufferutil.unmask (${bufferUtilKind}, in place)`, run: () => bufferUtil.unmask(data, key) },
      { name: 'Buffer.copy (memory ceiling)', run: () => void (sink += data.copy(output)) },
      { name: 'wspeer applyMask (in place)', run: typeof applyMask === 'string' ? applyMask : () => applyMask(data, key) },
      {
        // How the parser unmasks a frame split across chunks: into the buffer it assembles.
        name: 'wspeer copyMasked (copy)',
        run: typeof copyMasked === 'string' ? copyMasked : () => copyMasked(data, output, 0, key[0]!, key[1]!, key[2]!, key[3]!),
      },
      { name: 'wspeer copyMasked from the read region (lent reads: in place, one copy out)', run: regionRun(data, output) },
    ], 1e6),
  );
}
printTable('Masking', 'MB/s', maskRows);

// --- UTF-8 validation ----------------------------------------------------------------------

const utf8Validate = require('utf-8-validate') as (data: Uint8Array) => boolean;
const utf8ValidateKind = isNative(utf8Validate) ? 'native' : 'JS fallback';
const isValidUtf8 = (await ourExport('../src/frame/utf8.ts', 'isValidUtf8')) as ((data: Uint8Array) => boolean) | string;

const utf8Rows: Array<[string, string, number | string]> = [];
for (const size of [64 * 1024, 4 * 1024 * 1024]) {
  for (const mixed of [false, true]) {
    const text = textPayload(size, mixed);
    const label = `${mixed ? 'mixed' : 'ASCII'} ${size >= 1024 * 1024 ? `${size / 1024 / 1024} MiB` : `${size / 1024} KiB`}`;
    // A validator that rejects valid text would be fast for the wrong reason: say so.
    const verdicts = [isUtf8(text), utf8Validate(text), typeof isValidUtf8 === 'string' || isValidUtf8(text)];
    if (verdicts.includes(false)) process.stdout.write(`WARNING: a validator rejected the valid ${label} text: ${verdicts.join(', ')}\n`);
    utf8Rows.push(
      ...measureGroup(label, size, [
        { name: 'buffer.isUtf8', run: () => void (sink += isUtf8(text) ? 1 : 0) },
        { name: `utf-8-validate (${utf8ValidateKind})`, run: () => void (sink += utf8Validate(text) ? 1 : 0) },
        { name: 'wspeer isValidUtf8', run: typeof isValidUtf8 === 'string' ? isValidUtf8 : () => void (sink += isValidUtf8(text) ? 1 : 0) },
      ], 1e9),
    );
  }
}
printTable('UTF-8 validation', 'GB/s', utf8Rows);

// --- Frame decoding ------------------------------------------------------------------------
// A chunk full of small masked client frames, parsed whole: framing, unmasking, UTF-8
// checks and message delivery. ws's Receiver against our sans-I/O Connection (each as a
// server, text handed out as bytes, both checking UTF-8 with buffer.isUtf8). Unmasking is
// in place, so every call first restores the masked chunk: "copy only" is that cost alone.

interface WsReceiver {
  on(event: 'message', listener: () => void): unknown;
  write(chunk: Uint8Array): boolean;
}
type WsReceiverClass = new (options: { isServer: boolean; maxPayload: number; allowSynchronousEvents: boolean }) => WsReceiver;
const WsReceiver = (require('ws') as { Receiver: WsReceiverClass }).Receiver;
const connectionModule: unknown = await import('../src/connection/index.ts').catch(() => undefined);
type DecodeConnection = new (role: 'server', handler: object, options: { isUtf8: (data: Uint8Array) => boolean }) => { receive(bytes: Uint8Array): void };
const Connection = Reflect.get(connectionModule ?? {}, 'Connection') as DecodeConnection | undefined;

const FRAMES_PER_CHUNK = 1000;

/** A run that restores and parses the chunk, or why it cannot: a parser must deliver every frame synchronously. */
function decodeRun(masked: Uint8Array, parse: (work: Uint8Array) => void, delivered: () => number): (() => void) | string {
  const work = new Uint8Array(masked.length);
  const run = (): void => {
    work.set(masked);
    parse(work);
  };
  const before = delivered();
  run();
  return delivered() - before === FRAMES_PER_CHUNK ? run : `unavailable (${delivered() - before} of ${FRAMES_PER_CHUNK} frames delivered)`;
}

const decodeRows: Array<[string, string, number | string]> = [];
for (const [label, payload, opcode] of [
  ['32 B binary', binaryPayload(32), 2],
  ['125 B text', textPayload(125), 1],
  ['300 B binary', binaryPayload(300), 2],
] as const) {
  const frames = Array.from({ length: FRAMES_PER_CHUNK }, (_, i) => encodeClientFrame(payload, opcode, Uint8Array.of(i, 0x5a, i >> 3, 0xc3)));
  const masked = Buffer.concat(frames);
  let theirs = 0;
  const receiver = new WsReceiver({ isServer: true, maxPayload: 1 << 20, allowSynchronousEvents: true });
  receiver.on('message', () => void theirs++);
  let ours = 0;
  const count = (): void => void ours++;
  const connection =
    Connection === undefined
      ? undefined
      : new Connection('server', { onText: count, onTextBytes: count, onBinary: count, onPing: count, onPong: count, onClose: count, onError: count }, { isUtf8 });
  const copy = new Uint8Array(masked.length);
  decodeRows.push(
    ...measureGroup(`decode ${FRAMES_PER_CHUNK} × ${label}`, FRAMES_PER_CHUNK, [
      { name: 'ws Receiver', run: decodeRun(masked, (work) => receiver.write(work), () => theirs) },
      { name: 'wspeer Connection (sans-I/O)', run: connection === undefined ? 'unavailable' : decodeRun(masked, (work) => connection.receive(work), () => ours) },
      { name: 'copy only (restoring the chunk)', run: () => void (copy.set(masked), (sink += copy[0]!)) },
    ], 1e6),
  );
}
printTable('Frame decoding: one chunk of masked client frames', 'million frames/s', decodeRows);

// --- Handshake SHA-1 -----------------------------------------------------------------------

const handshakeKey = 'dGhlIHNhbXBsZSBub25jZQ==';
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const oneShotHash: unknown = Reflect.get(crypto, 'hash'); // Node ≥ 20.12 only
const shaRows = measureGroup('accept key', 1, [
  { name: 'createHash().update().digest()', run: () => void (sink += crypto.createHash('sha1').update(handshakeKey + GUID).digest('base64').length) },
  {
    name: 'crypto.hash()',
    run: typeof oneShotHash === 'function' ? () => void (sink += crypto.hash('sha1', handshakeKey + GUID, 'base64').length) : 'unavailable on this Node',
  },
], 1e6);
printTable('Sec-WebSocket-Accept (SHA-1 + base64)', 'million ops/s', shaRows);

process.stdout.write(`\nMedians of ${ROUNDS} rounds of ~${BATCH_MS} ms each; Node ${process.version}. (checksum ${sink % 10})\n`);
