/**
 * The `pingFrequency` heartbeat: live peers answer the pings (§5.5.2) and stay connected,
 * a peer that goes silent is dropped and reported as closed abnormally (1006, §7.1.5).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';

import { bind, connect } from '../../src/index.ts';
import { defer, FrameReader, LOCALHOST, portOf, rawUpgrade, sleep, within, readPlain } from './helpers.ts';
import { closeWs, wsClient, wsServer } from './ws-helpers.ts';

const PERIOD = 100;

test('with pingFrequency, our client and a ws client answer the pings and stay connected over several periods', async (t) => {
  const bound = await bind(`ws://${LOCALHOST}:0/`, { pingFrequency: PERIOD });
  defer(t, () => bound.close(500));
  const ours = await connect(bound.url);
  defer(t, () => ours.close());
  const ourPeer = await bound.accept(2000);
  const { ws } = await wsClient(bound.url);
  defer(t, () => closeWs(ws));
  const wsPeer = await bound.accept(2000);
  let wsPings = 0;
  ws.on('ping', () => wsPings++);

  await sleep(PERIOD * 6);

  assert.ok(wsPings >= 3, `ws saw ${wsPings} pings in ${PERIOD * 6} ms`);
  for (const [name, peer] of [
    ['our client', ourPeer],
    ['ws client', wsPeer],
  ] as const) {
    assert.equal(peer.closed, false, `${name} was dropped`);
    assert.equal(peer.state, 'OPEN');
  }
  assert.equal(ours.closed, false);
  // Both connections still carry data.
  await ours.write('alive');
  assert.deepEqual(await readPlain(ourPeer, 1000), { opcode: 1, fin: true, data: 'alive' });
  ws.send('alive too');
  assert.deepEqual(await readPlain(wsPeer, 1000), { opcode: 1, fin: true, data: 'alive too' });
});

test('with pingFrequency on our client, a ws server gets the pings, answers them, and the client stays connected', async (t) => {
  let pings = 0;
  const wss = await wsServer((ws) => {
    ws.on('ping', () => pings++);
    ws.on('message', (data) => ws.send(data, { binary: false }));
  });
  defer(t, () => wss.close());
  const client = await connect(wss.url, {}, { pingFrequency: PERIOD });
  defer(t, () => client.close());
  await sleep(PERIOD * 5);
  assert.ok(pings >= 3, `the ws server saw ${pings} pings`);
  assert.equal(client.closed, false);
  await client.write('hello');
  assert.deepEqual(await readPlain(client, 1000), { opcode: 1, fin: true, data: 'hello' });
});

test('with pingFrequency, a client that completes the upgrade and then never answers is dropped, closeCode 1006', async (t) => {
  const bound = await bind(`ws://${LOCALHOST}:0/`, { pingFrequency: PERIOD });
  defer(t, () => bound.close(500));
  const { socket, rest } = await rawUpgrade(portOf(bound));
  defer(t, () => socket.destroy());
  const frames = new FrameReader(socket, rest); // reads, never answers
  const gone = once(socket, 'close');
  const peer = await bound.accept(2000);
  const started = performance.now();

  const ping = await frames.next(PERIOD * 3);
  assert.equal(ping.opcode, 9, 'the server pings');
  assert.equal(await within(peer.read(), PERIOD * 10, 'the silent peer is dropped'), null);
  const elapsed = performance.now() - started;
  assert.ok(elapsed < PERIOD * 10, `dropped after ${elapsed} ms`);
  assert.equal(peer.closeCode, 1006);
  assert.equal(peer.closed, true);
  await within(gone, 2000, 'the raw client sees the connection go');
  assert.equal(bound.peers.size, 0);
});
