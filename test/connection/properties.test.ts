import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import fc from 'fast-check';

import { Connection, type Role } from '../../src/connection/connection.ts';
import { EventCollector, type ConnectionEvent } from '../../src/connection/handler.ts';
import { OutputQueue } from '../../src/connection/output.ts';
import { FrameDecoder } from '../../src/frame/decoder.ts';
import { encodeFrame } from '../../src/frame/encoder.ts';
import { Opcode } from '../../src/frame/opcode.ts';
import { anyText, concat, decodeAll, RecordingSink, seededRandom, utf8 } from '../frame/helpers.ts';
import { closeCodeOf, peerOf } from './helpers.ts';

/** The shared output slab's size (see output.ts). */
const SLAB_SIZE = 64 * 1024;

// ——— Message sequences ———

type SendMode =
  | { how: 'whole' }
  | { how: 'fragmentSize'; size: number }
  | { how: 'frames'; cuts: number[]; pings: Uint8Array[] };

type Message =
  | { kind: 'text'; text: string; mode: SendMode }
  | { kind: 'binary'; data: Uint8Array; mode: SendMode }
  | { kind: 'ping'; data: Uint8Array };

const pingPayload = fc.uint8Array({ maxLength: 125, size: 'max' });

const sendMode: fc.Arbitrary<SendMode> = fc.oneof(
  fc.constant({ how: 'whole' as const }),
  fc.record({ how: fc.constant('fragmentSize' as const), size: fc.integer({ min: 1, max: 40 }) }),
  fc.record({
    how: fc.constant('frames' as const),
    cuts: fc.array(fc.nat(), { maxLength: 6 }),
    pings: fc.array(pingPayload, { maxLength: 3 }),
  }),
);

const message: fc.Arbitrary<Message> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('text' as const), text: anyText({ maxLength: 80 }), mode: sendMode }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant('text' as const), text: anyText({ minLength: 1500, maxLength: 2500 }), mode: sendMode }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('binary' as const), data: fc.uint8Array({ maxLength: 300, size: 'max' }), mode: sendMode }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant('binary' as const), data: fc.uint8Array({ minLength: 4000, maxLength: 9000, size: 'max' }), mode: sendMode }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('ping' as const), data: pingPayload }), weight: 2 },
);

/** How the byte stream is cut into the chunks the receiver is fed. */
const chunking = fc.oneof(
  fc.constant<'whole' | 'bytes' | number[]>('whole'),
  fc.constant<'whole' | 'bytes' | number[]>('bytes'),
  fc.array(fc.integer({ min: 1, max: 600 }), { minLength: 1, maxLength: 40, size: 'max' }),
);

function chunks(bytes: Uint8Array, plan: 'whole' | 'bytes' | number[]): Uint8Array[] {
  if (plan === 'whole') return [bytes.slice()];
  const out: Uint8Array[] = [];
  let at = 0;
  for (let i = 0; at < bytes.length; i++) {
    const size = plan === 'bytes' ? 1 : plan[i % plan.length]!;
    out.push(bytes.slice(at, at + size));
    at += size;
  }
  return out;
}

/** Split `bytes` at the given positions (taken modulo the length, sorted, duplicates kept). */
function pieces(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = cuts.map((cut) => cut % (bytes.length + 1)).sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let at = 0;
  for (const point of [...points, bytes.length]) {
    out.push(bytes.subarray(at, point));
    at = point;
  }
  return out;
}

/** Sends `messages` from `sender`; returns the events the receiver must report. */
function send(sender: Connection, messages: Message[]): ConnectionEvent[] {
  const expected: ConnectionEvent[] = [];
  for (const m of messages) {
    if (m.kind === 'ping') {
      sender.sendPing(m.data);
      expected.push({ type: 'ping', data: m.data });
      continue;
    }
    const bytes = m.kind === 'text' ? utf8(m.text) : m.data;
    const mode = m.mode;
    if (mode.how === 'whole') {
      if (m.kind === 'text') sender.sendText(m.text);
      else sender.sendBinary(m.data);
    } else if (mode.how === 'fragmentSize') {
      if (m.kind === 'text') sender.sendText(m.text, mode.size);
      else sender.sendBinary(m.data, mode.size);
    } else {
      const parts = pieces(bytes, mode.cuts);
      parts.forEach((part, i) => {
        const opcode = i > 0 ? Opcode.Continuation : m.kind === 'text' ? Opcode.Text : Opcode.Binary;
        sender.sendFrame(opcode, part, i === parts.length - 1);
        const ping = i < parts.length - 1 ? mode.pings[i] : undefined;
        if (ping !== undefined) {
          sender.sendPing(ping);
          expected.push({ type: 'ping', data: ping });
        }
      });
    }
    expected.push(m.kind === 'text' ? { type: 'text', data: m.text, fin: true } : { type: 'binary', data: m.data, fin: true });
  }
  return expected;
}

