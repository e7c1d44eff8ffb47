/**
 * Property-based fuzzing of everything that parses input from the network: the frame
 * decoder, the connection state machine, the handshake parser, and a differential check of
 * the whole receive path against `ws`'s receiver. The same properties run briefly in
 * `npm test` and for a million cases in `npm run fuzz`.
 * @module
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import fc from 'fast-check';

import { Connection } from '../src/connection/connection.ts';
import { EventCollector } from '../src/connection/handler.ts';
import { FrameDecoder, type FrameSink } from '../src/frame/decoder.ts';
import { encodeFrame } from '../src/frame/encoder.ts';
import { ProtocolError } from '../src/frame/errors.ts';
import { Opcode } from '../src/frame/opcode.ts';
import { HandshakeError } from '../src/handshake/errors.ts';
import { RequestHeadParser } from '../src/handshake/request.ts';

/** A named property and how to check it a given number of times. */
export interface FuzzProperty {
  name: string;
  run(numRuns: number, seed?: number): void;
}

const MAX_PAYLOAD = 4096;

/** Cut `bytes` at `cuts` (positions, any order), copying each piece: receivers unmask in place. */
function cut(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((point) => point % (bytes.length + 1)))].sort((a, b) => a - b);
  const pieces: Uint8Array[] = [];
  let from = 0;
  for (const point of points) {
    pieces.push(bytes.slice(from, point));
    from = point;
  }
  pieces.push(bytes.slice(from));
  return pieces;
}

const garbage = fc.record({
  bytes: fc.uint8Array({ maxLength: 600, size: 'max' }),
  cuts: fc.array(fc.nat(), { maxLength: 12, size: 'max' }),
  server: fc.boolean(),
});

/** §5.2: whatever arrives, the decoder never throws, never holds more than one frame's worth, and stops after an error. */
const decoderOnGarbage: FuzzProperty = {
  name: 'frame decoder on random bytes',
  run(numRuns, seed) {
    fc.assert(
      fc.property(garbage, ({ bytes, cuts, server }) => {
        let errors = 0;
        let framesAfterError = 0;
        const sink: FrameSink = {
          onFrame: () => void (errors > 0 && framesAfterError++),
          onFramePart: () => undefined,
          onFrameError: (error) => {
            assert.ok(error instanceof ProtocolError);
            errors++;
          },
        };
        const decoder = new FrameDecoder(sink, { expectMasked: server, maxMessageSize: MAX_PAYLOAD });
        for (const piece of cut(bytes, cuts)) {
          decoder.push(piece);
          assert.ok(decoder.bufferedBytes <= Math.max(MAX_PAYLOAD, 125) + 14, 'buffered more than one frame');
        }
        assert.ok(errors <= 1);
        assert.equal(framesAfterError, 0);
      }),
      { numRuns, seed },
    );
  },
};

/** §7.1.7: a connection fed anything reports only typed protocol errors, with the right close codes. */
const connectionOnGarbage: FuzzProperty = {
  name: 'connection on random bytes',
  run(numRuns, seed) {
    fc.assert(
      fc.property(garbage, fc.boolean(), ({ bytes, cuts, server }, fragments) => {
        const connection = new Connection(server ? 'server' : 'client', new EventCollector(), { maxPayload: MAX_PAYLOAD, fragments });
        for (const piece of cut(bytes, cuts)) connection.receive(piece);
        const error = connection.error;
        if (error !== null) {
          assert.ok([1002, 1007, 1009].includes(error.closeCode), `close code ${error.closeCode}`);
          assert.equal(connection.state, 'CLOSED');
          assert.equal(connection.localCloseCode, error.closeCode);
        }
        connection.takeOutgoing();
      }),
      { numRuns, seed },
    );
  },
};

const VALID_REQUEST =
  'GET /chat?x=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';

/** §4.2.1: the request parser answers anything with a request or a HandshakeError. */
const requestParserOnGarbage: FuzzProperty = {
  name: 'handshake request parser on random and mutated heads',
  run(numRuns, seed) {
    const valid = new TextEncoder().encode(VALID_REQUEST);
    const mutated = fc
      .array(fc.tuple(fc.nat({ max: valid.length - 1 }), fc.integer({ min: 0, max: 255 })), { maxLength: 6 })
      .map((edits) => {
        const bytes = valid.slice();
        for (const [at, value] of edits) bytes[at] = value;
        return bytes;
      });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 400, size: 'max' }), mutated), fc.array(fc.nat(), { maxLength: 8 }), (bytes, cuts) => {
        const parser = new RequestHeadParser(1024, 20);
        try {
          for (const piece of cut(bytes, cuts)) if (parser.feed(piece) !== null) break;
        } catch (error) {
          assert.ok(error instanceof HandshakeError, `unexpected ${String(error)}`);
          assert.ok(error.status >= 400 && error.status < 600);
        }
      }),
      { numRuns, seed },
    );
  },
};

// ——— Differential: the same valid stream through our server connection and ws's receiver ———

