/**
 * permessage-deflate's compressor and decompressor over `node:zlib`, used synchronously so
 * that the protocol core stays synchronous: no thread-pool hop per message, and no queue of
 * zlib jobs to bound. Streams are driven through zlib's synchronous write, the same path
 * Node's own `deflateRawSync` takes, but kept open across messages when context takeover
 * needs their window.
 *
 * Memory: without context takeover a connection owns no zlib stream at all — it borrows the
 * process-wide one for its parameters and resets it after each message. With context
 * takeover it creates its own streams lazily, on its first compressed message.
 *
 * BFINAL: RFC 7692 §7.2.1 lets a sender end a message with a final DEFLATE block (BFINAL
 * set, example in §7.2.3.4), after which zlib takes no more input. Whatever follows in the
 * message (padding, later frames, the restored tail) is ignored, and the next message is a
 * new DEFLATE stream. With context takeover it still refers back into the sliding window
 * (§7.2.2), so the stream is reset and its window primed with the last window's worth of
 * the output of the frame in which the stream ended: a true suffix of the window. A
 * reference further back then fails as invalid DEFLATE (1007) rather than giving wrong data.
 * Reset and primed rather than made anew: a peer may end every message so, and a new zlib
 * stream per message cost some ten times the CPU of the message, and its memory.
 *
 * The tail: a message's payload ends with the header of an empty stored block whose length
 * fields were removed (§7.2.1), so the 4 bytes restored (§7.2.2) inflate to nothing. Bytes
 * out of them mean the payload stopped inside a block: invalid (1007), where zlib alone
 * would deliver the message cut short. A kept context must also end each message at a
 * block boundary, so the tail is not restored where it would not end one (see
 * `restoresTail`).
 * @module
 */
import { constants, createDeflateRaw, createInflateRaw, type DeflateRaw, type InflateRaw } from 'node:zlib';
import type { MessageCompression } from '../../connection/compression.ts';
import type { DeflateParams, ResolvedDeflateOptions } from './params.ts';

/** RFC 7692 §7.2.1: the empty stored block that Z_SYNC_FLUSH ends with, removed on the wire. */
const TAIL = new Uint8Array([0x00, 0x00, 0xff, 0xff]);
/** Output buffers after the first, which is sized to the input. */
const OUTPUT_CHUNK = 64 * 1024;

