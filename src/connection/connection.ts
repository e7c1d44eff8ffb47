/**
 * One endpoint of a WebSocket connection after the opening handshake, as a state machine
 * without I/O (the sans-I/O design of h11, wsproto and python-websockets): see
 * {@link Connection}. No timers, no sockets, no `node:` imports.
 * @module
 */
import { CloseCode, isValidCloseCode } from '../frame/close-code.ts';
import { FrameDecoder, type FrameSink, type PayloadView } from '../frame/decoder.ts';
import { ProtocolError } from '../frame/errors.ts';
import { Opcode } from '../frame/opcode.ts';
import { isValidUtf8, Utf8Validator } from '../frame/utf8.ts';
import type { MessageCompression } from './compression.ts';
import { checkCloseArguments, controlPayload, MAX_CLOSE_REASON, readCloseBody } from './control-frames.ts';
import { fragmentSequenceError, invalidArgument, UsageError } from './errors.ts';
import type { ConnectionHandler } from './handler.ts';
import { MessageReader } from './reader.ts';
import { PongQueue } from './pongs.ts';
import { FrameWriter } from './writer.ts';
import { ConnectionSettings, type ConnectionOptions } from './options.ts';

export { checkCloseArguments } from './control-frames.ts';
export { DEFAULT_MAX_QUEUED_PONGS } from './pongs.ts';
export { ConnectionSettings, DEFAULT_MAX_PAYLOAD, type ConnectionOptions } from './options.ts';

/** Which end of the connection this is: clients mask what they send, servers must not (§5.1). */
export type Role = 'client' | 'server';

/** The states of RFC 6455 §4.1 and §7 after the handshake. */
export type ConnectionState = 'OPEN' | 'CLOSING' | 'CLOSED';

const EMPTY = new Uint8Array(0);
const encoder = new TextEncoder();

/**
 * One endpoint of a WebSocket connection after the opening handshake, without I/O.
 *
 * - **In:** `receive(bytes)` with what arrives (in any cuts, down to single bytes); the
 *   {@link ConnectionHandler} hears of messages, pings, pongs, the peer's close and protocol
 *   errors before it returns. A handler that throws fails the connection (1011) and the
 *   error comes out of `receive`.
 * - **Out:** after any call, `receive` included (pongs, close replies and the close of a
 *   failure are queued there), take `outgoingBytes > 0` as the cue to call `takeOutgoing`
 *   and write its chunks, in order. A chunk may be a payload passed to `sendBinary` (or a
 *   message or frame) as it is, without a copy: such bytes must not change until the
 *   transport has written them. The rest lies in memory no later call writes again.
 * - **States** (RFC 6455 §4.1, §7): OPEN → CLOSING (our close frame sent, theirs awaited)
 *   → CLOSED (both exchanged, or the connection failed). Once CLOSED nothing more is sent
 *   or delivered; with `transportShouldClose` the host ends the transport now (a server
 *   first, §7.1.1), else it waits for the peer to. If the transport ends before CLOSED,
 *   the connection closed abnormally: code 1006 (§7.1.5), for the host to report.
 *
 * It is its decoder's {@link FrameSink}; that part is internal, so no `implements` clause
 * names it in the published declarations (the decoder's constructor checks the fit).
 */
export class Connection {
  /** This endpoint's role. */
  readonly role: Role;
  private readonly handler: ConnectionHandler;
  // Held mid-frame or mid-message only: between them the decoder goes back to the resting
  // ones, which any connection takes its next bytes to (an idle connection holds none).
  private decoder: FrameDecoder | null = null;
  // A client's is made at once and kept (it sends its frames masked, with a key source of its
  // own); a server's is taken when it queues a frame and given back once its output is taken
  // (`FrameWriter.take` / `rest`), so that an idle one holds none.
  private madeWriter: FrameWriter | null;
  /** @internal Limits and hooks: often shared with other connections (see {@link ConnectionSettings}). */
  readonly settings: ConnectionSettings;
  private currentState: ConnectionState = 'OPEN';