interface WsReceiver {
  on(event: 'message', listener: (data: Buffer, isBinary: boolean) => void): unknown;
  on(event: 'ping' | 'pong', listener: (data: Buffer) => void): unknown;
  on(event: 'conclude', listener: (code: number, reason: Buffer) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  write(chunk: Uint8Array): boolean;
}
type WsReceiverClass = new (options: { isServer: boolean; maxPayload: number }) => WsReceiver;

const wsReceiver = (createRequire(import.meta.url)('ws') as { Receiver: WsReceiverClass }).Receiver;

type Item = { kind: 'text'; text: string; cuts: number[] } | { kind: 'binary'; bytes: Uint8Array; cuts: number[] } | { kind: 'ping'; bytes: Uint8Array };

const item: fc.Arbitrary<Item> = fc.oneof(
  fc.record({ kind: fc.constant('text' as const), text: fc.string({ unit: 'grapheme', maxLength: 40, size: 'max' }), cuts: fc.array(fc.nat(), { maxLength: 3 }) }),
  fc.record({ kind: fc.constant('binary' as const), bytes: fc.uint8Array({ maxLength: 300, size: 'max' }), cuts: fc.array(fc.nat(), { maxLength: 3 }) }),
  fc.record({ kind: fc.constant('ping' as const), bytes: fc.uint8Array({ maxLength: 125, size: 'max' }) }),
);

/** Masked client frames for the items, messages fragmented at their cuts (§5.4). */
function clientStream(items: readonly Item[], key: Uint8Array): Uint8Array {
  const frames: Uint8Array[] = [];
  for (const entry of items) {
    if (entry.kind === 'ping') {
      frames.push(encodeFrame({ opcode: Opcode.Ping, payload: entry.bytes, maskKey: key }));
      continue;
    }
    const payload = entry.kind === 'text' ? new TextEncoder().encode(entry.text) : entry.bytes;
    const pieces = cut(payload, entry.cuts);
    pieces.forEach((piece, index) => {
      const opcode = index > 0 ? Opcode.Continuation : entry.kind === 'text' ? Opcode.Text : Opcode.Binary;
      frames.push(encodeFrame({ opcode, payload: piece, fin: index === pieces.length - 1, maskKey: key }));
    });
  }
  frames.push(encodeFrame({ opcode: Opcode.Close, payload: new Uint8Array([0x03, 0xe8]), maskKey: key }));
  const whole = new Uint8Array(frames.reduce((sum, frame) => sum + frame.length, 0));
  let at = 0;
  for (const frame of frames) {
    whole.set(frame, at);
    at += frame.length;
  }
  return whole;
}

/** An event collector that also takes whole short messages as their place in the chunk. */
class PlaceCollector extends EventCollector {
  onMessageAt(opcode: 1 | 2, chunk: DataView, start: number, length: number): void {
    const bytes = new Uint8Array(chunk.buffer, chunk.byteOffset + start, length);
    if (opcode === 1) this.onText(new TextDecoder().decode(bytes), true);
    else this.onBinary(bytes, true);
  }
}

/**
 * What a server connection reports for `stream` cut at `cuts`, one line per event. `lent`:
 * every piece is lent through one reused buffer, scribbled over after each push, as a
 * socket's shared read region is.
 */
function receiveAll(collector: EventCollector, stream: Uint8Array, cuts: number[], lent = false): string[] {
  const ours: string[] = [];
  const connection = new Connection('server', collector, { maxPayload: 1 << 20 });
  const region = new Uint8Array(lent ? stream.length : 0);
  for (const piece of cut(stream, cuts)) {
    if (!lent) {
      connection.receive(piece);
      continue;
    }
    region.set(piece);
    connection.receiveBorrowed(region.subarray(0, piece.length));
    region.fill(0xa5);
  }
  for (const event of collector.take()) {
    if (event.type === 'text') ours.push(`text ${event.data}`);
    else if (event.type === 'binary') ours.push(`binary ${Buffer.from(event.data).toString('hex')}`);
    else if (event.type === 'ping') ours.push(`ping ${Buffer.from(event.data).toString('hex')}`);
    else if (event.type === 'close') ours.push(`close ${event.code}`);
    else if (event.type === 'error') ours.push(`error ${event.error.closeCode}`);
  }
  return ours;
}

const differentialWithWs: FuzzProperty = {
  name: 'receive path against ws (same messages from the same valid stream)',
  run(numRuns, seed) {
    fc.assert(
      fc.property(fc.array(item, { maxLength: 8 }), fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.array(fc.nat(), { maxLength: 10 }), (items, key, cuts) => {
        const stream = clientStream(items, key);
        // Three times: with the plain collector, with one that takes short messages by
        // place, and with the pieces lent through one reused buffer.
        const ours = receiveAll(new EventCollector(), stream, cuts);
        const oursByPlace = receiveAll(new PlaceCollector(), stream, cuts);
        const oursLent = receiveAll(new PlaceCollector(), stream, cuts, true);
        const theirs: string[] = [];
        const receiver = new wsReceiver({ isServer: true, maxPayload: 1 << 20 });
        receiver.on('message', (data, isBinary) => theirs.push(isBinary ? `binary ${data.toString('hex')}` : `text ${data.toString()}`));
        receiver.on('ping', (data) => theirs.push(`ping ${data.toString('hex')}`));
        receiver.on('conclude', (code) => theirs.push(`close ${code}`));
        receiver.on('error', (error) => theirs.push(`error ${String(error)}`));
        for (const piece of cut(stream, cuts)) receiver.write(piece);
        assert.deepEqual(ours, theirs);
        assert.deepEqual(oursByPlace, theirs);
        assert.deepEqual(oursLent, theirs);
      }),
      { numRuns, seed },
    );
  },
};

/** Every property, in the order the fuzz run reports them. */
export const PROPERTIES: readonly FuzzProperty[] = [decoderOnGarbage, connectionOnGarbage, requestParserOnGarbage, differentialWithWs];
