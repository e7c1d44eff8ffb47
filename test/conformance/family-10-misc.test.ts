/**
 * Autobahn family 10 (miscellaneous): auto-fragmentation (10.1.1), RFC 6455 §5.4 — a
 * 64 KiB message sent in fragments of any size from 1 byte up echoes as one message, text
 * cut anywhere inside its code points.
 * @module
 */
import { Opcode } from '../../src/frame/opcode.ts';
import { echoOf, family, mixedText, ping, pongReply, type Delivery, type FrameDef, type Reply, type Scenario, fragmented } from './harness.ts';

const LENGTH = 65536;
const FRAGMENT_SIZES = [1, 2, 3, 4, 5, 7, 16, 64, 125, 126, 127, 128, 1000, 1300, 4096, 32768, 65535, 65536] as const;

function binaryPayload(length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + 7) & 0xff;
  return out;
}

function scenarios(): Scenario[] {
  const out: Scenario[] = [];
  for (const [kind, opcode, data] of [
    ['text', Opcode.Text, mixedText(LENGTH)],
    ['binary', Opcode.Binary, binaryPayload(LENGTH)],
  ] as const) {
    for (const fragment of FRAGMENT_SIZES) {
      const frames = fragmented(opcode, data, fragment);
      const deliveries: Array<[string, Delivery]> = [['in one write', 'whole']];
      if (fragment >= 1000) deliveries.push(['frame by frame', 'frames']);
      if (fragment === 1300) deliveries.push(['in chops of 997 bytes', { chop: 997 }]);
      for (const [how, delivery] of deliveries) {
        out.push({
          id: '10.1.1',
          title: `§5.4 ${kind} message of 64 KiB in ${frames.length} fragment${frames.length > 1 ? 's' : ''} of ${fragment} B echoes as one message (${how})`,
          steps: [{ send: frames, delivery }],
          replies: [echoOf(opcode, data)],
          end: 'fence',
        });
      }
    }
  }

  // Fragments larger than a read, with pings between them and writes cut at odd places:
  // each fragment spans several reads, text code points span fragments and reads.
  for (const [kind, opcode, data] of [
    ['text', Opcode.Text, mixedText(256 * 1024)],
    ['binary', Opcode.Binary, binaryPayload(256 * 1024)],
  ] as const) {
    const frames: FrameDef[] = [];
    const replies: Reply[] = [];
    fragmented(opcode, data, 10007).forEach((frame, i, all) => {
      frames.push(frame);
      if (i < all.length - 1) {
        frames.push(ping(`between ${i} and ${i + 1}`));
        replies.push(pongReply(`between ${i} and ${i + 1}`));
      }
    });
    replies.push(echoOf(opcode, data));
    for (const chop of [4093, 65521]) {
      out.push({
        id: '10.1.x',
        title: `§5.4 ${kind} message of 256 KiB in fragments of 10007 B with a ping between each, in chops of ${chop} B: pongs, then the echo`,
        steps: [{ send: frames, delivery: { chop } }],
        replies,
        end: 'fence',
      });
    }
  }
  return out;
}

family('Autobahn 10 miscellaneous', scenarios(), { concurrency: 4 });
