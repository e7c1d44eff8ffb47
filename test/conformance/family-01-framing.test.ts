/**
 * Autobahn family 1 (framing): text (1.1.x) and binary (1.2.x) messages of the payload
 * lengths at the edges of the three length encodings of RFC 6455 §5.2, echoed exactly,
 * whole and cut at every interesting place of the frame.
 * @module
 */
import { Opcode } from '../../src/frame/opcode.ts';
import { binary, close, cont, echoOf, family, mixedText, ping, pongReply, text, textReply, type Delivery, type FrameDef, type Scenario } from './harness.ts';

const LENGTHS = [0, 125, 126, 127, 128, 65535, 65536] as const;

/** A binary payload that runs through every byte value, so a masking slip cannot hide. */
function binaryPayload(length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 7 + (i >>> 8)) & 0xff;
  return out;
}

/** Single cuts, each at one place of a frame, named for what they separate. */
const SINGLE_CUTS: ReadonlyArray<{ name: string; applies: (payload: number) => boolean; cut: (header: number, payload: number) => number }> = [
  { name: 'cut after the first header byte', applies: () => true, cut: () => 1 },
  { name: 'cut inside the extended length', applies: (payload) => payload > 125, cut: () => 3 },
  { name: 'cut one byte before the payload', applies: () => true, cut: (header) => header - 1 },
  { name: 'cut between header and payload', applies: (payload) => payload > 0, cut: (header) => header },
  { name: 'cut in the middle of the payload', applies: (payload) => payload > 1, cut: (header, payload) => header + (payload >> 1) },
  { name: 'cut before the last payload byte', applies: (payload) => payload > 1, cut: (header, payload) => header + payload - 1 },
];

/** Cuts at several places of the frame at once. */
const SEVERAL: Delivery = {
  cuts: (header, payload) => [1, 2, 3, header - 1, header, header + 1, header + (payload >> 1), header + payload - 1],
};

function scenarios(): Scenario[] {
  const out: Scenario[] = [];
  for (const [group, kind, opcode] of [
    ['1.1', 'text', Opcode.Text],
    ['1.2', 'binary', Opcode.Binary],
  ] as const) {
    const make = (length: number): FrameDef => (opcode === Opcode.Text ? text(mixedText(length)) : binary(binaryPayload(length)));
    LENGTHS.forEach((length, index) => {
      const id = `${group}.${index + 1}`;
      const frame = make(length);
      const replies = [echoOf(opcode, frame.payload!)];
      const base = `§5.2 ${kind} payload length ${length}`;
      out.push({ id, title: `${base} echoes unchanged`, steps: [{ send: [frame] }], replies, end: 'fence' });
      for (const single of SINGLE_CUTS) {
        if (!single.applies(length)) continue;
        out.push({
          id,
          title: `${base} ${single.name} echoes unchanged`,
          steps: [{ send: [frame], delivery: { cuts: (header, payload) => [single.cut(header, payload)] }, delayMs: 2 }],
          replies,
          end: 'fence',
        });
      }
      out.push({ id, title: `${base} cut at several places echoes unchanged`, steps: [{ send: [frame], delivery: SEVERAL }], replies, end: 'fence' });
      if (length <= 128) {
        out.push({ id, title: `${base} sent in single bytes echoes unchanged`, steps: [{ send: [frame], delivery: { chop: 1 } }], replies, end: 'fence' });
      } else {
        out.push({ id: `${group}.8`, title: `${base} sent in chops of 997 bytes echoes unchanged`, steps: [{ send: [frame], delivery: { chop: 997 } }], replies, end: 'fence' });
      }
    });
    // Every length back to back in one write: frames are found one after another in a chunk.
    const frames = LENGTHS.map(make);
    out.push({
      id: `${group}.x`,
      title: `§5.2 ${kind} payload lengths ${LENGTHS.join(', ')} in one write echo in order`,
      steps: [{ send: frames }],
      replies: frames.map((frame) => echoOf(opcode, frame.payload!)),
      end: 'fence',
    });
    out.push({
      id: `${group}.x`,
      title: `§5.2 ${kind} payload lengths ${LENGTHS.join(', ')} in chops of 61 bytes echo in order`,
      steps: [{ send: frames, delivery: { chop: 61 } }],
      replies: frames.map((frame) => echoOf(opcode, frame.payload!)),
      end: 'fence',
    });
  }

  // §5.1: a client masks every frame, a server none.
  for (const [name, frame] of [
    ['text frame', text('Hello, world!')],
    ['binary frame', binary(binaryPayload(200))],
    ['ping', ping('masked the wrong way')],
    ['close', close(1000)],
  ] as const) {
    out.push({
      id: '1.x',
      title: `§5.1 ${name} masked the wrong way for its direction fails with 1002`,
      steps: [{ send: [{ ...frame, misMasked: true }] }],
      replies: [],
      end: { fail: 1002 },
    });
  }
  out.push({
    id: '1.x',
    title: '§5.1 frame masked the wrong way after an echoed message fails with 1002',
    steps: [{ send: [text('first')] }, { awaitReplies: 1 }, { send: [{ ...text('second'), misMasked: true }] }],
    replies: [textReply('first')],
    end: { fail: 1002 },
  });

  // §5.2: the most significant bit of a 64-bit length must be 0.
  for (const [name, opcode] of [
    ['text', Opcode.Text],
    ['binary', Opcode.Binary],
  ] as const) {
    out.push({
      id: '1.x',
      title: `§5.2 ${name} frame whose 64-bit length has its most significant bit set fails with 1002 from its header alone`,
      steps: [{ send: [{ headerOnly: true, opcode, length: 2 ** 63 }] }, { awaitClose: 'any payload is sent' }],
      replies: [],
      end: { fail: 1002 },
    });
  }

  // §4.1, §4.2.2: frames may follow the handshake in the same segment.
  out.push({
    id: '1.x',
    title: '§4.2.2 text frame in the same write as the handshake echoes unchanged',
    early: [text('early bird')],
    steps: [],
    replies: [textReply('early bird')],
    end: 'fence',
  });
  out.push({
    id: '1.x',
    title: '§4.2.2 ping, text and binary frames in the same write as the handshake are answered in order',
    early: [ping('p'), text('t'), binary(binaryPayload(300))],
    steps: [{ awaitReplies: 3 }],
    replies: [pongReply('p'), textReply('t'), echoOf(Opcode.Binary, binaryPayload(300))],
    end: 'fence',
  });
  out.push({
    id: '1.x',
    title: '§4.2.2 first fragment in the same write as the handshake, the rest later, echoes as one message',
    early: [text('frag', false)],
    steps: [{ send: [cont('ment')] }],
    replies: [textReply('fragment')],
    end: 'fence',
  });
  out.push({
    id: '1.x',
    title: '§4.2.2 frame with a reserved opcode in the same write as the handshake fails with 1002',
    early: [{ opcode: 0x5, payload: new Uint8Array(0) }],
    steps: [],
    replies: [],
    end: { fail: 1002 },
  });
  out.push({
    id: '1.x',
    title: '§4.2.2 close frame in the same write as the handshake is answered',
    early: [close(1001)],
    steps: [],
    replies: [],
    end: { closeReply: 1001 },
  });
  return out;
}

family('Autobahn 1 framing', scenarios());
