/**
 * Incremental frame parser, RFC 6455 §5.2. One pass over each chunk parses every frame it
 * completes; a frame that lies wholly inside the chunk is handed out as a view of it (or,
 * with `messagesAt`, a short whole message as its place in the chunk), unmasked in place.
 * Only a frame split across chunks is assembled in a buffer of its own, allocated once its
 * header has been checked against the size limit: whole up to 1 MiB, and past that grown
 * with the bytes that come, so that a header alone cannot claim the length it declares.
 *
 * Ownership: `push` takes the chunk. Payload views and places alias it; it is unmasked in place.
 * `pushBorrowed` only borrows it (a read buffer its host fills again): every payload is copied.
 * @module
 */
import { CloseCode } from './close-code.ts';
import { ProtocolError, type ProtocolErrorCode } from './errors.ts';
import { copyMasked, SIMD_MIN, WORD_VIEW_MIN, xorBytes, xorMask, xorMaskWords } from './mask.ts';
import { isControlOpcode, isKnownOpcode, Opcode } from './opcode.ts';
import { isStaged, keepStaging, partialSize, takeStaging } from './payload-memory.ts';
import type { FrameDecoderOptions, FrameSink, PayloadView } from './decoder-types.ts';

export type { FrameDecoderOptions, FrameSink, PayloadView } from './decoder-types.ts';

/** The portable allocator: zero-filled, as typed arrays always are. */
export const allocateZeroed = (size: number): Uint8Array => new Uint8Array(size);

const EMPTY = new Uint8Array(0);

/** The sink of a decoder at rest, which is fed nothing until `bind` gives it one. */
const NO_SINK: FrameSink = {
  onFrame: unbound,
  onFramePart: unbound,
  onFrameError: unbound,
};

function unbound(): never {
  throw new Error('a decoder at rest was fed bytes: bind it to a sink first');
}
const TWO_POW_32 = 0x1_0000_0000;

// Decoders at rest, lent to whichever sink reads next (see `FrameDecoder.take`): parsing is
// synchronous, so few are ever needed at once; more than this are dropped.
const resting: FrameDecoder[] = [];
const MAX_RESTING = 16;

/**
 * Incremental frame parser (RFC 6455 §5.2): every frame a chunk completes goes to the
 * {@link FrameSink}, in one pass. `push` takes ownership of the chunk (payloads are views
 * of it, unmasked in place); `pushBorrowed` only borrows it (every payload is copied).
 */
export class FrameDecoder {
  // Set by the constructor, or by `bind` for a decoder that serves another connection.
  private sink!: FrameSink;
  /** Set by `setAllowRsv1` once an extension that uses RSV1 is negotiated. */
  private allowRsv1 = false;
  private expectMasked = false;
  private maxMessageSize = 0;
  private allocate: (size: number) => Uint8Array = allocateZeroed;
  private allocateLendable: (size: number) => Uint8Array = allocateZeroed;
  private view: PayloadView | null = null;
  private messagesAt = false;
  // The empty payload, of the same type as the others (a view made by `view`, if given).
  private empty: Uint8Array | null = null;
  private stopped = false;

  // Header bytes of a header split across chunks (allocated the first time it happens).
  private headerBytes: Uint8Array | null = null;
  private headerFill = 0;

  // The frame being read.
  private opcode = 0;
  private fin = false;
  private rsv1 = false;
  private masked = false;
  private k0 = 0;
  private k1 = 0;
  private k2 = 0;
  private k3 = 0;
  private payloadLength = 0;
  // A payload split across chunks, assembled here.
  private partial: Uint8Array | null = null;
  /** Whether `partial` came from `allocateLendable`: a buffer it grows into comes from there too. */
  private partialLendable = false;
  /** Whether `partial` is a staging buffer, kept for reuse once the payload moves out of it. */
  private partialStaged = false;
  // The chunk being parsed, as its ArrayBuffer and offset (read once, at its first payload,
  // for `view`) and a DataView (made at its first mid-sized masked payload, for
  // `xorMaskWords`, or its first message for `onMessageAt`). Dropped when the chunk is done,
  // so that the decoder holds no chunk past its parse.
  private chunkBuffer: ArrayBufferLike | null = null;
  private chunkOffset = 0;
  private chunkWords: DataView | null = null;
  private partialFill = 0;
  // True while parsing a chunk lent by `pushBorrowed`: what is handed out must be copied,
  // unless `lendPayloads` (then whole unfragmented uncompressed data frames are views).
  private borrowed = false;
  private lendPayloads = false;

