/**
 * Autobahn family 3 (reserved bits), RFC 6455 §5.2: with no extension negotiated, a frame
 * with any of RSV1, RSV2, RSV3 set fails the connection with 1002; nothing after it is
 * processed (a trailing ping gets no pong).
 * @module
 */
import { Opcode } from '../../src/frame/opcode.ts';
import { cont, family, ping, text, textReply, utf8, type FrameDef, type Scenario } from './harness.ts';

const KINDS: ReadonlyArray<{ name: string; frames: (rsv: number) => FrameDef[] }> = [
  { name: 'text frame', frames: (rsv) => [{ opcode: Opcode.Text, payload: utf8('Hello, world!'), rsv }] },
  { name: 'binary frame', frames: (rsv) => [{ opcode: Opcode.Binary, payload: new Uint8Array([0, 0xff, 0xfe, 0xfd]), rsv }] },
  { name: 'ping', frames: (rsv) => [{ opcode: Opcode.Ping, payload: utf8('ping'), rsv }] },
  { name: 'pong', frames: (rsv) => [{ opcode: Opcode.Pong, payload: utf8('pong'), rsv }] },
  { name: 'close', frames: (rsv) => [{ opcode: Opcode.Close, payload: new Uint8Array([0x03, 0xe8]), rsv }] },
  { name: 'empty text frame', frames: (rsv) => [{ opcode: Opcode.Text, payload: new Uint8Array(0), rsv }] },
  { name: 'continuation frame', frames: (rsv) => [text('frag', false), { opcode: Opcode.Continuation, payload: utf8('ment'), rsv }] },
];

/** The RSV bits of a value 1–7, for names: 4 is RSV1, 2 RSV2, 1 RSV3. */
function bits(rsv: number): string {
  return [rsv & 4 ? 'RSV1' : '', rsv & 2 ? 'RSV2' : '', rsv & 1 ? 'RSV3' : ''].filter(Boolean).join('+');
}

function scenarios(): Scenario[] {
  const out: Scenario[] = [];
  const echo = textReply('Hello, world!');
  for (let rsv = 1; rsv <= 7; rsv++) {
    for (const kind of KINDS) {
      const base = `§5.2 ${kind.name} with RSV=${rsv} (${bits(rsv)})`;
      out.push({ id: '3.1', title: `${base} fails with 1002`, steps: [{ send: kind.frames(rsv) }], replies: [], end: { fail: 1002 } });
      out.push({
        id: '3.3',
        title: `${base} after an echoed message fails with 1002, the echo first and no pong for the ping after it`,
        steps: [{ send: [text('Hello, world!')] }, { awaitReplies: 1 }, { send: [...kind.frames(rsv), ping()], delivery: 'frames' }],
        replies: [echo],
        end: { fail: 1002 },
      });
      out.push({
        id: '3.4',
        title: `${base} after an echoed message, sent in single bytes, fails with 1002`,
        steps: [{ send: [text('Hello, world!')] }, { awaitReplies: 1 }, { send: [...kind.frames(rsv), ping()], delivery: { chop: 1 } }],
        replies: [echo],
        end: { fail: 1002 },
      });
    }
    // Autobahn 3.2: message, bad frame and ping in one write. The echo is due (OK), or may be
    // lost with the connection (Autobahn's NON-STRICT); a pong never is.
    out.push({
      id: '3.2',
      title: `§5.2 text frame with RSV=${rsv} right behind a message in one write fails with 1002 and the ping after it gets no pong`,
      steps: [{ send: [text('Hello, world!'), ...KINDS[0]!.frames(rsv), ping()] }],
      replies: [echo],
      alternatives: [[]],
      end: { fail: 1002 },
    });
  }
  // An RSV bit on a frame in the middle of a fragmented message, with a ping between fragments answered first.
  out.push({
    id: '3.x',
    title: '§5.2 continuation with RSV1 after a ping between fragments: pong, then fail with 1002, no echo',
    steps: [{ send: [text('frag', false), ping('p'), { ...cont('ment'), rsv: 4 }], delivery: 'frames' }],
    replies: [{ type: 'pong', data: utf8('p') }],
    end: { fail: 1002 },
  });
  return out;
}

family('Autobahn 3 reserved bits', scenarios());