  /** Messages in the making: made at the first data frame that needs one (short whole messages do not). */
  private reader: MessageReader | null = null;
  /** @internal The current message size limit: `maxPayload`, or less (`setMessageLimit`). */
  messageLimit: number;

  // The data message being sent with `sendFrame` (§5.4): its opcode, 0 when none is open.
  private outgoingMessage = 0;
  // The UTF-8 of a text message sent with `sendFrame` (§8.1): made at the first such frame.
  private outgoingText: Utf8Validator | null = null;
  /** How the connection closes: made at the first close frame sent or received, or a failure. */
  private closing: ClosingRecord | null = null;
  /** Within `receive`: a handler that feeds the next bytes from there would cut into the frame being parsed. */
  private receiving = false;
  /** Pongs owed or held back: made at the first ping, or the first hold. */
  private pongs: PongQueue | null = null;

  /**
   * `options`: plain options, or {@link ConnectionSettings} shared with other connections.
   * @throws {RangeError} for options out of range (see {@link ConnectionSettings}).
   */
  constructor(role: Role, handler: ConnectionHandler, options: ConnectionOptions | ConnectionSettings = {}) {
    if (role !== 'client' && role !== 'server') throw new TypeError(`role must be 'client' or 'server', got ${String(role)}`);
    this.role = role;
    this.handler = handler;
    const settings = options instanceof ConnectionSettings ? options : new ConnectionSettings(options);
    this.settings = settings;
    this.messageLimit = settings.maxPayload;
    this.madeWriter = role === 'client' ? new FrameWriter(true, settings.randomFill, settings.compression, settings.allocate, settings.view) : null;
  }

  /** @internal The permessage-deflate codec, if negotiated. */
  get compression(): MessageCompression | null {
    return this.settings.compression;
  }

  /** @internal Where message payloads are allocated (the decoder's and the message reader's option). */
  get allocate(): (size: number) => Uint8Array {
    return this.settings.allocate;
  }

  /** @internal Where a split message that may be lent is assembled (see `receiveBorrowed`). */
  get allocateLendable(): ((size: number) => Uint8Array) | undefined {
    return this.settings.allocateLendable;
  }

  /** @internal How payload views are made. */
  get view(): PayloadView | undefined {
    return this.settings.view;
  }

  /** @internal Data frames go to the handler one by one (the message reader's option). */
  get fragments(): boolean {
    return this.settings.fragments;
  }

  /** @internal The UTF-8 check, if not the built-in one (the message reader's option). */
  get isUtf8(): ((data: Uint8Array) => boolean) | null {
    return this.settings.isUtf8;
  }

  /** Input ended: a close frame came (§5.5.1: nothing after it is data) or the connection closed. */
  private get inputEnded(): boolean {
    return this.currentState === 'CLOSED' || (this.closing !== null && this.closing.codeReceived !== null);
  }

  private closingRecord(): ClosingRecord {
    return (this.closing ??= new ClosingRecord());
  }

  // The connection is its decoder's options too (`FrameDecoderOptions`): no object of its own.

  /** @internal A server expects masked frames (§5.1). */
  get expectMasked(): boolean {
    return this.role === 'server';
  }

  /** @internal The message size limit for the decoder. */
  get maxMessageSize(): number {
    return this.messageLimit;
  }

  /** @internal RSV1 is allowed once an extension that uses it was negotiated. */
  get allowRsv1(): boolean {
    return this.compression !== null;
  }

  /** @internal Whole short messages go to the handler by place, if it takes them so. */
  get messagesAt(): boolean {
    return typeof this.handler.onMessageAt === 'function';
  }

  /** A decoder for the bytes that come: the one held mid-frame, else a resting one bound to this connection. */
  private takeDecoder(): FrameDecoder {
    return (this.decoder ??= FrameDecoder.take(this, this));
  }

