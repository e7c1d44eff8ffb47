/**
 * A connection holds a frame decoder only mid-frame or mid-message; between them its
 * decoder rests, and the next connection to read may take it. Nothing of one connection
 * may reach another that way: its role (§5.1 masking), its size limit (§10.4, 1009), its
 * payload type, or a frame it has half read.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Connection } from '../../src/connection/connection.ts';
import { EventCollector } from '../../src/connection/handler.ts';
import { Opcode } from '../../src/frame/opcode.ts';
import { concat, utf8 } from '../frame/helpers.ts';
import { closeBody, endpoint, frameTo, summarize } from './helpers.ts';

const PAYLOAD_500 = new Uint8Array(500).fill(7);

test('§10.4 a connection\'s size limit is its own: a decoder that rested after a larger limit still refuses with 1009', () => {
  const roomy = endpoint('server', { maxPayload: 1000 });
  roomy.conn.receive(frameTo('server', { opcode: Opcode.Binary, payload: PAYLOAD_500 }));
  assert.deepEqual(summarize(roomy.events.take()), [{ type: 'binary', data: PAYLOAD_500, fin: true }]);
  const tight = endpoint('server', { maxPayload: 100 });
  tight.conn.receive(frameTo('server', { opcode: Opcode.Binary, payload: PAYLOAD_500 }));
  assert.deepEqual(summarize(tight.events.take()), [{ type: 'error', code: 'WS_ERR_FRAME_TOO_BIG', closeCode: 1009 }]);
  // And a limit lowered while no decoder is held applies to the next frame.
  const lowered = endpoint('server', { maxPayload: 1000 });
  lowered.conn.setMessageLimit(100);
  lowered.conn.receive(frameTo('server', { opcode: Opcode.Binary, payload: PAYLOAD_500 }));
  assert.deepEqual(summarize(lowered.events.take()), [{ type: 'error', code: 'WS_ERR_FRAME_TOO_BIG', closeCode: 1009 }]);
});

test('§5.1 a connection\'s role is its own: a client refuses a masked frame after a server\'s decoder rested', () => {
  const server = endpoint('server');
  server.conn.receive(frameTo('server', { opcode: Opcode.Text, payload: utf8('masked') }));
  assert.deepEqual(summarize(server.events.take()), [{ type: 'text', data: 'masked', fin: true }]);
  const client = endpoint('client');
  client.conn.receive(frameTo('server', { opcode: Opcode.Text, payload: utf8('masked') }));
  assert.deepEqual(summarize(client.events.take()), [{ type: 'error', code: 'WS_ERR_MASKED_FRAME', closeCode: 1002 }]);
});

/** Records the constructor of every binary payload, as the connection hands it out. */
class PayloadTypes extends EventCollector {
  readonly types: string[] = [];
  override onBinary(data: Uint8Array, fin: boolean): void {
    this.types.push(data.constructor.name);
    super.onBinary(data, fin);
  }
}

test('a connection\'s payload type is its own, the empty payload included', () => {
  const asBuffer = new PayloadTypes();
  const viewing = new Connection('server', asBuffer, { view: (buffer, offset, length) => Buffer.from(buffer, offset, length) });
  const plain = new PayloadTypes();
  const other = new Connection('server', plain, {});
  for (const conn of [viewing, other, viewing, other]) {
    conn.receive(frameTo('server', { opcode: Opcode.Binary, payload: new Uint8Array(0) }));
    conn.receive(frameTo('server', { opcode: Opcode.Binary, payload: utf8('x') }));
  }
  assert.deepEqual(asBuffer.types, ['Buffer', 'Buffer', 'Buffer', 'Buffer']);
  assert.deepEqual(plain.types, ['Uint8Array', 'Uint8Array', 'Uint8Array', 'Uint8Array']);
});

test('connections fed byte by byte, in turn, each get their own frames: a half-read header, payload or fragmented message stays with its connection', () => {
  const streams = [0, 1, 2].map((index) =>
    concat([
      frameTo('server', { opcode: Opcode.Text, payload: utf8(`first part ${index} `), fin: false }),
      frameTo('server', { opcode: Opcode.Ping, payload: utf8(`ping ${index}`) }),
      frameTo('server', { opcode: Opcode.Continuation, payload: utf8(`last part ${index}`) }),
      frameTo('server', { opcode: Opcode.Binary, payload: new Uint8Array(300 + index).fill(index) }),
    ]),
  );
  const endpoints = streams.map(() => endpoint('server'));
  const longest = Math.max(...streams.map((stream) => stream.length));
  for (let at = 0; at < longest; at++) {
    streams.forEach((stream, index) => {
      if (at < stream.length) endpoints[index]!.conn.receive(stream.subarray(at, at + 1));
    });
  }
  endpoints.forEach(({ events }, index) => {
    assert.deepEqual(summarize(events.take()), [
      { type: 'ping', data: utf8(`ping ${index}`) },
      { type: 'text', data: `first part ${index} last part ${index}`, fin: true },
      { type: 'binary', data: new Uint8Array(300 + index).fill(index), fin: true },
    ]);
  });
});