/** The parts of a zlib stream object its synchronous driver needs (Node internals, checked at startup). */
interface ZlibInternals {
  _handle: { writeSync(flush: number, input: Uint8Array, inOff: number, inLen: number, out: Uint8Array, outOff: number, outLen: number): void } | null;
  _writeState: Uint32Array;
  destroyed: boolean;
  errored?: Error | null;
  reset(): void;
  close(): void;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

type Engine = (DeflateRaw | InflateRaw) & ZlibInternals;

/**
 * Whether the last {@link run} met the end of the DEFLATE stream (a BFINAL block, §7.2.1):
 * zlib then consumes nothing more, so input was left while the output still had room. A
 * module-level flag keeps the common path free of allocations.
 */
let streamEnded = false;
/** Input bytes the last {@link run} consumed, and those of the last frame's payload (before its tail). */
let consumed = 0;
let bodyConsumed = 0;

/** Allocates output buffers, not zeroed (zlib overwrites what is handed out). */
export type OutputAllocator = (size: number) => Uint8Array;

/**
 * Run `input` through `engine` with `flush`, synchronously, into a first output buffer of
 * `firstSize` bytes and then larger ones, from `allocate`; the output's total length may not
 * pass `limit` (the run stops as soon as it would). Returns the output, or null past the limit.
 */
function run(engine: Engine, input: Uint8Array, flush: number, limit: number, firstSize: number, allocate: OutputAllocator): Uint8Array | null {
  const handle = engine._handle;
  if (handle === null) throw new Error('zlib stream is closed');
  const state = engine._writeState;
  let pieces: Uint8Array[] | null = null;
  let single: Uint8Array | null = null;
  let total = 0;
  let inOffset = 0;
  let inLength = input.length;
  for (let size = firstSize; ; size = OUTPUT_CHUNK) {
    const out = allocate(size);
    handle.writeSync(flush, input, inOffset, inLength, out, 0, out.length);
    if (engine.destroyed) throw engine.errored ?? new Error('zlib failed');
    const outLeft = state[0]!;
    const inLeft = state[1]!;
    const produced = out.length - outLeft;
    if (produced > 0) {
      total += produced;
      if (total > limit) return null;
      const piece = out.subarray(0, produced);
      if (single === null && pieces === null) single = piece;
      else (pieces ??= [single!]).push(piece);
    }
    inOffset += inLength - inLeft;
    inLength = inLeft;
    // zlib filled the whole output buffer: there may be more to come.
    if (outLeft !== 0) break;
  }
  streamEnded = inLength !== 0;
  consumed = inOffset;
  if (pieces === null) return single === null ? Buffer.alloc(0) : compact(single, firstSize, allocate);
  const whole = allocate(total);
  let at = 0;
  for (const piece of pieces) {
    whole.set(piece, at);
    at += piece.length;
  }
  return whole;
}

function newEngine(make: () => DeflateRaw | InflateRaw): Engine {
  const engine = make() as Engine;
  // Errors surface synchronously through `destroyed`; the event must still have a listener.
  engine.on('error', ignore);
  return engine;
}

/** Process-wide streams for connections without context takeover, by kind and parameters. */
const shared = new Map<string, Engine>();

function sharedEngine(key: string, make: () => DeflateRaw | InflateRaw): Engine {
  let engine = shared.get(key);
  if (engine === undefined || engine.destroyed) {
    engine = newEngine(make);
    shared.set(key, engine);
  }
  return engine;
}

/**
 * Streams for messages in several frames without context takeover: one is a message's own
 * from its first frame to its last, then reset and kept for the next. Without them a peer
 * could make us build (and collect) a zlib stream per two-frame message of 12 bytes.
 */
const spares = new Map<string, Engine[]>();
/** Spare streams kept per parameters; a burst of concurrent fragmented messages makes more, closed after. */
const SPARES_MAX = 8;

function takeSpare(key: string, make: () => DeflateRaw | InflateRaw): Engine {
  return spares.get(key)?.pop() ?? newEngine(make);
}

function giveBack(key: string, engine: Engine): void {
  let list = spares.get(key);
  if (list === undefined) spares.set(key, (list = []));
  if (list.length >= SPARES_MAX || engine.destroyed) {
    engine.close();
    return;
  }
  engine.reset();
  list.push(engine);
}

/** Whether this Node exposes the synchronous stream driver this codec relies on. */
export function zlibDriverAvailable(): boolean {
  const probe = createDeflateRaw() as unknown as Partial<ZlibInternals>;
  const available = typeof probe._handle?.writeSync === 'function' && probe._writeState instanceof Uint32Array;
  (probe as DeflateRaw).close();
  return available;
}

/**
 * What follows from a role, the negotiated parameters and our options: the same for every
 * connection that agreed on them, so made once and shared (a codec per connection then
 * holds only its state: some 100 bytes against 400 with these fields of its own).
 */
class CodecSettings {
  readonly deflateKey: string;
  readonly inflateKey: string;
  readonly makeDeflate: () => DeflateRaw;
  readonly makeInflate: () => InflateRaw;
  readonly inflateWindow: number;
  readonly ownDeflateContext: boolean;
  readonly ownInflateContext: boolean;

