/**
 * Autobahn family 9 (limits and performance), sized for CI: large text and binary messages
 * in one frame (9.1, 9.2), in fragments (9.3, 9.4), in one frame written in chops (9.5, 9.6),
 * many small messages in a row (9.7, 9.8), all echoed exactly (compared by SHA-256); and a
 * message over the endpoint's limit fails with 1009 decided from the frame header alone
 * (RFC 6455 §7.4.1, §10.4). Run twice: with the endpoints' defaults, and with `lentMessages`.
 * @module
 */
import { Opcode } from '../../src/frame/opcode.ts';
import { MAX_PAYLOAD, binary, cont, echoOf, family, filled, mixedText, text, type FrameDef, type Reply, type Scenario, type Step, fragmented } from './harness.ts';

const KiB = 1024;
const MiB = 1024 * KiB;

function size(bytes: number): string {
  return bytes >= MiB ? `${bytes / MiB} MiB` : bytes >= KiB ? `${bytes / KiB} KiB` : `${bytes} B`;
}

/** Payloads are built once per size and kind: text mixes character lengths, binary runs through all byte values. */
const cache = new Map<string, Uint8Array>();
function payload(opcode: number, length: number): Uint8Array {
  const key = `${opcode}:${length}`;
  let data = cache.get(key);
  if (data === undefined) {
    if (opcode === Opcode.Text) data = mixedText(length);
    else {
      data = new Uint8Array(length);
      for (let i = 0; i < length; i++) data[i] = (i ^ (i >>> 9) ^ (i >>> 17)) & 0xff;
    }
    cache.set(key, data);
  }
  return data;
}