  // §5.4: a data message whose final frame has not arrived yet, its size so far, and
  // whether its first frame had RSV1 (compressed, RFC 7692 §6).
  private messageOpen = false;
  private messageSize = 0;
  private messageCompressed = false;

  constructor(sink: FrameSink, options: FrameDecoderOptions) {
    this.bind(sink, options);
  }

  /** A decoder for `sink`: one at rest (see {@link FrameDecoder.rest}) bound to it, else a new one. */
  static take(sink: FrameSink, options: FrameDecoderOptions): FrameDecoder {
    const decoder = resting.pop();
    if (decoder === undefined) return new FrameDecoder(sink, options);
    decoder.bind(sink, options);
    return decoder;
  }

  /**
   * Give back a decoder {@link atRest} that its sink no longer holds, for the next `take`.
   * It lets go of the sink and the host's hooks (`bind` sets them again): a resting decoder
   * that kept its last connection, or a hook that refers to it, would keep that connection
   * and all it holds alive after it closed, until the decoder is taken again.
   */
  static rest(decoder: FrameDecoder): void {
    if (resting.length >= MAX_RESTING) return;
    decoder.sink = NO_SINK;
    decoder.allocate = decoder.allocateLendable = allocateZeroed;
    decoder.view = null;
    decoder.empty = null;
    resting.push(decoder);
  }

  /**
   * Report to `sink` under `options` from now on. For a decoder {@link atRest} only: a host
   * with many connections may keep a decoder for each connection that is mid-frame, and
   * lend resting ones to the others (between frames a decoder holds nothing of theirs).
   */
  bind(sink: FrameSink, options: FrameDecoderOptions): void {
    const view = options.view ?? null;
    if (view !== this.view) this.empty = null; // the empty payload is of the view's type
    this.sink = sink;
    this.expectMasked = options.expectMasked;
    this.maxMessageSize = options.maxMessageSize;
    this.allowRsv1 = options.allowRsv1 ?? false;
    this.allocate = options.allocate ?? allocateZeroed;
    this.allocateLendable = options.allocateLendable ?? this.allocate;
    this.view = view;
    this.messagesAt = (options.messagesAt ?? false) && typeof sink.onMessageAt === 'function';
  }

  /** Between frames and messages, and not stopped: nothing held that the next bytes continue. */
  get atRest(): boolean {
    return this.headerFill === 0 && this.partial === null && !this.messageOpen && !this.stopped;
  }

  /** Allow or forbid RSV1 on first data frames, as extension negotiation decided. */
  setAllowRsv1(allow: boolean): void {
    this.allowRsv1 = allow;
  }

  /**
   * Change the message size limit for frames whose header is still to come: a host that
   * bounds a connection's whole memory lowers it while its buffers are full.
   */
  setMaxMessageSize(bytes: number): void {
    this.maxMessageSize = bytes;
  }

  /** Ignore all further input (the connection is closed or failed). */
  stop(): void {
    this.stopped = true;
    this.releaseStaging();
    this.partial = null;
  }

  /** Whether the parser has stopped. */
  get isStopped(): boolean {
    return this.stopped;
  }

  /** Bytes held for an incomplete frame: the bound that "never buffers more than the limit" is tested on. */
  get bufferedBytes(): number {
    return this.headerFill + (this.partial === null ? 0 : this.partial.length);
  }

  /** Length of the payload being assembled across chunks (as its header declared); 0 between frames. */
  get splitPayloadLength(): number {
    return this.partial === null ? 0 : this.payloadLength;
  }

  /**
   * Parse every frame `chunk` completes, where `chunk` is only lent for the call (a read
   * buffer its host fills again): it is unmasked in place as with `push`, but every payload
   * handed out is a copy of its own, and no message is reported by place. With
   * `lendPayloads`, a whole message in one frame (final, uncompressed, text or binary)
   * is handed out as a view of the chunk instead, valid during the call only: for a sink
   * that is done with it, or has copied it, by the time the call returns. Payloads the
   * decoder keeps (control frames, fragments) are still copies; such a message split across
   * chunks is assembled in a buffer from `allocateLendable` instead of `allocate`.
   */
  pushBorrowed(chunk: Uint8Array, lendPayloads = false): void {
    this.borrowed = true;
    this.lendPayloads = lendPayloads;
    try {
      this.push(chunk);
    } finally {
      this.borrowed = false;
      this.lendPayloads = false;
    }
  }

