/**
 * Messages as a peer hands them out: text is kept as its validated UTF-8 bytes and decoded
 * only when `data` is first read, so a message that is relayed, counted or dropped never
 * pays for a string, and one relayed with `send`/`write` is not encoded again.
 * @module
 */

/** A message (or, with the `fragments` option, one data frame) read from a peer. */
export interface Message {
  /** 1 text, 2 binary; 0 for the later frames of a message read in fragments mode (§5.4). */
  readonly opcode: 0 | 1 | 2;
  /** True on a whole message, and on the last frame of a message read in fragments. */
  readonly fin: boolean;
  /** A string for text, bytes for binary. Bytes may be a view of the received data. */
  readonly data: string | Uint8Array;
}

const decoder = new TextDecoder('utf-8', { ignoreBOM: true });

/** The peer's implementation of {@link Message}. */
export class ReceivedMessage implements Message {
  private value: string | Uint8Array | null;

  /**
   * `bytes`: the payload (for text, UTF-8 already validated); `text`: the decoded text if
   * it is already known (pieces decoded in stream), else null for text not decoded yet.
   */
  constructor(
    readonly opcode: 0 | 1 | 2,
    readonly fin: boolean,
    /** @internal The payload as received. */
    readonly bytes: Uint8Array,
    readonly isText: boolean,
    text: string | null,
  ) {
    this.value = isText ? text : bytes;
  }

  get data(): string | Uint8Array {
    return (this.value ??= decoder.decode(this.bytes));
  }

  /** As JSON (and in logs), a message is its three fields. */
  toJSON(): Message {
    return { opcode: this.opcode, fin: this.fin, data: this.data };
  }

  /** How `console.log` and `util.inspect` show it: the same three fields. */
  [Symbol.for('nodejs.util.inspect.custom')](): Message {
    return this.toJSON();
  }

  /** @internal Whether it can be sent on as it is: a whole message, text or binary. */
  get relayable(): boolean {
    return this.fin && this.opcode !== 0;
  }
}