  constructor(
    role: 'client' | 'server',
    params: DeflateParams,
    readonly threshold: number,
    level: number,
    memLevel: number,
    maxWindowBits: number,
  ) {
    const server = role === 'server';
    // A compressor may always use a smaller window than agreed: our own preference caps it.
    const sendBits = Math.min(server ? params.serverMaxWindowBits : params.clientMaxWindowBits, maxWindowBits);
    const receiveBits = server ? params.clientMaxWindowBits : params.serverMaxWindowBits;
    this.ownDeflateContext = !(server ? params.serverNoContextTakeover : params.clientNoContextTakeover);
    this.ownInflateContext = !(server ? params.clientNoContextTakeover : params.serverNoContextTakeover);
    // zlib cannot compress with a 256-byte window; stored blocks (level 0) use no window at
    // all, so they honour a peer that asked for one.
    const deflateLevel = sendBits === 8 ? 0 : level;
    const windowBits = Math.max(sendBits, 9);
    const inflateBits = Math.max(receiveBits, 9);
    this.deflateKey = `d${windowBits}.${deflateLevel}.${memLevel}`;
    this.inflateKey = `i${inflateBits}`;
    this.makeDeflate = () => createDeflateRaw({ windowBits, level: deflateLevel, memLevel });
    this.makeInflate = () => createInflateRaw({ windowBits: inflateBits });
    this.inflateWindow = 1 << inflateBits;
  }
}

/** Settings made so far, by everything they follow from; cleared when it grows past {@link SETTINGS_KEPT_MAX}. */
const settingsMade = new Map<string, CodecSettings>();
/** Some 500 combinations of parameters exist per role and options: a peer cannot make this grow for good. */
const SETTINGS_KEPT_MAX = 256;

function settingsFor(role: 'client' | 'server', params: DeflateParams, options: ResolvedDeflateOptions): CodecSettings {
  const { threshold, level, memLevel, maxWindowBits } = options;
  const key = `${role} ${params.serverMaxWindowBits} ${params.clientMaxWindowBits} ${params.serverNoContextTakeover} ${params.clientNoContextTakeover} ${threshold} ${level} ${memLevel} ${maxWindowBits}`;
  let settings = settingsMade.get(key);
  if (settings === undefined) {
    if (settingsMade.size >= SETTINGS_KEPT_MAX) settingsMade.clear();
    settings = new CodecSettings(role, params, threshold, level, memLevel, maxWindowBits);
    settingsMade.set(key, settings);
  }
  return settings;
}

/** One connection's permessage-deflate, for the role it plays. */
export class DeflateCodec implements MessageCompression {
  private readonly settings: CodecSettings;
  private deflater: Engine | null = null;
  private inflater: Engine | null = null;
  /** The message's DEFLATE stream has ended (§7.2.1): its remaining frames are ignored. */
  private ignoringRest = false;
  /** Compressed bytes of the message so far, and its last four as one number: see {@link restoresTail}. */
  private messageBytes = 0;
  private lastFour = 0;

  /**
   * `allocate` makes the buffers zlib writes to, which are handed out: Buffers, as every
   * payload a peer hands out. A peer passes its own, which cuts small ones from slabs of a
   * size that does not change with the Node it runs on.
   */
  constructor(
    role: 'client' | 'server',
    params: DeflateParams,
    options: ResolvedDeflateOptions,
    private readonly allocate: OutputAllocator = Buffer.allocUnsafe,
  ) {
    this.settings = settingsFor(role, params, options);
  }

  /** Messages shorter than this many bytes are sent uncompressed (our `threshold` option). */
  get threshold(): number {
    return this.settings.threshold;
  }

  compress(data: Uint8Array): Uint8Array | null {
    const settings = this.settings;
    const engine = settings.ownDeflateContext ? (this.deflater ??= newEngine(settings.makeDeflate)) : sharedEngine(settings.deflateKey, settings.makeDeflate);
    // Deflate's worst case is a few bytes over the input; most messages fit the first buffer.
    const output = run(engine, data, constants.Z_SYNC_FLUSH, Infinity, data.length + 64, this.allocate)!;
    if (!settings.ownDeflateContext) {
      engine.reset();
      // Grown (random or already compressed data): sent as it is, which no context misses,
      // so a message of exactly maxPayload stays within the peer's limit.
      if (data.length > 0 && output.length - 4 > data.length) return null;
    }
    // §7.2.1: remove the 4-byte tail of the sync flush.
    if (endsWithTail(output)) return output.subarray(0, output.length - 4);
    // zlib writes nothing at all for an empty message right after another sync flush (a
    // kept context): §7.2.1 then asks for an empty stored block, 00 00 00 ff ff at this
    // byte boundary, which is 00 once its tail is removed.
    return output.length === 0 ? Buffer.alloc(1) : output;
  }

