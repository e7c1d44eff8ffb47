/**
 * What a host passes the connection is checked before anything changes: from JavaScript, or
 * past a cast, the wrong type must be a {@link UsageError} naming it, never bytes on the wire
 * that no one sent, a lost chunk, or output that stops for every connection of the process.
 * And a send that fails leaves the message sequence (RFC 6455 §5.4) as the wire has it.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { Connection } from '../../src/connection/connection.ts';
import { UsageError } from '../../src/connection/errors.ts';
import { EventCollector } from '../../src/connection/handler.ts';
import { encodeFrame, encodeFrameParts } from '../../src/frame/encoder.ts';
import { Opcode } from '../../src/frame/opcode.ts';
import { acceptResponse } from '../../src/extensions/permessage-deflate/params.ts';
import { concat, utf8 } from '../frame/helpers.ts';
import { assertUsageError, closeCodeOf, endpoint, frameTo, ROLES, sentFrames, summarize } from './helpers.ts';

/** Values a JavaScript caller might pass for bytes: none has a byte length of its own. */
const NOT_BYTES: readonly unknown[] = [new ArrayBuffer(8), 123, null, undefined, { length: 3 }, [1, 2, 3], 'text'];

/** Bypass the types, as a JavaScript caller does. */
const untyped = <T>(value: unknown): T => value as T;

/** A client whose entropy source fails on its `failOn`-th call (the first fills the first key pool). */
function clientWithEntropyFailing(failOn: number): Connection {
  let calls = 0;
  return new Connection('client', new EventCollector(), {
    randomFill: (target) => {
      if (++calls === failOn) throw new Error('entropy unavailable');
      target.fill(0x5a);
    },
  });
}

/** Use every masking key of `conn`'s first pool but the last, so that its next frames need a new pool. */
function drainKeyPool(conn: Connection): void {
  for (let i = 0; i < 4096 / 4 - 1; i++) conn.sendPing();
  conn.takeOutgoing();
}

