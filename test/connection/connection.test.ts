import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { Connection, DEFAULT_MAX_PAYLOAD, type Role } from '../../src/connection/connection.ts';
import { UsageError } from '../../src/connection/errors.ts';
import { EventCollector } from '../../src/connection/handler.ts';
import { encodeFrame } from '../../src/frame/encoder.ts';
import { ProtocolError } from '../../src/frame/errors.ts';
import { Opcode } from '../../src/frame/opcode.ts';
import { concat, decodeAll, feedInPlace, hex, toHex, utf8, type DecodedFrame, type InPlaceFeed } from '../frame/helpers.ts';
import {
  assertUsageError,
  closeBody,
  closeCodeOf,
  endpoint,
  frameTo,
  outgoingBytes,
  peerOf,
  RFC_KEY,
  ROLES,
  sentFrames,
  summarize,
} from './helpers.ts';

const HELLO = utf8('Hello');

/** What a frame from `role` looks like on the wire, with the RFC key when `role` is a client. */
function wire(role: Role, opcode: number, payload: Uint8Array, fin = true): string {
  return toHex(encodeFrame({ opcode, payload, fin, maskKey: role === 'client' ? RFC_KEY : null }));
}

/** The close code in the single close frame `conn` queued. */
function sentCloseCode(conn: Connection): number | null {
  const frames = sentFrames(conn);
  assert.equal(frames.length, 1, 'one frame queued');
  assert.equal(frames[0]!.opcode, Opcode.Close);
  return closeCodeOf(frames[0]!);
}