  decompress(payload: Uint8Array, fin: boolean, limit: number): Uint8Array | null {
    // §7.2.1: after the end of the message's DEFLATE stream, its frames carry nothing.
    if (this.ignoringRest) {
      this.ignoringRest = !fin;
      if (fin) this.messageBytes = this.lastFour = 0;
      return Buffer.alloc(0);
    }
    // A whole message in one frame without context takeover borrows the shared stream: it
    // is done with it before anyone else can run. Anything longer needs a stream of its own
    // for the message (a spare) or, with context takeover, for the connection.
    const borrowed = fin && this.inflater === null && !this.settings.ownInflateContext;
    const engine = borrowed ? sharedEngine(this.settings.inflateKey, this.settings.makeInflate) : (this.inflater ??= this.ownInflater());
    const first = this.messageBytes === 0;
    const withTail = this.restoresTail(payload, fin);
    let output: Uint8Array | null;
    try {
      output = inflateFrame(engine, payload, withTail, limit, this.allocate);
      // The kept stream had ended before this message began: the last message's restored
      // tail completed a final empty stored block (BFINAL, §7.2.1), which zlib does not
      // report as it happens. This message starts a new stream, with nothing to refer back
      // to (see `endStream`): it would otherwise be taken for the ignored rest of the ended
      // one, and lost.
      if (output !== null && first && streamEnded && bodyConsumed === 0 && this.settings.ownInflateContext) {
        engine.reset();
        output = inflateFrame(engine, payload, withTail, limit, this.allocate);
      }
    } catch (error) {
      this.release(engine, borrowed, true);
      throw error;
    }
    if (output === null) this.release(engine, borrowed, true);
    else if (streamEnded) this.endStream(engine, borrowed, output, fin);
    else if (fin && !this.settings.ownInflateContext) this.release(engine, borrowed, false);
    return output;
  }

  /**
   * Whether the message's last frame is inflated with the restored tail (§7.2.2): not if
   * the message carries no compressed byte at all, or ends with the tail left on. A sender
   * that does either breaks §7.2.1, but the message's meaning is plain (empty; what came
   * before the tail), while the tail added anyway would leave a kept context inside the
   * header of a stored block of 65,280 bytes, corrupting the messages after it.
   */
  private restoresTail(payload: Uint8Array, fin: boolean): boolean {
    const length = payload.length;
    if (length >= 4) {
      this.lastFour = (payload[length - 4]! << 24) | (payload[length - 3]! << 16) | (payload[length - 2]! << 8) | payload[length - 1]!;
    } else {
      for (let i = 0; i < length; i++) this.lastFour = (this.lastFour << 8) | payload[i]!;
    }
    this.messageBytes += length;
    if (!fin) return false;
    const restore = this.messageBytes > 0 && !(this.messageBytes >= 4 && this.lastFour === 0x0000_ffff);
    this.messageBytes = 0;
    this.lastFour = 0;
    return restore;
  }

  private ownInflater(): Engine {
    const settings = this.settings;
    return settings.ownInflateContext ? newEngine(settings.makeInflate) : takeSpare(settings.inflateKey, settings.makeInflate);
  }

  dispose(): void {
    this.deflater?.close();
    this.inflater?.close();
    this.deflater = null;
    this.inflater = null;
  }

  /**
   * §7.2.1: the message's DEFLATE stream ended in this frame, whose output was `output`.
   * The rest of the message is ignored. A kept context continues in a new stream over the
   * end of that output, the part of the sliding window known here (§7.2.2): zlib stops at
   * the end of a stream, so the stream is reset and its window primed with it.
   */
  private endStream(engine: Engine, borrowed: boolean, output: Uint8Array, fin: boolean): void {
    this.ignoringRest = !fin;
    if (!this.settings.ownInflateContext) return this.release(engine, borrowed, false);
    engine.reset();
    // A stream that ended exactly at the end of an earlier frame shows only now, with no
    // output: that frame's output is the application's by then, so nothing is primed, and a
    // reference back fails (1007) rather than risk wrong data.
    if (output.length > 0) primeWindow(engine, output.subarray(Math.max(0, output.length - this.settings.inflateWindow)));
  }

