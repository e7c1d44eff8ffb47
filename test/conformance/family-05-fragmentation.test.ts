/**
 * Autobahn family 5 (fragmentation), RFC 6455 §5.4: a message may come in any number of
 * fragments, control frames may be injected between them and are answered at once, control
 * frames themselves are never fragmented, and continuation frames only continue a message
 * in progress; anything else fails the connection with 1002.
 * @module
 */
import { Opcode } from '../../src/frame/opcode.ts';
import {
  binary,
  binaryReply,
  close,
  concatBytes,
  cont,
  echoOf,
  family,
  mixedText,
  ping,
  pong,
  pongReply,
  text,
  textReply,
  utf8,
  type Delivery,
  type FrameDef,
  type Scenario,
} from './harness.ts';

const DELIVERIES: ReadonlyArray<{ name: string; delivery: Delivery }> = [
  { name: 'in one write', delivery: 'whole' },
  { name: 'frame by frame', delivery: 'frames' },
  { name: 'in single bytes', delivery: { chop: 1 } },
];

/** Cut `payload` into `count` fragments of near-equal size (the first `count - 1` may be empty for tiny payloads). */
function fragments(opcode: number, payload: Uint8Array, count: number): FrameDef[] {
  const frames: FrameDef[] = [];
  for (let i = 0; i < count; i++) {
    const from = Math.floor((payload.length * i) / count);
    const to = Math.floor((payload.length * (i + 1)) / count);
    frames.push({ opcode: i === 0 ? opcode : Opcode.Continuation, payload: payload.slice(from, to), fin: i === count - 1 });
  }
  return frames;
}

function binaryBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (seed + i * 13) & 0xff;
  return out;
}