  /** After a chunk: a decoder between frames goes back to rest; a stopped one is dropped. */
  private releaseDecoder(decoder: FrameDecoder): void {
    if (decoder.atRest) {
      this.decoder = null;
      FrameDecoder.rest(decoder);
    } else if (decoder.isStopped) {
      this.decoder = null;
    }
  }

  /** OPEN, CLOSING (our close sent) or CLOSED. */
  get state(): ConnectionState {
    return this.currentState;
  }

  /** The close code the peer sent (1005 if its close frame had none), or null before its close frame. */
  get remoteCloseCode(): number | null {
    return this.closing === null ? null : this.closing.codeReceived;
  }

  /** The close reason the peer sent ('' if none). */
  get remoteCloseReason(): string {
    return this.closing === null ? '' : this.closing.reasonReceived;
  }

  /** The close code this endpoint sent (null if none yet; 1005 if its close frame had none). */
  get localCloseCode(): number | null {
    return this.closing === null ? null : this.closing.codeSent;
  }

  /** The peer's protocol violation that failed the connection, if any. */
  get error(): ProtocolError | null {
    return this.closing === null ? null : this.closing.failure;
  }

  /**
   * Whether the caller should now end the TCP connection once the outgoing bytes are
   * written: after the closing handshake on a server (§7.1.1: the server closes first), and
   * on either side after a failure or an `abort` (§7.1.7). A client whose handshake completed normally
   * waits for the server to close, with a timeout of the caller's choosing.
   */
  get transportShouldClose(): boolean {
    const closing = this.closing;
    return this.currentState === 'CLOSED' && (this.role === 'server' || (closing !== null && (closing.failure !== null || closing.aborted)));
  }

  /** Number of bytes queued and not yet taken. */
  get outgoingBytes(): number {
    return this.madeWriter === null ? 0 : this.madeWriter.size;
  }

  private get writer(): FrameWriter {
    const settings = this.settings;
    return (this.madeWriter ??= FrameWriter.take(settings.compression, settings.allocate, settings.view));
  }

  /** Length of the frame payload being assembled across chunks; 0 between frames. */
  get splitFrameLength(): number {
    return this.decoder === null ? 0 : this.decoder.splitPayloadLength;
  }

  /** Bytes held for received data not yet delivered: a frame split across chunks, a message's fragments. */
  get incomingBytes(): number {
    return (this.decoder === null ? 0 : this.decoder.bufferedBytes) + (this.reader === null ? 0 : this.reader.heldBytes);
  }

  /**
   * Lower (or restore) the size limit for messages, never above `maxPayload`: a host that
   * bounds the connection's whole memory passes what its budget has left. It applies from
   * the next data frame's header on, to the message in progress too (its size so far and
   * that frame's together): a message past it fails with 1009, decided from a header; a
   * compressed one, while inflating.
   */
  setMessageLimit(bytes: number): void {
    // NaN (a budget worked out from something undefined) is no room, not no limit.
    const limit = bytes >= 0 ? Math.min(bytes, this.settings.maxPayload) : 0;
    this.decoder?.setMaxMessageSize(limit);
    this.messageLimit = limit;
  }

  /**
   * Hold the answers to pings (`true`) while the host's send buffer is backed up, until
   * released (`false`): meanwhile only the latest ping is remembered, and its pong is queued
   * at the first `takeOutgoing` after the release (§5.5.2 asks for it "as soon as is
   * practical"; §5.5.3 lets it answer only the latest). A peer that pings without reading
   * our output then cannot make it grow. See {@link Connection.pongOwed}.
   */
  holdPongs(held: boolean): void {
    if (held) this.pongQueue().hold(true);
    else this.pongs?.hold(false);
  }

  private pongQueue(): PongQueue {
    return (this.pongs ??= new PongQueue(this, this.settings.maxQueuedPongs));
  }

  /** @internal The pong queue's output (`PongOutput`): a pong frame, queued as it is. */
  queuePong(payload: Uint8Array): void {
    this.writer.frame(Opcode.Pong, true, payload);
  }

