/**
 * Autobahn family 2 (pings and pongs), RFC 6455 §5.5.2 and §5.5.3: a ping is answered by a
 * pong with the same payload, a pong needs no answer, a control frame over 125 bytes fails
 * the connection (§5.5).
 * @module
 */
import { DEFAULT_MAX_QUEUED_PONGS } from '../../src/connection/connection.ts';
import { Opcode } from '../../src/frame/opcode.ts';
import { family, filled, hex, ping, pong, pongReply, text, textReply, type Delivery, type FrameDef, type Reply, type Scenario } from './harness.ts';

const DELIVERIES: ReadonlyArray<{ name: string; delivery: Delivery }> = [
  { name: 'in one write', delivery: 'whole' },
  { name: 'in single bytes', delivery: { chop: 1 } },
  { name: 'cut between header and payload', delivery: { cuts: (header) => [header] } },
];

/** `count` pings with payloads `payload-0` … and the pongs that answer them, in order. */
const pings = (count: number): FrameDef[] => Array.from({ length: count }, (_, i) => ping(`payload-${i}`));
const pongs = (count: number): Reply[] => Array.from({ length: count }, (_, i) => pongReply(`payload-${i}`));

/** Payloads every byte value of which differs from its neighbours. */
function counting(length: number, start = 0): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (start + i * 3) & 0xff;
  return out;
}

