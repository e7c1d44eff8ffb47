/**
 * The connection's hooks for its host: text handed out as validated bytes (`onTextBytes`),
 * a native whole-buffer UTF-8 validator (`isUtf8`), the deferred answer to a close
 * (`deferCloseReply`), and whole messages sent from bytes at hand (`sendMessage`).
 */
import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { describe, test } from 'node:test';
import fc from 'fast-check';

import { Connection, type ConnectionOptions } from '../../src/connection/connection.ts';
import { EventCollector } from '../../src/connection/handler.ts';
import { Opcode } from '../../src/frame/opcode.ts';
import { Utf8Validator } from '../../src/frame/utf8.ts';
import { concat, hex, utf8 } from '../frame/helpers.ts';
import { closeBody, closeCodeOf, frameTo, ROLES, sentFrames } from './helpers.ts';

/** Records text as bytes, as a host that decodes lazily does. */
class BytesCollector extends EventCollector {
  texts: Array<{ bytes: Uint8Array; fin: boolean }> = [];
  onTextBytes(bytes: Uint8Array, fin: boolean): void {
    this.texts.push({ bytes: new Uint8Array(bytes), fin });
  }
}

function bytesEndpoint(role: 'client' | 'server', options: ConnectionOptions = {}): { conn: Connection; events: BytesCollector } {
  const events = new BytesCollector();
  return { conn: new Connection(role, events, options), events };
}

/** Node's `isUtf8` as a host validator that counts its calls. */
function countingValidator(): { isUtf8: (data: Uint8Array) => boolean; calls: number } {
  const counter = {
    calls: 0,
    isUtf8: (data: Uint8Array): boolean => {
      counter.calls++;
      return isUtf8(data);
    },
  };
  return counter;
}

for (const role of ROLES) {
  describe(`host hooks (${role})`, () => {
    test('§8.1 with onTextBytes a whole text message arrives as its validated bytes, never decoded', () => {
      const { conn, events } = bytesEndpoint(role);
      const text = utf8('κόσμε — ok');
      conn.receive(frameTo(role, { opcode: Opcode.Text, payload: text }));
      assert.deepEqual(events.texts, [{ bytes: text, fin: true }]);
      assert.deepEqual(events.take(), [], 'onText is not called');
    });

    test('§8.1 with onTextBytes a fragmented text message arrives whole, and fragments mode hands out each piece', () => {
      const whole = utf8('é-split');
      for (const fragments of [false, true]) {
        const { conn, events } = bytesEndpoint(role, { fragments });
        conn.receive(frameTo(role, { opcode: Opcode.Text, payload: whole.subarray(0, 1), fin: false }));
        conn.receive(frameTo(role, { opcode: Opcode.Continuation, payload: whole.subarray(1), fin: true }));
        const expected = fragments
          ? [{ bytes: whole.subarray(0, 1), fin: false }, { bytes: whole.subarray(1), fin: true }]
          : [{ bytes: whole, fin: true }];
        assert.deepEqual(events.texts, expected, `fragments: ${fragments}`);
      }
    });

    test('§8.1 with onTextBytes invalid text still fails with 1007, and the host validator is the one used', () => {
      const counting = countingValidator();
      const { conn, events } = bytesEndpoint(role, { isUtf8: counting.isUtf8 });
      conn.receive(frameTo(role, { opcode: Opcode.Text, payload: hex('ce ba ed a0 80') }));
      assert.equal(counting.calls, 1);
      assert.deepEqual(events.texts, []);
      assert.equal(conn.error?.closeCode, 1007);
    });

    test('§8.1 with the host validator, a text frame read in pieces fails with 1007 at the piece holding the bad byte', () => {
      const payload = new Uint8Array(64).fill(0x61);
      payload[50] = 0xff;
      const frame = frameTo(role, { opcode: Opcode.Text, payload });
      const headerLength = frame.length - payload.length;
      const { conn, events } = bytesEndpoint(role, { isUtf8 });
      conn.receive(frame.subarray(0, headerLength + 40));
      const afterFirstPiece = conn.error;
      assert.equal(afterFirstPiece, null, 'the first 40 bytes are valid');
      conn.receive(frame.subarray(headerLength + 40));
      assert.equal(conn.error?.closeCode, 1007);
      assert.deepEqual(events.texts, []);
    });

    test('§8.1 with onTextBytes a masked all-ASCII text message needs no validator call; one non-ASCII byte does', () => {
      const counting = countingValidator();
      const { conn, events } = bytesEndpoint(role, { isUtf8: counting.isUtf8 });
      conn.receive(frameTo(role, { opcode: Opcode.Text, payload: utf8('plain ASCII, as JSON mostly is') }));
      conn.receive(frameTo(role, { opcode: Opcode.Text, payload: utf8('café') }));
      assert.deepEqual(events.texts.map((text) => new TextDecoder().decode(text.bytes)), ['plain ASCII, as JSON mostly is', 'café']);
      // Only a server unmasks what it reads, and learns on the way whether it is ASCII.
      assert.equal(counting.calls, role === 'server' ? 1 : 2);
    });

    test('§5.5.1 with deferCloseReply the close is not answered until replyToClose, and nothing after it is delivered', () => {
      const { conn, events } = bytesEndpoint(role, { deferCloseReply: true });
      conn.receive(concat([frameTo(role, { opcode: Opcode.Close, payload: closeBody(4001, 'bye') }), frameTo(role, { opcode: Opcode.Text, payload: utf8('late') })]));
      assert.equal(conn.awaitingCloseReply, true);
      assert.equal(conn.state, 'OPEN', 'still able to send the reply to what came before');
      assert.deepEqual(events.take(), [{ type: 'close', code: 4001, reason: 'bye' }]);
      assert.deepEqual(events.texts, [], 'a frame after the close is not delivered');
      conn.sendText('last words');
      conn.replyToClose();
      assert.equal(conn.state, 'CLOSED');
      const frames = sentFrames(conn);
      assert.deepEqual(frames.map((frame) => frame.opcode), [Opcode.Text, Opcode.Close]);
      assert.equal(closeCodeOf(frames[1]!), 4001, 'the answer echoes the code');
      assert.equal(conn.transportShouldClose, role === 'server');
    });

    test('§5.5.1 with deferCloseReply, close(code) is the answer: the handshake completes without CLOSING', () => {
      const { conn } = bytesEndpoint(role, { deferCloseReply: true });
      conn.receive(frameTo(role, { opcode: Opcode.Close, payload: new Uint8Array(0) }));
      conn.close(1001, 'going');
      assert.equal(conn.state, 'CLOSED');
      assert.equal(conn.awaitingCloseReply, false);
      const frames = sentFrames(conn);
      assert.equal(frames.length, 1);
      assert.equal(closeCodeOf(frames[0]!), 1001);
      conn.replyToClose();
      assert.equal(sentFrames(conn).length, 0, 'no second close frame');
    });

    test('sendMessage queues a whole text or binary message from bytes at hand', () => {
      const { conn } = bytesEndpoint(role);
      conn.sendMessage(Opcode.Text, utf8('relayed'));
      conn.sendMessage(Opcode.Binary, hex('01 02 03'), 2);
      const frames = sentFrames(conn);
      assert.deepEqual(
        frames.map((frame) => [frame.opcode, frame.fin, [...frame.payload]]),
        [
          [Opcode.Text, true, [...utf8('relayed')]],
          [Opcode.Binary, false, [1, 2]],
          [Opcode.Continuation, true, [3]],
        ],
      );
    });
  });
}