  /** Parse every frame `chunk` completes; see the module comment for ownership. */
  push(chunk: Uint8Array): void {
    const end = chunk.length;
    let pos = 0;
    // Views left by a push that threw belong to another chunk.
    this.forgetChunk();
    while (pos < end && !this.stopped) {
      if (this.partial !== null) {
        pos = this.continuePayload(chunk, pos);
      } else if (this.headerFill > 0 || end - pos < 2 || end - pos < headerSize(chunk[pos + 1]!)) {
        pos = this.bufferHeader(chunk, pos);
      } else {
        const size = headerSize(chunk[pos + 1]!);
        if (!this.readHeader(chunk, pos)) break;
        pos = this.beginPayload(chunk, pos + size);
      }
    }
    this.forgetChunk();
  }

  private forgetChunk(): void {
    this.chunkBuffer = null;
    this.chunkWords = null;
  }

  /** Slow path: collect a header that straddles chunks, then start its payload. */
  private bufferHeader(chunk: Uint8Array, pos: number): number {
    const scratch = (this.headerBytes ??= new Uint8Array(14));
    const end = chunk.length;
    while (pos < end && (this.headerFill < 2 || this.headerFill < headerSize(scratch[1]!))) {
      scratch[this.headerFill++] = chunk[pos++]!;
    }
    if (this.headerFill < 2 || this.headerFill < headerSize(scratch[1]!)) return pos;
    this.headerFill = 0;
    if (!this.readHeader(scratch, 0)) return chunk.length;
    return this.beginPayload(chunk, pos);
  }

  /** Decode and check a complete header at `bytes[at]`; false if the peer broke a rule. */
  private readHeader(bytes: Uint8Array, at: number): boolean {
    const b0 = bytes[at]!;
    const b1 = bytes[at + 1]!;
    const fin = (b0 & 0x80) !== 0;
    const rsv1 = (b0 & 0x40) !== 0;
    const opcode = b0 & 0x0f;
    const masked = (b1 & 0x80) !== 0;
    const length7 = b1 & 0x7f;
    const control = isControlOpcode(opcode);

    if ((b0 & 0x30) !== 0) {
      return this.fail('WS_ERR_RESERVED_BITS', CloseCode.ProtocolError, '§5.2', 'RSV2 or RSV3 set with no extension defining them');
    }
    if (rsv1 && (!this.allowRsv1 || control || opcode === Opcode.Continuation)) {
      return this.fail(
        'WS_ERR_RESERVED_BITS',
        CloseCode.ProtocolError,
        this.allowRsv1 ? 'RFC 7692 §6.1' : '§5.2',
        this.allowRsv1 ? 'RSV1 set on a control frame or a continuation' : 'RSV1 set with no extension negotiated',
      );
    }
    if (!isKnownOpcode(opcode)) {
      return this.fail('WS_ERR_RESERVED_OPCODE', CloseCode.ProtocolError, '§5.2', `reserved opcode 0x${opcode.toString(16)}`);
    }
    if (masked !== this.expectMasked) {
      return this.expectMasked
        ? this.fail('WS_ERR_UNMASKED_FRAME', CloseCode.ProtocolError, '§5.1', 'a client frame was not masked')
        : this.fail('WS_ERR_MASKED_FRAME', CloseCode.ProtocolError, '§5.1', 'a server frame was masked');
    }
    if (control && !fin) {
      return this.fail('WS_ERR_CONTROL_FRAGMENTED', CloseCode.ProtocolError, '§5.5', 'a control frame was fragmented');
    }
    if (control && length7 > 125) {
      return this.fail('WS_ERR_CONTROL_TOO_LONG', CloseCode.ProtocolError, '§5.5', 'a control frame payload exceeds 125 bytes');
    }

    let length = length7;
    let at2 = at + 2;
    if (length7 === 126) {
      length = (bytes[at2]! << 8) | bytes[at2 + 1]!;
      at2 += 2;
      if (length < 126) return this.nonMinimal();
    } else if (length7 === 127) {
      const high = readUint32(bytes, at2);
      if (high >= 0x8000_0000) {
        return this.fail('WS_ERR_LENGTH_TOO_LARGE', CloseCode.ProtocolError, '§5.2', 'the most significant bit of a 64-bit length is set');
      }
      length = high * TWO_POW_32 + readUint32(bytes, at2 + 4);
      at2 += 8;
      if (length <= 0xffff) return this.nonMinimal();
    }

    if (!control) {
      if (opcode === Opcode.Continuation && !this.messageOpen) {
        return this.fail('WS_ERR_UNEXPECTED_CONTINUATION', CloseCode.ProtocolError, '§5.4', 'a continuation frame with no message in progress');
      }
      if (opcode !== Opcode.Continuation && this.messageOpen) {
        return this.fail('WS_ERR_EXPECTED_CONTINUATION', CloseCode.ProtocolError, '§5.4', 'a new data frame while a fragmented message is in progress');
      }
      const compressed = opcode === Opcode.Continuation ? this.messageCompressed : rsv1;
      const limit = compressed ? compressedBound(this.maxMessageSize) : this.maxMessageSize;
      if (length > limit - this.messageSize) return this.tooBig(compressed, limit);
      this.messageOpen = !fin;
      this.messageSize = fin ? 0 : this.messageSize + length;
      this.messageCompressed = compressed;
    }

    this.opcode = opcode;
    this.fin = fin;
    this.rsv1 = rsv1;
    this.masked = masked;
    this.payloadLength = length;
    if (masked) {
      this.k0 = bytes[at2]!;
      this.k1 = bytes[at2 + 1]!;
      this.k2 = bytes[at2 + 2]!;
      this.k3 = bytes[at2 + 3]!;
    }
    return true;
  }