  /** Whether a pong is kept back (held, or past `maxQueuedPongs`): the next `takeOutgoing` after a release queues it. */
  get pongOwed(): boolean {
    return this.pongs !== null && this.pongs.owed;
  }

  /** The bytes to send, in order, as chunks for one vectored write; the queue is then empty. */
  takeOutgoing(): Uint8Array[] {
    this.pongs?.flush(this.currentState === 'OPEN');
    const writer = this.madeWriter;
    if (writer === null) return [];
    const chunks = writer.take();
    this.restWriter(writer);
    return chunks;
  }

  /**
   * `takeOutgoing` without an array per call: the chunks go into `target` from index 0 (its
   * later slots are left alone) and their count is returned. For hosts that write often.
   */
  takeOutgoingInto(target: Uint8Array[]): number {
    this.pongs?.flush(this.currentState === 'OPEN');
    const writer = this.madeWriter;
    if (writer === null) return 0;
    const count = writer.takeInto(target);
    this.restWriter(writer);
    return count;
  }

  /** Its output taken, a server's writer goes back to rest (a client keeps its own). */
  private restWriter(writer: FrameWriter): void {
    if (this.role !== 'server') return;
    this.madeWriter = null;
    FrameWriter.rest(writer);
  }

  /**
   * Feed bytes received from the peer; events are reported to the handler before this
   * returns. Takes ownership of `chunk`: payloads handed out are views of it, unmasked in place.
   */
  receive(chunk: Uint8Array): void {
    this.enterReceive('receive', chunk);
    if (this.inputEnded) return void (this.receiving = false);
    const decoder = this.takeDecoder();
    try {
      decoder.push(chunk);
    } catch (error) {
      this.failOnThrow(error);
    } finally {
      this.receiving = false;
      this.releaseDecoder(decoder);
    }
  }

  /**
   * Feed bytes that are only lent for the call (a read buffer the host reuses): they are
   * unmasked in place, and everything handed out is copied from them. With `lendMessages`,
   * a whole message in one uncompressed frame goes to the handler as a view of `chunk`
   * instead (or, split across chunks, in a buffer from `allocateLendable`), for a handler
   * done with it (or that copied it) when this call returns.
   */
  receiveBorrowed(chunk: Uint8Array, lendMessages = false): void {
    this.enterReceive('receiveBorrowed', chunk);
    if (this.inputEnded) return void (this.receiving = false);
    const decoder = this.takeDecoder();
    try {
      decoder.pushBorrowed(chunk, lendMessages);
    } catch (error) {
      this.failOnThrow(error);
    } finally {
      this.receiving = false;
      this.releaseDecoder(decoder);
    }
  }

  /**
   * Where the next bytes received may be written in place (a read straight into it), or
   * null. Only the rest of an unmasked payload split across chunks can go there (a client's
   * reading a long message); written, they are fed with {@link receiveInPlace}. Each call
   * makes a new view, of at most `maxLength` bytes: ask again before each write.
   */
  receiveTarget(maxLength = Number.POSITIVE_INFINITY): Uint8Array | null {
    const decoder = this.decoder;
    if (decoder === null || this.receiving || this.inputEnded) return null;
    return decoder.inPlaceTarget(maxLength);
  }

  /**
   * Feed `count` bytes the host wrote at the start of the view {@link receiveTarget} gave,
   * with nothing fed in between. Events are reported as by {@link receive}.
   */
  receiveInPlace(count: number): void {
    this.enterParse('receiveInPlace');
    if (this.inputEnded) return void (this.receiving = false);
    const decoder = this.decoder;
    const room = decoder === null ? 0 : decoder.inPlaceRoom;
    if (!(Number.isInteger(count) && count > 0 && count <= room)) {
      this.receiving = false;
      throw new RangeError(`receiveInPlace: ${String(count)} bytes, where receiveTarget() offers ${room}`);
    }
    try {
      decoder!.pushInPlace(count);
    } catch (error) {
      this.failOnThrow(error);
    } finally {
      this.receiving = false;
      this.releaseDecoder(decoder!);
    }
  }

