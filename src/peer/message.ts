/**
 * Messages as a peer hands them out: text is kept as its validated UTF-8 bytes and decoded
 * only when `data` is first read, so a message that is relayed, counted or dropped never
 * pays for a string, and one relayed with `send`/`write` is not encoded again. A short whole
 * message is kept as its place in the received chunk: its Buffer is made when `data` is first
 * read, and a relayed one is copied from the chunk without one.
 * @module
 */
import type { Connection } from '../connection/connection.ts';
import { allocateUnpooled, bufferView } from './buffers.ts';
import { MessageExpiredError } from './errors.ts';

/**
 * A message (or, with the `fragments` option, one data frame) read from a peer. Its `opcode`
 * tells what `data` is: `if (message.opcode === Opcode.Text)` narrows `data` to a string.
 */
export type Message = TextMessage | BinaryMessage | ContinuationFrame;

/** The fields every {@link Message} has. */
interface MessageFields {
  /** 1 text, 2 binary; 0 for the later frames of a message read in fragments mode (§5.4). */
  readonly opcode: 0 | 1 | 2;
  /** True on a whole message, and on the last frame of a message read in fragments. */
  readonly fin: boolean;
  /** A string for text, bytes for binary. Bytes may be a view of the received data. */
  readonly data: string | Uint8Array;
}

/** A text message, or the first frame of one read in fragments mode. */
export interface TextMessage extends MessageFields {
  /** Text (§5.6). */
  readonly opcode: 1;
  /** The text, decoded from UTF-8 that was checked on arrival (§8.1). */
  readonly data: string;
}

/** A binary message, or the first frame of one read in fragments mode. */
export interface BinaryMessage extends MessageFields {
  /** Binary (§5.6). */
  readonly opcode: 2;
  /** The bytes; they may be a view of the received data. */
  readonly data: Uint8Array;
}

/**
 * A later frame of a message read in fragments mode (§5.4): a string if the message is text,
 * bytes if it is binary, as its first frame was.
 */
export interface ContinuationFrame extends MessageFields {
  /** Continuation (§5.4). */
  readonly opcode: 0;
}

const decoder = new TextDecoder('utf-8', { ignoreBOM: true });

/** A queued payload may keep this many bytes of its chunk beyond twice its size before it is copied out. */
const COMPACT_SLACK = 256;

/** Bits of `ReceivedMessage.flags` above the opcode (which takes the low two). */
const FIN = 4;
const TEXT = 8;
// Lent to a callback that has returned: its bytes may have been overwritten since.
const EXPIRED = 16;

/**
 * A received message as the peer keeps it and as the application sees it: the class, whose
 * `data` is text exactly when its `opcode` (or its first frame's) is text, which only the
 * factories can tell the type checker.
 */
export type Received = ReceivedMessage & Message;

/**
 * The peer's implementation of {@link Message}. One is made per message on the hot path,
 * so it is kept small: opcode, `fin` and the text flag share one field.
 */
export class ReceivedMessage implements MessageFields {
  private flags: number;
  private text: string | null;
  private payload: Uint8Array | null;
  // Where the payload lies when it has no view yet: a DataView of the received chunk.
  private chunk: DataView | null;
  private readonly start: number;
  /** @internal The payload's length in bytes. */
  readonly size: number;

  /**
   * `payload`: the payload (for text, UTF-8 already validated), or null when it is
   * `size` bytes of `chunk` from `start`; `text`: the decoded text if it is already known
   * (pieces decoded in stream), else null for text not decoded yet.
   */
  private constructor(
    opcode: 0 | 1 | 2,
    fin: boolean,
    payload: Uint8Array | null,
    isText: boolean,
    text: string | null,
    chunk: DataView | null,
    start: number,
    size: number,
  ) {
    this.flags = opcode | (fin ? FIN : 0) | (isText ? TEXT : 0);
    this.text = text;
    this.payload = payload;
    this.chunk = chunk;
    this.start = start;
    this.size = size;
  }