/** Feeds a second connection from within its own handler, while its chunk is still being parsed. */
class Relay extends EventCollector {
  constructor(private readonly next: () => Connection) {
    super();
  }
  override onText(text: string, fin: boolean): void {
    super.onText(text, fin);
    this.next().receive(frameTo('server', { opcode: Opcode.Text, payload: utf8(`relayed ${text}`) }));
  }
}

test('a handler that feeds another connection while its own chunk is parsed: each parses with its own decoder', () => {
  const target = endpoint('server');
  const relay = new Relay(() => target.conn);
  const source = new Connection('server', relay, {});
  source.receive(concat([frameTo('server', { opcode: Opcode.Text, payload: utf8('one') }), frameTo('server', { opcode: Opcode.Text, payload: utf8('two') })]));
  assert.deepEqual(summarize(relay.take()), [
    { type: 'text', data: 'one', fin: true },
    { type: 'text', data: 'two', fin: true },
  ]);
  assert.deepEqual(summarize(target.events.take()), [
    { type: 'text', data: 'relayed one', fin: true },
    { type: 'text', data: 'relayed two', fin: true },
  ]);
});

test('§5.5.1 nothing after the peer\'s close frame is data, in a later chunk too, while the answer waits (deferCloseReply)', () => {
  for (const cut of ['whole chunks', 'byte by byte'] as const) {
    const { conn, events } = endpoint('server', { deferCloseReply: true });
    const close = frameTo('server', { opcode: Opcode.Close, payload: closeBody(1000) });
    const after = frameTo('server', { opcode: Opcode.Text, payload: utf8('too late') });
    for (const chunk of [close, after]) {
      if (cut === 'whole chunks') conn.receive(chunk);
      else for (const byte of chunk) conn.receive(Uint8Array.of(byte));
    }
    assert.deepEqual(summarize(events.take()), [{ type: 'close', code: 1000, reason: '' }], cut);
    assert.equal(conn.state, 'OPEN', 'still open: the answer waits for the host');
    assert.equal(conn.awaitingCloseReply, true);
  }
});

test('a decoder at rest holds nothing of the connection it last read for: a closed connection it rested after is not kept alive by it', () => {
  const { conn } = endpoint('server');
  const frame = frameTo('server', { opcode: Opcode.Text, payload: utf8('half then half') });
  conn.receive(frame.subarray(0, 5)); // mid-frame: the connection holds its decoder
  const decoder = (conn as unknown as { decoder: object | null }).decoder;
  assert.ok(decoder !== null);
  conn.receive(frame.subarray(5)); // between frames: it goes back to rest
  assert.equal((conn as unknown as { decoder: object | null }).decoder, null);
  assert.notEqual((decoder as { sink: unknown }).sink, conn, 'the resting decoder still points at its last connection');
});

test('a decoder at rest lets go of the host\'s hooks too: one that refers to its connection would keep it alive', () => {
  const hooks = { allocate: (size: number) => new Uint8Array(size), view: (buffer: ArrayBufferLike, offset: number, length: number) => new Uint8Array(buffer, offset, length) };
  const conn = new Connection('server', new EventCollector(), hooks);
  const frame = frameTo('server', { opcode: Opcode.Binary, payload: new Uint8Array(10) });
  conn.receive(frame.subarray(0, 3));
  const decoder = (conn as unknown as { decoder: Record<string, unknown> | null }).decoder;
  assert.ok(decoder !== null && decoder.allocate === hooks.allocate);
  conn.receive(frame.subarray(3));
  assert.notEqual(decoder.allocate, hooks.allocate);
  assert.equal(decoder.view, null);
});

test('at most 16 decoders rest at once: after a burst of connections mid-frame, the decoders past that are left to the collector', () => {
  const frame = frameTo('server', { opcode: Opcode.Binary, payload: new Uint8Array(10) });
  const decoderOf = (conn: Connection): object | null => (conn as unknown as { decoder: object | null }).decoder;
  const burst = (): { conns: Connection[]; decoders: object[] } => {
    const conns = Array.from({ length: 20 }, () => endpoint('server').conn);
    for (const conn of conns) conn.receive(frame.subarray(0, 3)); // mid-frame: each holds a decoder
    return { conns, decoders: conns.map((conn) => decoderOf(conn)!) };
  };
  const first = burst();
  for (const conn of first.conns) conn.receive(frame.subarray(3)); // all go back to rest, or are dropped
  const second = burst();
  const reused = second.decoders.filter((decoder) => first.decoders.includes(decoder)).length;
  assert.equal(reused, 16);
  for (const conn of second.conns) conn.receive(frame.subarray(3));
});
