/**
 * Messages as a peer hands them out: text decoded lazily, relayed untouched by `send` and
 * `write`, and shown as `{ opcode, fin, data }`.
 */
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { test } from 'node:test';

import { connect, server, type Message } from '../../src/index.ts';
import { defer, LOCALHOST, readPlain } from './helpers.ts';

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