function scenarios(): Scenario[] {
  const out: Scenario[] = [];
  const each = (id: string, title: string, frames: FrameDef[], replies: Scenario['replies'], end: Scenario['end'], extra: Partial<Scenario> = {}): void => {
    for (const { name, delivery } of DELIVERIES) {
      out.push({ id, title: `${title} (${name})`, steps: [{ send: frames, delivery }], replies, end, ...extra });
    }
  };

  // Control frames are never fragmented (§5.5).
  each('5.1', '§5.5 ping in two fragments fails with 1002', [{ ...ping('fragment1'), fin: false }, cont('fragment2')], [], { fail: 1002 });
  each('5.2', '§5.5 pong in two fragments fails with 1002', [{ ...pong('fragment1'), fin: false }, cont('fragment2')], [], { fail: 1002 });
  each('5.2', '§5.5 close not FIN fails with 1002', [{ ...close(1000), fin: false }, cont('')], [], { fail: 1002 });
  each('5.2', '§5.5 ping not FIN inside a fragmented message fails with 1002', [text('frag', false), { ...ping('p'), fin: false }, cont('ment')], [], { fail: 1002 });

  // Whole messages in fragments.
  each('5.3', '§5.4 text message in two fragments echoes as one message', [text('fragment1', false), cont('fragment2')], [textReply('fragment1fragment2')], 'fence');
  each(
    '5.6',
    '§5.4 text message in two fragments with a ping between: pong first, then the echo',
    [text('fragment1', false), ping('pongme!'), cont('fragment2')],
    [pongReply('pongme!'), textReply('fragment1fragment2')],
    'fence',
  );
  each(
    '5.19',
    '§5.4 text message in five fragments with two pings between: both pongs, then the echo',
    [text('fragment1', false), cont('fragment2', false), ping('pongme 1!'), cont('fragment3', false), cont('fragment4', false), ping('pongme 2!'), cont('fragment5')],
    [pongReply('pongme 1!'), pongReply('pongme 2!'), textReply('fragment1fragment2fragment3fragment4fragment5')],
    'fence',
  );
  each(
    '5.x',
    '§5.4 unsolicited pong between fragments is ignored and the message echoes',
    [binary(utf8('frag'), false), pong('ignored'), cont('ment')],
    [binaryReply(utf8('fragment'))],
    'fence',
  );

  // Continuation with no message in progress (§5.4).
  each('5.9', '§5.4 continuation (FIN) with no message in progress fails with 1002', [cont('non-continuation payload'), text('Hello, world!')], [], { fail: 1002 });
  each('5.12', '§5.4 continuation (not FIN) with no message in progress fails with 1002', [cont('non-continuation payload', false), text('Hello, world!')], [], { fail: 1002 });
  each(
    '5.16',
    '§5.4 continuation, text, continuation repeated fails with 1002 at the first frame',
    [cont('fragment1', false), text('fragment2', false), cont('fragment3'), cont('fragment1', false), text('fragment2', false), cont('fragment3')],
    [],
    { fail: 1002 },
  );
  each(
    '5.17',
    '§5.4 continuation (FIN), text, continuation repeated fails with 1002 at the first frame',
    [cont('fragment1'), text('fragment2', false), cont('fragment3'), cont('fragment1'), text('fragment2', false), cont('fragment3')],
    [],
    { fail: 1002 },
  );
  each('5.x', '§5.4 continuation with no message, after a complete message, fails with 1002', [cont('after the end')], [], { fail: 1002 });

  // A new data frame inside a fragmented message (§5.4).
  for (const [first, second] of [
    [Opcode.Text, Opcode.Text],
    [Opcode.Text, Opcode.Binary],
    [Opcode.Binary, Opcode.Text],
    [Opcode.Binary, Opcode.Binary],
  ] as const) {
    const name = (opcode: number): string => (opcode === Opcode.Text ? 'text' : 'binary');
    for (const fin of [true, false]) {
      each(
        '5.18',
        `§5.4 ${name(second)} frame (${fin ? 'FIN' : 'not FIN'}) inside a fragmented ${name(first)} message fails with 1002`,
        [{ opcode: first, payload: utf8('fragment1'), fin: false }, { opcode: second, payload: utf8('fragment2'), fin }],
        [],
        { fail: 1002 },
      );
    }
  }

  // 5.15: a complete message, then a continuation with no message in progress.
  const fiveFifteen = [text('fragment1', false), cont('fragment2'), cont('fragment3', false), text('fragment4')];
  out.push({
    id: '5.15',
    title: '§5.4 message, then a stray continuation in the same write: fails with 1002 (the echo may be lost, Autobahn NON-STRICT)',
    steps: [{ send: fiveFifteen }],
    replies: [textReply('fragment1fragment2')],
    alternatives: [[]],
    end: { fail: 1002 },
  });
  out.push({
    id: '5.15',
    title: '§5.4 message echoed, then a stray continuation: fails with 1002 after the echo',
    steps: [{ send: fiveFifteen.slice(0, 2), delivery: 'frames' }, { awaitReplies: 1 }, { send: fiveFifteen.slice(2), delivery: 'frames' }],
    replies: [textReply('fragment1fragment2')],
    end: { fail: 1002 },
  });

  // Messages of 1..N fragments, text cut through code points, binary through anything.
  for (const count of [1, 2, 3, 4, 5, 7, 16, 100, 1000]) {
    for (const opcode of [Opcode.Text, Opcode.Binary]) {
      const payload = opcode === Opcode.Text ? mixedText(count * 11 + 5) : binaryBytes(count * 11 + 5, count);
      const kind = opcode === Opcode.Text ? 'text' : 'binary';
      const frames = fragments(opcode, payload, count);
      for (const { name, delivery } of DELIVERIES) {
        if (count >= 100 && name === 'in single bytes') continue;
        out.push({
          id: '5.x',
          title: `§5.4 ${kind} message of ${payload.length} bytes in ${count} fragment${count > 1 ? 's' : ''} echoes as one message (${name})`,
          steps: [{ send: frames, delivery }],
          replies: [echoOf(opcode, payload)],
          end: 'fence',
        });
      }
    }
  }

  // A ping after every fragment: each is answered at once, the echo comes after the last.
  for (const opcode of [Opcode.Text, Opcode.Binary]) {
    const payload = opcode === Opcode.Text ? mixedText(120) : binaryBytes(120, 5);
    const frames = fragments(opcode, payload, 10);
    const withPings: FrameDef[] = [];
    frames.forEach((frame, i) => {
      withPings.push(frame);
      if (i < frames.length - 1) withPings.push(ping(`ping after fragment ${i}`));
    });
    const replies = [...Array.from({ length: 9 }, (_, i) => pongReply(`ping after fragment ${i}`)), echoOf(opcode, payload)];
    const kind = opcode === Opcode.Text ? 'text' : 'binary';
    for (const { name, delivery } of DELIVERIES) {
      out.push({
        id: '5.20',
        title: `§5.4 ${kind} message in 10 fragments with a ping between each: 9 pongs, then the echo (${name})`,
        steps: [{ send: withPings, delivery }],
        replies,
        end: 'fence',
      });
    }
    const big = [frames[0]!, ping(new Uint8Array(125).fill(0x5a)), ...frames.slice(1)];
    out.push({
      id: '5.20',
      title: `§5.4 ${kind} message with a 125-byte ping between fragments, cut at every header: pong, then the echo`,
      steps: [{ send: big, delivery: { cuts: (header) => [1, header] } }],
      replies: [pongReply(new Uint8Array(125).fill(0x5a)), echoOf(opcode, payload)],
      end: 'fence',
    });
  }

  // Fragments with empty payloads.
  const empties: ReadonlyArray<{ name: string; parts: string[] }> = [
    { name: 'an empty first fragment', parts: ['', 'abc', 'def'] },
    { name: 'an empty middle fragment', parts: ['abc', '', 'def'] },
    { name: 'an empty last fragment', parts: ['abc', 'def', ''] },
    { name: 'only empty fragments', parts: ['', '', ''] },
    { name: 'two empty fragments', parts: ['', ''] },
    { name: 'many empty fragments around one byte', parts: ['', '', '', 'x', '', '', ''] },
  ];
  for (const opcode of [Opcode.Text, Opcode.Binary]) {
    for (const { name, parts } of empties) {
      const frames = parts.map((part, i) => ({ opcode: i === 0 ? opcode : Opcode.Continuation, payload: utf8(part), fin: i === parts.length - 1 }));
      each(
        '5.x',
        `§5.4 ${opcode === Opcode.Text ? 'text' : 'binary'} message with ${name} echoes as one message`,
        frames,
        [echoOf(opcode, concatBytes(parts.map(utf8)))],
        'fence',
      );
    }
  }
  return out;
}

family('Autobahn 5 fragmentation', scenarios());
