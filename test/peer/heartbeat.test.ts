/**
 * The `pingFrequency` heartbeat: live peers answer the pings (§5.5.2) and stay connected,
 * a peer that goes silent is dropped and reported as closed abnormally (1006, §7.1.5).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { bind, connect, server, type Peer } from '../../src/index.ts';
import { acceptRawClient, clientFrame, defer, FrameReader, LOCALHOST, portOf, sleep, waitFor, within, readPlain } from './helpers.ts';
import { closeWs, wsClient, wsServer } from './ws-helpers.ts';

const PERIOD = 100;
/** The stall test's period: long enough that a busy machine's late pong is still in time. */
const STALL_PERIOD = 250;
/**
 * The slow readers' period: long enough beside the time a reader takes to empty its inbox
 * that a loaded machine's late timers do not hide its progress for a whole period.
 */
const SLOW_READER_PERIOD = 500;
const SLOW_PONGER = fileURLToPath(new URL('../fixtures/slow-ponger.ts', import.meta.url));
const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/tls/${name}`, import.meta.url));

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
  const { bound, peer, socket, rest } = await acceptRawClient(t, { pingFrequency: PERIOD }, 500);
  const frames = new FrameReader(socket, rest); // reads, never answers
  const gone = once(socket, 'close');
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

test('a stalled event loop does not drop a live peer: a pong that arrived during the stall is read before the peer is judged', async (t) => {
  // The client runs in a process of its own, so that it answers while this one is stalled;
  // it answers each ping 30 ms late, well inside the period even on a busy machine.
  const stalls: number[] = [];
  let peer: Peer | undefined;
  const instance = await server(
    `ws://${LOCALHOST}:0/`,
    (accepted) => {
      peer = accepted;
      // Made in the same turn as the peer's heartbeat, with the same period: each firing
      // comes soon after a ping went out. The second stalls the loop for 2.5 periods, as a
      // handler's long computation would, outside the timers' phase (whose end lets the
      // socket be read before the next timer): the ping's pong arrives meanwhile, and the
      // heartbeat's next firing is due before the socket is read again.
      let firings = 0;
      const staller = setInterval(() => {
        if (++firings < 2) return;
        clearInterval(staller);
        setImmediate(() => {
          const started = performance.now();
          while (performance.now() - started < STALL_PERIOD * 2.5);
          stalls.push(performance.now() - started);
        });
      }, STALL_PERIOD);
      defer(t, () => clearInterval(staller));
    },
    { pingFrequency: STALL_PERIOD },
  );
  defer(t, () => instance.close(500));
  const child = spawn(process.execPath, ['--import', 'tsx', SLOW_PONGER, String(portOf(instance)), '30'], { stdio: ['ignore', 'pipe', 'inherit'] });
  defer(t, () => child.kill());
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => (output += text));
  await waitFor(() => stalls.length === 1, STALL_PERIOD * 20, 'the stall');
  await sleep(STALL_PERIOD * 3);
  assert.ok(output.includes('pong'), 'the client answered');
  assert.ok(peer !== undefined);
  assert.equal(peer.closed, false, 'the peer was dropped after the stall');
  assert.equal(peer.state, 'OPEN');
});

test('a peer that sends a burst, then reads nothing and answers nothing, is dropped even though its messages wait unread behind an echo that waits for it to read', async (t) => {
  const { peer, socket } = await acceptRawClient(t, { pingFrequency: PERIOD, highWaterMark: 64 * 1024 });
  // The README's echo: each write waits for the client to read, which it never does, so
  // the messages behind pile up past the mark and reading pauses.
  const echoing = (async () => {
    for await (const message of peer) await peer.write(message.data);
  })().catch(() => {});
  const frame = clientFrame(2, new Uint8Array(64_000));
  for (let i = 0; i < 128; i++) socket.write(frame); // 8 MB, then silence
  await waitFor(() => peer.closed, PERIOD * 60, 'the stalled peer dropped');
  assert.equal(peer.closeCode, 1006);
  await echoing;
});

test('a peer whose messages wait for the application (reading paused at the high-water mark) is not dropped for the pongs not read meanwhile', async (t) => {
  const bound = await bind(`ws://${LOCALHOST}:0/`, { pingFrequency: PERIOD, highWaterMark: 64 * 1024 });
  defer(t, () => bound.close(500));
  const client = await connect(bound.url);
  defer(t, () => client.close());
  const peer = await bound.accept(2000);
  // Four times the mark, unread: the server stops reading the socket, and the client's
  // answers to the pings that follow wait behind the rest in the kernel.
  const chunk = new Uint8Array(16 * 1024);
  for (let i = 0; i < 16; i++) client.send(chunk);
  await sleep(PERIOD * 5);
  assert.equal(peer.closed, false, 'the peer was dropped while the application had not read its messages');
  assert.equal(client.closed, false);
  // The application catches up: every message is there, and the connection works.
  let bytes = 0;
  for (let i = 0; i < 16; i++) bytes += ((await peer.read(2000))!.data as Uint8Array).length;
  assert.equal(bytes, 16 * chunk.length);
  await client.write('still here');
  assert.deepEqual(await readPlain(peer, 2000), { opcode: 1, fin: true, data: 'still here' });
});