describe('RFC 3629 §4 streaming validation with a host whole-buffer check', () => {
  test('gives the same verdict, at the same piece, as the byte-wise validator, for any split of any bytes', () => {
    // size 'max': fast-check's default size keeps arrays near 10 elements, under the 16 bytes
    // from which the host's check is used at all.
    const pieces = fc.array(fc.uint8Array({ maxLength: 40, size: 'max' }), { maxLength: 6 });
    const valid = fc.string({ unit: 'binary', maxLength: 60, size: 'max' }).map((text) => utf8(text));
    fc.assert(
      fc.property(fc.oneof(pieces, valid.chain((bytes) => fc.array(fc.nat({ max: bytes.length }), { maxLength: 5 }).map((cuts) => split(bytes, cuts)))), (parts) => {
        const plain = new Utf8Validator();
        const hosted = new Utf8Validator(isUtf8);
        for (const part of parts) assert.equal(hosted.push(part), plain.push(part));
        assert.equal(hosted.finish(), plain.finish());
      }),
      { numRuns: 3000 },
    );
  });
});

function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts)].sort((a, b) => a - b);
  const parts: Uint8Array[] = [];
  let from = 0;
  for (const point of points) {
    parts.push(bytes.subarray(from, point));
    from = point;
  }
  parts.push(bytes.subarray(from));
  return parts;
}

describe('an allocate hook that refuses (a quota, memory gone)', () => {
  /** A connection whose `allocate` throws on its `failOn`-th call, and counts the others. */
  function quotaConnection(role: 'client' | 'server', failOn: number): Connection {
    let calls = 0;
    return new Connection(role, new EventCollector(), {
      randomFill: (target) => target.fill(0x5a),
      allocate: (size) => {
        if (++calls === failOn) throw new RangeError('quota');
        return new Uint8Array(size);
      },
    });
  }

  test('client: a send it refuses counts nothing as queued: outgoingBytes is what takeOutgoing gives', () => {
    const conn = quotaConnection('client', 1);
    assert.throws(() => conn.sendBinary(new Uint8Array(20_000)), /quota/); // masked into a buffer of its own
    assert.equal(conn.outgoingBytes, 0);
    assert.equal(concat(conn.takeOutgoing()).length, 0);
    conn.sendBinary(new Uint8Array(20_000));
    assert.equal(conn.outgoingBytes, concat(conn.takeOutgoing()).length);
  });

  test('a fragmented send refused before its first frame leaves the connection open with nothing sent (§5.4: no message was begun)', () => {
    const conn = quotaConnection('client', 1);
    assert.throws(() => conn.sendBinary(new Uint8Array(40_000), 20_000), /quota/);
    assert.equal(conn.state, 'OPEN');
    assert.equal(conn.outgoingBytes, 0);
    conn.sendText('after');
    assert.deepEqual(sentFrames(conn).map((frame) => [frame.opcode, frame.fin]), [[Opcode.Text, true]]);
  });
});
