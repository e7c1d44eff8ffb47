/**
 * Messages as a peer hands them out: text decoded lazily, relayed untouched by `send` and
 * `write`, and shown as `{ opcode, fin, data }`.
 */
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { test } from 'node:test';

import { connect, server, type Message } from '../../src/index.ts';
import { bufferView } from '../../src/peer/buffers.ts';
import { defer, LOCALHOST, readPlain } from './helpers.ts';

test('bufferView makes a Buffer in every observable way, sharing the memory it views', () => {
  const backing = new ArrayBuffer(16);
  new Uint8Array(backing).set([0x68, 0x69, 0x21, 0x00, 0x01, 0x02, 0x03], 3);
  const view = bufferView(backing, 3, 7);
  assert.ok(Buffer.isBuffer(view));
  assert.ok(view instanceof Buffer && view instanceof Uint8Array);
  assert.equal(view.constructor, Buffer);
  assert.equal(view.toString('latin1', 0, 3), 'hi!');
  assert.equal(view.readUInt32BE(3), 0x00010203);
  assert.ok(view.equals(Buffer.from([0x68, 0x69, 0x21, 0, 1, 2, 3])));
  assert.equal(inspect(view), '<Buffer 68 69 21 00 01 02 03>');
  assert.equal(JSON.stringify(view), '{"type":"Buffer","data":[104,105,33,0,1,2,3]}');
  const part = view.subarray(1, 3);
  assert.ok(Buffer.isBuffer(part));
  assert.equal(part.toString(), 'i!');
  assert.ok(Buffer.isBuffer(view.slice(0, 2)));
  assert.ok(Buffer.isBuffer(Buffer.concat([view, part])));
  view[0] = 0x48;
  assert.equal(new Uint8Array(backing)[3], 0x48, 'a view, not a copy');
});

test('binary messages and text bytes reach the application as Buffers, short and long, whole in a chunk or split', async (t) => {
  const seen: boolean[] = [];
  const echo = await server(`ws://${LOCALHOST}:0/`, (peer) =>
    peer.onMessage((message) => {
      seen.push(Buffer.isBuffer(message.data));
      void peer.send(message);
    }),
  );
  defer(t, () => echo.close(1000));
  const client = await connect(echo.url);
  defer(t, () => client.close());
  for (const size of [3, 125, 300, 70_000]) {
    await client.write(new Uint8Array(size).fill(size & 0xff));
    const reply = await readPlain(client, 2000);
    assert.ok(Buffer.isBuffer(reply?.data), `the client's reply of ${size} bytes`);
    assert.equal((reply?.data as Buffer).length, size);
  }
  assert.deepEqual(seen, [true, true, true, true]);
});

test('a message read is relayed by send() as it was received: text stays text, binary stays binary', async (t) => {
  const relay = await server(`ws://${LOCALHOST}:0/`, (peer) => peer.onMessage((message) => void peer.send(message)));
  defer(t, () => relay.close(1000));
  const client = await connect(relay.url);
  defer(t, () => client.close());
  await client.write('héllo ✓');
  await client.write(new Uint8Array([0, 255, 7]));
  assert.deepEqual(await readPlain(client, 2000), { opcode: 1, fin: true, data: 'héllo ✓' });
  const binary = await readPlain(client, 2000);
  assert.deepEqual([binary?.opcode, [...(binary?.data as Uint8Array)]], [2, [0, 255, 7]]);
});

test('a message relayed with write() resolves with the bytes queued, like any other write', async (t) => {
  const relay = await server(`ws://${LOCALHOST}:0/`, async (peer) => {
    for await (const message of peer) await peer.write(message);
  });
  defer(t, () => relay.close(1000));
  const client = await connect(relay.url);
  defer(t, () => client.close());
  await client.write('x'.repeat(200));
  assert.deepEqual(await readPlain(client, 2000), { opcode: 1, fin: true, data: 'x'.repeat(200) });
});

test('a message shows as { opcode, fin, data } in JSON and in util.inspect', async (t) => {
  const echo = await server(`ws://${LOCALHOST}:0/`, (peer) => peer.onMessage((message) => void peer.send(message)));
  defer(t, () => echo.close(1000));
  const client = await connect(echo.url);
  defer(t, () => client.close());
  await client.write('shown');
  const message = (await client.read(2000)) as Message;
  assert.equal(JSON.stringify(message), '{"opcode":1,"fin":true,"data":"shown"}');
  assert.equal(inspect(message), "{ opcode: 1, fin: true, data: 'shown' }");
  assert.equal(message.data, 'shown');
});