for (const role of ROLES) {
  const peer = peerOf(role);

  describe(`Connection as ${role}: control frames (RFC 6455 §5.5)`, () => {
    test(`§5.5.2 the ${role} answers a ping "Hello" with a pong carrying the same payload`, () => {
      const { conn, events } = endpoint(role);
      conn.receive(frameTo(role, { opcode: Opcode.Ping, payload: HELLO }));
      assert.deepEqual(events.take(), [{ type: 'ping', data: HELLO }]);
      // §5.7: the masked pong of the RFC, byte for byte, when the client answers.
      const expected = role === 'client' ? '8a 85 37 fa 21 3d 7f 9f 4d 51 58' : '8a 05 48 65 6c 6c 6f';
      assert.equal(toHex(outgoingBytes(conn)), expected);
      assert.equal(conn.state, 'OPEN');
    });

    test(`§5.5.2 the ${role} answers an empty ping with an empty pong, and a 125-byte ping in full`, () => {
      const { conn, events } = endpoint(role);
      const long = new Uint8Array(125).map((_, i) => i);
      conn.receive(concat([frameTo(role, { opcode: Opcode.Ping, payload: new Uint8Array(0) }), frameTo(role, { opcode: Opcode.Ping, payload: long })]));
      assert.deepEqual(summarize(events.take()), [
        { type: 'ping', data: new Uint8Array(0) },
        { type: 'ping', data: long },
      ]);
      assert.equal(toHex(outgoingBytes(conn)), wire(role, Opcode.Pong, new Uint8Array(0)) + ' ' + wire(role, Opcode.Pong, long));
    });

    test(`§5.5.3 the ${role} reports an unsolicited pong and sends nothing`, () => {
      const { conn, events } = endpoint(role);
      conn.receive(frameTo(role, { opcode: Opcode.Pong, payload: HELLO }));
      assert.deepEqual(events.take(), [{ type: 'pong', data: HELLO }]);
      assert.deepEqual(conn.takeOutgoing(), []);
      assert.equal(conn.outgoingBytes, 0);
    });

    test(`§5.4 the ${role} answers a ping injected between fragments at once, before the message ends`, () => {
      const { conn, events } = endpoint(role);
      conn.receive(frameTo(role, { opcode: Opcode.Text, fin: false, payload: utf8('Hel') }));
      conn.receive(frameTo(role, { opcode: Opcode.Ping, payload: utf8('p') }));
      assert.deepEqual(events.take(), [{ type: 'ping', data: utf8('p') }]);
      assert.equal(toHex(outgoingBytes(conn)), wire(role, Opcode.Pong, utf8('p')));
      conn.receive(frameTo(role, { opcode: Opcode.Continuation, payload: utf8('lo') }));
      assert.deepEqual(events.take(), [{ type: 'text', data: 'Hello', fin: true }]);
    });

    test(`§5.5.3 the ${role} answers a burst of 10 pings in full (within maxQueuedPongs)`, () => {
      const { conn } = endpoint(role);
      const payloads = Array.from({ length: 10 }, (_, i) => utf8(`ping ${i}`));
      conn.receive(concat(payloads.map((payload) => frameTo(role, { opcode: Opcode.Ping, payload }))));
      const pongs = sentFrames(conn);
      assert.deepEqual(pongs.map((f) => f.opcode), payloads.map(() => Opcode.Pong));
      assert.deepEqual(pongs.map((f) => f.payload), payloads);
    });

    test(`§5.5.3 past maxQueuedPongs the ${role} answers only the most recent ping, once per take`, () => {
      const { conn, events } = endpoint(role, { maxQueuedPongs: 4 });
      const payloads = Array.from({ length: 1000 }, (_, i) => utf8(String(i)));
      conn.receive(concat(payloads.map((payload) => frameTo(role, { opcode: Opcode.Ping, payload }))));
      assert.equal(events.take().length, 1000, 'every ping is still reported');
      const pongs = sentFrames(conn);
      // The first four in full, then only the latest: 5 pongs for 1,000 pings.
      assert.deepEqual(pongs.map((f) => new TextDecoder().decode(f.payload)), ['0', '1', '2', '3', '999']);
      // The count starts again after each take.
      conn.receive(concat(payloads.slice(0, 6).map((payload) => frameTo(role, { opcode: Opcode.Ping, payload }))));
      assert.deepEqual(sentFrames(conn).map((f) => new TextDecoder().decode(f.payload)), ['0', '1', '2', '3', '5']);
    });

    test(`§5.5.3 a held pong goes out before the ${role}'s close frame, and none after it`, () => {
      const { conn } = endpoint(role, { maxQueuedPongs: 1 });
      conn.receive(concat([frameTo(role, { opcode: Opcode.Ping, payload: utf8('a') }), frameTo(role, { opcode: Opcode.Ping, payload: utf8('b') })]));
      conn.close(1000);
      conn.receive(frameTo(role, { opcode: Opcode.Ping, payload: utf8('c') }));
      const frames = sentFrames(conn);
      assert.deepEqual(frames.map((f) => [f.opcode, new TextDecoder().decode(f.payload.subarray(f.opcode === Opcode.Close ? 2 : 0))]), [
        [Opcode.Pong, 'a'],
        [Opcode.Pong, 'b'],
        [Opcode.Close, ''],
      ]);
    });

    test(`§5.5.3 while its host holds pongs the ${role} answers none, then only the latest ping once released`, () => {
      const { conn } = endpoint(role);
      const text = (frames: DecodedFrame[]): string[] => frames.map((f) => new TextDecoder().decode(f.payload));
      conn.holdPongs(true);
      conn.receive(concat(['a', 'b', 'c'].map((p) => frameTo(role, { opcode: Opcode.Ping, payload: utf8(p) }))));
      assert.equal(conn.pongOwed, true);
      assert.deepEqual(sentFrames(conn), [], 'nothing while held, at any take');
      conn.sendText('x');
      assert.deepEqual(text(sentFrames(conn)), ['x'], 'data still goes; the pong stays held');
      conn.holdPongs(false);
      assert.deepEqual(text(sentFrames(conn)), ['c'], 'released: one pong, for the latest ping');
      assert.equal(conn.pongOwed, false);
      assert.deepEqual(sentFrames(conn), [], 'and only once');
    });

    test(`§5.5.3 a ping that comes after the ${role}'s host released its held pongs, before they were taken, is answered alone: never ahead of the older pong`, () => {
      const { conn } = endpoint(role);
      conn.holdPongs(true);
      conn.receive(frameTo(role, { opcode: Opcode.Ping, payload: utf8('older') }));
      // Released (the send buffer drained), and a ping read before the output is taken:
      // its pong answers the older ping too, which must not follow it.
      conn.holdPongs(false);
      conn.receive(frameTo(role, { opcode: Opcode.Ping, payload: utf8('newer') }));
      assert.deepEqual(sentFrames(conn).map((f) => new TextDecoder().decode(f.payload)), ['newer']);
      assert.equal(conn.pongOwed, false);
    });

    test(`§5.5.1 a pong held by the ${role}'s host goes before its close frame, since none may follow it`, () => {
      const { conn } = endpoint(role);
      conn.holdPongs(true);
      conn.receive(frameTo(role, { opcode: Opcode.Ping, payload: utf8('p') }));
      conn.close(1000);
      assert.deepEqual(sentFrames(conn).map((f) => f.opcode), [Opcode.Pong, Opcode.Close]);
    });

    test(`§5.5.1 a pong held by the ${role}'s host goes before its reply to the peer's close, after which nothing is sent`, () => {
      const { conn } = endpoint(role);
      conn.holdPongs(true);
      conn.receive(frameTo(role, { opcode: Opcode.Ping, payload: utf8('p') }));
      conn.receive(frameTo(role, { opcode: Opcode.Close, payload: closeBody(1000) }));
      conn.holdPongs(false);
      assert.deepEqual(sentFrames(conn).map((f) => f.opcode), [Opcode.Pong, Opcode.Close]);
      assert.equal(conn.pongOwed, false);
    });

    test(`the ${role} refuses maxQueuedPongs below 1`, () => {
      assert.throws(() => endpoint(role, { maxQueuedPongs: 0 }), RangeError);
    });

    test(`§5.5 the ${role} refuses to send a control payload over 125 bytes`, () => {
      const { conn } = endpoint(role);
      assertUsageError(() => conn.sendPing(new Uint8Array(126)), 'WS_ERR_CONTROL_PAYLOAD_TOO_LONG');
      assertUsageError(() => conn.sendPong('x'.repeat(126)), 'WS_ERR_CONTROL_PAYLOAD_TOO_LONG');
      assertUsageError(() => conn.sendPing('€'.repeat(42)), 'WS_ERR_CONTROL_PAYLOAD_TOO_LONG');
      assert.equal(conn.outgoingBytes, 0);
      conn.sendPing(new Uint8Array(125));
      conn.sendPong('hi');
      conn.sendPing();
      const frames = sentFrames(conn);
      assert.deepEqual(
        frames.map((f) => [f.opcode, f.payload.length]),
        [
          [Opcode.Ping, 125],
          [Opcode.Pong, 2],
          [Opcode.Ping, 0],
        ],
      );
    });
  });

  describe(`Connection as ${role}: the closing handshake (RFC 6455 §5.5.1, §7)`, () => {
    test(`§5.5.1 the ${role} echoes a close with code 1001 and reason "bye", and is CLOSED`, () => {
      const { conn, events } = endpoint(role);
      conn.receive(frameTo(role, { opcode: Opcode.Close, payload: closeBody(1001, 'bye') }));
      assert.deepEqual(events.take(), [{ type: 'close', code: 1001, reason: 'bye' }]);
      assert.equal(toHex(outgoingBytes(conn)), wire(role, Opcode.Close, hex('03 e9')));
      assert.equal(conn.state, 'CLOSED');
      assert.equal(conn.remoteCloseCode, 1001);
      assert.equal(conn.remoteCloseReason, 'bye');
      assert.equal(conn.localCloseCode, 1001);
      assert.equal(conn.error, null);
    });

    test(`§5.5.1 the ${role} answers an empty close with 1000 and reports 1005 (no status received)`, () => {
      const { conn, events } = endpoint(role);
      assert.equal(conn.remoteCloseCode, null);
      assert.equal(conn.localCloseCode, null);
      conn.receive(frameTo(role, { opcode: Opcode.Close, payload: new Uint8Array(0) }));
      assert.deepEqual(events.take(), [{ type: 'close', code: 1005, reason: '' }]);
      const expected = role === 'client' ? '88 82 37 fa 21 3d 34 12' : '88 02 03 e8';
      assert.equal(toHex(outgoingBytes(conn)), expected);
      assert.equal(conn.remoteCloseCode, 1005);
      assert.equal(conn.remoteCloseReason, '');
      assert.equal(conn.localCloseCode, 1000);
      assert.equal(conn.state, 'CLOSED');
    });

    test(`§5.5.1 the ${role} fails a close frame with a 1-byte payload with 1002`, () => {
      const { conn, events } = endpoint(role);
      conn.receive(frameTo(role, { opcode: Opcode.Close, payload: hex('03') }));
      assert.deepEqual(summarize(events.take()), [{ type: 'error', code: 'WS_ERR_CLOSE_PAYLOAD_ONE_BYTE', closeCode: 1002 }]);
      assert.equal(toHex(outgoingBytes(conn)), wire(role, Opcode.Close, hex('03 ea')));
      assert.equal(conn.state, 'CLOSED');
      assert.equal(conn.remoteCloseCode, null);
      assert.equal(conn.localCloseCode, 1002);
      assert.ok(conn.error instanceof ProtocolError);
      assert.equal(conn.error.section, 'RFC 6455 §5.5.1');
    });

    test(`§7.4 the ${role} fails a close with a code that may not be sent with 1002`, () => {
      for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]) {
        const { conn, events } = endpoint(role);
        conn.receive(frameTo(role, { opcode: Opcode.Close, payload: closeBody(code, 'x') }));
        assert.deepEqual(summarize(events.take()), [{ type: 'error', code: 'WS_ERR_INVALID_CLOSE_CODE', closeCode: 1002 }], `code ${code}`);
        assert.equal(sentCloseCode(conn), 1002, `code ${code}`);
        assert.equal(conn.remoteCloseCode, null);
      }
    });

    test(`§7.4 the ${role} echoes every close code that may be sent`, () => {
      const valid = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999];
      for (const code of valid) {
        const { conn, events } = endpoint(role);
        conn.receive(frameTo(role, { opcode: Opcode.Close, payload: closeBody(code) }));
        assert.deepEqual(events.take(), [{ type: 'close', code, reason: '' }], `code ${code}`);
        assert.equal(sentCloseCode(conn), code);
        assert.equal(conn.remoteCloseCode, code);
        assert.equal(conn.error, null);
      }
    });

    test(`§5.5.1 the ${role} fails a close reason that is not valid UTF-8 with 1007`, () => {
      for (const reason of [hex('ff'), hex('ed a0 80'), hex('c0 80'), hex('61 e2 82')]) {
        const { conn, events } = endpoint(role);
        conn.receive(frameTo(role, { opcode: Opcode.Close, payload: closeBody(1000, reason) }));
        assert.deepEqual(summarize(events.take()), [{ type: 'error', code: 'WS_ERR_INVALID_UTF8', closeCode: 1007 }], toHex(reason));
        assert.equal(sentCloseCode(conn), 1007);
      }
    });

    test(`§5.5.1 the ${role} accepts a close reason of 123 bytes of UTF-8 and refuses 124`, () => {
      for (const reason of ['a'.repeat(123), '€'.repeat(41), `${'😀'.repeat(30)}abc`]) {
        const { conn } = endpoint(role);
        conn.close(4000, reason);
        const frames = sentFrames(conn);
        assert.equal(frames.length, 1);
        assert.deepEqual(frames[0]!.payload, closeBody(4000, reason));
        assert.equal(frames[0]!.payload.length, 125);
        assert.equal(conn.state, 'CLOSING');
      }
      for (const reason of ['a'.repeat(124), `${'€'.repeat(41)}a`, '😀'.repeat(31)]) {
        const { conn } = endpoint(role);
        assertUsageError(() => conn.close(1000, reason), 'WS_ERR_REASON_TOO_LONG');
        assert.equal(conn.state, 'OPEN', 'nothing changed');
        assert.equal(conn.outgoingBytes, 0);
        assert.equal(conn.localCloseCode, null);
      }
    });

    test(`§7.4 the ${role} refuses to send a close code that may not be sent, or a reason without a code`, () => {
      const { conn } = endpoint(role);
      for (const code of [0, 999, 1004, 1005, 1006, 1015, 2999, 5000]) assertUsageError(() => conn.close(code), 'WS_ERR_INVALID_CLOSE_CODE');
      assertUsageError(() => conn.close(undefined, 'why'), 'WS_ERR_INVALID_CLOSE_CODE');
      // Not a code at all (from JavaScript): the argument is wrong, not the code it names.
      assertUsageError(() => conn.close('1000' as unknown as number), 'WS_ERR_INVALID_ARGUMENT');
      assert.equal(conn.state, 'OPEN');
      assert.equal(conn.outgoingBytes, 0);
    });

    test(`§7.1.2 close() with no code sends an empty close body and records 1005 as sent`, () => {
      const { conn } = endpoint(role);
      conn.close();
      assert.equal(toHex(outgoingBytes(conn)), wire(role, Opcode.Close, new Uint8Array(0)));
      assert.equal(conn.localCloseCode, 1005);
      assert.equal(conn.state, 'CLOSING');
    });

    test(`§7.1.2 the ${role} is CLOSING after close(), still delivers data, and is CLOSED when the peer's close arrives`, () => {
      const { conn, events } = endpoint(role);
      conn.close(1000, 'done');
      assert.equal(conn.state, 'CLOSING');
      assert.equal(toHex(outgoingBytes(conn)), wire(role, Opcode.Close, closeBody(1000, 'done')));
      assert.equal(conn.transportShouldClose, false);
      conn.close(1001);
      assert.equal(conn.outgoingBytes, 0, 'a second close() does nothing');
      conn.receive(
        concat([
          frameTo(role, { opcode: Opcode.Text, payload: utf8('late') }),
          frameTo(role, { opcode: Opcode.Binary, fin: false, payload: hex('01') }),
          frameTo(role, { opcode: Opcode.Ping, payload: utf8('p') }),
          frameTo(role, { opcode: Opcode.Continuation, payload: hex('02') }),
        ]),
      );
      assert.deepEqual(events.take(), [
        { type: 'text', data: 'late', fin: true },
        { type: 'ping', data: utf8('p') },
        { type: 'binary', data: hex('01 02'), fin: true },
      ]);
      assert.equal(conn.outgoingBytes, 0, '§5.5.1: nothing is sent after our close frame, not even a pong');
      assert.equal(conn.state, 'CLOSING');
      conn.receive(frameTo(role, { opcode: Opcode.Close, payload: closeBody(1000) }));
      assert.deepEqual(events.take(), [{ type: 'close', code: 1000, reason: '' }]);
      assert.equal(conn.state, 'CLOSED');
      assert.equal(conn.outgoingBytes, 0, 'no second close frame');
      assert.equal(conn.localCloseCode, 1000);
      assert.equal(conn.remoteCloseCode, 1000);
    });

    test(`§5.5.1 after the ${role} receives a close, nothing more is delivered, even frames in the same chunk`, () => {
      const { conn, events } = endpoint(role);
      conn.receive(
        concat([
          frameTo(role, { opcode: Opcode.Text, payload: utf8('before') }),
          frameTo(role, { opcode: Opcode.Close, payload: closeBody(1000) }),
          frameTo(role, { opcode: Opcode.Text, payload: utf8('after') }),
          frameTo(role, { opcode: Opcode.Ping, payload: utf8('after') }),
        ]),
      );
      assert.deepEqual(events.take(), [
        { type: 'text', data: 'before', fin: true },
        { type: 'close', code: 1000, reason: '' },
      ]);
      assert.equal(toHex(outgoingBytes(conn)), wire(role, Opcode.Close, closeBody(1000)));
      conn.receive(frameTo(role, { opcode: Opcode.Binary, payload: hex('01') }));
      assert.deepEqual(events.take(), []);
      assert.equal(conn.outgoingBytes, 0);
    });

    test(`§5.5.1 the ${role} refuses to send anything once closed or closing`, () => {
      const closing = endpoint(role).conn;
      closing.close();
      const closed = endpoint(role).conn;
      closed.receive(frameTo(role, { opcode: Opcode.Close, payload: new Uint8Array(0) }));
      const failed = endpoint(role).conn;
      failed.receive(hex('f1 00'));
      assert.equal(failed.state, 'CLOSED');
      for (const conn of [closing, closed, failed]) {
        conn.takeOutgoing();
        assertUsageError(() => conn.sendText('x'), 'WS_ERR_NOT_OPEN');
        assertUsageError(() => conn.sendBinary(hex('00')), 'WS_ERR_NOT_OPEN');
        assertUsageError(() => conn.sendFrame(Opcode.Text, 'x', true), 'WS_ERR_NOT_OPEN');
        assertUsageError(() => conn.sendPing(), 'WS_ERR_NOT_OPEN');
        assertUsageError(() => conn.sendPong(), 'WS_ERR_NOT_OPEN');
        conn.close(1000);
        assert.equal(conn.outgoingBytes, 0);
      }
    });

    test(`§7.1.7 abort() on the ${role} sends one close with the code, enters CLOSED and asks for the transport to close`, () => {
      const { conn, events } = endpoint(role);
      conn.abort(1008, 'policy');
      assert.equal(toHex(outgoingBytes(conn)), wire(role, Opcode.Close, closeBody(1008, 'policy')));
      assert.equal(conn.state, 'CLOSED');
      assert.equal(conn.localCloseCode, 1008);
      assert.equal(conn.transportShouldClose, true);
      conn.receive(frameTo(role, { opcode: Opcode.Text, payload: utf8('ignored') }));
      assert.deepEqual(events.take(), []);
      conn.abort();
      assert.equal(conn.outgoingBytes, 0);
    });

    test(`§7.1.7 abort() on the ${role} defaults to 1011, replaces a code that may not be sent, drops an overlong reason or one that is not a string`, () => {
      const a = endpoint(role).conn;
      a.abort();
      assert.equal(sentCloseCode(a), 1011);
      const b = endpoint(role).conn;
      b.abort(1006, 'x');
      assert.equal(toHex(outgoingBytes(b)), wire(role, Opcode.Close, closeBody(1011, 'x')));
      const c = endpoint(role).conn;
      c.abort(4001, 'r'.repeat(124));
      assert.equal(toHex(outgoingBytes(c)), wire(role, Opcode.Close, closeBody(4001)));
      // From JavaScript, a reason that is not a string is left out rather than sent as its text.
      const d = endpoint(role).conn;
      d.abort(4002, 42 as unknown as string);
      assert.equal(toHex(outgoingBytes(d)), wire(role, Opcode.Close, closeBody(4002)));
    });

    test(`§7.1.7 abort() while the ${role} is CLOSING sends nothing more and enters CLOSED`, () => {
      const { conn } = endpoint(role);
      conn.close(1000);
      conn.takeOutgoing();
      conn.abort(1011);
      assert.equal(conn.outgoingBytes, 0);
      assert.equal(conn.state, 'CLOSED');
      assert.equal(conn.localCloseCode, 1000);
      assert.equal(conn.transportShouldClose, true);
    });
  });

  describe(`Connection as ${role}: UTF-8 of text messages (RFC 6455 §8.1)`, () => {
    test(`§8.1 the ${role} fails a single-frame text message that is not UTF-8 with 1007`, () => {
      for (const bad of [hex('ce ba ff'), hex('ed a0 80'), hex('61 e2 82'), hex('f4 90 80 80'), hex('c0 af')]) {
        const { conn, events } = endpoint(role);
        conn.receive(frameTo(role, { opcode: Opcode.Text, payload: bad }));
        assert.deepEqual(summarize(events.take()), [{ type: 'error', code: 'WS_ERR_INVALID_UTF8', closeCode: 1007 }], toHex(bad));
        assert.equal(toHex(outgoingBytes(conn)), wire(role, Opcode.Close, hex('03 ef')));
        assert.equal(conn.state, 'CLOSED');
        assert.equal(conn.error?.section, 'RFC 6455 §8.1');
      }
    });

    test(`§8.1 the ${role} fails a fragmented text message at the first fragment whose bytes make it invalid`, () => {
      const { conn, events } = endpoint(role);
      conn.receive(frameTo(role, { opcode: Opcode.Text, fin: false, payload: hex('ce ba e1 bd b9') }));
      conn.receive(frameTo(role, { opcode: Opcode.Continuation, fin: false, payload: hex('cf 83 ce bc ce b5') }));
      assert.deepEqual(events.take(), []);
      assert.equal(conn.outgoingBytes, 0);
      conn.receive(frameTo(role, { opcode: Opcode.Continuation, fin: false, payload: hex('ed a0 80 65 64') }));
      assert.deepEqual(summarize(events.take()), [{ type: 'error', code: 'WS_ERR_INVALID_UTF8', closeCode: 1007 }]);
      assert.equal(sentCloseCode(conn), 1007);
      // The final fragment was never needed, and changes nothing.
      conn.receive(frameTo(role, { opcode: Opcode.Continuation, payload: hex('69 74') }));
      assert.deepEqual(events.take(), []);
      assert.equal(conn.outgoingBytes, 0);
    });

    test(`§8.1 the ${role} fails when a fragment boundary splits a sequence that turns out invalid`, () => {
      const { conn, events } = endpoint(role);
      conn.receive(frameTo(role, { opcode: Opcode.Text, fin: false, payload: hex('61 ed') }));
      assert.deepEqual(events.take(), [], 'ED can still start a valid code point');
      conn.receive(frameTo(role, { opcode: Opcode.Continuation, fin: false, payload: hex('a0 80') }));
      assert.deepEqual(summarize(events.take()), [{ type: 'error', code: 'WS_ERR_INVALID_UTF8', closeCode: 1007 }]);
    });

    test(`§8.1 the ${role} fails a fragmented text message that ends inside a code point`, () => {
      const { conn, events } = endpoint(role);
      conn.receive(frameTo(role, { opcode: Opcode.Text, fin: false, payload: hex('e2 82') }));
      conn.receive(frameTo(role, { opcode: Opcode.Ping, payload: new Uint8Array(0) }));
      assert.deepEqual(summarize(events.take()), [{ type: 'ping', data: new Uint8Array(0) }]);
      conn.receive(frameTo(role, { opcode: Opcode.Continuation, payload: new Uint8Array(0) }));
      assert.deepEqual(summarize(events.take()), [{ type: 'error', code: 'WS_ERR_INVALID_UTF8', closeCode: 1007 }]);
    });

    test(`§8.1 the ${role} fails inside one frame as soon as the invalid piece arrives, before the frame completes`, () => {
      const payload = concat([utf8('a'.repeat(100)), hex('ff'), utf8('b'.repeat(99))]);
      const bytes = frameTo(role, { opcode: Opcode.Text, payload });
      const headerSize = role === 'server' ? 8 : 4;
      const { conn, events } = endpoint(role);
      conn.receive(bytes.slice(0, headerSize + 50));
      assert.deepEqual(events.take(), []);
      conn.receive(bytes.slice(headerSize + 50, headerSize + 110));
      assert.deepEqual(summarize(events.take()), [{ type: 'error', code: 'WS_ERR_INVALID_UTF8', closeCode: 1007 }]);
      assert.equal(sentCloseCode(conn), 1007);
      conn.receive(bytes.slice(headerSize + 110));
      conn.receive(frameTo(role, { opcode: Opcode.Text, payload: utf8('next') }));
      assert.deepEqual(events.take(), []);
    });

    test(`§8.1 the ${role} delivers nothing when the invalid byte is in the piece that completes the frame`, () => {
      const bytes = frameTo(role, { opcode: Opcode.Text, payload: hex('61 62 63 ff') });
      const { conn, events } = endpoint(role);
      conn.receive(bytes.slice(0, bytes.length - 1));
      assert.deepEqual(events.take(), []);
      conn.receive(bytes.slice(bytes.length - 1));
      assert.deepEqual(summarize(events.take()), [{ type: 'error', code: 'WS_ERR_INVALID_UTF8', closeCode: 1007 }]);
      assert.equal(conn.state, 'CLOSED');
    });

    test(`§8.1 the ${role} fails a continuation frame delivered in pieces at the bad piece`, () => {
      const first = frameTo(role, { opcode: Opcode.Text, fin: false, payload: utf8('ok ') });
      const second = frameTo(role, { opcode: Opcode.Continuation, payload: concat([utf8('x'.repeat(40)), hex('c3 28'), utf8('y'.repeat(40))]) });
      const { conn, events } = endpoint(role);
      conn.receive(concat([first, second.slice(0, 20)]));
      assert.deepEqual(events.take(), []);
      conn.receive(second.slice(20, second.length - 30));
      assert.deepEqual(summarize(events.take()), [{ type: 'error', code: 'WS_ERR_INVALID_UTF8', closeCode: 1007 }]);
    });

    test(`§8.1 the ${role} accepts valid text split into pieces at every byte, with code points spanning pieces`, () => {
      const text = 'aé€😀 κόσμε';
      const bytes = frameTo(role, { opcode: Opcode.Text, payload: utf8(text) });
      const { conn, events } = endpoint(role);
      for (let i = 0; i < bytes.length; i++) conn.receive(bytes.slice(i, i + 1));
      assert.deepEqual(events.take(), [{ type: 'text', data: text, fin: true }]);
    });

    test(`§8.1 the ${role} keeps a byte order mark at the start of a text message`, () => {
      const { conn, events } = endpoint(role);
      conn.receive(frameTo(role, { opcode: Opcode.Text, payload: hex('ef bb bf 61') }));
      conn.receive(frameTo(role, { opcode: Opcode.Text, fin: false, payload: hex('ef bb') }));
      conn.receive(frameTo(role, { opcode: Opcode.Continuation, payload: hex('bf 62') }));
      assert.deepEqual(events.take(), [
        { type: 'text', data: '\ufeffa', fin: true },
        { type: 'text', data: '\ufeffb', fin: true },
      ]);
    });
  });

  describe(`Connection as ${role}: data messages`, () => {
    test(`§5.4 the ${role} assembles a fragmented message and delivers it once`, () => {
      const { conn, events } = endpoint(role);
      conn.receive(
        concat([
          frameTo(role, { opcode: Opcode.Binary, fin: false, payload: hex('01 02') }),
          frameTo(role, { opcode: Opcode.Continuation, fin: false, payload: new Uint8Array(0) }),
          frameTo(role, { opcode: Opcode.Continuation, payload: hex('03') }),
          frameTo(role, { opcode: Opcode.Text, fin: false, payload: utf8('Hel') }),
          frameTo(role, { opcode: Opcode.Continuation, payload: utf8('lo') }),
          frameTo(role, { opcode: Opcode.Binary, payload: new Uint8Array(0) }),
          frameTo(role, { opcode: Opcode.Text, payload: new Uint8Array(0) }),
        ]),
      );
      assert.deepEqual(events.take(), [
        { type: 'binary', data: hex('01 02 03'), fin: true },
        { type: 'text', data: 'Hello', fin: true },
        { type: 'binary', data: new Uint8Array(0), fin: true },
        { type: 'text', data: '', fin: true },
      ]);
    });

    test(`§5.4 with fragments: true the ${role} delivers each frame with its fin flag`, () => {
      const { conn, events } = endpoint(role, { fragments: true });
      conn.receive(
        concat([
          frameTo(role, { opcode: Opcode.Binary, fin: false, payload: hex('01 02') }),
          frameTo(role, { opcode: Opcode.Ping, payload: new Uint8Array(0) }),
          frameTo(role, { opcode: Opcode.Continuation, payload: hex('03') }),
          frameTo(role, { opcode: Opcode.Text, payload: utf8('whole') }),
          frameTo(role, { opcode: Opcode.Binary, payload: hex('ff') }),
        ]),
      );
      assert.deepEqual(events.take(), [
        { type: 'binary', data: hex('01 02'), fin: false },
        { type: 'ping', data: new Uint8Array(0) },
        { type: 'binary', data: hex('03'), fin: true },
        { type: 'text', data: 'whole', fin: true },
        { type: 'binary', data: hex('ff'), fin: true },
      ]);
    });

    test(`§5.4 with fragments: true the ${role} decodes text pieces whose code points span frames`, () => {
      const { conn, events } = endpoint(role, { fragments: true });
      const pieces = [hex('61 e2'), hex('82 ac 62 f0'), hex('9f'), hex('98'), hex('80 63')];
      pieces.forEach((payload, i) => {
        const opcode = i === 0 ? Opcode.Text : Opcode.Continuation;
        conn.receive(frameTo(role, { opcode, fin: i === pieces.length - 1, payload }));
      });
      conn.receive(frameTo(role, { opcode: Opcode.Text, fin: false, payload: hex('c3') }));
      conn.receive(frameTo(role, { opcode: Opcode.Continuation, payload: hex('a9') }));
      assert.deepEqual(events.take(), [
        { type: 'text', data: 'a', fin: false },
        { type: 'text', data: '€b', fin: false },
        { type: 'text', data: '', fin: false },
        { type: 'text', data: '', fin: false },
        { type: 'text', data: '😀c', fin: true },
        { type: 'text', data: '', fin: false },
        { type: 'text', data: 'é', fin: true },
      ]);
    });

    test(`§8.1 with fragments: true the ${role} still fails invalid text, after delivering the valid pieces`, () => {
      const { conn, events } = endpoint(role, { fragments: true });
      conn.receive(frameTo(role, { opcode: Opcode.Text, fin: false, payload: utf8('ok') }));
      conn.receive(frameTo(role, { opcode: Opcode.Continuation, fin: false, payload: hex('80') }));
      conn.receive(frameTo(role, { opcode: Opcode.Continuation, payload: utf8('never') }));
      assert.deepEqual(summarize(events.take()), [
        { type: 'text', data: 'ok', fin: false },
        { type: 'error', code: 'WS_ERR_INVALID_UTF8', closeCode: 1007 },
      ]);
    });

    test(`§8.1 with fragments: true the ${role} fails a truncated final fragment`, () => {
      const { conn, events } = endpoint(role, { fragments: true });
      conn.receive(frameTo(role, { opcode: Opcode.Text, fin: false, payload: utf8('ok') }));
      conn.receive(frameTo(role, { opcode: Opcode.Continuation, payload: hex('f0 9f') }));
      assert.deepEqual(summarize(events.take()), [
        { type: 'text', data: 'ok', fin: false },
        { type: 'error', code: 'WS_ERR_INVALID_UTF8', closeCode: 1007 },
      ]);
    });

    test(`§5.4 with fragments: true the ${role} delivers split frames once each, whole`, () => {
      const { conn, events } = endpoint(role, { fragments: true });
      const bytes = concat([
        frameTo(role, { opcode: Opcode.Text, fin: false, payload: utf8('héllo ') }),
        frameTo(role, { opcode: Opcode.Continuation, payload: utf8('wörld') }),
      ]);
      for (let i = 0; i < bytes.length; i += 3) conn.receive(bytes.slice(i, i + 3));
      assert.deepEqual(events.take(), [
        { type: 'text', data: 'héllo ', fin: false },
        { type: 'text', data: 'wörld', fin: true },
      ]);
    });

    test(`§7.4.1 the ${role} fails a message over maxPayload with 1009 and accepts one at the limit`, () => {
      const { conn, events } = endpoint(role, { maxPayload: 10 });
      conn.receive(frameTo(role, { opcode: Opcode.Binary, payload: new Uint8Array(10) }));
      conn.receive(frameTo(role, { opcode: Opcode.Text, fin: false, payload: utf8('12345') }));
      conn.receive(frameTo(role, { opcode: Opcode.Continuation, payload: utf8('67890') }));
      assert.deepEqual(events.take(), [
        { type: 'binary', data: new Uint8Array(10), fin: true },
        { type: 'text', data: '1234567890', fin: true },
      ]);
      conn.receive(frameTo(role, { opcode: Opcode.Binary, payload: new Uint8Array(11) }));
      assert.deepEqual(summarize(events.take()), [{ type: 'error', code: 'WS_ERR_FRAME_TOO_BIG', closeCode: 1009 }]);
      assert.equal(toHex(outgoingBytes(conn)), wire(role, Opcode.Close, hex('03 f1')));
    });

    test(`§7.4.1 the ${role} fails fragments that sum over maxPayload with 1009`, () => {
      const { conn, events } = endpoint(role, { maxPayload: 10 });
      conn.receive(frameTo(role, { opcode: Opcode.Binary, fin: false, payload: new Uint8Array(6) }));
      conn.receive(frameTo(role, { opcode: Opcode.Continuation, fin: false, payload: new Uint8Array(4) }));
      assert.deepEqual(events.take(), []);
      conn.receive(frameTo(role, { opcode: Opcode.Continuation, payload: new Uint8Array(1) }));
      assert.deepEqual(summarize(events.take()), [{ type: 'error', code: 'WS_ERR_MESSAGE_TOO_BIG', closeCode: 1009 }]);
      assert.equal(sentCloseCode(conn), 1009);
    });

    test(`§7.4.1 the ${role} fails a frame claiming 2 GiB from its header alone`, () => {
      const { conn, events } = endpoint(role);
      const header = role === 'server' ? hex('82 ff 00 00 00 00 80 00 00 00 01 02 03 04') : hex('82 7f 00 00 00 00 80 00 00 00');
      conn.receive(header);
      assert.deepEqual(summarize(events.take()), [{ type: 'error', code: 'WS_ERR_FRAME_TOO_BIG', closeCode: 1009 }]);
      assert.equal(DEFAULT_MAX_PAYLOAD, 64 * 1024 * 1024);
    });

    test(`§5.1 the ${role} fails a frame with the wrong masking for its role with 1002`, () => {
      const { conn, events } = endpoint(role);
      const wrong = encodeFrame({ opcode: Opcode.Text, payload: HELLO, maskKey: role === 'server' ? null : RFC_KEY });
      conn.receive(wrong);
      const code = role === 'server' ? 'WS_ERR_UNMASKED_FRAME' : 'WS_ERR_MASKED_FRAME';
      assert.deepEqual(summarize(events.take()), [{ type: 'error', code, closeCode: 1002 }]);
      assert.equal(toHex(outgoingBytes(conn)), wire(role, Opcode.Close, hex('03 ea')));
      assert.equal(conn.error?.section, 'RFC 6455 §5.1');
    });

    test(`§7.1.7 after a failure the ${role} delivers nothing more, even valid frames in the same chunk`, () => {
      const { conn, events } = endpoint(role);
      conn.receive(
        concat([
          frameTo(role, { opcode: Opcode.Text, payload: utf8('first') }),
          frameTo(role, { opcode: Opcode.Text, payload: hex('ff') }),
          frameTo(role, { opcode: Opcode.Text, payload: utf8('second') }),
          frameTo(role, { opcode: Opcode.Close, payload: closeBody(1000) }),
        ]),
      );
      assert.deepEqual(summarize(events.take()), [
        { type: 'text', data: 'first', fin: true },
        { type: 'error', code: 'WS_ERR_INVALID_UTF8', closeCode: 1007 },
      ]);
      assert.equal(sentCloseCode(conn), 1007);
      assert.equal(conn.remoteCloseCode, null);
    });

    test(`§7.1.7 a failure while the ${role} is CLOSING sends no second close frame`, () => {
      const { conn, events } = endpoint(role);
      conn.close(1000);
      conn.takeOutgoing();
      conn.receive(frameTo(role, { opcode: Opcode.Text, payload: hex('ff') }));
      assert.deepEqual(summarize(events.take()), [{ type: 'error', code: 'WS_ERR_INVALID_UTF8', closeCode: 1007 }]);
      assert.equal(conn.outgoingBytes, 0);
      assert.equal(conn.state, 'CLOSED');
      assert.equal(conn.localCloseCode, 1000);
      assert.equal(conn.transportShouldClose, true);
    });
  });

  describe(`Connection as ${role}: sending`, () => {
    test(`§5.7 the ${role} sends "Hello" as a single text frame${role === 'client' ? ', masked' : ', unmasked'}`, () => {
      const { conn } = endpoint(role);
      conn.sendText('Hello');
      const expected = role === 'client' ? '81 85 37 fa 21 3d 7f 9f 4d 51 58' : '81 05 48 65 6c 6c 6f';
      assert.equal(toHex(outgoingBytes(conn)), expected);
    });

    test(`§5.1 the ${role}'s output decodes only with the ${peer}'s masking rule`, () => {
      const { conn } = endpoint(role, { randomFill: (target) => globalThis.crypto.getRandomValues(target) });
      conn.sendText('one');
      conn.sendBinary(hex('01 02 03'));
      conn.sendPing('p');
      const bytes = outgoingBytes(conn);
      const right = decodeAll(bytes, role === 'client');
      assert.deepEqual(right.errors, []);
      assert.deepEqual(
        right.frames.map((f) => [f.opcode, toHex(f.payload)]),
        [
          [Opcode.Text, '6f 6e 65'],
          [Opcode.Binary, '01 02 03'],
          [Opcode.Ping, '70'],
        ],
      );
      const wrong = decodeAll(bytes, role !== 'client');
      assert.equal(wrong.errors[0]?.code, role === 'client' ? 'WS_ERR_MASKED_FRAME' : 'WS_ERR_UNMASKED_FRAME');
      if (role === 'client') {
        // §5.3: every frame has a fresh key.
        const keys = [bytes.subarray(2, 6), bytes.subarray(9 + 2, 9 + 6), bytes.subarray(18 + 2, 18 + 6)].map(toHex);
        assert.equal(new Set(keys).size, 3);
      }
    });

    test(`§5.4 the ${role} fragments sendText and sendBinary by fragmentSize`, () => {
      const { conn } = endpoint(role);
      conn.sendText('Hello', 2);
      conn.sendBinary(hex('00 01 02 03 04'), 2);
      conn.sendText('Hi', 2);
      conn.sendBinary(hex('09'), 100);
      assert.equal(
        toHex(outgoingBytes(conn)),
        [
          wire(role, Opcode.Text, utf8('He'), false),
          wire(role, Opcode.Continuation, utf8('ll'), false),
          wire(role, Opcode.Continuation, utf8('o'), true),
          wire(role, Opcode.Binary, hex('00 01'), false),
          wire(role, Opcode.Continuation, hex('02 03'), false),
          wire(role, Opcode.Continuation, hex('04'), true),
          wire(role, Opcode.Text, utf8('Hi')),
          wire(role, Opcode.Binary, hex('09')),
        ].join(' '),
      );
    });

    test(`§5.4 the ${role} fragments text by bytes, so a code point may span frames, and the peer reassembles it`, () => {
      const { conn } = endpoint(role);
      const receiver = endpoint(peer);
      const text = `€😀é${'x'.repeat(5000)}€`;
      conn.sendText(text, 3);
      conn.sendText(text, 4096);
      conn.sendText(text);
      const frames = sentFrames(conn);
      assert.equal(frames.length, Math.ceil(utf8(text).length / 3) + 2 + 1);
      assert.deepEqual(frames.slice(0, 3).map((f) => toHex(f.payload)), ['e2 82 ac', 'f0 9f 98', '80 c3 a9']);
      const again = endpoint(role);
      again.conn.sendText(text, 3);
      again.conn.sendText(text, 4096);
      again.conn.sendText(text);
      receiver.conn.receive(outgoingBytes(again.conn));
      assert.deepEqual(receiver.events.take(), [
        { type: 'text', data: text, fin: true },
        { type: 'text', data: text, fin: true },
        { type: 'text', data: text, fin: true },
      ]);
    });

    test(`§5.4 the ${role} sends a message frame by frame with sendFrame, control frames in between`, () => {
      const { conn } = endpoint(role);
      conn.sendFrame(Opcode.Text, 'Hel', false);
      conn.sendPing();
      conn.sendFrame(Opcode.Continuation, utf8('lo'), true);
      conn.sendFrame(Opcode.Binary, hex('01'), false);
      conn.sendFrame(Opcode.Continuation, new Uint8Array(0), false);
      conn.sendFrame(Opcode.Continuation, hex('02'), true);
      conn.sendFrame(Opcode.Binary, hex('03'), true);
      assert.equal(
        toHex(outgoingBytes(conn)),
        [
          wire(role, Opcode.Text, utf8('Hel'), false),
          wire(role, Opcode.Ping, new Uint8Array(0)),
          wire(role, Opcode.Continuation, utf8('lo'), true),
          wire(role, Opcode.Binary, hex('01'), false),
          wire(role, Opcode.Continuation, new Uint8Array(0), false),
          wire(role, Opcode.Continuation, hex('02'), true),
          wire(role, Opcode.Binary, hex('03')),
        ].join(' '),
      );
      if (role === 'server') {
        // §5.7's fragmented example, with a ping injected.
        const { conn: server } = endpoint('server');
        server.sendFrame(Opcode.Text, 'Hel', false);
        server.sendPing();
        server.sendFrame(Opcode.Continuation, 'lo', true);
        assert.equal(toHex(outgoingBytes(server)), '01 03 48 65 6c 89 00 80 02 6c 6f');
      }
    });

    test(`§5.6/§8.1 the ${role} refuses text frames whose bytes are not UTF-8, whole or across frames, and the message goes on as it was`, () => {
      const { conn } = endpoint(role);
      assertUsageError(() => conn.sendFrame(Opcode.Text, hex('ff'), true), 'WS_ERR_INVALID_UTF8');
      assertUsageError(() => conn.sendFrame(Opcode.Text, hex('ce'), true), 'WS_ERR_INVALID_UTF8'); // cut at the end
      assertUsageError(() => conn.sendFrame(Opcode.Text, hex('ed a0 80'), false), 'WS_ERR_INVALID_UTF8'); // a surrogate
      assert.equal(conn.outgoingBytes, 0, 'nothing queued by a refused frame');
      // κ (ce ba) cut between two frames is fine; a string piece after a cut code point is not.
      conn.sendFrame(Opcode.Text, hex('ce'), false);
      assertUsageError(() => conn.sendFrame(Opcode.Continuation, 'x', true), 'WS_ERR_INVALID_UTF8');
      assertUsageError(() => conn.sendFrame(Opcode.Continuation, hex('ba ff'), false), 'WS_ERR_INVALID_UTF8');
      conn.sendFrame(Opcode.Continuation, hex('ba'), false);
      assertUsageError(() => conn.sendFrame(Opcode.Continuation, hex('e2 82'), true), 'WS_ERR_INVALID_UTF8');
      conn.sendFrame(Opcode.Continuation, hex('e2 82 ac'), true); // €
      // Binary is not text: any bytes; and the next text message starts afresh.
      conn.sendFrame(Opcode.Binary, hex('ff'), true);
      conn.sendFrame(Opcode.Text, hex('f0 9f'), false);
      conn.sendFrame(Opcode.Continuation, hex('98 80'), true);
      assert.deepEqual(
        sentFrames(conn).map((f) => [f.opcode, f.fin, toHex(f.payload)]),
        [
          [Opcode.Text, false, 'ce'],
          [Opcode.Continuation, false, 'ba'],
          [Opcode.Continuation, true, 'e2 82 ac'],
          [Opcode.Binary, true, 'ff'],
          [Opcode.Text, false, 'f0 9f'],
          [Opcode.Continuation, true, '98 80'],
        ],
      );
    });

    test(`§5.4 the ${role} refuses sends that would interleave or orphan fragments`, () => {
      const { conn } = endpoint(role);
      assertUsageError(() => conn.sendFrame(Opcode.Continuation, 'x', true), 'WS_ERR_FRAGMENT_SEQUENCE');
      assertUsageError(() => conn.sendFrame(Opcode.Continuation, 'x', false), 'WS_ERR_FRAGMENT_SEQUENCE');
      conn.sendFrame(Opcode.Binary, hex('01'), false);
      const queued = conn.outgoingBytes;
      assertUsageError(() => conn.sendFrame(Opcode.Text, 'x', true), 'WS_ERR_FRAGMENT_SEQUENCE');
      assertUsageError(() => conn.sendFrame(Opcode.Binary, hex('02'), false), 'WS_ERR_FRAGMENT_SEQUENCE');
      assertUsageError(() => conn.sendText('x'), 'WS_ERR_FRAGMENT_SEQUENCE');
      assertUsageError(() => conn.sendBinary(hex('02')), 'WS_ERR_FRAGMENT_SEQUENCE');
      assert.equal(conn.outgoingBytes, queued, 'nothing queued by a refused send');
      conn.sendFrame(Opcode.Continuation, hex('02'), true);
      conn.sendText('after');
      assertUsageError(() => conn.sendFrame(Opcode.Continuation, 'x', true), 'WS_ERR_FRAGMENT_SEQUENCE');
      for (const opcode of [Opcode.Ping, Opcode.Pong, Opcode.Close, 3, 0xb]) {
        assertUsageError(() => conn.sendFrame(opcode, 'x', true), 'WS_ERR_INVALID_OPCODE');
      }
      const frames = sentFrames(conn);
      assert.deepEqual(
        frames.map((f) => [f.opcode, f.fin, toHex(f.payload)]),
        [
          [Opcode.Binary, false, '01'],
          [Opcode.Continuation, true, '02'],
          [Opcode.Text, true, '61 66 74 65 72'],
        ],
      );
    });

    test(`the ${role} rejects a fragmentSize below 1`, () => {
      const { conn } = endpoint(role);
      assert.throws(() => conn.sendBinary(hex('01 02'), 0), RangeError);
      assert.throws(() => conn.sendText('ab', Number.NaN), RangeError);
      assert.throws(() => conn.sendText('ab', -1), RangeError);
      assert.equal(conn.outgoingBytes, 0);
    });

    test(`§5.2 the ${role} sends text of every length 0..300 characters, of 1 to 4 UTF-8 bytes each, exactly as the encoder frames it`, () => {
      const receiver = endpoint(peer);
      for (const unit of ['a', 'é', '€', '😀', 'a€é😀']) {
        for (let count = 0; count <= 300; count++) {
          const chars = [...unit];
          const text = Array.from({ length: count }, (_, i) => chars[i % chars.length]).join('');
          const { conn } = endpoint(role);
          conn.sendText(text);
          const bytes = outgoingBytes(conn);
          assert.equal(toHex(bytes), wire(role, Opcode.Text, utf8(text)), `${count} × ${unit}`);
          receiver.conn.receive(bytes);
          assert.deepEqual(receiver.events.take(), [{ type: 'text', data: text, fin: true }], `${count} × ${unit}`);
        }
      }
    });

    test(`§5.3 the ${role} sends binary of every length 0..600, several frames to a chunk, exactly as the encoder frames it`, () => {
      // Two frames per chunk so that the second lands at every offset in the shared output.
      const receiver = endpoint(peer);
      for (let length = 0; length <= 600; length++) {
        const first = Uint8Array.from({ length: length % 7 }, (_, i) => i);
        const payload = Uint8Array.from({ length }, (_, i) => (i * 31 + length) & 0xff);
        const { conn } = endpoint(role);
        conn.sendBinary(first);
        conn.sendBinary(payload);
        const bytes = outgoingBytes(conn);
        assert.equal(toHex(bytes), wire(role, Opcode.Binary, first) + ' ' + wire(role, Opcode.Binary, payload), `length ${length}`);
        receiver.conn.receive(bytes);
        assert.deepEqual(receiver.events.take(), [{ type: 'binary', data: first, fin: true }, { type: 'binary', data: payload, fin: true }], `length ${length}`);
      }
    });

    test(`§5.2 the ${role} batches consecutive small frames into one chunk`, () => {
      const { conn } = endpoint(role);
      conn.sendText('a');
      conn.sendBinary(hex('01 02'));
      conn.sendPing('p');
      conn.sendText('€'.repeat(50));
      const chunks = conn.takeOutgoing();
      assert.equal(chunks.length, 1);
      assert.equal(conn.outgoingBytes, 0);
      assert.deepEqual(conn.takeOutgoing(), []);
    });

    test(`takeOutgoingInto gives the ${role}'s chunks in order, the answer to a ping included, and empties the queue`, () => {
      const { conn } = endpoint(role);
      conn.sendText('a');
      conn.sendBinary(new Uint8Array(70000).fill(5));
      conn.receive(frameTo(role, { opcode: Opcode.Ping, payload: hex('07') }));
      const target: Uint8Array[] = [];
      const count = conn.takeOutgoingInto(target);
      assert.equal(count, 3, 'a run, the large payload as it is, a run with the pong');
      const { frames } = decodeAll(concat(target.slice(0, count)), role === 'client');
      assert.deepEqual(frames.map((frame) => [frame.opcode, frame.payload.length]), [[Opcode.Text, 1], [Opcode.Binary, 70000], [Opcode.Pong, 1]]);
      assert.equal(conn.outgoingBytes, 0);
      assert.equal(conn.takeOutgoingInto(target), 0);
    });

    test(`sendMessageAt sends what sendMessage would, for the ${role}, every length 1..600, from any place in a chunk`, () => {
      // The chunk lies 11 bytes into its ArrayBuffer, as a chunk of a larger read may.
      const chunk = new Uint8Array(711).subarray(11);
      for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 31 + 7) & 0xff;
      const words = new DataView(chunk.buffer, 11, chunk.length);
      for (let length = 1; length <= 600; length++) {
        const start = (length * 13) % (chunk.length - length);
        const opcode = length % 2 === 0 ? Opcode.Binary : Opcode.Text;
        const payload = chunk.slice(start, start + length);
        const viaPlace = endpoint(role);
        viaPlace.conn.sendMessageAt(opcode, words, start, length);
        const viaBytes = endpoint(role);
        viaBytes.conn.sendMessage(opcode, payload);
        const sent = concat(viaPlace.conn.takeOutgoing());
        assert.equal(toHex(sent), toHex(concat(viaBytes.conn.takeOutgoing())), `length ${length}`);
        assert.deepEqual(decodeAll(sent, role === 'client').frames, [{ opcode, fin: true, rsv1: false, payload }], `length ${length}`);
      }
      assert.deepEqual(chunk.subarray(0, 3), Uint8Array.of(7, 38, 69), 'the chunk is left as it was');
    });

    test(`sendFramed sends what sendMessage would, for the ${role}; a server queues the shared frame itself`, () => {
      for (const length of [0, 1, 125, 126, 4095, 70000]) {
        const payload = new Uint8Array(length);
        for (let i = 0; i < length; i++) payload[i] = (i * 7 + length) & 0xff;
        const opcode = length % 2 === 0 ? Opcode.Binary : Opcode.Text;
        const frame = encodeFrame({ opcode, payload });
        const viaFrame = endpoint(role);
        viaFrame.conn.sendFramed(opcode, frame, payload);
        assert.equal(viaFrame.conn.outgoingBytes, role === 'server' ? frame.length : frame.length + 4);
        const chunks = viaFrame.conn.takeOutgoing();
        const sent = concat(chunks);
        assert.deepEqual(decodeAll(sent, role === 'client').frames, [{ opcode, fin: true, rsv1: false, payload }], `length ${length}`);
        if (role === 'server') {
          assert.ok(chunks.length === 1 && chunks[0] === frame, 'the frame itself, not a copy');
          const viaBytes = endpoint(role);
          viaBytes.conn.sendMessage(opcode, payload);
          assert.equal(toHex(sent), toHex(concat(viaBytes.conn.takeOutgoing())), `length ${length}`);
        } else {
          assert.ok(chunks.every((chunk) => chunk !== frame), 'a client masks its own copy (§5.3)');
        }
      }
    });

    test(`sendFramed keeps the rules of sendMessage for the ${role}: not while a fragmented message is open, not once closing`, () => {
      const frame = encodeFrame({ opcode: Opcode.Text, payload: HELLO });
      const open = endpoint(role);
      open.conn.sendFrame(Opcode.Binary, new Uint8Array(1), false);
      assert.throws(() => open.conn.sendFramed(Opcode.Text, frame, HELLO), UsageError);
      const closing = endpoint(role);
      closing.conn.close(1000);
      assert.throws(() => closing.conn.sendFramed(Opcode.Text, frame, HELLO), UsageError);
    });

    test(`outgoingBytes counts what the ${role} queued`, () => {
      const { conn } = endpoint(role);
      assert.equal(conn.outgoingBytes, 0);
      conn.sendText('Hello');
      assert.equal(conn.outgoingBytes, role === 'client' ? 11 : 7);
      conn.sendText('€'.repeat(100));
      assert.equal(conn.outgoingBytes, (role === 'client' ? 11 + 8 : 7 + 4) + 300);
      conn.sendBinary(new Uint8Array(70000));
      assert.equal(conn.outgoingBytes, (role === 'client' ? 11 + 8 + 14 : 7 + 4 + 10) + 300 + 70000);
      assert.equal(concat(conn.takeOutgoing()).length, (role === 'client' ? 33 : 21) + 70300);
    });
  });

  describe(`Connection as ${role}: transportShouldClose (RFC 6455 §7.1.1)`, () => {
    test(`§7.1.1 the ${role} keeps the transport open while OPEN and CLOSING`, () => {
      const { conn } = endpoint(role);
      assert.equal(conn.transportShouldClose, false);
      conn.close(1000);
      assert.equal(conn.transportShouldClose, false);
    });

    test(`§7.1.7 a ${role} that failed the connection closes the transport`, () => {
      const { conn } = endpoint(role);
      conn.receive(hex('83 00'));
      assert.equal(conn.state, 'CLOSED');
      assert.equal(conn.transportShouldClose, true);
    });

    for (const initiator of ['peer', 'self'] as const) {
      const expected = role === 'server';
      test(`§7.1.1 after a normal closing handshake started by ${initiator === 'self' ? `the ${role}` : `the ${peer}`}, the ${role} ${expected ? 'closes the transport first' : 'waits for the server to close it'}`, () => {
        const { conn } = endpoint(role);
        if (initiator === 'self') conn.close(1000);
        conn.receive(frameTo(role, { opcode: Opcode.Close, payload: closeBody(1000) }));
        assert.equal(conn.state, 'CLOSED');
        assert.equal(conn.transportShouldClose, expected);
      });
    }
  });
}

