/**
 * One memory budget per connection (`memoryLimit`): the message being received, the unread
 * inbox and the unsent bytes together stay within it — a message that would pass what is
 * left fails with 1009 from its header, a send that would pass it is refused.
 */
import assert from 'node:assert/strict';
import { deflateRawSync, constants } from 'node:zlib';
import { test } from 'node:test';

import { BufferFullError, connect, server, type Peer } from '../../src/index.ts';
import { clientFrame, closeCodeOf, defer, FrameReader, LOCALHOST, portOf, rawUpgrade, waitFor } from '../peer/helpers.ts';

const KiB = 1024;

async function budgetServer(t: Parameters<typeof defer>[0], options: Parameters<typeof server>[2]): Promise<{ url: string; port: number; peers: Peer[] }> {
  const peers: Peer[] = [];
  const instance = await server(`ws://${LOCALHOST}:0/`, (peer) => void peers.push(peer), options);
  defer(t, () => instance.close(1000));
  return { url: instance.url, port: portOf(instance), peers };
}

test('a message larger than the budget fails with 1009 from its header, even under maxPayload', async (t) => {
  const { port } = await budgetServer(t, { memoryLimit: 256 * KiB });
  const { socket, rest } = await rawUpgrade(port);
  defer(t, () => socket.destroy());
  const reader = new FrameReader(socket, rest);
  // Only the header of a 1 MiB frame: the answer must not wait for the payload.
  socket.write(clientFrame(2, Buffer.alloc(1024 * KiB)).subarray(0, 14));
  const close = await reader.next(3000);
  assert.equal(closeCodeOf(close.payload), 1009);
});

test('unread messages count against the budget: the next message that does not fit fails with 1009', async (t) => {
  const { url, peers } = await budgetServer(t, { memoryLimit: 512 * KiB, highWaterMark: 4 * 1024 * KiB });
  const client = await connect(url);
  defer(t, () => client.close());
  await waitFor(() => peers.length === 1, 2000, 'the peer');
  // 3 × 150 KiB sit unread in the server's inbox (450 KiB of 512): a fourth cannot fit.
  for (let i = 0; i < 3; i++) await client.write(new Uint8Array(150 * KiB));
  await client.write(new Uint8Array(150 * KiB));
  assert.equal(await client.read(3000), null);
  assert.equal(client.closeCode, 1009);
  assert.equal(peers[0]!.error?.code, 'WS_ERR_FRAME_TOO_BIG');
});

test('a compressed message is held to what the budget leaves, while it inflates (RFC 7692 §8.1)', async (t) => {
  const { url, peers } = await budgetServer(t, { memoryLimit: 256 * KiB, deflate: true });
  const client = await connect(url, {}, { deflate: true });
  defer(t, () => client.close());
  await waitFor(() => peers.length === 1, 2000, 'the peer');
  // 600 KiB of zeros compress to under 1 KiB: small on the wire, over the budget inflated.
  assert.ok(deflateRawSync(Buffer.alloc(600 * KiB), { finishFlush: constants.Z_SYNC_FLUSH }).length < 2 * KiB);
  await client.write(new Uint8Array(600 * KiB));
  assert.equal(await client.read(3000), null);
  assert.equal(client.closeCode, 1009);
});

test('sends that would pass the budget are refused while the peer does not read', async (t) => {
  const { port, peers } = await budgetServer(t, { memoryLimit: 2 * 1024 * KiB, highWaterMark: 64 * KiB });
  const { socket } = await rawUpgrade(port);
  defer(t, () => socket.destroy());
  await waitFor(() => peers.length === 1, 2000, 'the peer');
  const peer = peers[0]!;
  const chunk = new Uint8Array(256 * KiB);
  let dropped = false;
  for (let i = 0; i < 200 && !dropped; i++) {
    dropped = peer.send(chunk) === 'dropped';
    if (!dropped) await new Promise((resolve) => setTimeout(resolve, 1));
  }
  assert.ok(dropped, 'a send was refused');
  assert.ok(peer.bufferedAmount <= 2 * 1024 * KiB, `buffered ${peer.bufferedAmount} bytes past the budget`);
  await assert.rejects(peer.write(chunk), BufferFullError);
});