  private nonMinimal(): false {
    return this.fail('WS_ERR_NON_MINIMAL_LENGTH', CloseCode.ProtocolError, '§5.2', 'the payload length was not encoded in the minimal number of bytes');
  }

  /** The header is read: emit the frame if its payload is in this chunk, else start assembling it. */
  private beginPayload(chunk: Uint8Array, pos: number): number {
    const length = this.payloadLength;
    const available = chunk.length - pos;
    if (length <= available) {
      const end = pos + length;
      const ascii = this.masked && (this.unmask(chunk, pos, end) & 0x8080_8080) === 0;
      if (this.borrowed) {
        const payload = length === 0 ? this.emptyPayload() : this.lendsFrame() ? this.payloadView(chunk, pos, end) : this.copyOf(chunk, pos, end);
        this.sink.onFrame(this.opcode, this.fin, this.rsv1, payload, ascii);
        return end;
      }
      if (this.messagesAt && this.isShortMessage(length, ascii)) {
        this.sink.onMessageAt!(this.opcode as 1 | 2, this.wordsOf(chunk), pos, length);
        return end;
      }
      this.sink.onFrame(this.opcode, this.fin, this.rsv1, length === 0 ? this.emptyPayload() : this.payloadView(chunk, pos, end), ascii);
      return end;
    }
    this.partialLendable = this.lendsFrame();
    const size = partialSize(length, available);
    this.partialStaged = isStaged(size, length);
    const partial = this.partialStaged ? takeStaging() : this.allocatePartial(size);
    if (partial === null) return chunk.length;
    this.partial = partial;
    this.partialFill = 0;
    // `pos` is past the header, at least one byte of which is in this chunk.
    this.receivedPart(partial, chunk.subarray(pos));
    return chunk.length;
  }

  /** A buffer for (part of) a split payload; out of memory, null, the connection failed (not the process). */
  private allocatePartial(size: number): Uint8Array | null {
    try {
      return this.partialLendable ? this.allocateLendable(size) : this.allocate(size);
    } catch {
      this.fail('WS_ERR_FRAME_TOO_BIG', CloseCode.MessageTooBig, '§7.4.1', `no memory for a payload of ${this.payloadLength} bytes`);
      return null;
    }
  }

