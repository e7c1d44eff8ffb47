/**
 * The per-connection side of an echo run: the frames a connection sends and the parser that
 * checks what comes back, plain or with permessage-deflate.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { CompressedMessages, readDeflateAnswer } from './deflate.ts';
import { DeflateEchoParser } from './deflate-echo.ts';
import { EchoParser, Opcode, encodeClientFrame } from './frames.ts';
import { binaryPayload, jsonPayload, textPayload } from './payloads.ts';
import type { EchoLoad } from './protocol.ts';
import type { UpgradedSocket } from './upgrade.ts';

/** Distinct messages a deflate connection cycles through. */
const DEFLATE_VARIANTS = 16;

/**
 * Distinct messages a plain connection cycles through: 16, or fewer for large ones, so that
 * the load generator's payloads stay within 16 MiB (4 of 4 MiB) and the cache it shares with
 * the server is not flushed by its own sending more than before.
 */
export function plainVariants(payloadSize: number): number {
  return Math.max(2, Math.min(16, Math.floor((16 * 1024 * 1024) / Math.max(1, payloadSize))));
}

/** What one echo connection sends and how it checks the echoes. */
export interface EchoConnection {
  /** The next `count` (at most the window) frames to send, as one buffer. */
  readonly next: (count: number) => Buffer;
  readonly parser: EchoParser | DeflateEchoParser;
}

/** What an echo run needs: the message size, and the setup of each upgraded connection. */
export interface EchoSetup {
  /** Payload bytes per message (uncompressed). */
  readonly payloadSize: number;
  readonly connect: (upgraded: UpgradedSocket) => EchoConnection;
}

/**
 * Frames to be sent in turn, laid out once so that any `count` ≤ `window` consecutive frames
 * are one contiguous slice: sending them is a single zero-copy write.
 */
class FrameCycle {
  private readonly buffer: Buffer;
  private readonly offsets: number[] = [0];

  constructor(
    private readonly frames: readonly Buffer[],
    window: number,
  ) {
    const laidOut = Array.from({ length: frames.length + window }, (_, i) => frames[i % frames.length]!);
    for (const frame of laidOut) this.offsets.push(this.offsets.at(-1)! + frame.length);
    this.buffer = Buffer.concat(laidOut);
  }

  /** A cursor of its own for one connection, starting at the first frame. */
  cursor(): (count: number) => Buffer {
    let position = 0;
    return (count) => {
      const slice = this.buffer.subarray(this.offsets[position], this.offsets[position + count]);
      position = (position + count) % this.frames.length;
      return slice;
    };
  }
}

/**
 * Builds the per-connection setup of an echo run; frames are encoded once and shared. With
 * `deflate`, each connection cycles through compressible JSON messages, compressed as its
 * server agreed to.
 */
export function echoSetup(config: EchoLoad): EchoSetup {
  const opcode = config.text ? Opcode.text : Opcode.binary;
  const maskKey = randomBytes(4);
  if (config.deflate) {
    const payloads = Array.from({ length: DEFLATE_VARIANTS }, (_, variant) => jsonPayload(config.payloadSize, variant));
    const messages = new CompressedMessages(payloads, maskKey);
    const cycles = new Map<number, FrameCycle>();
    return {
      payloadSize: config.payloadSize,
      connect: ({ extensions }) => {
        const negotiated = readDeflateAnswer(extensions);
        const bits = negotiated.clientMaxWindowBits;
        const cycle = cycles.get(bits) ?? new FrameCycle(messages.framesFor(bits), config.inFlight);
        cycles.set(bits, cycle);
        return { next: cycle.cursor(), parser: new DeflateEchoParser(opcode, payloads, negotiated) };
      },
    };
  }
  const payloads = Array.from({ length: plainVariants(config.payloadSize) }, (_, variant) =>
    config.text ? textPayload(config.payloadSize, true, variant) : binaryPayload(config.payloadSize, variant),
  );
  const cycle = new FrameCycle(
    payloads.map((payload) => encodeClientFrame(payload, opcode, maskKey)),
    config.inFlight,
  );
  return {
    payloadSize: config.payloadSize,
    connect: () => ({ next: cycle.cursor(), parser: new EchoParser({ opcode, payloads, allowMasked: config.allowMaskedEcho }) }),
  };
}
