/**
 * Observability through `node:diagnostics_channel`: a subscriber sees each connection open
 * (both roles), every message received and queued, the close with its code, and each
 * upgrade the server refuses — over real loopback connections.
 * @module
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { AsyncLocalStorage } from 'node:async_hooks';
import { channel, subscribe, unsubscribe } from 'node:diagnostics_channel';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';

import {
  connect,
  DiagnosticsChannel,
  server,
  startClientEngine,
  type Peer,
  type PeerCloseEvent,
  type PeerHandledEvent,
  type PeerMessageEvent,
  type PeerOpenEvent,
  type PeerSendEvent,
  type UpgradeRejectEvent,
} from '../../src/index.ts';
import { defer, LOCALHOST, portOf, rawExchange, requestText, upgradeLines, waitFor, within } from './helpers.ts';

/** Everything published on `name` during the test. */
function collect<T>(t: TestContext, name: string): T[] {
  const events: T[] = [];
  const onEvent = (event: unknown): void => void events.push(event as T);
  subscribe(name, onEvent);
  t.after(() => void unsubscribe(name, onEvent));
  return events;
}

test('diagnostics: a subscriber sees open (both roles), each message received and sent, and the close with its code', async (t) => {
  const opened = collect<PeerOpenEvent>(t, DiagnosticsChannel.open);
  const received = collect<PeerMessageEvent>(t, DiagnosticsChannel.message);
  const sent = collect<PeerSendEvent>(t, DiagnosticsChannel.send);
  const closed = collect<PeerCloseEvent>(t, DiagnosticsChannel.close);
  let serverPeer: Peer | null = null;
  const instance = await server(`ws://${LOCALHOST}:0/`, (peer) => {
    serverPeer = peer;
    peer.onMessage((message) => peer.send(message));
  });
  defer(t, () => instance.close(500));
  const client = await connect(instance.url);
  defer(t, () => client.close());
  await client.write('hello');
  await client.write(new Uint8Array([1, 2, 3]));
  assert.equal((await client.read(2000))!.data, 'hello');
  assert.deepEqual([...((await client.read(2000))!.data as Uint8Array)], [1, 2, 3]);
  assert.equal(await client.shutdown(4001, 'done'), true);
  await waitFor(() => closed.length === 2, 2000, 'both closes published');

  assert.deepEqual(
    opened.map((event) => event.role).sort(),
    ['client', 'server'],
  );
  assert.ok(opened.some((event) => event.peer === client && event.role === 'client'));
  assert.ok(opened.some((event) => event.peer === serverPeer && event.role === 'server'));
  // Received: the server's two, then the client's two echoes (read after they were published).
  const receivedBy = (peer: Peer | null): unknown[] =>
    received.filter((event) => event.peer === peer).map(({ message }) => (typeof message.data === 'string' ? message.data : [...message.data]));
  assert.deepEqual(receivedBy(serverPeer), ['hello', [1, 2, 3]]);
  assert.deepEqual(receivedBy(client), ['hello', [1, 2, 3]]);
  // Sent: what the client wrote (masked frames of 6 + 5 and 6 + 3 bytes), and the echoes (2 + 5, 2 + 3).
  const sentBy = (peer: Peer | null): number[] => sent.filter((event) => event.peer === peer).map((event) => event.bytes);
  assert.deepEqual(sentBy(client), [11, 9]);
  assert.deepEqual(sentBy(serverPeer), [7, 5]);
  // The server saw the client's close code; the client, the server's echo of it.
  const closeOf = (peer: Peer | null): PeerCloseEvent => closed.find((event) => event.peer === peer)!;
  assert.deepEqual({ code: closeOf(serverPeer).code, reason: closeOf(serverPeer).reason, error: closeOf(serverPeer).error }, { code: 4001, reason: 'done', error: null });
  assert.equal(closeOf(client).code, 4001);
});

test('diagnostics: a broadcast publishes, for each peer, what the application passed to it (not the frame made once for all)', async (t) => {
  const sent = collect<PeerSendEvent>(t, DiagnosticsChannel.send);
  const instance = await server(`ws://${LOCALHOST}:0/`, () => {});
  defer(t, () => instance.close(500));
  const clients = [await connect(instance.url), await connect(instance.url)];
  for (const client of clients) defer(t, () => client.close());
  await waitFor(() => instance.peers.size === 2, 2000, 'both peers');
  const bytes = new Uint8Array([7, 8, 9]);
  assert.equal(instance.broadcast('to all'), 2);
  assert.equal(instance.broadcast(bytes), 2);
  assert.deepEqual(
    sent.map((event) => [event.data, event.bytes]),
    [['to all', 8], ['to all', 8], [bytes, 5], [bytes, 5]],
  );
  assert.ok(sent.every((event) => instance.peers.has(event.peer)));
});