function scenarios(): Scenario[] {
  const out: Scenario[] = [];
  const answered = (id: string, what: string, payload: Uint8Array): void => {
    for (const { name, delivery } of DELIVERIES) {
      out.push({
        id,
        title: `§5.5.2 ping with ${what} ${name} is answered by a pong with the same payload`,
        steps: [{ send: [ping(payload)], delivery }],
        replies: [pongReply(payload)],
        end: 'fence',
      });
    }
  };
  answered('2.1', 'no payload', new Uint8Array(0));
  answered('2.2', 'a small text payload', filled(13, 'Hello, world!'));
  answered('2.3', 'a small binary payload', hex('00 ff fe fd fc fb 00 ff'));
  answered('2.4', 'a 125-byte payload', counting(125));
  for (const length of [1, 2, 3, 4, 5, 31, 32, 33, 64, 100, 124]) {
    out.push({
      id: '2.4',
      title: `§5.5.2 ping with a ${length}-byte binary payload is answered by a pong with the same payload`,
      steps: [{ send: [ping(counting(length, length))] }],
      replies: [pongReply(counting(length, length))],
      end: 'fence',
    });
  }

  // §5.5: control frames carry at most 125 bytes; the 16- and 64-bit length forms are never valid for them.
  for (const [opcode, name] of [
    [Opcode.Ping, 'ping'],
    [Opcode.Pong, 'pong'],
  ] as const) {
    const big: FrameDef = { opcode, payload: counting(126) };
    out.push({ id: '2.5', title: `§5.5 ${name} with a 126-byte payload fails with 1002`, steps: [{ send: [big] }], replies: [], end: { fail: 1002 } });
    out.push({
      id: '2.5',
      title: `§5.5 ${name} with a 126-byte payload fails with 1002 from its header alone`,
      steps: [{ send: [{ headerOnly: true, opcode, length: 126 }] }, { awaitClose: 'the payload is sent' }],
      replies: [],
      end: { fail: 1002 },
    });
    out.push({
      id: '2.5',
      title: `§5.5 ${name} with a 65536-byte length (64-bit form) fails with 1002 from its header alone`,
      steps: [{ send: [{ headerOnly: true, opcode, length: 65536 }] }, { awaitClose: 'the payload is sent' }],
      replies: [],
      end: { fail: 1002 },
    });
    out.push({
      id: '2.5',
      title: `§5.5 ${name} with a 126-byte payload after an echo fails with 1002 and the echo comes first`,
      steps: [{ send: [text('before')] }, { awaitReplies: 1 }, { send: [big] }],
      replies: [textReply('before')],
      end: { fail: 1002 },
    });
  }

  out.push({
    id: '2.6',
    title: '§5.5.2 ping with a 125-byte payload sent in single bytes 1 ms apart is answered by a pong',
    steps: [{ send: [ping(counting(125, 9))], delivery: { chop: 1 }, delayMs: 1 }],
    replies: [pongReply(counting(125, 9))],
    end: 'fence',
  });

  out.push({ id: '2.7', title: '§5.5.3 unsolicited pong with no payload is not answered', steps: [{ send: [pong()] }], replies: [], end: 'fence' });
  out.push({ id: '2.8', title: '§5.5.3 unsolicited pong with a payload is not answered', steps: [{ send: [pong('unsolicited pong payload')] }], replies: [], end: 'fence' });
  out.push({
    id: '2.9',
    title: '§5.5.3 unsolicited pong then a ping: only the ping is answered',
    steps: [{ send: [pong('unsolicited pong payload'), ping('ping payload')] }],
    replies: [pongReply('ping payload')],
    end: 'fence',
  });
  out.push({
    id: '2.9',
    title: '§5.5.3 unsolicited pong is ignored and a text message after it still echoes',
    steps: [{ send: [pong('heartbeat')] }, { send: [text('still here')] }],
    replies: [textReply('still here')],
    end: 'fence',
  });
  out.push({
    id: '2.9',
    title: '§5.5.3 unsolicited pongs around a text message in one write: only the echo comes back',
    steps: [{ send: [pong('a'), text('between pongs'), pong('b')] }],
    replies: [textReply('between pongs')],
    end: 'fence',
  });

  out.push({ id: '2.10', title: '§5.5.2 10 pings in a row are answered by 10 pongs in order', steps: [{ send: pings(10) }], replies: pongs(10), end: 'fence' });
  out.push({
    id: '2.10',
    title: '§5.5.2 10 pings written one by one are answered by 10 pongs in order',
    steps: [{ send: pings(10), delivery: 'frames' }],
    replies: pongs(10),
    end: 'fence',
  });
  out.push({
    id: '2.11',
    title: '§5.5.2 10 pings sent in single bytes are answered by 10 pongs in order',
    steps: [{ send: pings(10), delivery: { chop: 1 } }],
    replies: pongs(10),
    end: 'fence',
  });
  // Up to maxQueuedPongs (16) pings per read are all answered; past that only the latest
  // is (§5.5.3), which test/connection and test/hardening check with exact counts.
  const burst = DEFAULT_MAX_QUEUED_PONGS;
  out.push({ id: '2.10', title: `§5.5.2 ${burst} pings in a row are answered by ${burst} pongs in order`, steps: [{ send: pings(burst) }], replies: pongs(burst), end: 'fence' });
  out.push({
    id: '2.10',
    title: `§5.5.2 ${burst} pings in chops of 7 bytes are answered by ${burst} pongs in order`,
    steps: [{ send: pings(burst), delivery: { chop: 7 } }],
    replies: pongs(burst),
    end: 'fence',
  });
  out.push({
    id: '2.10',
    title: `§5.5.2 ${burst} pings with 125-byte payloads are answered by ${burst} pongs in order`,
    steps: [{ send: Array.from({ length: burst }, (_, i) => ping(counting(125, i))) }],
    replies: Array.from({ length: burst }, (_, i) => pongReply(counting(125, i))),
    end: 'fence',
  });
  return out;
}

/** In-order stress beyond the bound: 1,000 pings, every one answered when the bound is lifted. */
function everyPingAnswered(): Scenario[] {
  return [
    { id: '2.10', title: '§5.5.2 1000 pings in a row are answered by 1000 pongs in order', steps: [{ send: pings(1000) }], replies: pongs(1000), end: 'fence' },
    {
      id: '2.10',
      title: '§5.5.2 1000 pings in chops of 7 bytes are answered by 1000 pongs in order',
      steps: [{ send: pings(1000), delivery: { chop: 7 } }],
      replies: pongs(1000),
      end: 'fence',
    },
    {
      id: '2.10',
      title: '§5.5.2 1000 pings with 125-byte payloads are answered by 1000 pongs in order',
      steps: [{ send: Array.from({ length: 1000 }, (_, i) => ping(counting(125, i))) }],
      replies: Array.from({ length: 1000 }, (_, i) => pongReply(counting(125, i))),
      end: 'fence',
    },
  ];
}

family('Autobahn 2 pings and pongs', scenarios());
family('Autobahn 2 pings and pongs, maxQueuedPongs lifted', everyPingAnswered(), { peer: { maxQueuedPongs: Number.MAX_SAFE_INTEGER } });