describe('Connection: large payloads', () => {
  test('a server queues a large binary payload as it is, without copying it', () => {
    const { conn } = endpoint('server');
    const data = new Uint8Array(5000).fill(7);
    conn.sendBinary(data);
    const chunks = conn.takeOutgoing();
    assert.equal(chunks.length, 2);
    assert.equal(toHex(chunks[0]!), '82 7e 13 88');
    assert.equal(chunks[1], data);
  });

  test('§5.3 a client masks a large payload into its own buffer and leaves the caller’s data unchanged', () => {
    const { conn } = endpoint('client');
    const data = new Uint8Array(70000).fill(7);
    conn.sendBinary(data);
    const chunks = conn.takeOutgoing();
    assert.ok(chunks.every((chunk) => chunk !== data && chunk.buffer !== data.buffer));
    assert.ok(data.every((b) => b === 7));
    const sink = decodeAll(chunks, true);
    assert.deepEqual(sink.frames[0]?.payload, data);
  });

  test('§5.2 a 64 KiB + 1 text message crosses the 64-bit length boundary both ways', () => {
    for (const role of ROLES) {
      const { conn } = endpoint(role);
      const receiver = endpoint(peerOf(role));
      const text = 'z'.repeat(65537);
      conn.sendText(text);
      const bytes = outgoingBytes(conn);
      assert.equal(toHex(bytes.subarray(0, 10)), role === 'server' ? '81 7f 00 00 00 00 00 01 00 01' : '81 ff 00 00 00 00 00 01 00 01');
      receiver.conn.receive(bytes);
      assert.deepEqual(receiver.events.take(), [{ type: 'text', data: text, fin: true }]);
    }
  });
});