/** Joins the pieces a `fragments: true` receiver reports into whole messages. */
function joinFragments(events: ConnectionEvent[]): ConnectionEvent[] {
  const out: ConnectionEvent[] = [];
  let text: string[] | null = null;
  let binary: Uint8Array[] | null = null;
  for (const event of events) {
    if (event.type === 'text') {
      (text ??= []).push(event.data);
      if (event.fin) {
        out.push({ type: 'text', data: text.join(''), fin: true });
        text = null;
      }
    } else if (event.type === 'binary') {
      (binary ??= []).push(event.data);
      if (event.fin) {
        out.push({ type: 'binary', data: concat(binary), fin: true });
        binary = null;
      }
    } else {
      out.push(event);
    }
  }
  return out;
}

function deterministicFill(seed: number): (target: Uint8Array) => void {
  const random = seededRandom(seed);
  return (target) => {
    for (let i = 0; i < target.length; i++) target[i] = Math.floor(random() * 256);
  };
}

for (const senderRole of ['client', 'server'] as const) {
  const receiverRole = peerOf(senderRole);
  describe(`properties: ${senderRole} → ${receiverRole}`, () => {
    test(`§5.4/§5.5 any valid message sequence a ${senderRole} sends, re-chunked anyhow, reaches the ${receiverRole} intact and in order`, () => {
      fc.assert(
        fc.property(
          fc.array(message, { maxLength: 8 }),
          chunking,
          chunking,
          fc.boolean(),
          fc.integer(),
          (messages, forward, back, fragments, seed) => {
            const senderEvents = new EventCollector();
            const receiverEvents = new EventCollector();
            const sender = new Connection(senderRole, senderEvents, { randomFill: deterministicFill(seed) });
            const receiver = new Connection(receiverRole, receiverEvents, { fragments, randomFill: deterministicFill(~seed) });

            const expected = send(sender, messages);
            sender.close(1000, 'bye');
            expected.push({ type: 'close', code: 1000, reason: 'bye' });
            for (const chunk of chunks(concat(sender.takeOutgoing()), forward)) receiver.receive(chunk);

            const received = receiverEvents.take();
            assert.deepEqual(fragments ? joinFragments(received) : received, expected);
            assert.equal(receiver.state, 'CLOSED');
            assert.equal(receiver.error, null);

            // The receiver's pongs and its close echo, sent back the other way.
            for (const chunk of chunks(concat(receiver.takeOutgoing()), back)) sender.receive(chunk);
            const pings = expected.filter((event) => event.type === 'ping');
            assert.deepEqual(senderEvents.take(), [
              ...pings.map((event) => ({ type: 'pong', data: event.data })),
              { type: 'close', code: 1000, reason: '' },
            ]);
            assert.equal(sender.state, 'CLOSED');
            assert.equal(sender.transportShouldClose, senderRole === 'server');
            assert.equal(receiver.transportShouldClose, receiverRole === 'server');
          },
        ),
        { numRuns: 250 },
      );
    });
  });
}

// ——— Connections sharing the output slab ———

/** Messages as a slab sees them: short frames that a take joins, and long payloads queued as they are between them. */
const slabMessage: fc.Arbitrary<Message> = fc.oneof(
  message,
  fc.record({ kind: fc.constant('ping' as const), data: fc.uint8Array({ maxLength: 40, size: 'max' }) }),
  fc.record({ kind: fc.constant('binary' as const), data: fc.uint8Array({ minLength: 4096, maxLength: 6000, size: 'max' }), mode: fc.constant({ how: 'whole' as const }) }),
);