for (const role of ROLES) {
  describe(`Connection as ${role}: arguments of the wrong type`, () => {
    test('sendBinary, sendMessage, sendFrame, sendPing and sendPong refuse what is not bytes, and queue nothing', () => {
      const { conn } = endpoint(role);
      for (const value of NOT_BYTES) {
        if (value !== 'text') {
          assertUsageError(() => conn.sendBinary(untyped(value)), 'WS_ERR_INVALID_ARGUMENT');
          assertUsageError(() => conn.sendMessage(Opcode.Binary, untyped(value)), 'WS_ERR_INVALID_ARGUMENT');
          assertUsageError(() => conn.sendFrame(Opcode.Binary, untyped(value), true), 'WS_ERR_INVALID_ARGUMENT');
        }
        if (value !== undefined && value !== 'text') {
          assertUsageError(() => conn.sendPing(untyped(value)), 'WS_ERR_INVALID_ARGUMENT');
          assertUsageError(() => conn.sendPong(untyped(value)), 'WS_ERR_INVALID_ARGUMENT');
        }
      }
      assertUsageError(() => conn.sendText(untyped(null)), 'WS_ERR_INVALID_ARGUMENT');
      assertUsageError(() => conn.sendText(untyped(42)), 'WS_ERR_INVALID_ARGUMENT');
      assertUsageError(() => conn.close(1000, untyped(42)), 'WS_ERR_INVALID_ARGUMENT');
      assert.equal(conn.outgoingBytes, 0);
      assert.equal(conn.state, 'OPEN');
      conn.sendText('still fine');
      assert.deepEqual(sentFrames(conn).map((frame) => frame.opcode), [Opcode.Text]);
    });

    test('the error names the call, the argument and what it got', () => {
      const { conn } = endpoint(role);
      assert.throws(() => conn.sendBinary(untyped(new ArrayBuffer(4))), (error: unknown) => {
        assert.ok(error instanceof UsageError);
        assert.match(error.message, /sendBinary: the data must be a Uint8Array, got ArrayBuffer/);
        return true;
      });
      // An object with no prototype has no class to name.
      assert.throws(() => conn.sendBinary(untyped(Object.create(null))), /sendBinary: the data must be a Uint8Array, got an object$/);
      // sendFramed names the argument that is wrong: the payload, when the frame is right.
      const payload = new Uint8Array(4);
      assert.throws(() => conn.sendFramed(Opcode.Binary, encodeFrame({ opcode: Opcode.Binary, payload }), untyped(null)), /sendFramed: the frame and payload must be Uint8Arrays, got null$/);
    });

    test('receive and receiveBorrowed refuse what is not bytes, without failing the connection', () => {
      const { conn, events } = endpoint(role);
      for (const value of NOT_BYTES) {
        assertUsageError(() => conn.receive(untyped(value)), 'WS_ERR_INVALID_ARGUMENT');
        assertUsageError(() => conn.receiveBorrowed(untyped(value)), 'WS_ERR_INVALID_ARGUMENT');
      }
      assert.equal(conn.state, 'OPEN');
      assert.equal(conn.outgoingBytes, 0);
      conn.receive(frameTo(role, { opcode: Opcode.Text, payload: utf8('next') }));
      assert.deepEqual(summarize(events.take()), [{ type: 'text', data: 'next', fin: true }]);
    });

    test('one connection given the wrong type leaves every other connection of the process sending', () => {
      const bad = endpoint(role).conn;
      const good = endpoint(role).conn;
      assert.throws(() => bad.sendBinary(untyped(new ArrayBuffer(8))), UsageError);
      assert.throws(() => bad.sendPing(untyped(123)), UsageError);
      for (let round = 0; round < 3; round++) {
        good.sendText('hello');
        good.sendBinary(Uint8Array.of(1, 2, 3));
        const claimed = good.outgoingBytes;
        const chunks = good.takeOutgoing();
        assert.equal(concat(chunks).length, claimed, 'what outgoingBytes counts is what takeOutgoing gives');
        assert.equal(decodeCount(chunks, role), 2);
      }
    });

    test('sendMessage, sendMessageAt and sendFramed send whole data messages only (§5.2, §5.5): other opcodes are refused', () => {
      const { conn } = endpoint(role);
      const view = new DataView(new ArrayBuffer(200));
      const payload = new Uint8Array(200);
      for (const opcode of [Opcode.Continuation, Opcode.Close, Opcode.Ping, Opcode.Pong, 3, 0x13]) {
        assertUsageError(() => conn.sendMessage(untyped(opcode), payload), 'WS_ERR_INVALID_OPCODE');
        assertUsageError(() => conn.sendMessageAt(untyped(opcode), view, 0, 200), 'WS_ERR_INVALID_OPCODE');
        assertUsageError(() => conn.sendFramed(untyped(opcode), encodeFrame({ opcode: Opcode.Binary, payload }), payload), 'WS_ERR_INVALID_OPCODE');
      }
      assertUsageError(() => conn.sendMessageAt(Opcode.Binary, untyped(payload), 0, 200), 'WS_ERR_INVALID_ARGUMENT');
      // Offsets must be whole: a fraction would have moved the shared slab's fill off whole bytes.
      for (const [start, length] of [[0, 1.5], [0.5, 10], [0, Number.NaN], [-1, 5], [150, 60]]) {
        assert.throws(() => conn.sendMessageAt(Opcode.Binary, view, start!, length!), RangeError, `${start}, ${length}`);
      }
      assert.throws(() => conn.sendBinary(payload, 1.5), /fragmentSize must be a whole number of at least 1, got 1.5/);
      // Named as the options name a bad value, not printed as a function's source or a string's bare text.
      assert.throws(() => conn.sendBinary(payload, untyped(() => 1)), /fragmentSize must be a whole number of at least 1, got a function$/);
      assert.throws(() => conn.sendBinary(payload, untyped('8')), /got the string "8"$/);
      assertUsageError(() => conn.sendFramed(Opcode.Binary, untyped(null), payload), 'WS_ERR_INVALID_ARGUMENT');
      assert.equal(conn.outgoingBytes, 0);
      assert.equal(conn.state, 'OPEN');
    });

    test('a handler that feeds receive from within receive is refused: the chunk being parsed may end inside a header', () => {
      const stream = concat([
        frameTo(role, { opcode: Opcode.Text, payload: utf8('first') }),
        frameTo(role, { opcode: Opcode.Text, payload: utf8('second') }),
      ]);
      // The outer chunk ends three bytes into the second frame's header.
      const cut = frameTo(role, { opcode: Opcode.Text, payload: utf8('first') }).length + 3;
      const events = new EventCollector();
      const conn = new Connection(role, events, { randomFill: (target) => target.fill(1) });
      const texts: string[] = [];
      events.onText = (text) => {
        texts.push(text);
        conn.receive(stream.subarray(cut));
      };
      assertUsageError(() => conn.receive(stream.subarray(0, cut)), 'WS_ERR_REENTRANT');
      assert.deepEqual(texts, ['first'], 'nothing was parsed out of step');
    });

    test('after a receive that threw, the next one is not taken for a nested call', () => {
      const { conn, events } = endpoint(role);
      assert.throws(() => conn.receive(untyped({})), UsageError);
      conn.receive(frameTo(role, { opcode: Opcode.Text, payload: utf8('ok') }));
      assert.deepEqual(summarize(events.take()), [{ type: 'text', data: 'ok', fin: true }]);
    });
  });

  describe(`Connection as ${role}: a send that fails leaves the message sequence (§5.4) as the wire has it`, () => {
    test('a first fragment refused for its data does not open a message: a continuation is still refused, a new message may start', () => {
      const { conn } = endpoint(role);
      assert.throws(() => conn.sendFrame(Opcode.Text, untyped(null), false), UsageError);
      assertUsageError(() => conn.sendFrame(Opcode.Continuation, 'x', true), 'WS_ERR_FRAGMENT_SEQUENCE');
      conn.sendText('whole');
      assert.deepEqual(sentFrames(conn).map((frame) => [frame.opcode, frame.fin]), [[Opcode.Text, true]]);
    });

    test('a final fragment refused for its data leaves the message open: another message may not start, the fragment may be sent again', () => {
      const { conn } = endpoint(role);
      conn.sendFrame(Opcode.Binary, Uint8Array.of(1), false);
      assert.throws(() => conn.sendFrame(Opcode.Continuation, untyped(7), true), UsageError);
      assertUsageError(() => conn.sendText('interleaved'), 'WS_ERR_FRAGMENT_SEQUENCE');
      conn.sendFrame(Opcode.Continuation, Uint8Array.of(2), true);
      assert.deepEqual(sentFrames(conn).map((frame) => [frame.opcode, frame.fin]), [[Opcode.Binary, false], [Opcode.Continuation, true]]);
    });
  });
}