describe('Connection: bytes received in place (receiveTarget / receiveInPlace)', () => {
  /** `conn`, fed through its in-place methods. */
  const inPlace = (conn: Connection): InPlaceFeed => ({
    target: (maxLength) => conn.receiveTarget(maxLength),
    wrote: (count) => conn.receiveInPlace(count),
    push: (chunk) => conn.receive(chunk),
  });

  test('§5.2 a client reads long messages from its server in place: the same events, and the same answers, as through receive', () => {
    const binary = new Uint8Array(300_000).map((_, i) => (i * 31) & 0xff);
    const text = 'ü€'.repeat(40_000);
    const bytes = concat([
      frameTo('client', { opcode: Opcode.Binary, payload: binary }),
      frameTo('client', { opcode: Opcode.Ping, payload: HELLO }),
      frameTo('client', { opcode: Opcode.Text, payload: utf8(text) }),
      frameTo('client', { opcode: Opcode.Close, payload: closeBody(1000, 'bye') }),
    ]);
    const reference = endpoint('client');
    reference.conn.receive(bytes.slice());
    const expectedEvents = reference.events.take();
    const expectedAnswers = sentFrames(reference.conn);
    assert.equal(expectedEvents.length, 4);
    for (const piece of [1000, 65_536]) {
      const { conn, events } = endpoint('client');
      const written = feedInPlace(inPlace(conn), bytes, 100, piece);
      assert.ok(written > binary.length, `${written} bytes went in place`);
      assert.deepEqual(events.take(), expectedEvents);
      assert.deepEqual(sentFrames(conn), expectedAnswers, 'the pong and the close answer');
      assert.equal(conn.receiveTarget(), null, 'input ended');
    }
  });

  test('§8.1 a text message whose invalid UTF-8 is written in place fails the connection with 1007 at that piece; nothing is taken after', () => {
    const payload = utf8('a'.repeat(100_000));
    payload[60_000] = 0xff;
    const bytes = frameTo('client', { opcode: Opcode.Text, payload });
    const { conn, events } = endpoint('client');
    conn.receive(bytes.slice(0, 1000));
    let written = 1000;
    while (conn.state === 'OPEN') {
      const target = conn.receiveTarget(10_000)!;
      target.set(bytes.subarray(written, written + target.length));
      conn.receiveInPlace(target.length);
      written += target.length;
    }
    assert.ok(written > 60_000 && written <= 70_004, `failed at the piece with the bad byte (${written} bytes in)`);
    assert.deepEqual(summarize(events.take()), [{ type: 'error', code: 'WS_ERR_INVALID_UTF8', closeCode: 1007 }]);
    assert.equal(sentCloseCode(conn), 1007);
    assert.equal(conn.receiveTarget(), null);
    conn.receiveInPlace(10);
    assert.deepEqual(events.take(), [], 'nothing after the failure');
  });

  test('§5.1 a server is offered no place: its client masks every payload, which is unmasked on the way in', () => {
    const { conn, events } = endpoint('server');
    const bytes = frameTo('server', { opcode: Opcode.Binary, payload: new Uint8Array(100_000).fill(3) });
    conn.receive(bytes.slice(0, 50_000));
    assert.equal(conn.receiveTarget(), null);
    assert.throws(() => conn.receiveInPlace(1), RangeError);
    conn.receive(bytes.slice(50_000));
    assert.deepEqual(events.take(), [{ type: 'binary', data: new Uint8Array(100_000).fill(3), fin: true }]);
  });

  test('receiveInPlace refuses a count that was not offered (RangeError) and a call from a handler mid-chunk (WS_ERR_REENTRANT), changing nothing', () => {
    const { conn, events } = endpoint('client');
    const payload = new Uint8Array(20_000).fill(9);
    const bytes = concat([frameTo('client', { opcode: Opcode.Ping, payload: HELLO }), frameTo('client', { opcode: Opcode.Binary, payload })]);
    let reentrant: unknown;
    events.onPing = (data) => {
      events.events.push({ type: 'ping', data: new Uint8Array(data) });
      try {
        conn.receiveInPlace(1);
      } catch (error) {
        reentrant = error;
      }
    };
    conn.receive(bytes.slice(0, 7 + 4 + 1000)); // the ping, the header (2 + 2 bytes of length) and 1000 payload bytes
    assert.ok(reentrant instanceof UsageError && reentrant.code === 'WS_ERR_REENTRANT', String(reentrant));
    const room = conn.receiveTarget()!.length;
    assert.equal(room, 19_000);
    for (const count of [0, -5, 2.5, Number.NaN, room + 1]) assert.throws(() => conn.receiveInPlace(count), RangeError, String(count));
    conn.receiveTarget()!.set(payload.subarray(1000));
    conn.receiveInPlace(room);
    assert.deepEqual(events.take(), [
      { type: 'ping', data: HELLO },
      { type: 'binary', data: payload, fin: true },
    ]);
    assert.equal(conn.state, 'OPEN');
  });
});