/** Reserve from the shared output slab until `room` bytes are left in it. */
function leaveSlabRoom(room: number): void {
  const filler = new OutputQueue();
  let left = SLAB_SIZE - filler.reserve(0);
  while (left > room) {
    const size = Math.min(SLAB_SIZE / 4, left - room);
    filler.reserve(size);
    left -= size;
  }
  filler.take();
}

describe('properties: connections sharing the output slab', () => {
  test('§5.4/§5.5.1 messages of several connections, queued interleaved and taken at any moment, reach each receiver whole, once, in order, and nothing after the close', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ who: fc.integer({ min: 0, max: 2 }), message: slabMessage, take: fc.integer({ min: 0, max: 3 }).map((n) => n === 0), room: fc.option(fc.integer({ min: 0, max: 400 }), { freq: 2 }) }),
          { minLength: 12, maxLength: 30, size: 'max' },
        ),
        fc.integer(),
        (steps, seed) => {
          const senders = [0, 1, 2].map((i) => new Connection('server', new EventCollector(), { randomFill: deterministicFill(seed + i) }));
          const taken: Uint8Array[][] = [[], [], []];
          const expected: ConnectionEvent[][] = [[], [], []];
          for (const step of steps) {
            expected[step.who]!.push(...send(senders[step.who]!, [step.message]));
            // Fill the slab to near its end now and then: the short frames queued so far are
            // joined at take time, and a join that no longer fits starts a fresh slab.
            if (step.room !== null) leaveSlabRoom(step.room);
            if (step.take) taken[step.who]!.push(...senders[step.who]!.takeOutgoing());
          }
          senders.forEach((sender, i) => {
            sender.close(1000, 'bye');
            expected[i]!.push({ type: 'close', code: 1000, reason: 'bye' });
            taken[i]!.push(...sender.takeOutgoing());
          });
          taken.forEach((chunksTaken, i) => {
            const events = new EventCollector();
            const receiver = new Connection('client', events);
            receiver.receive(concat(chunksTaken));
            assert.deepEqual(events.take(), expected[i], `connection ${i}`);
            assert.equal(receiver.state, 'CLOSED');
          });
        },
      ),
      { numRuns: 400, endOnFailure: true },
    );
  });
});

// ——— Garbage ———

/** Bytes that look like frame headers for a receiver of `role`, with random flags and lengths. */
function frameish(role: Role): fc.Arbitrary<Uint8Array> {
  return fc
    .record({
      b0: fc.oneof(fc.constantFrom(0x81, 0x82, 0x01, 0x02, 0x00, 0x80, 0x88, 0x89, 0x8a), fc.integer({ min: 0, max: 255 })),
      masked: fc.oneof({ arbitrary: fc.constant(role === 'server'), weight: 5 }, { arbitrary: fc.boolean(), weight: 1 }),
      length: fc.oneof(fc.integer({ min: 0, max: 125 }), fc.constantFrom(126, 127)),
      extended: fc.uint8Array({ minLength: 8, maxLength: 8 }),
      key: fc.uint8Array({ minLength: 4, maxLength: 4 }),
      payload: fc.uint8Array({ maxLength: 200, size: 'max' }),
    })
    .map(({ b0, masked, length, extended, key, payload }) => {
      const parts = [Uint8Array.of(b0, (masked ? 0x80 : 0) | length)];
      if (length === 126) parts.push(extended.subarray(0, 2));
      if (length === 127) {
        extended[0] = extended[0]! & 0x7f;
        parts.push(extended);
      }
      if (masked) parts.push(key);
      parts.push(payload);
      return concat(parts);
    });
}

/** Valid frames for a receiver of `role`, concatenated, then damaged at random places. */
function damagedStream(role: Role): fc.Arbitrary<Uint8Array> {
  const frame = fc
    .record({
      opcode: fc.constantFrom(Opcode.Text, Opcode.Binary, Opcode.Continuation, Opcode.Ping, Opcode.Pong, Opcode.Close),
      fin: fc.boolean(),
      payload: fc.oneof(fc.uint8Array({ maxLength: 130, size: 'max' }), anyText({ maxLength: 40 }).map(utf8)),
    })
    .map(({ opcode, fin, payload }) =>
      encodeFrame({
        opcode,
        fin: opcode >= 8 ? true : fin,
        payload: opcode >= 8 ? payload.subarray(0, 125) : payload,
        maskKey: role === 'server' ? Uint8Array.of(1, 2, 3, 4) : null,
      }),
    );
  return fc
    .record({
      frames: fc.array(frame, { minLength: 1, maxLength: 6 }),
      damage: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }),
      truncate: fc.option(fc.nat()),
    })
    .map(({ frames, damage, truncate }) => {
      const bytes = concat(frames);
      for (const [at, value] of damage) if (bytes.length > 0) bytes[at % bytes.length] = value;
      return truncate === null ? bytes : bytes.subarray(0, truncate % (bytes.length + 1));
    });
}