function scenarios(): Scenario[] {
  const out: Scenario[] = [];
  const kinds = [
    ['text', Opcode.Text, '9.1', '9.3', '9.5', '9.7'],
    ['binary', Opcode.Binary, '9.2', '9.4', '9.6', '9.8'],
  ] as const;
  for (const [kind, opcode, whole, frag, chop, many] of kinds) {
    const one = (data: Uint8Array): FrameDef => (opcode === Opcode.Text ? text(data) : binary(data));
    [64 * KiB, 256 * KiB, 1 * MiB, 4 * MiB, 16 * MiB].forEach((length, index) => {
      const data = payload(opcode, length);
      out.push({
        id: `${whole}.${index + 1}`,
        title: `§5.2 ${kind} message of ${size(length)} in one frame echoes exactly`,
        steps: [{ send: [one(data)] }],
        replies: [echoOf(opcode, data)],
        end: 'fence',
      });
    });
    for (const length of [1 * MiB, 4 * MiB]) {
      [64, 256, 1 * KiB, 4 * KiB, 16 * KiB, 64 * KiB].forEach((fragment, index) => {
        const data = payload(opcode, length);
        out.push({
          id: `${frag}.${index + 1}`,
          title: `§5.4 ${kind} message of ${size(length)} in fragments of ${size(fragment)} echoes exactly`,
          steps: [{ send: fragmented(opcode, data, fragment) }],
          replies: [echoOf(opcode, data)],
          end: 'fence',
        });
      });
    }
    [64, 256, 1 * KiB, 4 * KiB, 16 * KiB, 64 * KiB].forEach((chopSize, index) => {
      const data = payload(opcode, 1 * MiB);
      out.push({
        id: `${chop}.${index + 1}`,
        title: `§5.2 ${kind} message of 1 MiB in one frame written in chops of ${size(chopSize)} echoes exactly`,
        steps: [{ send: [one(data)], delivery: { chop: chopSize } }],
        replies: [echoOf(opcode, data)],
        end: 'fence',
      });
    });
    [0, 16, 64, 256, 1 * KiB, 4 * KiB].forEach((length, index) => {
      const data = payload(opcode, length);
      const replies: Reply[] = Array.from({ length: 1000 }, () => echoOf(opcode, data));
      out.push({
        id: `${many}.${index + 1}`,
        title: `§5.6 1000 ${kind} messages of ${size(length)} in one write echo in order`,
        steps: [{ send: Array.from({ length: 1000 }, () => one(data)) }],
        replies,
        end: 'fence',
      });
    });
    // Several long messages on one connection: after the first, each starts in a read of a
    // socket already reading into the shared region (with lentMessages: in a reused buffer).
    const longOnes = Array.from({ length: 4 }, (_, i) => {
      const data = payload(opcode, 1 * MiB).slice();
      data[0] = 0x30 + i;
      return data;
    });
    for (const chopSize of [0, 4 * KiB]) {
      out.push({
        id: chopSize === 0 ? `${whole}.x` : `${chop}.x`,
        title: `§5.2 four ${kind} messages of 1 MiB in one frame each, in one write${chopSize === 0 ? '' : ` in chops of ${size(chopSize)}`}, echo exactly`,
        steps: [chopSize === 0 ? { send: longOnes.map(one) } : { send: longOnes.map(one), delivery: { chop: chopSize } }],
        replies: longOnes.map((data) => echoOf(opcode, data)),
        end: 'fence',
      });
    }
    const steps: Step[] = [];
    const replies: Reply[] = [];
    for (let i = 0; i < 1000; i++) {
      const data = payload(opcode, 64).slice();
      data[0] = 0x30 + (i % 10);
      steps.push({ send: [one(data)] }, { awaitReplies: i + 1 });
      replies.push(echoOf(opcode, data));
    }
    out.push({ id: `${many}.x`, title: `§5.6 1000 ${kind} messages of 64 B, each sent after the last echo, echo in order`, steps, replies, end: 'fence' });

    // §10.4: the limit is enforced from the header, before any payload is buffered.
    out.push({
      id: '9.x',
      title: `§10.4 ${kind} frame claiming 1 GiB fails with 1009 from its header alone`,
      steps: [{ send: [{ headerOnly: true, opcode, length: 1024 * MiB }] }, { awaitClose: 'the payload is sent' }],
      replies: [],
      end: { fail: 1009 },
    });
    out.push({
      id: '9.x',
      title: `§10.4 ${kind} frame one byte over the limit fails with 1009 from its header alone`,
      steps: [{ send: [{ headerOnly: true, opcode, length: MAX_PAYLOAD + 1 }] }, { awaitClose: 'the payload is sent' }],
      replies: [],
      end: { fail: 1009 },
    });
    out.push({
      id: '9.x',
      title: `§10.4 ${kind} message whose fragments sum past the limit fails with 1009 at the continuation header`,
      steps: [
        { send: [{ opcode, payload: payload(opcode, 1 * KiB), fin: false }, { headerOnly: true, opcode: Opcode.Continuation, length: MAX_PAYLOAD - 1 * KiB + 1, fin: true }] },
        { awaitClose: 'the payload is sent' },
      ],
      replies: [],
      end: { fail: 1009 },
    });
    out.push({
      id: '9.x',
      title: `§10.4 ${kind} message of 16 MiB in fragments, then a 2 KiB continuation past the limit: 1009`,
      steps: [
        { send: [...fragmented(opcode, payload(opcode, 16 * MiB), 4 * MiB).map((frame) => ({ ...frame, fin: false })), cont(filled(2 * KiB, 'x'))] },
      ],
      replies: [],
      end: { fail: 1009 },
    });
  }
  out.push({
    id: '9.x',
    title: `§10.4 binary message of exactly the limit (${MAX_PAYLOAD} bytes) echoes exactly`,
    steps: [{ send: [binary(payload(Opcode.Binary, MAX_PAYLOAD))] }],
    replies: [echoOf(Opcode.Binary, payload(Opcode.Binary, MAX_PAYLOAD))],
    end: 'fence',
  });
  return out;
}

family('Autobahn 9 limits and performance', scenarios(), { concurrency: 2, timeout: 60_000 });
// The same with `lentMessages` on both endpoints: past their first 64 KiB, sockets read into
// the shared region, and the many messages of 9.7 and 9.8 are lent as they lie in it.
family('Autobahn 9 limits and performance, lentMessages', scenarios(), { concurrency: 2, timeout: 60_000, peer: { lentMessages: true } });