  /**
   * Refuse, before anything changes, what is not bytes (an `ArrayBuffer` would be read as
   * empty and lost) and a call from a handler within `receive`: the chunk being parsed may
   * end inside a header, which the nested call would take for the start of a frame.
   */
  private enterReceive(call: string, chunk: Uint8Array): void {
    if (!(chunk instanceof Uint8Array)) throw invalidArgument(call, 'the chunk', 'a Uint8Array', chunk);
    this.enterParse(call);
  }

  /** Refuse a call from a handler within a parse (see {@link enterReceive}); else the parse begins. */
  private enterParse(call: string): void {
    if (this.receiving) {
      throw new UsageError('WS_ERR_REENTRANT', `${call} was called from a handler while a chunk is parsed: feed the next bytes after it returns`);
    }
    this.receiving = true;
  }

  /**
   * A handler threw while a chunk was parsed: the rest of the chunk is lost and the parser
   * may be out of step with the frames, so the connection fails with 1011 (§7.4.1) before
   * the error goes on to the host, which should then end the transport.
   */
  private failOnThrow(error: unknown): never {
    this.abort(CloseCode.InternalError, '');
    throw error;
  }

  // ——— Receiving (FrameSink) ———

  /** @internal Called by the frame decoder. */
  onFrame(opcode: number, fin: boolean, rsv1: boolean, payload: Uint8Array, ascii: boolean): void {
    switch (opcode) {
      case Opcode.Ping:
        // §5.5.2: answer with a pong carrying the same payload, unless our close is sent.
        if (this.currentState === 'OPEN') this.pongQueue().answer(payload);
        this.handler.onPing(payload);
        return;
      case Opcode.Pong:
        // §5.5.3: a pong may be unsolicited; it needs no answer.
        this.handler.onPong(payload);
        return;
      case Opcode.Close:
        this.receiveClose(payload);
        return;
      default:
        this.messageReader().data(opcode, fin, rsv1, payload, ascii);
    }
  }

  /** @internal Called by the frame decoder for whole short messages, when the handler takes them so. */
  onMessageAt(opcode: 1 | 2, chunk: DataView, start: number, length: number): void {
    this.handler.onMessageAt!(opcode, chunk, start, length);
  }

  /** @internal Called by the frame decoder for data frames that span chunks. */
  onFramePart(opcode: number, rsv1: boolean, piece: Uint8Array): void {
    this.messageReader().part(opcode, rsv1, piece);
  }

  /** @internal Called by the frame decoder, and by the message reader for a message that breaks a rule. */
  onFrameError(error: ProtocolError): void {
    this.failWith(error);
  }

  private receiveClose(payload: Uint8Array): void {
    const body = readCloseBody(payload, this.settings.isUtf8 ?? isValidUtf8);
    if (body instanceof ProtocolError) return this.failWith(body);
    const { code, reason } = body;
    const closing = this.closingRecord();
    closing.codeReceived = code;
    closing.reasonReceived = reason;
    if (this.currentState === 'OPEN' && this.settings.deferCloseReply) {
      // Nothing more is delivered after the close (§5.5.1); the answer waits for the caller.
      closing.replyOwed = true;
      this.stopInput();
      this.handler.onClose(code, reason);
      return;
    }
    if (this.currentState === 'OPEN') this.writeCloseReply();
    this.enterClosed();
    this.handler.onClose(code, reason);
  }

  /** Whether the peer's close frame came and our answer is still owed (`deferCloseReply`). */
  get awaitingCloseReply(): boolean {
    return this.closing !== null && this.closing.replyOwed;
  }

  /** Send the close answer owed under `deferCloseReply`, echoing the peer's code; then CLOSED. */
  replyToClose(): void {
    if (!this.awaitingCloseReply) return;
    this.closing!.replyOwed = false;
    this.writeCloseReply();
    this.enterClosed();
  }

