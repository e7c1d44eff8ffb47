/**
 * Autobahn family 4 (opcodes), RFC 6455 §5.2: the reserved non-control opcodes 0x3–0x7
 * (4.1.x) and control opcodes 0xB–0xF (4.2.x) fail the connection with 1002, whether they
 * come first or after a valid message, and nothing after them is answered.
 * @module
 */
import { family, ping, text, textReply, utf8, type FrameDef, type Scenario } from './harness.ts';

const RESERVED = [0x3, 0x4, 0x5, 0x6, 0x7, 0xb, 0xc, 0xd, 0xe, 0xf] as const;

function scenarios(): Scenario[] {
  const out: Scenario[] = [];
  for (const opcode of RESERVED) {
    const group = opcode < 0x8 ? '4.1' : '4.2';
    const kind = opcode < 0x8 ? 'non-control' : 'control';
    const name = `§5.2 reserved ${kind} opcode 0x${opcode.toString(16)}`;
    const empty: FrameDef = { opcode, payload: new Uint8Array(0) };
    const loaded: FrameDef = { opcode, payload: utf8('reserved opcode payload') };
    const echo = textReply('Hello, world!');
    out.push({ id: `${group}.1`, title: `${name} with no payload fails with 1002`, steps: [{ send: [empty] }], replies: [], end: { fail: 1002 } });
    out.push({ id: `${group}.2`, title: `${name} with a payload fails with 1002`, steps: [{ send: [loaded] }], replies: [], end: { fail: 1002 } });
    out.push({
      id: `${group}.2`,
      title: `${name} not FIN fails with 1002`,
      steps: [{ send: [{ ...loaded, fin: false }] }],
      replies: [],
      end: { fail: 1002 },
    });
    out.push({
      id: `${group}.3`,
      title: `${name} after an echoed message fails with 1002 and the ping after it gets no pong`,
      steps: [{ send: [text('Hello, world!')] }, { awaitReplies: 1 }, { send: [empty, ping()], delivery: 'frames' }],
      replies: [echo],
      end: { fail: 1002 },
    });
    out.push({
      id: `${group}.4`,
      title: `${name} with a payload after an echoed message fails with 1002`,
      steps: [{ send: [text('Hello, world!')] }, { awaitReplies: 1 }, { send: [loaded, ping()], delivery: 'frames' }],
      replies: [echo],
      end: { fail: 1002 },
    });
    out.push({
      id: `${group}.5`,
      title: `${name} after an echoed message, sent in single bytes, fails with 1002`,
      steps: [{ send: [text('Hello, world!')] }, { awaitReplies: 1 }, { send: [loaded, ping()], delivery: { chop: 1 } }],
      replies: [echo],
      end: { fail: 1002 },
    });
    out.push({
      id: `${group}.3`,
      title: `${name} right behind a message in one write fails with 1002 (the echo may be lost, Autobahn NON-STRICT)`,
      steps: [{ send: [text('Hello, world!'), loaded, ping()] }],
      replies: [echo],
      alternatives: [[]],
      end: { fail: 1002 },
    });
    out.push({
      id: `${group}.x`,
      title: `${name} inside a fragmented message fails with 1002`,
      steps: [{ send: [text('frag', false), loaded, { opcode: 0, payload: utf8('ment') }], delivery: 'frames' }],
      replies: [],
      end: { fail: 1002 },
    });
  }
  return out;
}

family('Autobahn 4 opcodes', scenarios());