test('diagnostics: a connection failed for a protocol violation publishes its close with the error; a refused upgrade publishes its status', async (t) => {
  const closed = collect<PeerCloseEvent>(t, DiagnosticsChannel.close);
  const rejected = collect<UpgradeRejectEvent>(t, DiagnosticsChannel.reject);
  const instance = await server(`ws://${LOCALHOST}:0`, { '/chat': () => {} }, { maxPayload: 16 });
  defer(t, () => instance.close(500));
  const port = portOf(instance);

  const notFound = await rawExchange(port, requestText(upgradeLines('/nowhere')));
  assert.equal(notFound.status, 404);
  const badVersion = await rawExchange(port, requestText(upgradeLines('/chat').map((line) => line.replace('Sec-WebSocket-Version: 13', 'Sec-WebSocket-Version: 8'))));
  assert.equal(badVersion.status, 426);
  await waitFor(() => rejected.length === 2, 2000, 'both refusals published');
  assert.deepEqual(
    rejected.map(({ error }) => [error.status, error.code]),
    [
      [404, 'WS_HANDSHAKE_NOT_FOUND'],
      [426, 'WS_HANDSHAKE_UNSUPPORTED_VERSION'],
    ],
  );

  const client = await connect(`ws://${LOCALHOST}:${port}/chat`);
  defer(t, () => client.close());
  await client.write('more than sixteen bytes');
  // The client's own close may be published first: wait for the server peer's.
  await waitFor(() => closed.some((event) => event.peer !== client), 2000, 'the failed connection published');
  const failed = closed.find((event) => event.peer !== client)!;
  assert.equal(failed.error?.closeCode, 1009);
  assert.equal(failed.peer.closed, true);
});