  /** §5.5.1: answer a close with a close, echoing the peer's code (1000 if it gave none). */
  private writeCloseReply(): void {
    const code = this.closing!.codeReceived!;
    this.writeClose(code === CloseCode.NoStatusReceived ? CloseCode.Normal : code, EMPTY);
  }

  /** Fail the connection because of the peer (§7.1.7): send a close with the error's code, then CLOSED. */
  private failWith(error: ProtocolError): void {
    if (this.currentState === 'CLOSED') return;
    this.closingRecord().failure = error;
    if (this.currentState === 'OPEN') this.writeClose(error.closeCode, EMPTY);
    this.enterClosed();
    this.handler.onError(error);
  }

  /**
   * The transport ended. Before CLOSED this is an abnormal closure (1006, §7.1.5): the
   * connection enters CLOSED, sends and delivers nothing more, and releases its compression.
   * Whatever was queued and not taken is dropped (`outgoingBytes` reads 0): nothing can write it.
   */
  transportClosed(): void {
    const writer = this.madeWriter;
    if (writer !== null && writer.size > 0) {
      writer.discard();
      this.restWriter(writer);
    }
    if (this.currentState === 'CLOSED') return;
    if (this.closing !== null) this.closing.replyOwed = false;
    this.enterClosed();
  }

  private messageReader(): MessageReader {
    // The connection is the reader's settings too: no object of its own per connection.
    return (this.reader ??= new MessageReader(this, this.handler, this));
  }

  /** Parse nothing more: the rest of a chunk being parsed included. */
  private stopInput(): void {
    this.decoder?.stop();
  }

  private enterClosed(): void {
    this.currentState = 'CLOSED';
    this.stopInput();
    this.reader?.reset();
    this.settings.compression?.dispose();
  }

  // ——— Sending ———

  /** Queue a text message, in frames of at most `fragmentSize` payload bytes if given. */
  sendText(text: string, fragmentSize?: number): void {
    this.assertOpen();
    if (this.outgoingMessage !== 0) throw fragmentSequenceError();
    if (typeof text !== 'string') throw invalidArgument('sendText', 'the text', 'a string', text);
    if (fragmentSize === undefined) this.writer.text(text);
    else this.sendFragmented(Opcode.Text, encoder.encode(text), fragmentSize);
  }

  /** Queue a binary message, in frames of at most `fragmentSize` bytes if given. The data must not change until written (see the class). */
  sendBinary(data: Uint8Array, fragmentSize?: number): void {
    this.queueMessage('sendBinary', Opcode.Binary, data, fragmentSize);
  }

  /**
   * Queue a whole message whose bytes are at hand: `opcode` Text (the bytes must be valid
   * UTF-8 — e.g. a text message received and relayed as it is) or Binary.
   */
  sendMessage(opcode: typeof Opcode.Text | typeof Opcode.Binary, data: Uint8Array, fragmentSize?: number): void {
    this.queueMessage('sendMessage', opcode, data, fragmentSize);
  }

  /** A whole message's bytes, checked for `call` (which the errors name). */
  private queueMessage(call: string, opcode: number, data: Uint8Array, fragmentSize: number | undefined): void {
    this.assertMessageStart(call, opcode);
    if (!(data instanceof Uint8Array)) throw invalidArgument(call, 'the data', 'a Uint8Array', data);
    if (fragmentSize === undefined) this.writer.message(opcode, data, undefined);
    else this.sendFragmented(opcode, data, fragmentSize);
  }

  /**
   * A message in frames of at most `fragmentSize` bytes. One that fails after its first
   * frame is queued (the client's entropy source, say) has left the wire mid-message, which
   * nothing else may follow (§5.4): the connection fails (1011, §7.1.7).
   */
  private sendFragmented(opcode: number, data: Uint8Array, fragmentSize: number): void {
    const queued = this.writer.size;
    try {
      this.writer.message(opcode, data, fragmentSize);
    } catch (error) {
      if (this.writer.size !== queued) this.abort(CloseCode.InternalError, '');
      throw error;
    }
  }

