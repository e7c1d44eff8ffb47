/**
 * Echo checking for permessage-deflate connections: every echo must arrive compressed and
 * inflate to exactly the payload that was sent. Also the single checked exchange that the
 * idle scenario makes on each connection.
 * @module
 */
import { readDeflateAnswer, type CompressedMessages, type NegotiatedDeflate } from './deflate.ts';
import { Opcode } from './frames.ts';
import { InflateCheck } from './inflate-check.ts';
import { MessageReader, type ReadMessage } from './message-reader.ts';
import type { UpgradedSocket } from './upgrade.ts';

/**
 * The same interface as `EchoParser`, for a connection with permessage-deflate. Echoes are
 * counted as soon as their frames are complete; their checks may finish later (see
 * {@link DeflateEchoParser.settle}). An echo sent uncompressed counts as a mismatch: the
 * scenarios exist to measure compression, and a server that skipped it did not do that work.
 */
export class DeflateEchoParser {
  /** Echoes that did not inflate to the payload, plus protocol surprises. */
  mismatches = 0;

  private readonly reader = new MessageReader();
  private readonly inflate: InflateCheck;

  /** Echo i must inflate to `payloads[i % payloads.length]`. */
  constructor(
    private readonly opcode: number,
    payloads: readonly Buffer[],
    negotiated: NegotiatedDeflate,
  ) {
    this.inflate = new InflateCheck(payloads, negotiated.serverNoContextTakeover, (count) => (this.mismatches += count));
  }

  /** Set once the server sent a close frame. */
  get closed(): boolean {
    return this.reader.closed;
  }

  /** Consumes one chunk; returns how many complete data messages (echoes) it finished. */
  push(chunk: Buffer): number {
    const messages = this.reader.push(chunk);
    const compressed: Buffer[] = [];
    for (const message of messages) {
      if (this.isWellFormed(message)) compressed.push(message.payload);
      else this.mismatches++;
    }
    if (compressed.length > 0) this.inflate.check(compressed);
    this.mismatches += this.reader.violations;
    this.reader.violations = 0;
    return messages.length;
  }

  /** Resolves once every echo received so far has been checked (or after `timeoutMs`). */
  settle(timeoutMs = 5000): Promise<void> {
    return this.inflate.settle(timeoutMs);
  }

  /** Releases the inflater. */
  dispose(): void {
    this.inflate.dispose();
  }

  private isWellFormed(message: ReadMessage): boolean {
    return message.compressed && message.opcode === this.opcode;
  }
}

/**
 * Sends the first of `messages` and waits (up to `timeoutMs`) for its echo, which must inflate
 * to it. Consumes the upgrade's leftover bytes and leaves no `data` listener on the socket; on
 * any failure destroys the socket and rejects.
 */
export async function exchangeOnce(upgraded: UpgradedSocket, messages: CompressedMessages, timeoutMs: number): Promise<void> {
  const { socket, leftover } = upgraded;
  let parser: DeflateEchoParser | undefined;
  try {
    const negotiated = readDeflateAnswer(upgraded.extensions);
    const checker = new DeflateEchoParser(Opcode.text, messages.payloads.slice(0, 1), negotiated);
    parser = checker;
    const frame = messages.framesFor(negotiated.clientMaxWindowBits)[0]!;
    await new Promise<void>((resolve, reject) => {
      const done = (error?: Error): void => {
        clearTimeout(timer);
        socket.off('data', onData).off('error', done).off('close', onClose);
        if (error === undefined) resolve();
        else reject(error);
      };
      const onData = (chunk: Buffer): void => {
        if (checker.push(chunk) > 0) done();
      };
      const onClose = (): void => done(new Error('closed before the echo'));
      const timer = setTimeout(() => done(new Error('no echo in time')), timeoutMs);
      socket.on('data', onData).on('error', done).on('close', onClose);
      if (leftover.length > 0) onData(leftover);
      socket.write(frame);
    });
    await checker.settle();
    if (checker.mismatches > 0 || checker.closed) throw new Error('the echo did not inflate to the message sent');
  } catch (error) {
    socket.destroy();
    throw error;
  } finally {
    parser?.dispose();
  }
}
