/**
 * The load generator's side of permessage-deflate (RFC 7692): its offer, its reading of the
 * server's answer, and messages compressed once and then sent over and over.
 * @module
 */
import { constants, deflateRawSync } from 'node:zlib';
import { Opcode, encodeClientFrame } from './frames.ts';

/** The offer: no demands on the server, and any client window the server wants to impose. */
export const DEFLATE_OFFER = 'permessage-deflate; client_max_window_bits';

/** RFC 7692 §7.2.1: the empty stored block a sync flush ends with, removed on the wire. */
export const DEFLATE_TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/** What the server's answer means for the load generator. */
export interface NegotiatedDeflate {
  /** The server starts each message afresh, so each echo inflates on its own. */
  readonly serverNoContextTakeover: boolean;
  /** The LZ77 window our messages may use (RFC 7692 §7.1.2.2), 8–15. */
  readonly clientMaxWindowBits: number;
}

/**
 * Reads the server's `Sec-WebSocket-Extensions` answer to {@link DEFLATE_OFFER}. Throws when
 * the server declined or answered with anything but one valid permessage-deflate element.
 */
export function readDeflateAnswer(answer: string): NegotiatedDeflate {
  if (answer === '') throw new Error('the server did not accept permessage-deflate');
  const elements = answer.split(',');
  const [name, ...params] = (elements[0] ?? '').split(';').map((part) => part.trim());
  if (elements.length !== 1 || name?.toLowerCase() !== 'permessage-deflate') throw new Error(`unexpected extensions answer: ${answer}`);
  let serverNoContextTakeover = false;
  let clientMaxWindowBits = 15;
  for (const param of params) {
    const [key = '', raw] = param.split('=').map((part) => part.trim());
    const value = raw?.replace(/^"(.*)"$/, '$1');
    switch (key.toLowerCase()) {
      case 'server_no_context_takeover':
        serverNoContextTakeover = true;
        break;
      case 'client_max_window_bits':
        if (value === undefined || !/^(8|9|1[0-5])$/.test(value)) throw new Error(`bad client_max_window_bits in ${answer}`);
        clientMaxWindowBits = Number(value);
        break;
      case 'client_no_context_takeover': // our messages never refer back to earlier ones anyway
      case 'server_max_window_bits': // an inflater with the largest window reads any smaller one
        break;
      default:
        throw new Error(`unknown permessage-deflate parameter in ${answer}`);
    }
  }
  return { serverNoContextTakeover, clientMaxWindowBits };
}

/**
 * Masked, compressed (RSV1) text frames of a few messages, each compressed once per client
 * window size. A connection sends them in turn, so that a server keeping its context sees a
 * stream of similar messages rather than one message over and over (which deflate would turn
 * into a single long back-reference). A message deflated on its own refers only to itself, so
 * its bytes stay valid whenever it is sent, with or without context takeover on our side: a
 * server inflater that keeps its window simply never gets asked for it.
 */
export class CompressedMessages {
  private readonly frames = new Map<number, readonly Buffer[]>();

  constructor(
    /** The uncompressed messages, all of one length; message i of a connection is `payloads[i % length]`. */
    readonly payloads: readonly Buffer[],
    private readonly maskKey: Uint8Array,
  ) {}

  /** The frames, in sending order, for a connection whose window is at most 2^`windowBits` bytes. */
  framesFor(windowBits: number): readonly Buffer[] {
    const cached = this.frames.get(windowBits);
    if (cached !== undefined) return cached;
    // zlib has no 256-byte window for raw deflate (it silently uses 512), so 8 cannot be honoured.
    if (windowBits < 9) throw new Error(`client_max_window_bits=${windowBits} is not supported by the load generator`);
    const frames = this.payloads.map((payload) => {
      const deflated = deflateRawSync(payload, { windowBits, finishFlush: constants.Z_SYNC_FLUSH });
      if (!deflated.subarray(-4).equals(DEFLATE_TAIL)) throw new Error('sync-flushed deflate output lacks its empty stored block');
      const frame = encodeClientFrame(deflated.subarray(0, -4), Opcode.text, this.maskKey);
      frame[0] = frame[0]! | 0x40; // RSV1: this message is compressed (RFC 7692 §6)
      return frame;
    });
    this.frames.set(windowBits, frames);
    return frames;
  }
}