for (const [side, secure] of [['server', false], ['server', true], ['client', false], ['client', true]] as const) {
  test(`a ${side} whose peer reads its backlog slowly (our pings wait behind it; a server's reading pauses too) does not drop it for the pongs that come late${secure ? ', over TLS' : ''}`, async (t) => {
    // The period is longer than the kernel's wake-ups of a writer whose peer reads (it waits
    // for half its send buffer to free): else progress within one period would not show.
    const tls = secure ? { tls: { cert: fixture('server.pem'), key: fixture('server.key') } } : {};
    const beating = { pingFrequency: SLOW_READER_PERIOD, highWaterMark: 64 * 1024, maxBufferedAmount: 64 * 1024 * 1024 };
    // The reader's inbox holds 4 messages before its reading pauses: reading them at its pace
    // takes a small part of a period, so that a loaded machine's slow timers cannot stretch
    // one pause over a whole period (with 1 MiB, 16 messages, they did: progress unseen).
    const reading = { highWaterMark: 256 * 1024 };
    const bound = await bind(`${secure ? 'wss' : 'ws'}://${LOCALHOST}:0/`, { ...(side === 'server' ? beating : reading), ...tls });
    defer(t, () => bound.close(500));
    const clientTls = secure ? { tls: { ca: fixture('ca.pem') } } : {};
    const client = await connect(bound.url, {}, { ...(side === 'client' ? beating : reading), ...clientTls });
    defer(t, () => client.close());
    const accepted = await bound.accept(2000);
    const [sender, reader] = side === 'server' ? [accepted, client] : [client, accepted];
    // 25 MiB queued at once: far more than the kernel's buffers hold, so the sender's socket
    // stays over the mark for many periods: its pings wait behind the backlog (and on a
    // server, whose reading pauses, the pongs wait unread).
    const count = 400;
    const chunk = new Uint8Array(64 * 1024);
    for (let i = 0; i < count; i++) assert.notEqual(sender.send(chunk), 'dropped');
    // The reader reads on, one message every 5 ms: alive, only slow. The last quarter it reads
    // at once: what the kernels still hold once our queue is gone delays the pongs as much.
    for (let i = 0; i < count; i++) {
      const message = await reader.read(2000);
      assert.ok(message !== null, `the connection was dropped after ${i} of ${count} messages`);
      if (i < count * 0.75) await sleep(5);
    }
    assert.equal(sender.closed, false);
    // Once the backlog is gone the pongs are read again: the peer is still judged, and kept.
    await sleep(SLOW_READER_PERIOD * 3);
    assert.equal(sender.state, 'OPEN');
    await reader.write('still here');
    assert.deepEqual(await readPlain(sender, 2000), { opcode: 1, fin: true, data: 'still here' });
  });
}

test('a client that stops reading while we have a backlog for it is still dropped: the kernel takes no more of it', async (t) => {
  // The client's socket is left paused: it never reads.
  const { peer } = await acceptRawClient(t, { pingFrequency: PERIOD, highWaterMark: 64 * 1024, maxBufferedAmount: 64 * 1024 * 1024 }, 500);
  await expectDroppedWithBacklog(peer);
});

test('over TLS too, a client that stops reading while we have a backlog for it is dropped', async (t) => {
  const tls = { cert: fixture('server.pem'), key: fixture('server.key') };
  const bound = await bind(`wss://${LOCALHOST}:0/`, { pingFrequency: PERIOD, highWaterMark: 64 * 1024, maxBufferedAmount: 64 * 1024 * 1024, tls });
  defer(t, () => bound.close(500));
  const client = await connect(bound.url, {}, { tls: { ca: fixture('ca.pem') } });
  defer(t, () => client.close());
  client.socket.pause(); // from here on it never reads
  await expectDroppedWithBacklog(await bound.accept(2000));
});

test('our wss client drops a server that stops reading while the client has a backlog for it', async (t) => {
  const tls = { cert: fixture('server.pem'), key: fixture('server.key') };
  const bound = await bind(`wss://${LOCALHOST}:0/`, { tls });
  defer(t, () => bound.close(500));
  const client = await connect(bound.url, {}, { pingFrequency: PERIOD, highWaterMark: 64 * 1024, maxBufferedAmount: 64 * 1024 * 1024, tls: { ca: fixture('ca.pem') } });
  defer(t, () => client.close());
  const accepted = await bound.accept(2000);
  accepted.socket.pause(); // from here on it never reads
  await expectDroppedWithBacklog(client);
});

/** Queue 25 MiB for `peer`, whose other side does not read: it must be dropped within a few periods. */
async function expectDroppedWithBacklog(peer: Peer): Promise<void> {
  const chunk = new Uint8Array(64 * 1024);
  for (let i = 0; i < 400; i++) assert.notEqual(peer.send(chunk), 'dropped');
  const started = performance.now();
  assert.equal(await within(peer.read(), PERIOD * 20, 'the peer that stopped reading is dropped'), null);
  assert.equal(peer.closeCode, 1006);
  // The kernel's buffers fill within a period or so; then one period without progress ends it.
  const elapsed = performance.now() - started;
  assert.ok(elapsed < PERIOD * 10, `dropped after ${elapsed} ms`);
}
