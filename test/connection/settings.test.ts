/**
 * `ConnectionSettings`: options checked and resolved once, shared by many connections (a
 * server's peers hold one settings object between them). What is shared must not carry
 * one connection's state to another: each keeps its own lowered limit (§10.4), its own
 * closing (§7), and its own compression.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Connection, ConnectionSettings, DEFAULT_MAX_PAYLOAD, type ConnectionOptions } from '../../src/connection/connection.ts';
import { EventCollector } from '../../src/connection/handler.ts';
import { Opcode } from '../../src/frame/opcode.ts';
import { utf8 } from '../frame/helpers.ts';
import { closeBody, frameTo, sentFrames, summarize } from './helpers.ts';

const PAYLOAD_500 = new Uint8Array(500).fill(3);

function sharing(settings: ConnectionSettings): { conn: Connection; events: EventCollector } {
  const events = new EventCollector();
  return { conn: new Connection('server', events, settings), events };
}

test('settings resolve the defaults and are frozen, so no connection changes them for the others', () => {
  const settings = new ConnectionSettings();
  assert.equal(settings.maxPayload, DEFAULT_MAX_PAYLOAD);
  assert.equal(settings.fragments, false);
  assert.equal(settings.deferCloseReply, false);
  assert.equal(settings.compression, null);
  assert.equal(settings.maxQueuedPongs, 16);
  assert.ok(Object.isFrozen(settings));
  assert.throws(() => {
    (settings as { maxPayload: number }).maxPayload = 1;
  }, TypeError);
});

test('settings check their options once, with the errors a connection gives', () => {
  assert.throws(() => new ConnectionSettings({ maxPayload: -1 }), /maxPayload must be a number of bytes, got -1/);
  assert.throws(() => new ConnectionSettings({ maxPayload: Number.NaN }), RangeError);
  assert.throws(() => new ConnectionSettings({ maxQueuedPongs: 0 }), /maxQueuedPongs must be at least 1/);
  assert.throws(() => new Connection('server', new EventCollector(), { maxQueuedPongs: 0 }), /maxQueuedPongs must be at least 1/);
});

test('options of the wrong type are refused by name, as JavaScript callers may pass them: "8" is no number of bytes, "false" no false', () => {
  const untyped = (options: object): ConnectionOptions => options as ConnectionOptions;
  for (const maxPayload of ['8', true, [16]]) {
    assert.throws(() => new ConnectionSettings(untyped({ maxPayload })), RangeError, String(maxPayload));
  }
  assert.throws(() => new ConnectionSettings(untyped({ maxPayload: '8' })), /maxPayload must be a number of bytes, got the string "8"/);
  assert.throws(() => new ConnectionSettings(untyped({ fragments: 'false' })), /fragments must be true or false, got the string "false"/);
  assert.throws(() => new ConnectionSettings(untyped({ deferCloseReply: 1 })), /deferCloseReply must be true or false, got 1/);
  assert.throws(() => new ConnectionSettings(untyped({ isUtf8: true })), /isUtf8 must be a function, got true/);
  assert.throws(() => new ConnectionSettings(untyped({ allocate: {} })), /allocate must be a function, got an object/);
  const defaults = new ConnectionSettings(untyped({ fragments: null, deferCloseReply: undefined, isUtf8: null }));
  assert.deepEqual([defaults.fragments, defaults.deferCloseReply, defaults.isUtf8], [false, false, null]);
});

test('a connection keeps the settings it is given, and makes its own from plain options', () => {
  const settings = new ConnectionSettings({ maxPayload: 1000 });
  const [a, b] = [sharing(settings), sharing(settings)];
  assert.equal(a.conn.settings, settings);
  assert.equal(b.conn.settings, settings);
  const options = { maxPayload: 1000 };
  const own = new Connection('server', new EventCollector(), options);
  assert.notEqual(own.settings, settings);
  // Options changed after the connection was made do not reach it.
  options.maxPayload = 10;
  own.receive(frameTo('server', { opcode: Opcode.Binary, payload: PAYLOAD_500 }));
  assert.equal(own.error, null);
});

test('§10.4 shared settings bound each connection, and a limit lowered on one stays its own', () => {
  const settings = new ConnectionSettings({ maxPayload: 1000 });
  const [lowered, other] = [sharing(settings), sharing(settings)];
  lowered.conn.setMessageLimit(100);
  other.conn.receive(frameTo('server', { opcode: Opcode.Binary, payload: PAYLOAD_500 }));
  assert.deepEqual(summarize(other.events.take()), [{ type: 'binary', data: PAYLOAD_500, fin: true }]);
  lowered.conn.receive(frameTo('server', { opcode: Opcode.Binary, payload: PAYLOAD_500 }));
  assert.deepEqual(summarize(lowered.events.take()), [{ type: 'error', code: 'WS_ERR_FRAME_TOO_BIG', closeCode: 1009 }]);
  // Never above the shared maxPayload, however much a host offers.
  other.conn.setMessageLimit(5000);
  other.conn.receive(frameTo('server', { opcode: Opcode.Binary, payload: new Uint8Array(1001) }));
  assert.deepEqual(summarize(other.events.take()), [{ type: 'error', code: 'WS_ERR_FRAME_TOO_BIG', closeCode: 1009 }]);
});

test('§7 each connection sharing settings closes on its own: codes, reasons and a deferred reply', () => {
  const settings = new ConnectionSettings({ deferCloseReply: true });
  const [closing, open, failing] = [sharing(settings), sharing(settings), sharing(settings)];
  closing.conn.receive(frameTo('server', { opcode: Opcode.Close, payload: closeBody(4001, 'bye') }));
  assert.equal(closing.conn.remoteCloseCode, 4001);
  assert.equal(closing.conn.remoteCloseReason, 'bye');
  assert.equal(closing.conn.awaitingCloseReply, true);
  assert.equal(closing.conn.state, 'OPEN');
  failing.conn.receive(frameTo('server', { opcode: 0x3, payload: new Uint8Array(0) }));
  assert.equal(failing.conn.error?.closeCode, 1002);
  // The one left open has none of it.
  assert.equal(open.conn.remoteCloseCode, null);
  assert.equal(open.conn.remoteCloseReason, '');
  assert.equal(open.conn.localCloseCode, null);
  assert.equal(open.conn.error, null);
  assert.equal(open.conn.awaitingCloseReply, false);
  assert.equal(open.conn.transportShouldClose, false);
  open.conn.receive(frameTo('server', { opcode: Opcode.Text, payload: utf8('still here') }));
  assert.deepEqual(summarize(open.events.take()), [{ type: 'text', data: 'still here', fin: true }]);
  // The deferred reply echoes the code (§5.5.1) and completes the handshake.
  closing.conn.replyToClose();
  assert.equal(closing.conn.localCloseCode, 4001);
  assert.equal(closing.conn.state, 'CLOSED');
  assert.equal(closing.conn.transportShouldClose, true);
  assert.deepEqual(sentFrames(closing.conn).map((frame) => frame.opcode), [Opcode.Close]);
});