describe('Connection as client: an entropy source that fails mid-message', () => {
  test('a fragment that cannot be masked leaves the message as the wire has it: the fragment may be sent again', () => {
    const conn = clientWithEntropyFailing(2);
    drainKeyPool(conn);
    conn.sendFrame(Opcode.Binary, Uint8Array.of(1), false); // the pool's last key
    assert.throws(() => conn.sendFrame(Opcode.Continuation, Uint8Array.of(2), true), /entropy unavailable/);
    // Still mid-message on the wire: the final fragment may be sent once the source works.
    conn.sendFrame(Opcode.Continuation, Uint8Array.of(2), true);
    conn.sendText('next');
    assert.deepEqual(sentFrames(conn).map((frame) => [frame.opcode, frame.fin]), [[Opcode.Binary, false], [Opcode.Continuation, true], [Opcode.Text, true]]);
  });

  test('a text fragment that cannot be masked is not counted in the message\'s UTF-8 (§8.1): sent again, it completes it; a different one still may not break it', () => {
    const conn = clientWithEntropyFailing(2);
    drainKeyPool(conn);
    conn.sendFrame(Opcode.Text, 'ab', false); // the pool's last key
    assert.throws(() => conn.sendFrame(Opcode.Continuation, Uint8Array.of(0xe2, 0x82), false), /entropy unavailable/);
    // Had the failed fragment counted, 0xac would complete € (e2 82 ac); it would be a lone continuation byte on the wire.
    assertUsageError(() => conn.sendFrame(Opcode.Continuation, Uint8Array.of(0xac), true), 'WS_ERR_INVALID_UTF8');
    conn.sendFrame(Opcode.Continuation, Uint8Array.of(0xe2, 0x82), false);
    conn.sendFrame(Opcode.Continuation, Uint8Array.of(0xac), true);
    const frames = sentFrames(conn);
    assert.equal(new TextDecoder('utf-8', { fatal: true }).decode(concat(frames.map((frame) => frame.payload))), 'ab€');
  });

  test('a fragmented message cut short by it fails the connection (§7.1.7): nothing may follow a message left open', () => {
    const conn = clientWithEntropyFailing(2);
    drainKeyPool(conn);
    assert.throws(() => conn.sendBinary(new Uint8Array(30).fill(0x62), 10), /entropy unavailable/);
    assert.equal(conn.state, 'CLOSED');
    assertUsageError(() => conn.sendText('next'), 'WS_ERR_NOT_OPEN');
    // The first fragment went out; then the close frame of the failure (the source works again).
    const frames = sentFrames(conn);
    assert.deepEqual(frames.map((frame) => [frame.opcode, frame.fin]), [[Opcode.Binary, false], [Opcode.Close, true]]);
    assert.equal(closeCodeOf(frames[1]!), 1011);
  });

  test('abort does not fail when its close frame cannot be masked', () => {
    const conn = clientWithEntropyFailing(2);
    drainKeyPool(conn);
    conn.sendPing(); // the pool's last key
    conn.takeOutgoing();
    conn.abort(1011, 'failing');
    assert.equal(conn.state, 'CLOSED');
    assert.equal(conn.localCloseCode, null, 'no close frame was sent');
  });
});