  /** A message whose payload is at hand. */
  static of(opcode: 0 | 1 | 2, fin: boolean, payload: Uint8Array, isText: boolean, text: string | null): Received {
    return new ReceivedMessage(opcode, fin, payload, isText, text, null, 0, payload.length) as Received;
  }

  /** A whole message that is still `size` bytes of `chunk` from `start`. */
  static at(opcode: 1 | 2, chunk: DataView, start: number, size: number): Received {
    return new ReceivedMessage(opcode, true, null, opcode === 1, null, chunk, start, size) as Received;
  }

  /** @internal The payload as received (a Buffer over the chunk, made on first use). */
  get bytes(): Uint8Array {
    if ((this.flags & EXPIRED) !== 0) throw new MessageExpiredError();
    const chunk = this.chunk;
    return (this.payload ??= bufferView(chunk!.buffer, chunk!.byteOffset + this.start, this.size));
  }

  /** See {@link Message.opcode}. */
  get opcode(): 0 | 1 | 2 {
    return (this.flags & 3) as 0 | 1 | 2;
  }

  /** See {@link Message.fin}. */
  get fin(): boolean {
    return (this.flags & FIN) !== 0;
  }

  /** See {@link Message.data}; text is decoded on first read. */
  get data(): string | Uint8Array {
    if ((this.flags & TEXT) === 0) return this.bytes;
    // Expiry clears `text`, so an expired message reaches `bytes`, which throws.
    return (this.text ??= decoder.decode(this.bytes));
  }

  /**
   * @internal Its callback returned (`lentMessages`): any later use throws
   * {@link MessageExpiredError}. Returns the payload it held, if any.
   */
  expire(): Uint8Array | null {
    const payload = this.payload;
    this.flags |= EXPIRED;
    this.payload = null;
    this.text = null;
    return payload;
  }

  /** @internal Copy the payload into memory of its own: it lay in a read buffer about to be reused. */
  own(): void {
    const lent = this.payload;
    if (lent !== null && lent.length > 0) this.copyOut(lent);
  }

  /**
   * @internal It is queued unread: a payload much smaller than the memory it lies in (the
   * received chunk, or a slab of Node's pool) is copied out, so that it holds what the inbox
   * counts for it, not a whole read that a peer could pad around each tiny message.
   */
  compact(): void {
    const size = this.size;
    const buffer = this.payload?.buffer ?? this.chunk?.buffer;
    if (buffer === undefined || buffer.byteLength <= 2 * size + COMPACT_SLACK) return;
    this.copyOut(this.bytes);
  }

  /**
   * Hold a copy of `payload` in memory of its own: never a slab of Node's pool, which the
   * message would keep alive whole (and `compact` would copy it again when it is queued).
   */
  private copyOut(payload: Uint8Array): void {
    const owned = allocateUnpooled(payload.length);
    owned.set(payload);
    this.payload = owned;
    this.chunk = null;
  }

  /** As JSON (and in logs), a message is its three fields. */
  toJSON(): Message {
    return { opcode: this.opcode, fin: this.fin, data: this.data } as Message;
  }

  /** How `console.log` and `util.inspect` show it: the same three fields. */
  [Symbol.for('nodejs.util.inspect.custom')](): Message {
    return this.toJSON();
  }

  /** @internal Whether it can be sent on as it is: a whole message, text or binary. */
  get relayable(): boolean {
    return this.fin && this.opcode !== 0;
  }

  /** @internal Queue it on `connection` as it is; it must be relayable. */
  relayTo(connection: Connection): void {
    if ((this.flags & EXPIRED) !== 0) throw new MessageExpiredError();
    const opcode = this.opcode as 1 | 2;
    if (this.payload === null) connection.sendMessageAt(opcode, this.chunk!, this.start, this.size);
    else connection.sendMessage(opcode, this.payload);
  }
}