test('diagnostics: a subscriber that throws does not disturb the connection (its error surfaces as uncaught)', () => {
  const fixture = fileURLToPath(new URL('../fixtures/throwing-subscriber.ts', import.meta.url));
  const run = spawnSync(process.execPath, ['--import', 'tsx', fixture], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(run.status, 0, run.stderr);
  // The server's message, then the client's echo: each publish threw, and each was delivered.
  assert.deepEqual(run.stdout.trim().split('\n'), ['uncaught subscriber failed', 'uncaught subscriber failed', 'echo still echoed']);
});

/** A tracer's store bound to `wspeer:message` for the test: its value, in a message's context, names the message. */
function bindSpan(t: TestContext): AsyncLocalStorage<string> {
  const span = new AsyncLocalStorage<string>();
  const messages = channel(DiagnosticsChannel.message);
  messages.bindStore(span, (event) => `span of ${String((event as PeerMessageEvent).message.data)}`);
  t.after(() => void messages.unbindStore(span));
  return span;
}

test('diagnostics: a store bound to wspeer:message (a tracer\'s span) is the context onMessage runs in, and what it awaits; one message\'s does not leak into the next', async (t) => {
  const span = bindSpan(t);
  const seen: Array<[string, string | undefined, string | undefined]> = [];
  const instance = await server(`ws://${LOCALHOST}:0/`, (peer) => {
    peer.onMessage(async (message) => {
      const during = span.getStore();
      await new Promise((resolve) => setTimeout(resolve, 5));
      seen.push([String(message.data), during, span.getStore()]);
    });
  });
  defer(t, () => instance.close(500));
  const client = await connect(instance.url);
  defer(t, () => client.close());
  await client.write('one');
  await client.write('two');
  await waitFor(() => seen.length === 2, 2000, 'both messages handled');
  assert.deepEqual(seen, [
    ['one', 'span of one', 'span of one'],
    ['two', 'span of two', 'span of two'],
  ]);
  assert.equal(span.getStore(), undefined, 'outside a message, no span');
});

test('diagnostics: a message queued before its callback was set keeps the context it arrived in when the callback gets it', async (t) => {
  const span = bindSpan(t);
  const seen: Array<[string, string | undefined]> = [];
  let queued = 0;
  const instance = await server(`ws://${LOCALHOST}:0/`, async (peer) => {
    await waitFor(() => peer.unread === 2, 2000, 'two messages queued');
    queued = peer.unread;
    // Set from this handler's own context, which carries no span.
    peer.onMessage((message) => void seen.push([String(message.data), span.getStore()]));
  });
  defer(t, () => instance.close(500));
  const client = await connect(instance.url);
  defer(t, () => client.close());
  await client.write('one');
  await client.write('two');
  await waitFor(() => seen.length === 2, 3000, 'both messages handled');
  assert.equal(queued, 2);
  assert.deepEqual(seen, [
    ['one', 'span of one'],
    ['two', 'span of two'],
  ]);
});

test('diagnostics: wspeer:handled comes once onMessage is done — at its return, or once its promise settles — in the message\'s stores, with what it threw', async (t) => {
  const span = bindSpan(t);
  const handled: Array<[string, boolean, unknown, string | undefined]> = [];
  const onHandled = (event: unknown): void => {
    const { message, failed, error } = event as PeerHandledEvent;
    handled.push([String(message.data), failed, error, span.getStore()]);
  };
  subscribe(DiagnosticsChannel.handled, onHandled);
  t.after(() => void unsubscribe(DiagnosticsChannel.handled, onHandled));
  let release = (): void => {};
  const released = new Promise<void>((resolve) => (release = resolve));
  const failure = new Error('the handler failed');
  const errors: unknown[] = [];
  const instance = await server(
    `ws://${LOCALHOST}:0/`,
    (peer) => {
      peer.onMessage((message) => {
        if (message.data === 'async') return released;
        if (message.data === 'throw') throw failure;
        // Not a promise: done, as when it returns nothing.
        return null;
      });
    },
    { onError: (error) => errors.push(error) },
  );
  defer(t, () => instance.close(500));
  const client = await connect(instance.url);
  defer(t, () => client.close());
  await client.write('sync');
  await client.write('async');
  await waitFor(() => handled.length === 1, 2000, 'the sync message handled');
  await client.write('sync after');
  await waitFor(() => handled.length === 2, 2000, 'the next message handled');
  assert.deepEqual(handled.map(([data]) => data), ['sync', 'sync after'], 'the async handler is not done yet');
  release();
  await waitFor(() => handled.length === 3, 2000, 'the async message handled');
  await client.write('throw');
  await waitFor(() => handled.length === 4, 2000, 'the failed message handled');
  assert.deepEqual(handled, [
    ['sync', false, null, 'span of sync'],
    ['sync after', false, null, 'span of sync after'],
    ['async', false, null, 'span of async'],
    ['throw', true, failure, 'span of throw'],
  ]);
  await waitFor(() => errors.length === 1, 2000, 'onError');
  assert.equal(await client.read(2000), null);
  assert.equal(client.closeCode, 1011);
});

test('diagnostics: wspeer:handled says failed for a promise that rejects and for a thenable whose then throws; each goes to onError and closes with 1011', async (t) => {
  const handled = collect<PeerHandledEvent>(t, DiagnosticsChannel.handled);
  const rejection = new Error('the promise rejected');
  const thenFailure = new Error('then threw');
  const errors: unknown[] = [];
  const instance = await server(
    `ws://${LOCALHOST}:0/`,
    (peer) => {
      peer.onMessage((message) => {
        if (message.data === 'reject') return Promise.reject(rejection);
        return {
          then(): never {
            throw thenFailure;
          },
        };
      });
    },
    { onError: (error) => errors.push(error) },
  );
  defer(t, () => instance.close(500));
  for (const [data, error] of [['reject', rejection], ['bad thenable', thenFailure]] as const) {
    const client = await connect(instance.url);
    defer(t, () => client.close());
    await client.write(data);
    assert.equal(await client.read(2000), null);
    assert.equal(client.closeCode, 1011);
    await waitFor(() => handled.some((event) => event.message.data === data), 2000, `${data} handled`);
    const event = handled.find((candidate) => candidate.message.data === data)!;
    assert.deepEqual([event.failed, event.error], [true, error]);
    assert.ok(errors.includes(error), `onError told of ${data}`);
  }
});

test('diagnostics: wspeer:handled alone (no wspeer:message subscriber) sees messages handled, those queued for a later callback too', async (t) => {
  const handled = collect<PeerHandledEvent>(t, DiagnosticsChannel.handled);
  const instance = await server(`ws://${LOCALHOST}:0/`, async (peer) => {
    await waitFor(() => peer.unread === 1, 2000, 'a message queued');
    peer.onMessage(() => undefined);
  });
  defer(t, () => instance.close(500));
  const client = await connect(instance.url);
  defer(t, () => client.close());
  await client.write('queued first');
  await waitFor(() => handled.length === 1, 2000, 'the queued message handled');
  await client.write('then straight to the callback');
  await waitFor(() => handled.length === 2, 2000, 'the next message handled');
  assert.deepEqual(
    handled.map((event) => [String(event.message.data), event.failed]),
    [
      ['queued first', false],
      ['then straight to the callback', false],
    ],
  );
});

test('diagnostics: through the client engine, wspeer:handled waits for its async onMessage and carries what it rejected with, once per message', async (t) => {
  const handled = collect<PeerHandledEvent>(t, DiagnosticsChannel.handled);
  const instance = await server(`ws://${LOCALHOST}:0/`, (peer) => {
    void peer.write('first');
    void peer.write('second');
  });
  defer(t, () => instance.close(500));
  let release = (): void => {};
  const released = new Promise<void>((resolve) => (release = resolve));
  const failure = new Error('the engine handler failed');
  const engine = startClientEngine(instance.url, {
    onMessage: async (message) => {
      if (message.data === 'first') return released;
      throw failure;
    },
    onError: () => {},
  }, { reconnect: false, concurrency: 2 });
  defer(t, () => engine.stop(1000, '', 500));
  await within(engine.opened(), 3000, 'opened');
  await waitFor(() => handled.length === 1, 2000, 'the failing handler done');
  assert.deepEqual([String(handled[0]!.message.data), handled[0]!.failed, handled[0]!.error], ['second', true, failure]);
  release();
  await waitFor(() => handled.length === 2, 2000, 'the first handler done');
  assert.deepEqual([String(handled[1]!.message.data), handled[1]!.failed], ['first', false]);
});