describe('tools of the core refuse what they cannot encode', () => {
  test('encodeFrame writes any 4-bit opcode, reserved ones too, but refuses a wider one (§5.2) and a key that is not 4 bytes (§5.3)', () => {
    assert.deepEqual([...encodeFrame({ opcode: 0x0b, payload: new Uint8Array(0) })], [0x8b, 0x00]);
    assert.throws(() => encodeFrameParts({ opcode: 0x10, payload: new Uint8Array(1) }), RangeError);
    assert.throws(() => encodeFrameParts({ opcode: -1, payload: new Uint8Array(1) }), RangeError);
    assert.throws(() => encodeFrameParts({ opcode: 1, payload: new Uint8Array(1), maskKey: Uint8Array.of(1, 2, 3) }), RangeError);
  });

  test('acceptResponse refuses an offer of our own that is not valid, rather than crash on it', () => {
    const response = { name: 'permessage-deflate', params: [] };
    const offer = { name: 'permessage-deflate', params: [['server_max_window_bits', '99'] as [string, string]] };
    assert.throws(() => acceptResponse(response, offer), RangeError);
  });
});

/** How many frames `chunks` hold, decoded as `role`'s peer would. */
function decodeCount(chunks: Uint8Array[], role: 'client' | 'server'): number {
  const peer = new EventCollector();
  const receiver = new Connection(role === 'client' ? 'server' : 'client', peer);
  receiver.receive(concat(chunks));
  return peer.take().length;
}
