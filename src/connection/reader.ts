/**
 * The receiving half of a connection for data messages (RFC 6455 §5.4, §5.6): it follows a
 * message across its frames, inflates compressed ones (RFC 7692), validates text as it
 * arrives (§8.1, failing on the first piece that makes it invalid), gathers fragments and
 * hands out whole messages — or each frame, in fragments mode. Control frames and the
 * state machine stay with the connection.
 * @module
 */
import { CloseCode } from '../frame/close-code.ts';
import { ProtocolError, type ProtocolErrorCode } from '../frame/errors.ts';
import { Opcode } from '../frame/opcode.ts';
import { isValidUtf8, Utf8Validator } from '../frame/utf8.ts';
import { MessageAssembler } from './assembler.ts';
import type { MessageCompression } from './compression.ts';
import type { ConnectionHandler } from './handler.ts';

/** Told when a message breaks a rule; the connection then fails (§7.1.7). */
export interface ReaderErrors {
  onFrameError(error: ProtocolError): void;
}

/** What the reader needs to know from the connection's options. */
export interface ReaderSettings {
  /** The current message size limit (it may change between messages). */
  readonly messageLimit: number;
  readonly allocate: (size: number) => Uint8Array;
  readonly fragments: boolean;
  readonly isUtf8: ((data: Uint8Array) => boolean) | null;
  readonly compression: MessageCompression | null;
}

const fatalDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const lenientDecoder = new TextDecoder('utf-8', { ignoreBOM: true });
const STREAM = { stream: true };
const FLUSH = { stream: false };

/** See the module comment. */
export class MessageReader {
  private readonly textAsBytes: boolean;
  private opcode = 0;
  private compressed = false;
  private inflatedBytes = 0;
  private assembler: MessageAssembler | null = null;
  private validator: Utf8Validator | null = null;
  private framePrevalidated = false;
  private streamDecoder: InstanceType<typeof TextDecoder> | null = null;

  constructor(
    private readonly errors: ReaderErrors,
    private readonly handler: ConnectionHandler,
    private readonly settings: ReaderSettings,
  ) {
    this.textAsBytes = typeof handler.onTextBytes === 'function';
  }

  /** A piece of a data frame still arriving: text is validated at once (§8.1 fail-fast). */
  part(opcode: number, rsv1: boolean, piece: Uint8Array): void {
    if (opcode !== Opcode.Continuation) {
      this.opcode = opcode;
      this.compressed = rsv1;
    }
    // Compressed text is validated after inflating, in `text`.
    if (this.opcode !== Opcode.Text || this.compressed) return;
    this.framePrevalidated = true;
    if (!(this.validator ??= new Utf8Validator(this.settings.isUtf8)).push(piece)) this.failInvalidText();
  }

  /**
   * A whole data frame: a message, or a fragment of one (§5.4). `ascii`: the decoder saw
   * every byte below 0x80 while unmasking.
   */
  data(opcode: number, fin: boolean, rsv1: boolean, payload: Uint8Array, ascii = false): void {
    const first = opcode !== Opcode.Continuation;
    if (first) {
      this.opcode = opcode;
      this.compressed = rsv1;
    }
    if (this.compressed) {
      const inflated = this.inflate(payload, fin);
      if (inflated === null) return;
      payload = inflated;
      ascii = false;
    }
    if (this.opcode === Opcode.Text) this.text(first, fin, payload, ascii);
    else if (this.settings.fragments || (first && fin)) this.handler.onBinary(payload, fin);
    else this.collect(fin, payload);
  }

  /** Bytes held for the message in progress (its fragments so far). */
  get heldBytes(): number {
    return this.assembler === null ? 0 : this.assembler.size;
  }

  /** The connection closed: drop the message in progress. */
  reset(): void {
    this.assembler = null;
    this.validator = null;
    this.streamDecoder = null;
  }

  private text(first: boolean, fin: boolean, payload: Uint8Array, ascii: boolean): void {
    const prevalidated = this.framePrevalidated;
    this.framePrevalidated = false;
    if (first && fin && !prevalidated) {
      // The common case, a whole message in one frame: one native pass validates it (and
      // decodes it, unless the host takes bytes). ASCII is valid UTF-8 (§8.1) as it stands.
      if (this.textAsBytes) {
        if (!ascii && !(this.settings.isUtf8 ?? isValidUtf8)(payload)) return this.failInvalidText();
        this.handler.onTextBytes!(payload, true);
        return;
      }
      const text = decodeStrict(payload);
      if (text === null) return this.failInvalidText();
      this.handler.onText(text, true);
      return;
    }
    const validator = (this.validator ??= new Utf8Validator(this.settings.isUtf8));
    if (!prevalidated && !validator.push(payload)) return this.failInvalidText();
    if (fin && !validator.finish()) return this.failInvalidText();
    if (fin) validator.reset();
    if (this.settings.fragments) {
      if (this.textAsBytes) {
        this.handler.onTextBytes!(payload, fin);
        return;
      }
      const decoder = (this.streamDecoder ??= new TextDecoder('utf-8', { ignoreBOM: true }));
      this.handler.onText(decoder.decode(payload, fin ? FLUSH : STREAM), fin);
      return;
    }
    const whole = this.collect(fin, payload);
    if (whole === null) return;
    if (this.textAsBytes) this.handler.onTextBytes!(whole, true);
    else this.handler.onText(lenientDecoder.decode(whole), true);
  }

  /**
   * RFC 7692 §7.2.2: decompress one frame of a compressed message. The max payload bounds
   * the decompressed size (1009), checked while inflating; bad DEFLATE data fails with 1007.
   */
  private inflate(payload: Uint8Array, fin: boolean): Uint8Array | null {
    const { compression, messageLimit } = this.settings;
    let inflated: Uint8Array | null;
    try {
      inflated = compression!.decompress(payload, fin, messageLimit - this.inflatedBytes);
    } catch {
      this.fail(CloseCode.InvalidPayload, 'WS_ERR_EXTENSION', 'RFC 7692 §7.2.2', 'a compressed message is not valid DEFLATE data');
      return null;
    }
    if (inflated === null) {
      this.fail(CloseCode.MessageTooBig, 'WS_ERR_MESSAGE_TOO_BIG', 'RFC 7692 §8.1', `decompressed message over the limit of ${messageLimit} bytes`);
      return null;
    }
    this.inflatedBytes = fin ? 0 : this.inflatedBytes + inflated.length;
    return inflated;
  }

  /** Gather the fragments of a message; returns the whole payload at the last one. */
  private collect(fin: boolean, payload: Uint8Array): Uint8Array | null {
    const assembler = (this.assembler ??= new MessageAssembler(this.settings.messageLimit, this.settings.allocate));
    assembler.add(payload);
    if (!fin) return null;
    const whole = assembler.finish();
    if (this.opcode === Opcode.Binary) this.handler.onBinary(whole, true);
    return whole;
  }

  private failInvalidText(): void {
    this.fail(CloseCode.InvalidPayload, 'WS_ERR_INVALID_UTF8', 'RFC 6455 §8.1', 'a text message is not valid UTF-8');
  }

  private fail(closeCode: number, code: ProtocolErrorCode, section: string, message: string): void {
    this.errors.onFrameError(new ProtocolError(code, closeCode, section, message));
  }
}

function decodeStrict(payload: Uint8Array): string | null {
  try {
    return fatalDecoder.decode(payload);
  } catch {
    return null;
  }
}