  /** §7.4.1: the frame's header puts its message past the limit (compressed: past what any message within it deflates to). */
  private tooBig(compressed: boolean, limit: number): false {
    return this.fail(
      this.messageSize === 0 ? 'WS_ERR_FRAME_TOO_BIG' : 'WS_ERR_MESSAGE_TOO_BIG',
      CloseCode.MessageTooBig,
      '§7.4.1',
      compressed
        ? `compressed message payload over ${limit} bytes, more than a message within the limit of ${this.maxMessageSize} bytes deflates to`
        : `message payload over the limit of ${this.maxMessageSize} bytes`,
    );
  }

  /** The payload has moved out of its staging buffer, or the parser stopped: keep the buffer for reuse. */
  private releaseStaging(): void {
    if (!this.partialStaged) return;
    this.partialStaged = false;
    keepStaging(this.partial!);
  }

  private continuePayload(chunk: Uint8Array, pos: number): number {
    let partial = this.partial!;
    if (this.partialFill === partial.length) {
      const grown = this.allocatePartial(partialSize(this.payloadLength, this.partialFill));
      if (grown === null) return chunk.length;
      grown.set(partial);
      this.releaseStaging();
      this.partial = partial = grown;
    }
    const take = Math.min(partial.length - this.partialFill, chunk.length - pos);
    this.receivedPart(partial, pos === 0 && take === chunk.length ? chunk : chunk.subarray(pos, pos + take));
    // The sink may have stopped the parser on this piece (e.g. invalid UTF-8): emit nothing more.
    if (this.stopped) return chunk.length;
    if (this.partialFill === this.payloadLength) this.endPartial(partial);
    return pos + take;
  }

  /**
   * Where the host may write the next bytes of the payload being assembled itself (a read
   * straight into it, sparing the copy out of its read buffer), at most `maxLength` of them;
   * or null: no payload is split here, it is masked (its bytes are unmasked on the way in),
   * its buffer is full (it grows as its bytes come, from the next chunk pushed), or its
   * buffer is not the payload's alone (a staging buffer, reused by other connections once
   * the payload leaves it; a lendable one, which the host reuses). So a read the host aims
   * here and that lands after the parser stopped writes only memory no one else uses.
   * Write at most its length, then report them with {@link pushInPlace} before anything
   * else is pushed.
   */
  inPlaceTarget(maxLength = Number.POSITIVE_INFINITY): Uint8Array | null {
    const length = Math.min(this.inPlaceRoom, maxLength);
    return length > 0 ? this.partial!.subarray(this.partialFill, this.partialFill + length) : null;
  }

  /** The length of {@link inPlaceTarget}: 0 when there is none. */
  get inPlaceRoom(): number {
    const partial = this.partial;
    if (partial === null || this.masked || this.stopped || this.partialStaged || this.partialLendable) return 0;
    return partial.length - this.partialFill;
  }

  /** `count` bytes were written where {@link inPlaceTarget} said: take them as the payload's next. */
  pushInPlace(count: number): void {
    if (!(Number.isInteger(count) && count > 0 && count <= this.inPlaceRoom)) {
      throw new RangeError(`pushInPlace: ${count} bytes, where inPlaceTarget() offers ${this.inPlaceRoom}`);
    }
    const partial = this.partial!;
    this.reportPart(partial, this.partialFill, count);
    if (!this.stopped && this.partialFill === this.payloadLength) this.endPartial(partial);
  }

  /** The next `piece` of a split payload: copy it in at `partialFill`, unmasked, and report it. */
  private receivedPart(partial: Uint8Array, piece: Uint8Array): void {
    const from = this.partialFill;
    if (this.masked) {
      // Rotate the key so that its first byte applies to payload index `from`.
      const r = from & 3;
      copyMasked(piece, partial, from, this.keyByte(r), this.keyByte(r + 1), this.keyByte(r + 2), this.keyByte(r + 3));
    } else {
      partial.set(piece, from);
    }
    this.reportPart(partial, from, piece.length);
  }

  /** Bytes `from` to `from + count` of the split payload are in place: count them, report them. */
  private reportPart(partial: Uint8Array, from: number, count: number): void {
    this.partialFill = from + count;
    if (!isControlOpcode(this.opcode)) this.sink.onFramePart(this.opcode, this.rsv1, partial.subarray(from, from + count));
  }

  /** The split payload is whole: hand it out. */
  private endPartial(partial: Uint8Array): void {
    this.partial = null;
    this.sink.onFrame(this.opcode, this.fin, this.rsv1, partial, false);
  }