  /**
   * Queue a whole message whose payload is `length` bytes of `chunk` from `start`: one that
   * `onMessageAt` reported, relayed as it is (text is known to be valid UTF-8).
   */
  sendMessageAt(opcode: typeof Opcode.Text | typeof Opcode.Binary, chunk: DataView, start: number, length: number): void {
    this.assertMessageStart('sendMessageAt', opcode);
    if (!(chunk instanceof DataView)) throw invalidArgument('sendMessageAt', 'the chunk', 'a DataView', chunk);
    this.writer.messageAt(opcode, chunk, start, length);
  }

  /**
   * Queue a whole message framed once for many connections (a broadcast): `frame` is
   * `payload` behind an unmasked header with no RSV bit, as a server sends it. It is queued
   * as it is, shared, unless this connection must frame it itself: a client masks (§5.3), and
   * a message the extension compresses carries RSV1 (RFC 7692 §6).
   */
  sendFramed(opcode: typeof Opcode.Text | typeof Opcode.Binary, frame: Uint8Array, payload: Uint8Array): void {
    this.assertMessageStart('sendFramed', opcode);
    if (!(frame instanceof Uint8Array && payload instanceof Uint8Array)) {
      throw invalidArgument('sendFramed', 'the frame and payload', 'Uint8Arrays', frame instanceof Uint8Array ? payload : frame);
    }
    this.writer.framed(opcode, frame, payload);
  }

  /**
   * Queue one data frame of a message sent piece by piece (§5.4): the first frame with
   * opcode Text or Binary, the rest with Continuation, the last with `fin` true. Control
   * frames may be sent in between; other messages may not. A text message's frames must
   * make UTF-8 together (§8.1); each may cut a code point. One that breaks either rule
   * throws a UsageError and is not sent.
   */
  sendFrame(opcode: number, data: Uint8Array | string, fin: boolean): void {
    this.assertOpen();
    if (opcode === Opcode.Text || opcode === Opcode.Binary) {
      if (this.outgoingMessage !== 0) throw fragmentSequenceError();
    } else if (opcode === Opcode.Continuation) {
      if (this.outgoingMessage === 0) throw fragmentSequenceError();
    } else {
      throw new UsageError('WS_ERR_INVALID_OPCODE', `sendFrame sends data frames; opcode ${opcode} is not one (use sendPing, sendPong, close)`);
    }
    if (typeof data !== 'string' && !(data instanceof Uint8Array)) throw invalidArgument('sendFrame', 'the data', 'a string or a Uint8Array', data);
    const payload = typeof data === 'string' ? encoder.encode(data) : data;
    const text = opcode === Opcode.Text || this.outgoingMessage === Opcode.Text ? (this.outgoingText ??= new Utf8Validator(this.settings.isUtf8)) : null;
    // Only once the frame is queued does the sequence move on: one that could not be (its
    // text invalid, its mask key not drawn) leaves it, and the text seen so far, as it was.
    const before = text === null ? 0 : text.position;
    try {
      if (text !== null) checkOutgoingText(text, opcode === Opcode.Text, payload, fin);
      this.writer.frame(opcode, fin, payload);
    } catch (error) {
      text?.rewind(before);
      throw error;
    }
    if (fin) this.outgoingMessage = 0;
    else if (opcode !== Opcode.Continuation) this.outgoingMessage = opcode;
  }

  /** Queue a ping (§5.5.2) with at most 125 bytes of payload. */
  sendPing(payload: Uint8Array | string = EMPTY): void {
    this.assertOpen();
    this.writer.frame(Opcode.Ping, true, controlPayload('sendPing', payload));
  }

  /** Queue an unsolicited pong (§5.5.3), e.g. a unidirectional heartbeat. */
  sendPong(payload: Uint8Array | string = EMPTY): void {
    this.assertOpen();
    this.writer.frame(Opcode.Pong, true, controlPayload('sendPong', payload));
  }

