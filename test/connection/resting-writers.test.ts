/**
 * A server connection holds a frame writer only while it has output queued: once its output
 * is taken, the writer rests and the next connection to send may take it. Nothing of one
 * connection may reach another that way: its compression (RFC 7692 §6: RSV1 only where
 * negotiated), its payload views, its queued bytes, or the pongs it owes (§5.5.3).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { MessageCompression } from '../../src/connection/compression.ts';
import { Connection } from '../../src/connection/connection.ts';
import { EventCollector } from '../../src/connection/handler.ts';
import { Opcode } from '../../src/frame/opcode.ts';
import { concat, utf8 } from '../frame/helpers.ts';
import { frameTo, sentFrames } from './helpers.ts';

/** Compresses every message to the same two bytes (the test only looks at the frames' RSV1). */
const fakeCompression: MessageCompression = {
  threshold: 0,
  compress: () => new Uint8Array([1, 2]),
  decompress: () => null,
  dispose: () => undefined,
};

const RSV1 = 0x40;

test('RFC 7692 §6 a writer that rested after a compressing connection does not compress for another', () => {
  const compressing = new Connection('server', new EventCollector(), { compression: fakeCompression });
  const plain = new Connection('server', new EventCollector());
  for (let turn = 0; turn < 3; turn++) {
    compressing.sendBinary(utf8('squeeze me'));
    assert.equal(concat(compressing.takeOutgoing())[0]! & RSV1, RSV1, 'the negotiated connection compresses');
    plain.sendBinary(utf8('leave me'));
    const bytes = concat(plain.takeOutgoing());
    assert.equal(bytes[0]! & RSV1, 0, 'no RSV1 without the extension');
    assert.deepEqual(bytes, concat([new Uint8Array([0x82, 8]), utf8('leave me')]));
  }
});

test('a writer that rested after a connection with Buffer views hands another its own kind of chunk', () => {
  const buffers = new Connection('server', new EventCollector(), { view: (buffer, offset, length) => Buffer.from(buffer, offset, length) });
  const plain = new Connection('server', new EventCollector());
  for (let turn = 0; turn < 3; turn++) {
    buffers.sendText('to a Node socket');
    assert.deepEqual(buffers.takeOutgoing().map((chunk) => chunk.constructor.name), ['Buffer']);
    plain.sendText('to anything');
    assert.deepEqual(plain.takeOutgoing().map((chunk) => chunk.constructor.name), ['Uint8Array']);
  }
});

test('connections that send in turn, each taking its output at a different time, get their own frames in order', () => {
  const connections = [0, 1, 2].map(() => new Connection('server', new EventCollector()));
  const expected: string[][] = [[], [], []];
  for (let step = 0; step < 30; step++) {
    const index = (step * 7) % 3;
    const text = `message ${step} of connection ${index}`;
    connections[index]!.sendText(text);
    expected[index]!.push(text);
    // Every fourth step one connection takes what it queued, so writers rest and are taken mid-way.
    if (step % 4 === 3) {
      const taker = step % 3;
      const frames = sentFrames(connections[taker]!);
      assert.deepEqual(frames.map((frame) => new TextDecoder().decode(frame.payload)), expected[taker]);
      expected[taker] = [];
    }
  }
  connections.forEach((connection, index) => {
    assert.deepEqual(sentFrames(connection).map((frame) => new TextDecoder().decode(frame.payload)), expected[index]);
    assert.equal(connection.outgoingBytes, 0);
  });
});

test('§5.5.3 pongs held while the writer rests still go out at the next take, and only the latest', () => {
  const held = new Connection('server', new EventCollector());
  const other = new Connection('server', new EventCollector());
  held.holdPongs(true);
  held.receive(frameTo('server', { opcode: Opcode.Ping, payload: utf8('first') }));
  held.receive(frameTo('server', { opcode: Opcode.Ping, payload: utf8('latest') }));
  assert.equal(held.outgoingBytes, 0, 'held: nothing queued, no writer needed');
  // Another connection takes and returns writers meanwhile.
  other.sendText('busy');
  other.takeOutgoing();
  held.holdPongs(false);
  const frames = sentFrames(held);
  assert.deepEqual(
    frames.map((frame) => [frame.opcode, new TextDecoder().decode(frame.payload)]),
    [[Opcode.Pong, 'latest']],
  );
});

test('a client keeps its own writer: its frames stay masked after takes between servers\' sends', () => {
  const client = new Connection('client', new EventCollector());
  const server = new Connection('server', new EventCollector());
  for (let turn = 0; turn < 3; turn++) {
    server.sendText('from the server');
    server.takeOutgoing();
    client.sendText('from the client');
    const [frame] = sentFrames(client);
    assert.equal(new TextDecoder().decode(frame!.payload), 'from the client');
    const bytes = concat(client.takeOutgoing());
    assert.equal(bytes.length, 0);
  }
});

test('a writer at rest lets go of the compression of the connection it last wrote for (its zlib streams, its connection)', () => {
  const compressing = new Connection('server', new EventCollector(), { compression: fakeCompression });
  compressing.sendBinary(utf8('squeeze me'));
  const writer = (compressing as unknown as { madeWriter: object | null }).madeWriter;
  assert.ok(writer !== null);
  compressing.takeOutgoing(); // all taken: the writer rests
  assert.equal((compressing as unknown as { madeWriter: object | null }).madeWriter, null);
  assert.equal((writer as { compression: unknown }).compression, null);
});

test('a writer at rest lets go of the host\'s hooks too: one that refers to its connection would keep it alive', () => {
  const hooks = { allocate: (size: number) => new Uint8Array(size), view: (buffer: ArrayBufferLike, offset: number, length: number) => new Uint8Array(buffer, offset, length) };
  const conn = new Connection('server', new EventCollector(), hooks);
  conn.sendBinary(utf8('hooked'));
  const writer = (conn as unknown as { madeWriter: Record<string, unknown> | null }).madeWriter;
  assert.ok(writer !== null && writer.allocate === hooks.allocate);
  conn.takeOutgoing();
  assert.deepEqual([writer.allocate, writer.view], [undefined, undefined]);
  const queue = writer.queue as Record<string, unknown> | null;
  assert.ok(queue === null || (queue.allocate !== hooks.allocate && queue.view !== hooks.view));
});