  private keyByte(index: number): number {
    switch (index & 3) {
      case 0:
        return this.k0;
      case 1:
        return this.k1;
      case 2:
        return this.k2;
      default:
        return this.k3;
    }
  }

  /**
   * §5.3, in place: short payloads byte by byte, mid-sized ones a word at a time through a
   * DataView of the chunk, long ones through SIMD (xorMask picks). Returns the unmasked bytes
   * ORed together where that comes free (under SIMD_MIN), else 0x80: bit 7 clear in every
   * byte of the result means the payload is ASCII.
   */
  private unmask(chunk: Uint8Array, start: number, end: number): number {
    const length = end - start;
    if (length < WORD_VIEW_MIN) return xorBytes(chunk, this.k0, this.k1, this.k2, this.k3, start, end);
    if (length < SIMD_MIN) return xorMaskWords(this.wordsOf(chunk), chunk, this.k0, this.k1, this.k2, this.k3, start, end);
    xorMask(chunk, this.k0, this.k1, this.k2, this.k3, start, end);
    return 0x80;
  }

  /** A DataView of the chunk being parsed, made at most once per chunk. */
  private wordsOf(chunk: Uint8Array): DataView {
    return (this.chunkWords ??= new DataView(this.bufferOf(chunk), this.chunkOffset, chunk.length));
  }

  /** Whether the frame just read, lying whole in a borrowed chunk, is lent as it lies: a whole uncompressed message. */
  private lendsFrame(): boolean {
    return this.lendPayloads && this.fin && !this.rsv1 && (this.opcode === Opcode.Text || this.opcode === Opcode.Binary);
  }

  /** Whether the frame just read is a whole short message that `onMessageAt` takes. */
  private isShortMessage(length: number, ascii: boolean): boolean {
    if (!this.fin || this.rsv1 || length === 0 || length >= SIMD_MIN) return false;
    return this.opcode === Opcode.Binary || (this.opcode === Opcode.Text && ascii);
  }

  /** The chunk's ArrayBuffer (and `chunkOffset`), read once per chunk: the getters go through the runtime. */
  private bufferOf(chunk: Uint8Array): ArrayBufferLike {
    if (this.chunkBuffer === null) {
      this.chunkBuffer = chunk.buffer;
      this.chunkOffset = chunk.byteOffset;
    }
    return this.chunkBuffer;
  }

  private copyOf(chunk: Uint8Array, start: number, end: number): Uint8Array {
    const copy = this.allocate(end - start);
    copy.set(chunk.subarray(start, end));
    return copy;
  }

  private emptyPayload(): Uint8Array {
    return (this.empty ??= this.view === null ? EMPTY : this.view(new ArrayBuffer(0), 0, 0));
  }

  private payloadView(chunk: Uint8Array, start: number, end: number): Uint8Array {
    if (this.view === null) return chunk.subarray(start, end);
    return this.view(this.bufferOf(chunk), this.chunkOffset + start, end - start);
  }

  private fail(code: ProtocolErrorCode, closeCode: number, section: string, message: string): false {
    this.stop();
    this.sink.onFrameError(new ProtocolError(code, closeCode, section.startsWith('RFC') ? section : `RFC 6455 ${section}`, message));
    return false;
  }
}

/**
 * The longest a message within `limit` bytes may be once deflated: what deflaters add around
 * incompressible data at worst (zlib's deflateBound for any of its settings, some 14 %, in
 * stored or fixed-code blocks), and room for the empty blocks a sender may end with. The limit
 * itself bounds the inflated size, checked while inflating (RFC 7692 §8.1, in the reader).
 */
function compressedBound(limit: number): number {
  return limit + Math.ceil(limit / 8) + Math.ceil(limit / 64) + 128;
}

/** Header size announced by the second header byte: 2, plus 2 or 8 length bytes, plus 4 mask bytes. */
function headerSize(secondByte: number): number {
  const length7 = secondByte & 0x7f;
  return 2 + (length7 === 126 ? 2 : length7 === 127 ? 8 : 0) + ((secondByte & 0x80) !== 0 ? 4 : 0);
}

function readUint32(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) >>> 0) + (bytes[at + 1]! << 16) + (bytes[at + 2]! << 8) + bytes[at + 3]!;
}