  /**
   * Start the closing handshake (§7.1.2): queue a close frame and enter CLOSING. Without a
   * code the frame has an empty body. A code must be one that may be sent (§7.4) and the
   * reason at most 123 bytes of UTF-8. Does nothing once our close is sent.
   */
  close(code?: number, reason = ''): void {
    if (this.currentState !== 'OPEN') return;
    this.writeClose(code ?? null, checkCloseArguments(code, reason));
    if (this.awaitingCloseReply) {
      // The peer closed first and this close is the answer: the handshake is complete.
      this.closing!.replyOwed = false;
      this.enterClosed();
      return;
    }
    this.currentState = 'CLOSING';
  }

  /**
   * Fail the connection from this side (§7.1.7), e.g. 1011 when the application crashed or
   * 1008 for a policy: queue a close frame with `code` if ours is not sent yet, and enter
   * CLOSED. The caller then ends the transport. Failing must not fail: a `code` that may not
   * be sent (§7.4) goes out as 1011, and a reason over 123 bytes is left out.
   */
  abort(code: number = CloseCode.InternalError, reason = ''): void {
    if (this.currentState === 'CLOSED') return;
    if (this.currentState === 'OPEN') {
      const reasonBytes = typeof reason === 'string' ? encoder.encode(reason) : EMPTY;
      try {
        this.writeClose(isValidCloseCode(code) ? code : CloseCode.InternalError, reasonBytes.length <= MAX_CLOSE_REASON ? reasonBytes : EMPTY);
      } catch {
        // The close frame could not be made (a client's entropy source failed): failed without it.
      }
    }
    const closing = this.closingRecord();
    closing.aborted = true;
    closing.replyOwed = false;
    this.enterClosed();
  }

  private writeClose(code: number | null, reason: Uint8Array): void {
    this.pongs?.flushBeforeClose(); // a pong still owed goes before our close, after which nothing may follow
    this.writer.close(code, reason);
    this.closingRecord().codeSent = code ?? CloseCode.NoStatusReceived;
  }

  /** A whole message may start: the connection is open, no fragmented one is under way, the opcode is data. */
  private assertMessageStart(call: string, opcode: number): void {
    this.assertOpen();
    if (this.outgoingMessage !== 0) throw fragmentSequenceError();
    if (opcode !== Opcode.Text && opcode !== Opcode.Binary) {
      throw new UsageError('WS_ERR_INVALID_OPCODE', `${call} sends whole messages, Text (1) or Binary (2); opcode ${opcode} is not one`);
    }
  }

  private assertOpen(): void {
    if (this.currentState !== 'OPEN') {
      throw new UsageError('WS_ERR_NOT_OPEN', `cannot send: the connection is ${this.currentState} (RFC 6455 §5.5.1: nothing follows a close frame)`);
    }
  }
}

/** What a connection knows of its closing (§7): made once a close frame is sent or received, or it fails. */
class ClosingRecord {
  codeReceived: number | null = null;
  reasonReceived = '';
  codeSent: number | null = null;
  failure: ProtocolError | null = null;
  /** The peer's close came under `deferCloseReply`, and our answer is still to be sent. */
  replyOwed = false;
  /** `abort` failed the connection from this side (§7.1.7). */
  aborted = false;
}

/**
 * §5.6, §8.1: a text message is UTF-8 as a whole; its frames may cut a code point. Feeds
 * `validator` the frame's bytes, or throws a UsageError for a frame that makes it invalid.
 */
function checkOutgoingText(validator: Utf8Validator, first: boolean, payload: Uint8Array, fin: boolean): void {
  if (first) validator.reset();
  if (validator.push(payload) && (!fin || validator.finish())) return;
  const where = fin ? 'ends a text message that is not' : 'makes a text message no longer';
  throw new UsageError('WS_ERR_INVALID_UTF8', `sendFrame: this frame ${where} valid UTF-8 (RFC 6455 §5.6, §8.1)`);
}
