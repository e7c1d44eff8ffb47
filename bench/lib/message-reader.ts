/**
 * Incremental reader of a server's frame stream that hands over whole messages with their
 * payload bytes and RSV1 bit. Unlike `EchoParser` it copies payloads: it serves the
 * permessage-deflate scenarios, where every echo has to be inflated anyway.
 * @module
 */
import { FrameHeaderReader, Opcode } from './frames.ts';

/** One complete data message. */
export interface ReadMessage {
  readonly opcode: number;
  /** RSV1 was set on its first frame: the payload is deflated (RFC 7692 §6). */
  readonly compressed: boolean;
  readonly payload: Buffer;
}

/** Splits a byte stream into messages; frames and headers may be cut anywhere across chunks. */
export class MessageReader {
  /** Frames no server may send: masked, RSV2/RSV3, RSV1 on a continuation, stray continuations. */
  violations = 0;
  /** Set once the server sent a close frame. */
  closed = false;

  private readonly header = new FrameHeaderReader();
  private frame: Buffer | undefined;
  private frameHave = 0;
  private fin = false;
  private opcode = 0;
  private fragments: Buffer[] = [];
  private messageOpcode = 0;
  private compressed = false;

  /** Consumes one chunk; returns the data messages it completed, in order. */
  push(chunk: Buffer): ReadMessage[] {
    const messages: ReadMessage[] = [];
    let at = 0;
    while (at < chunk.length) {
      if (this.frame === undefined) at = this.readHeader(chunk, at);
      // Set once a whole header is in; an empty frame then finishes here, even at a chunk's end.
      const frame = this.frame as Buffer | undefined;
      if (frame === undefined) break;
      const take = Math.min(frame.length - this.frameHave, chunk.length - at);
      chunk.copy(frame, this.frameHave, at, at + take);
      this.frameHave += take;
      at += take;
      if (this.frameHave === frame.length) this.finishFrame(messages);
    }
    return messages;
  }

  private readHeader(chunk: Buffer, at: number): number {
    const { next, complete } = this.header.read(chunk, at);
    if (complete) this.startFrame();
    return next;
  }

  private startFrame(): void {
    const header = this.header;
    const first = header.first;
    this.fin = header.fin;
    this.opcode = header.opcode;
    if (header.masked || (first & 0x30) !== 0) this.violations++;
    if (this.opcode < Opcode.close) {
      const rsv1 = (first & 0x40) !== 0;
      if (this.opcode === 0) {
        if (rsv1 || this.fragments.length === 0) this.violations++;
      } else {
        if (this.fragments.length > 0) this.violations++;
        this.fragments = [];
        this.messageOpcode = this.opcode;
        this.compressed = rsv1;
      }
    }
    this.frame = Buffer.allocUnsafe(header.length);
    this.frameHave = 0;
  }

  private finishFrame(messages: ReadMessage[]): void {
    const frame = this.frame!;
    this.frame = undefined;
    if (this.opcode === Opcode.close) this.closed = true;
    if (this.opcode >= Opcode.close) return; // control frames may sit between fragments
    this.fragments.push(frame);
    if (!this.fin) return;
    const payload = this.fragments.length === 1 ? frame : Buffer.concat(this.fragments);
    this.fragments = [];
    messages.push({ opcode: this.messageOpcode, compressed: this.compressed, payload });
  }
}