function garbage(role: Role): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    fc.uint8Array({ maxLength: 400, size: 'max' }),
    damagedStream(role),
    fc.array(frameish(role), { minLength: 1, maxLength: 5 }).map(concat),
  );
}

const FAILURE_CODES = new Set([1002, 1007, 1009]);

for (const role of ['client', 'server'] as const) {
  describe(`properties: garbage fed to a ${role}`, () => {
    test(`§7.1.7 random bytes never make the ${role} throw: they end in events, or a close, or a failure with 1002/1007/1009`, () => {
      fc.assert(
        fc.property(garbage(role), chunking, fc.integer({ min: 0, max: 600 }), fc.boolean(), (bytes, plan, maxPayload, fragments) => {
          const events = new EventCollector();
          const conn = new Connection(role, events, { maxPayload, fragments });
          for (const chunk of chunks(bytes, plan)) conn.receive(chunk);

          const all = events.take();
          const terminal = all.findIndex((event) => event.type === 'error' || event.type === 'close');
          const sink = decodeAll(conn.takeOutgoing(), role === 'client');
          assert.deepEqual(sink.errors, [], 'whatever the connection sent is well-formed');
          const sent = sink.frames;
          const closes = sent.filter((frame) => frame.opcode === Opcode.Close);

          if (terminal === -1) {
            assert.equal(conn.state, 'OPEN');
            assert.equal(conn.error, null);
            assert.ok(sent.every((frame) => frame.opcode === Opcode.Pong), 'only pongs are sent while open');
            return;
          }
          assert.equal(terminal, all.length - 1, 'nothing is delivered after a close or a failure');
          assert.equal(conn.state, 'CLOSED');
          assert.equal(closes.length, 1, 'exactly one close frame');
          assert.equal(sent.at(-1)?.opcode, Opcode.Close, 'the close frame is the last frame');
          const last = all[terminal]!;
          if (last.type === 'error') {
            assert.ok(FAILURE_CODES.has(last.error.closeCode), `close code ${last.error.closeCode}`);
            assert.equal(closeCodeOf(closes[0]!), last.error.closeCode);
            assert.equal(conn.error, last.error);
            assert.equal(conn.transportShouldClose, true);
          } else {
            assert.equal(last.type, 'close');
            assert.equal(closeCodeOf(closes[0]!), last.code === 1005 ? 1000 : last.code);
            assert.equal(conn.error, null);
          }
        }),
        { numRuns: 1000 },
      );
    });

    test(`§7.4.1 the decoder of a ${role} never holds more than the size limit plus a header`, () => {
      fc.assert(
        fc.property(garbage(role), chunking, fc.integer({ min: 0, max: 600 }), (bytes, plan, maxPayload) => {
          const sink = new RecordingSink();
          const decoder = new FrameDecoder(sink, { expectMasked: role === 'server', maxMessageSize: maxPayload });
          // Control frames may always carry 125 bytes, whatever the message limit.
          const bound = Math.max(maxPayload, 125) + 14;
          for (const chunk of chunks(bytes, plan)) {
            decoder.push(chunk);
            assert.ok(decoder.bufferedBytes <= bound, `${decoder.bufferedBytes} > ${bound}`);
          }
          assert.ok(sink.errors.length <= 1);
          if (sink.errors.length === 1) {
            assert.equal(sink.log.at(-1), 'error', 'nothing is emitted after an error');
            assert.ok(FAILURE_CODES.has(sink.errors[0]!.closeCode));
          }
          for (const frame of sink.frames) {
            if (frame.opcode >= 8) assert.ok(frame.payload.length <= 125);
            else assert.ok(frame.payload.length <= maxPayload);
          }
        }),
        { numRuns: 1000 },
      );
    });
  });
}