  /** Done with an inflate stream for this message: reset a borrowed one, give back a spare, close one that broke. */
  private release(engine: Engine, borrowed: boolean, broken: boolean): void {
    if (borrowed) {
      if (broken) {
        shared.delete(this.settings.inflateKey);
        engine.close();
      } else {
        engine.reset();
      }
      return;
    }
    this.inflater = null;
    if (broken || this.settings.ownInflateContext) engine.close();
    else giveBack(this.settings.inflateKey, engine);
  }
}

/**
 * Inflate one frame's payload; with `withTail`, the message's last, also the restored tail
 * (§7.2.2). The tail is the length fields of an empty stored block whose header ends the
 * payload (§7.2.1), so it inflates to nothing; if it yields bytes, the payload stopped
 * inside a block (cut short, or never flushed), whatever zlib made of it: invalid.
 */
function inflateFrame(engine: Engine, payload: Uint8Array, withTail: boolean, limit: number, allocate: OutputAllocator): Uint8Array | null {
  const firstSize = Math.max(1024, Math.min(limit + 1, payload.length * 4, 1 << 20));
  const body = run(engine, payload, constants.Z_SYNC_FLUSH, limit, firstSize, allocate);
  bodyConsumed = consumed;
  // A stream that ended (§7.2.1) takes no tail; `streamEnded` stays set for the caller.
  if (body === null || !withTail || streamEnded) return body;
  const tail = run(engine, TAIL, constants.Z_SYNC_FLUSH, Infinity, 16, allocate);
  if (tail!.length > 0) throw new Error('the compressed data does not end at a DEFLATE block boundary');
  return body;
}

/** The largest window RFC 7692 allows (§7.1.2: 2^15 bytes). */
const MAX_WINDOW = 1 << 15;
/** A non-final stored block (§3.2.4 of RFC 1951) of up to a window of bytes, and where its output goes, reused. */
let primeInput: Buffer | null = null;
let primeOutput: Buffer | null = null;

/**
 * Put `window` (at most {@link MAX_WINDOW} bytes) in a freshly reset inflate stream's
 * sliding window, as a preset dictionary would: inflate it as one non-final stored block,
 * and drop the output. The next message's blocks then continue that stream, so they may
 * refer back into those bytes and no further.
 */
function primeWindow(engine: Engine, window: Uint8Array): void {
  const length = window.length;
  const input = (primeInput ??= Buffer.allocUnsafe(5 + MAX_WINDOW));
  // BFINAL 0, BTYPE 00, the rest of the byte padding; then LEN and its complement, little-endian.
  input[0] = 0;
  input.writeUInt16LE(length, 1);
  input.writeUInt16LE(~length & 0xffff, 3);
  input.set(window, 5);
  const output = (primeOutput ??= Buffer.allocUnsafe(MAX_WINDOW));
  engine._handle!.writeSync(constants.Z_SYNC_FLUSH, input, 0, 5 + length, output, 0, output.length);
  const state = engine._writeState;
  if (engine.destroyed || state[1] !== 0 || output.length - state[0]! !== length) throw engine.errored ?? new Error('zlib did not take the window');
}

function endsWithTail(data: Uint8Array): boolean {
  const n = data.length;
  return n >= 4 && data[n - 4] === 0 && data[n - 3] === 0 && data[n - 2] === 0xff && data[n - 1] === 0xff;
}

/**
 * `output`, written into a first buffer of `allocated` bytes, or a copy of it if that would
 * keep much more memory alive than its length: a queued or kept message holds what it counts.
 */
function compact(output: Uint8Array, allocated: number, allocate: OutputAllocator): Uint8Array {
  const memory = output.buffer.byteLength;
  // Memory larger than asked for is a slab that small buffers are cut from, shared: a copy
  // would land in one again.
  if (memory > allocated || memory <= 2 * output.length + 1024) return output;
  const copy = allocate(output.length);
  copy.set(output);
  return copy;
}

function ignore(): void {}