describe('EventCollector', () => {
  test('records events as values, copying binary data, and take() empties the list', () => {
    const events = new EventCollector();
    const data = hex('01 02');
    events.onBinary(data, false);
    events.onPing(data);
    events.onPong(data);
    data[0] = 9;
    events.onText('t', true);
    events.onClose(1000, 'r');
    const error = new ProtocolError('WS_ERR_INVALID_UTF8', 1007, 'RFC 6455 §8.1', 'bad');
    events.onError(error);
    assert.deepEqual(events.take(), [
      { type: 'binary', data: hex('01 02'), fin: false },
      { type: 'ping', data: hex('01 02') },
      { type: 'pong', data: hex('01 02') },
      { type: 'text', data: 't', fin: true },
      { type: 'close', code: 1000, reason: 'r' },
      { type: 'error', error },
    ]);
    assert.deepEqual(events.take(), []);
    assert.deepEqual(events.events, []);
  });
});

describe('misuse by the host or its handler leaves no broken state behind', () => {
  for (const role of ROLES) {
    for (const feed of ['receive', 'receiveBorrowed'] as const) {
      test(`${role}: a handler that throws mid-chunk fails the connection with 1011 (§7.4.1) and the error comes out of ${feed}`, () => {
        const events = new EventCollector();
        let calls = 0;
        events.onText = () => {
          calls++;
          throw new Error('handler bug');
        };
        const conn = new Connection(role, events, { randomFill: (target) => target.fill(7) });
        const three = concat([frameTo(role, { opcode: Opcode.Text, payload: utf8('one') }), frameTo(role, { opcode: Opcode.Text, payload: utf8('two') }), frameTo(role, { opcode: Opcode.Text, payload: utf8('three') })]);
        assert.throws(() => conn[feed](three), /handler bug/);
        assert.equal(calls, 1);
        assert.equal(conn.state, 'CLOSED');
        assert.equal(sentCloseCode(conn), 1011);
        conn[feed](frameTo(role, { opcode: Opcode.Text, payload: utf8('four') }));
        assert.equal(calls, 1, 'nothing is parsed after the failure');
      });
    }
  }

  test('server: sendMessageAt with a range outside its DataView throws and queues nothing', () => {
    const { conn } = endpoint('server');
    const view = new DataView(new ArrayBuffer(10));
    assert.throws(() => conn.sendMessageAt(Opcode.Binary, view, 4, 100), RangeError);
    assert.equal(conn.outgoingBytes, 0);
  });

  test('client: a masking key source that throws leaves nothing queued for a short text; a client that never sent has nothing to take', () => {
    const conn = new Connection('client', new EventCollector(), {
      randomFill: () => {
        throw new Error('no entropy');
      },
    });
    assert.throws(() => conn.sendText('hi'), /no entropy/);
    assert.equal(conn.outgoingBytes, 0);
    assert.equal(conn.takeOutgoingInto([]), 0);
    // A client's writer is made with it, its output queue at the first frame: before that there is nothing to take.
    const fresh = new Connection('client', new EventCollector());
    assert.equal(fresh.takeOutgoingInto([]), 0);
    assert.deepEqual(fresh.takeOutgoing(), []);
  });

  test('a message limit that is not a number is no room rather than no limit; a bad maxPayload or role is refused', () => {
    const { conn, events } = endpoint('server', { maxPayload: 1024 });
    conn.setMessageLimit(Number.NaN);
    conn.receive(frameTo('server', { opcode: Opcode.Binary, payload: new Uint8Array(100) }));
    assert.equal(summarize(events.take()).find((event) => event.type === 'error')?.closeCode, 1009);
    assert.throws(() => endpoint('server', { maxPayload: Number.NaN }), RangeError);
    assert.throws(() => new Connection('Client' as Role, new EventCollector()), TypeError);
  });

  test('a lowered message limit applies to the message in progress from its next frame: its size so far counts (a budget for the whole connection)', () => {
    const { conn, events } = endpoint('server', { maxPayload: 1000 });
    conn.receive(frameTo('server', { opcode: Opcode.Binary, payload: new Uint8Array(100), fin: false }));
    conn.setMessageLimit(105);
    conn.receive(frameTo('server', { opcode: Opcode.Continuation, payload: new Uint8Array(5), fin: false }));
    assert.equal(conn.state, 'OPEN', '105 bytes so far: within the limit');
    conn.receive(frameTo('server', { opcode: Opcode.Continuation, payload: new Uint8Array(1), fin: true }));
    const failure = summarize(events.take()).find((event) => event.type === 'error');
    assert.deepEqual([failure?.closeCode, conn.state], [1009, 'CLOSED']);
  });

  test('§7.4: a close code that is not a whole number is refused', () => {
    const { conn } = endpoint('server');
    assertUsageError(() => conn.close(1000.5), 'WS_ERR_INVALID_CLOSE_CODE');
    assert.equal(conn.outgoingBytes, 0);
  });
});

test('transportClosed: a transport that ended before CLOSED leaves the connection CLOSED, sending nothing, its compression released', () => {
  let disposed = 0;
  const compression = { threshold: 0, compress: (data: Uint8Array) => data, decompress: (payload: Uint8Array) => payload, dispose: () => void disposed++ };
  const conn = new Connection('server', new EventCollector(), { compression });
  conn.transportClosed();
  assert.equal(conn.state, 'CLOSED');
  assert.equal(disposed, 1);
  conn.transportClosed();
  assert.equal(disposed, 1, 'once');
  assertUsageError(() => conn.sendText('late'), 'WS_ERR_NOT_OPEN');
  assert.equal(conn.outgoingBytes, 0);
});

for (const role of ROLES) {
  test(`transportClosed (${role}): what was queued and not taken is dropped, a failure's close frame too: outgoingBytes reads 0`, () => {
    const open = new Connection(role, new EventCollector(), { randomFill: (target) => target.fill(0x5a) });
    open.sendText('never to go');
    open.sendBinary(new Uint8Array(5000));
    assert.ok(open.outgoingBytes > 5000);
    open.transportClosed();
    assert.deepEqual([open.outgoingBytes, open.takeOutgoing()], [0, []]);

    const failed = new Connection(role, new EventCollector(), { randomFill: (target) => target.fill(0x5a) });
    failed.receive(hex('ff 00')); // opcode 15: reserved (§5.2), so failed with 1002 and a close frame queued
    assert.equal(failed.state, 'CLOSED');
    assert.ok(failed.outgoingBytes > 0);
    failed.transportClosed();
    assert.deepEqual([failed.outgoingBytes, failed.takeOutgoing()], [0, []]);
  });
}

test('§5.3 a client whose random source threw once masks its next frames with keys from the source, never 00 00 00 00', () => {
  let calls = 0;
  const conn = new Connection('client', new EventCollector(), {
    randomFill: (target) => {
      if (calls++ === 0) throw new Error('entropy source not ready');
      target.fill(0x5a);
    },
  });
  assert.throws(() => conn.sendText('first'), /entropy source not ready/);
  conn.sendText('second');
  const wire = concat(conn.takeOutgoing());
  // §5.2: FIN + text, MASK + 6, then the masking key.
  assert.equal(toHex(wire.subarray(0, 6)), '81 86 5a 5a 5a 5a');
});
