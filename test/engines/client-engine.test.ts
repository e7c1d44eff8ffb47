/**
 * The reconnecting client engine against real servers over loopback: its callbacks, its
 * retries and their backoff, piloting by hand (onOpen, pause), failures in the
 * application's callbacks, and stopping.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';

import {
  ConnectionClosedError,
  EngineStoppedError,
  HandshakeResponseError,
  InvalidHeaderError,
  InvalidUrlError,
  server,
  startClientEngine,
  TimeoutError,
  type ClientEngine,
  type EngineCallbacks,
  type EngineCloseInfo,
  type EngineErrorInfo,
  type EngineOptions,
  type EngineUrlSource,
  type Message,
  type Peer,
} from '../../src/index.ts';
import { defer, LOCALHOST, rawAcceptUpgrade, settlesWithin, silentTcpServer, sleep, waitFor, within } from '../peer/helpers.ts';

/** A server of ours that calls `onPeer` with each peer it accepts, and its count so far. */
async function recordingServer(t: TestContext, onPeer: (peer: Peer, index: number) => void, port = 0): Promise<{ url: string; peers: Peer[] }> {
  const peers: Peer[] = [];
  const instance = await server(`ws://${LOCALHOST}:${port}`, (peer) => {
    peers.push(peer);
    onPeer(peer, peers.length - 1);
  });
  defer(t, () => instance.close(500));
  return { url: instance.url, peers };
}

/** A server peer that answers every message with `echo:` and the message. */
function echo(peer: Peer): void {
  peer.onMessage((message) => void peer.send(`echo:${String(message.data)}`));
}

/** A loopback port with nothing listening on it (free a moment ago). */
async function refusedPort(): Promise<number> {
  const listener = createNetServer().listen(0, LOCALHOST);
  await once(listener, 'listening');
  const { port } = listener.address() as AddressInfo;
  await new Promise((resolve) => listener.close(resolve));
  return port;
}

/** An engine whose callbacks record what they were told; stopped after the test. */
function recordingEngine(t: TestContext, url: string | EngineUrlSource, options: EngineOptions = {}, callbacks: EngineCallbacks = {}) {
  const seen = { opens: [] as Array<{ attempt: number; reconnected: boolean }>, messages: [] as string[], closes: [] as EngineCloseInfo[], errors: [] as Array<{ error: unknown; info: EngineErrorInfo }> };
  const engine: ClientEngine = startClientEngine(
    url,
    {
      onOpen: (peer, info) => {
        seen.opens.push(info);
        return callbacks.onOpen?.(peer, info);
      },
      onMessage: (message, peer) => {
        seen.messages.push(String(message.data));
        return callbacks.onMessage?.(message, peer);
      },
      onClose: (info) => void seen.closes.push(info),
      onError: (error, info) => void seen.errors.push({ error, info }),
    },
    options,
  );
  defer(t, () => engine.stop(1000, '', 500));
  return { engine, seen };
}

test('an engine connects, calls onOpen once, passes each message to onMessage, and sends through its current peer', async (t) => {
  const { url } = await recordingServer(t, echo);
  const { engine, seen } = recordingEngine(t, url);
  assert.equal(engine.state, 'connecting');
  const peer = await within(engine.opened(), 3000, 'opened');
  assert.equal(engine.state, 'open');
  assert.equal(engine.peer, peer);
  assert.deepEqual(seen.opens, [{ attempt: 1, reconnected: false }]);
  assert.equal(engine.send('one'), 'sent');
  assert.equal(engine.send('two'), 'sent');
  await waitFor(() => seen.messages.length === 2, 3000, 'two echoes');
  assert.deepEqual(seen.messages, ['echo:one', 'echo:two']);
  assert.deepEqual(seen.errors, []);
});

test('a lost connection goes to onClose with willReconnect, and the engine connects again: onOpen says reconnected', async (t) => {
  // The first connection is dropped by the server as soon as it hears from the client.
  const { url, peers } = await recordingServer(t, (peer, index) => {
    if (index === 0) peer.onMessage(() => peer.close());
    else echo(peer);
  });
  const { engine, seen } = recordingEngine(t, url, { reconnect: { initialDelay: 10, jitter: 0 } });
  await within(engine.opened(), 3000, 'opened');
  engine.send('drop me');
  await waitFor(() => seen.opens.length === 2 && engine.state === 'open', 3000, 'reconnected');
  assert.equal(seen.closes.length, 1);
  assert.deepEqual(seen.closes[0], { code: 1006, reason: '', error: null, byStop: false, willReconnect: true, undelivered: 0 });
  assert.deepEqual(seen.opens[1], { attempt: 2, reconnected: true });
  assert.equal(peers.length, 2);
  engine.send('after');
  await waitFor(() => seen.messages.length === 1, 3000, 'an echo on the new connection');
  assert.deepEqual(seen.messages, ['echo:after']);
});

test('a URL function is asked before each attempt (a fresh token each time), may answer a promise, and one that throws fails that attempt only', async (t) => {
  // Each connection is dropped by the server once it hears from the client; tokens are single-use.
  const used = new Set<string>();
  const instance = await server(
    `ws://${LOCALHOST}:0`,
    (peer) => peer.onMessage(() => peer.close()),
    {
      verify: ({ path }) => {
        const token = new URL(path, 'ws://x').searchParams.get('token') ?? '';
        if (used.has(token)) return { status: 401, reason: 'token used' };
        used.add(token);
        return true;
      },
    },
  );
  defer(t, () => instance.close(500));
  let asked = 0;
  const url: EngineUrlSource = () => {
    asked++;
    if (asked === 2) throw new Error('no token this time');
    // A promise, as when the token is fetched first.
    return asked === 3 ? Promise.resolve(new URL(`${instance.url}live?token=t${asked}`)) : `${instance.url}live?token=t${asked}`;
  };
  const { engine, seen } = recordingEngine(t, url, { reconnect: { initialDelay: 10, jitter: 0 } });
  const first = await within(engine.opened(), 3000, 'the first connection');
  assert.equal(first.handshake.path, '/live?token=t1');
  engine.send('drop me');
  await waitFor(() => seen.opens.length === 2 && engine.state === 'open', 3000, 'reconnected');
  assert.equal(engine.peer!.handshake.path, '/live?token=t3');
  assert.equal(asked, 3);
  assert.equal(seen.errors.length, 1);
  assert.equal((seen.errors[0]!.error as Error).message, 'no token this time');
  assert.equal(seen.errors[0]!.info.phase, 'connect');
  assert.deepEqual([...used], ['t1', 't3']);
});

test('a URL function that never settles: the attempt times out (its timeout), is reported and retried, and stop() does not wait for it', async (t) => {
  let asked = 0;
  const { engine, seen } = recordingEngine(t, () => (asked++, new Promise<string>(() => {})), { timeout: 100, reconnect: { initialDelay: 10, jitter: 0 } });
  await waitFor(() => seen.errors.length >= 2, 3000, 'two attempts timed out');
  assert.ok(seen.errors.every(({ error, info }) => error instanceof TimeoutError && info.phase === 'connect'));
  assert.ok(asked >= 2);
  await within(engine.stop(), 1000, 'stop() while the URL function hangs');
  assert.equal(engine.state, 'stopped');
  const errorsAtStop = seen.errors.length;
  await sleep(150);
  assert.equal(seen.errors.length, errorsAtStop, 'nothing reported after stop()');
});

test('failed attempts are retried with exponential backoff, each reported to onError, until the server comes up', async (t) => {
  const port = await refusedPort();
  const { engine, seen } = recordingEngine(t, `ws://${LOCALHOST}:${port}`, { reconnect: { initialDelay: 20, factor: 2, maxDelay: 80, jitter: 0 } });
  await waitFor(() => seen.errors.length >= 4, 5000, 'four failed attempts');
  assert.deepEqual(
    seen.errors.slice(0, 4).map(({ info }) => info),
    [
      { phase: 'connect', attempt: 1, retryIn: 20 },
      { phase: 'connect', attempt: 2, retryIn: 40 },
      { phase: 'connect', attempt: 3, retryIn: 80 },
      { phase: 'connect', attempt: 4, retryIn: 80 },
    ],
  );
  assert.equal((seen.errors[0]!.error as NodeJS.ErrnoException).code, 'ECONNREFUSED');
  await recordingServer(t, echo, port);
  await within(engine.opened(), 5000, 'opened once the server is up');
  assert.equal(seen.opens.length, 1);
  assert.equal(seen.opens[0]!.reconnected, false);
});

test('once maxRetries are spent the engine stops: onError says retryIn null, opened() rejects with EngineStoppedError whose cause is the last failure', async (t) => {
  const port = await refusedPort();
  const { engine, seen } = recordingEngine(t, `ws://${LOCALHOST}:${port}`, { reconnect: { initialDelay: 5, jitter: 0, maxRetries: 2 } });
  const opened = engine.opened();
  const gaveUp = (error: unknown): boolean => {
    assert.ok(error instanceof EngineStoppedError);
    assert.equal((error.cause as { code?: string } | undefined)?.code, 'ECONNREFUSED');
    assert.match(error.message, /^opened: the engine gave up: connect ECONNREFUSED/);
    return true;
  };
  await assert.rejects(within(opened, 5000, 'opened settles'), gaveUp);
  assert.equal(engine.state, 'stopped');
  assert.deepEqual(
    seen.errors.map(({ info }) => info.retryIn),
    [5, 10, null],
  );
  await assert.rejects(engine.opened(), gaveUp);
});

test('an engine that will not reconnect after its connection closes gives up with how it closed as the cause; one stopped by hand has none', async (t) => {
  const { url } = await recordingServer(t, (peer) => void peer.shutdown(4001, 'go away'));
  const { engine } = recordingEngine(t, url, { reconnect: false });
  await assert.rejects(within(engine.opened().then(() => waitFor(() => engine.state === 'stopped', 3000, 'the stop')).then(() => engine.opened()), 5000, 'opened settles'), (error: unknown) => {
    assert.ok(error instanceof EngineStoppedError);
    assert.ok(error.cause instanceof ConnectionClosedError);
    assert.equal(error.cause.closeCode, 4001);
    assert.equal(error.message, 'opened: the engine gave up: no retry: the last connection is closed (close code 4001: "go away")');
    return true;
  });
  const { engine: stopped } = recordingEngine(t, url);
  await stopped.stop();
  await assert.rejects(stopped.opened(), (error: unknown) => error instanceof EngineStoppedError && error.cause === undefined && error.message === 'opened: the engine is stopped');
});

test('a refused handshake is a failed attempt: an onError that stops the engine on a 404 ends the retries', async (t) => {
  let requests = 0;
  const refusing = createNetServer((socket) => {
    requests++;
    socket.on('error', () => {});
    socket.once('data', () => socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'));
  }).listen(0, LOCALHOST);
  await once(refusing, 'listening');
  defer(t, () => new Promise<void>((resolve) => refusing.close(() => resolve())));
  const statuses: number[] = [];
  const engine: ClientEngine = startClientEngine(
    `ws://${LOCALHOST}:${(refusing.address() as AddressInfo).port}/`,
    {
      onError: (error) => {
        if (error instanceof HandshakeResponseError && error.status === 404) {
          statuses.push(error.status);
          void engine.stop();
        }
      },
    },
    { reconnect: { initialDelay: 5, jitter: 0 } },
  );
  defer(t, () => engine.stop());
  await assert.rejects(within(engine.opened(), 3000, 'opened settles'), EngineStoppedError);
  await sleep(50);
  assert.deepEqual(statuses, [404]);
  assert.equal(requests, 1, 'no attempt after the stop');
  assert.equal(engine.state, 'stopped');
});

test('the engine pings by default (30 s), as given, or not at all with 0; a server gone silent after the upgrade is dropped with 1006 and reconnected', async (t) => {
  const frequencyOf = (peer: Peer | null): number => (peer as unknown as { options: { pingFrequency: number } }).options.pingFrequency;
  const { url } = await recordingServer(t, () => {});
  for (const [given, expected] of [[undefined, 30_000], [0, 0], [1234, 1234]] as const) {
    const { engine } = recordingEngine(t, url, given === undefined ? {} : { pingFrequency: given });
    await within(engine.opened(), 3000, 'opened');
    assert.equal(frequencyOf(engine.peer), expected, `pingFrequency ${given}`);
    await engine.stop();
  }
  // A server that answers the upgrade, then reads and never answers: the pings find it out.
  let upgrades = 0;
  const silent = createNetServer((socket) => {
    upgrades++;
    void rawAcceptUpgrade(socket).then(() => socket.resume());
  }).listen(0, LOCALHOST);
  await once(silent, 'listening');
  defer(t, () => new Promise<void>((resolve) => silent.close(() => resolve())));
  const { engine, seen } = recordingEngine(t, `ws://${LOCALHOST}:${(silent.address() as AddressInfo).port}/`, { pingFrequency: 100, reconnect: { initialDelay: 5, jitter: 0 } });
  await waitFor(() => seen.closes.length >= 1, 3000, 'the silent connection dropped');
  assert.equal(seen.closes[0]!.code, 1006);
  assert.equal(seen.closes[0]!.willReconnect, true);
  await waitFor(() => upgrades >= 2, 3000, 'a new connection');
  await engine.stop();
});

test('stop() goes through the closing handshake with its code, onClose says byStop, and no attempt follows', async (t) => {
  const closes: number[] = [];
  const { url, peers } = await recordingServer(t, (peer) => {
    void (async () => {
      while ((await peer.read()) !== null);
      closes.push(peer.closeCode);
    })();
  });
  const { engine, seen } = recordingEngine(t, url, { reconnect: { initialDelay: 5, jitter: 0 } });
  await within(engine.opened(), 3000, 'opened');
  await within(engine.stop(4001, 'bye'), 3000, 'stop');
  assert.equal(engine.state, 'stopped');
  assert.equal(engine.peer, null);
  assert.equal(engine.send('late'), 'dropped');
  await waitFor(() => closes.length === 1, 3000, 'the server saw the close');
  assert.deepEqual(closes, [4001]);
  // The server's answer: our code echoed, no reason of its own.
  assert.deepEqual(seen.closes, [{ code: 4001, reason: '', error: null, byStop: true, willReconnect: false, undelivered: 0 }]);
  await sleep(100); // twenty times the retry delay: a retry would have connected by now
  assert.equal(peers.length, 1);
});

test('stop() with no code closes with 1000 (§7.4.1: normal closure)', async (t) => {
  const closes: number[] = [];
  const { url } = await recordingServer(t, (peer) => {
    void (async () => {
      while ((await peer.read()) !== null);
      closes.push(peer.closeCode);
    })();
  });
  const { engine } = recordingEngine(t, url, { reconnect: false });
  await within(engine.opened(), 3000, 'opened');
  await within(engine.stop(), 3000, 'stop');
  await waitFor(() => closes.length === 1, 3000, 'the server saw the close');
  assert.deepEqual(closes, [1000]);
});

test('stop() while waiting between attempts cancels the next one; stop() during an attempt cancels it', async (t) => {
  const port = await refusedPort();
  const waiting = recordingEngine(t, `ws://${LOCALHOST}:${port}`, { reconnect: { initialDelay: 30, jitter: 0 } });
  await waitFor(() => waiting.engine.state === 'waiting', 3000, 'a failed attempt');
  await waiting.engine.stop();
  await sleep(120);
  assert.equal(waiting.seen.errors.length, 1, 'no attempt after stop');

  const { url, peers } = await recordingServer(t, echo);
  const connecting = recordingEngine(t, url);
  assert.equal(connecting.engine.state, 'connecting');
  await within(connecting.engine.stop(), 3000, 'stop during the attempt');
  assert.equal(connecting.engine.state, 'stopped');
  assert.deepEqual(connecting.seen.opens, [], 'onOpen is not called for an attempt stopped');
  assert.deepEqual(connecting.seen.errors, [], 'a cancelled attempt is not a failure');
  await sleep(100);
  assert.ok(peers.every((peer) => peer.closed), 'no server peer is left open');
});

test('stop() during an opening handshake the server never answers cancels it at once, not at the connect timeout', async (t) => {
  const silent = await silentTcpServer(); // accepts, never answers the upgrade
  defer(t, silent.close);
  const { engine, seen } = recordingEngine(t, `ws://${LOCALHOST}:${silent.port}/`, { timeout: 20_000, reconnect: { initialDelay: 10 } });
  await waitFor(() => silent.sockets.size === 1, 3000, 'the server accepted the attempt');
  assert.equal(engine.state, 'connecting');
  await within(engine.stop(1000, '', 100), 1000, 'stop, with the attempt 20 s from its timeout');
  assert.equal(engine.state, 'stopped');
  assert.equal(engine.peer, null);
  assert.deepEqual(seen.opens, [], 'onOpen is never called for it');
  assert.deepEqual(seen.errors, [], 'a cancelled attempt is not a failure');
  await waitFor(() => silent.sockets.size === 0, 1000, 'the server saw the socket closed');
  await sleep(50); // ten times the retry delay: a retry would have connected by now
  assert.equal(silent.sockets.size, 0, 'no attempt after stop');
});

test('onOpen may send and read by hand before onMessage takes over; no message is lost or reordered', async (t) => {
  const { url } = await recordingServer(t, (peer) => {
    void (async () => {
      await peer.write('welcome');
      const login = await peer.read();
      await peer.write(`ok:${String(login?.data)}`);
      for (const n of [1, 2, 3]) await peer.write(`update ${n}`);
    })();
  });
  const byHand: string[] = [];
  const { engine, seen } = recordingEngine(t, url, {}, {
    onOpen: async (peer) => {
      byHand.push(String((await peer.read(2000))?.data));
      await peer.write('login');
      byHand.push(String((await peer.read(2000))?.data));
      await sleep(50); // the updates arrive meanwhile and wait for onMessage
    },
  });
  await within(engine.opened(), 3000, 'opened after onOpen');
  await waitFor(() => seen.messages.length === 3, 3000, 'three updates');
  assert.deepEqual(byHand, ['welcome', 'ok:login']);
  assert.deepEqual(seen.messages, ['update 1', 'update 2', 'update 3']);
});

test('pause() leaves messages to peer.read(); resume() passes the rest to onMessage in order', async (t) => {
  const { url } = await recordingServer(t, (peer) => {
    peer.onMessage(() => {
      for (let n = 1; n <= 5; n++) peer.send(`m${n}`);
    });
  });
  const { engine, seen } = recordingEngine(t, url);
  const peer = await within(engine.opened(), 3000, 'opened');
  engine.pause();
  engine.send('burst');
  const byHand = [String((await peer.read(2000))?.data), String((await peer.read(2000))?.data)];
  assert.deepEqual(byHand, ['m1', 'm2']);
  await sleep(50);
  assert.deepEqual(seen.messages, [], 'nothing to onMessage while paused');
  engine.resume();
  await waitFor(() => seen.messages.length === 3, 3000, 'the rest');
  assert.deepEqual(seen.messages, ['m3', 'm4', 'm5']);
});

test('a callback that throws closes its connection with 1011 and is reported to onError; the engine reconnects', async (t) => {
  const { url, peers } = await recordingServer(t, echo);
  const { engine, seen } = recordingEngine(t, url, { reconnect: { initialDelay: 5, jitter: 0 } }, {
    onOpen: (_peer, info) => {
      if (info.attempt === 1) throw new Error('open failed on purpose');
    },
    onMessage: (message: Message) => {
      if (String(message.data) === 'echo:boom') throw new Error('message failed on purpose');
    },
  });
  await within(engine.opened(), 3000, 'opened on the second attempt');
  assert.equal(seen.opens.length, 2);
  engine.send('boom');
  await waitFor(() => seen.opens.length === 3 && engine.state === 'open', 3000, 'reconnected after the throwing onMessage');
  assert.deepEqual(
    seen.errors.map(({ error, info }) => [info.phase, (error as Error).message]),
    [
      ['open', 'open failed on purpose'],
      ['message', 'message failed on purpose'],
    ],
  );
  await waitFor(() => peers[1]!.closed, 3000, 'the second server peer closed');
  assert.deepEqual([peers[0]!.closeCode, peers[1]!.closeCode], [1011, 1011]);
});

test('shouldReconnect decides after each close (one that throws says no), and reconnect: false stops the engine when its connection ends', async (t) => {
  const { url } = await recordingServer(t, (peer) => {
    peer.onMessage((message) => void peer.shutdown(Number(message.data), 'go away'));
  });
  const decided = recordingEngine(t, url, { shouldReconnect: (close) => close.code !== 4000, reconnect: { initialDelay: 5, jitter: 0 } });
  await within(decided.engine.opened(), 3000, 'opened');
  decided.engine.send('4001');
  await waitFor(() => decided.seen.opens.length === 2, 3000, 'reconnected after 4001');
  await within(decided.engine.opened(), 3000, 'opened again');
  decided.engine.send('4000');
  await waitFor(() => decided.engine.state === 'stopped', 3000, 'stopped after 4000');
  assert.deepEqual(
    decided.seen.closes.map((close) => [close.code, close.reason, close.willReconnect]),
    [
      [4001, 'go away', true],
      [4000, 'go away', false],
    ],
  );

  const once = recordingEngine(t, url, { reconnect: false });
  await within(once.engine.opened(), 3000, 'opened');
  once.engine.send('4001');
  await waitFor(() => once.engine.state === 'stopped', 3000, 'stopped');
  assert.equal(once.seen.closes[0]!.willReconnect, false);
  assert.equal(once.seen.opens.length, 1);

  // A shouldReconnect that throws is reported, and taken for a no.
  const throwing = recordingEngine(t, url, {
    shouldReconnect: () => {
      throw new Error('undecided');
    },
  });
  await within(throwing.engine.opened(), 3000, 'opened');
  throwing.engine.send('4001');
  await waitFor(() => throwing.engine.state === 'stopped', 3000, 'stopped');
  assert.deepEqual(
    throwing.seen.errors.map(({ error, info }) => [info.phase, (error as Error).message]),
    [['close', 'undecided']],
  );
});

test('concurrency: at most that many onMessage promises pending, the next message waiting for one to settle; taken in order', async (t) => {
  // Six updates as soon as the connection opens, more than the limit.
  const { url } = await recordingServer(t, (peer) => {
    for (let i = 0; i < 6; i++) peer.send(`u${i}`);
  });
  const gates: Array<() => void> = [];
  let pending = 0;
  let mostPending = 0;
  const { engine, seen } = recordingEngine(t, url, { concurrency: 2 }, {
    onMessage: () => {
      mostPending = Math.max(mostPending, ++pending);
      return new Promise<void>((resolve) => gates.push(() => (pending--, resolve())));
    },
  });
  await within(engine.opened(), 3000, 'opened');
  await waitFor(() => seen.messages.length === 2, 3000, 'two handlers started');
  await sleep(50); // the other four have arrived meanwhile: none may start
  assert.deepEqual(seen.messages, ['u0', 'u1']);
  gates.shift()!();
  await waitFor(() => seen.messages.length === 3, 3000, 'a third once one settled');
  while (seen.messages.length < 6 || gates.length > 0) {
    await waitFor(() => gates.length > 0, 3000, 'a pending handler');
    gates.shift()!();
    await sleep(1);
  }
  assert.deepEqual(seen.messages, ['u0', 'u1', 'u2', 'u3', 'u4', 'u5']);
  assert.equal(mostPending, 2);
  assert.deepEqual(seen.errors, []);
});

test('an onMessage promise that rejects closes its connection with 1011 and goes to onError, without an unhandled rejection; the engine reconnects', async (t) => {
  const { url, peers } = await recordingServer(t, echo);
  const { engine, seen } = recordingEngine(t, url, { reconnect: { initialDelay: 5, jitter: 0 } }, {
    onMessage: async (message: Message) => {
      await sleep(1);
      if (String(message.data) === 'echo:boom') throw new Error('handled later, failed');
    },
  });
  await within(engine.opened(), 3000, 'opened');
  engine.send('boom');
  await waitFor(() => seen.opens.length === 2 && engine.state === 'open', 3000, 'reconnected after the rejection');
  assert.deepEqual(
    seen.errors.map(({ error, info }) => [info.phase, (error as Error).message]),
    [['message', 'handled later, failed']],
  );
  await waitFor(() => peers[0]!.closed, 3000, 'the first server peer closed');
  assert.equal(peers[0]!.closeCode, 1011);
});

/** Assert that starting an engine throws `error`; one that starts after all is stopped, so that a failure does not hang the file. */
function refusedAtStart(url: string, options: EngineOptions, error: new (...args: never[]) => Error, what: string): void {
  let engine: ClientEngine | undefined;
  try {
    assert.throws(() => (engine = startClientEngine(url, {}, options)), error, what);
  } finally {
    void engine?.stop(1000, '', 100);
  }
}

test('a URL that is not a WebSocket URL throws at once, and bad backoff, concurrency, connection options or headers are refused', () => {
  const url = 'ws://127.0.0.1:1/';
  refusedAtStart('ftp://127.0.0.1:1/', {}, InvalidUrlError, 'ftp URL');
  // What connect would refuse on every attempt is refused once, here, rather than retried.
  refusedAtStart(url, { headers: { 'X-Info': 'a\r\nInjected: 1' } }, InvalidHeaderError, 'header injection');
  refusedAtStart(url, { maxPayload: -1 }, RangeError, 'maxPayload');
  refusedAtStart('wss://127.0.0.1:1/', { tls: { ca: '/nonexistent/ca.pem' } }, Error, 'a CA file that is not there');
  for (const concurrency of [0, -1, 1.5, Number.NaN]) refusedAtStart(url, { concurrency }, RangeError, `concurrency ${concurrency}`);
  refusedAtStart(url, { reconnect: { factor: 0.5 } }, RangeError, 'factor');
  refusedAtStart(url, { reconnect: { jitter: 2 } }, RangeError, 'jitter');
  refusedAtStart(url, { reconnect: { initialDelay: -1 } }, RangeError, 'initialDelay');
  // Refused, not retried on every attempt: a head limit too small for any response, and
  // timeouts that a timer cannot keep (Node would fire them after 1 ms).
  refusedAtStart(url, { maxHeadBytes: 2 }, RangeError, 'maxHeadBytes');
  for (const timeout of [Infinity, 2 ** 31, -5, Number.NaN]) refusedAtStart(url, { timeout }, RangeError, `timeout ${timeout}`);
  refusedAtStart(url, { closeTimeout: 2 ** 31 }, RangeError, 'closeTimeout');
});

test('stop() with a code that may not be sent is refused and changes nothing: the connection stays open, and a valid stop() then closes it', async (t) => {
  const { url } = await recordingServer(t, echo);
  const { engine } = recordingEngine(t, url);
  const peer = await within(engine.opened(), 3000, 'opened');
  await assert.rejects(engine.stop(1006), /1006 may not be sent/);
  await assert.rejects(engine.stop(1000, 'x'.repeat(124)), /at most 123 bytes/);
  await assert.rejects(engine.stop(1000, '', -1), RangeError);
  assert.equal(engine.state, 'open');
  assert.equal(peer.state, 'OPEN');
  await within(engine.stop(1000), 3000, 'stop(1000)');
  assert.equal(engine.state, 'stopped');
  assert.equal(peer.closeCode, 1000);
});

test('opened() rejects once the engine is stopping, even while its connection closes; its timeout follows the per-call rule', async (t) => {
  const { url } = await recordingServer(t, echo);
  const { engine } = recordingEngine(t, url);
  await within(engine.opened(), 3000, 'opened');
  await assert.rejects(engine.opened(-1), RangeError);
  const stopping = engine.stop(1000);
  await assert.rejects(engine.opened(100), EngineStoppedError);
  await stopping;
  // Past 2^31 - 1 ms a timeout is none: on a port that refuses, the wait goes on.
  const { engine: refused } = recordingEngine(t, `ws://${LOCALHOST}:${await refusedPort()}/`, { reconnect: { initialDelay: 50 } });
  const waiting = refused.opened(Infinity);
  assert.equal(await Promise.race([waiting.then(() => 'settled', () => 'settled'), sleep(150).then(() => 'waiting')]), 'waiting');
  await refused.stop();
  await assert.rejects(within(waiting, 2000, 'opened() once stopped'), EngineStoppedError);
});

for (const when of ['while onMessage handlers are pending (concurrency 1)', 'while onOpen runs'] as const) {
  test(`messages received before the connection drops still go to onMessage, in order, before onClose: ${when}`, async (t) => {
    const { url } = await recordingServer(t, (peer, index) => {
      if (index > 0) return;
      for (let i = 0; i < 6; i++) peer.send(`u${i}`);
      // Dropped at once, no close frame: the messages are in the client's inbox, not yet handed over.
      setTimeout(() => peer.socket.destroy(), 30);
    });
    const events: string[] = [];
    const duringOpen = when === 'while onOpen runs';
    const { engine, seen } = recordingEngine(
      t,
      url,
      { concurrency: duringOpen ? Infinity : 1, reconnect: { initialDelay: 20 } },
      {
        onOpen: async (_peer, info) => {
          if (duringOpen && !info.reconnected) await sleep(200);
        },
        onMessage: async () => {
          if (!duringOpen) await sleep(20);
        },
      },
    );
    await waitFor(() => seen.closes.length === 1, 5000, 'the first connection closed');
    events.push(...seen.messages.map((message) => `message ${message}`), 'close');
    assert.deepEqual(events, ['message u0', 'message u1', 'message u2', 'message u3', 'message u4', 'message u5', 'close']);
    await within(engine.opened(), 3000, 'reconnected');
  });
}

test('a connection whose onOpen fails never counts as stable: maxRetries ends the engine however long each lasted', async (t) => {
  const { url } = await recordingServer(t, () => {});
  const { engine, seen } = recordingEngine(
    t,
    url,
    { reconnect: { initialDelay: 10, stableAfter: 50, maxRetries: 2 } },
    {
      onOpen: async () => {
        await sleep(80); // past stableAfter
        throw new Error('subscription refused');
      },
    },
  );
  await waitFor(() => engine.state === 'stopped', 5000, 'the engine gives up');
  assert.equal(seen.opens.length, 3, 'the first attempt and two retries');
  assert.deepEqual(seen.closes.map((close) => close.willReconnect), [true, true, false]);
});

test('an onMessage handler still pending when the connection drops does not hold up onClose and the next attempt (one may wait on them)', async (t) => {
  const { url } = await recordingServer(t, (peer, index) => {
    if (index > 0) return;
    peer.send('slow');
    setTimeout(() => peer.socket.destroy(), 100);
  });
  let release!: () => void;
  const blocked = new Promise<void>((resolve) => (release = resolve));
  defer(t, () => release());
  const { engine, seen } = recordingEngine(t, url, { reconnect: { initialDelay: 10 } }, { onMessage: () => blocked });
  await within(engine.opened(), 3000, 'opened');
  const started = performance.now();
  await waitFor(() => seen.closes.length === 1, 2000, 'onClose while the handler is still pending');
  assert.ok(performance.now() - started < 1500);
  await within(engine.opened(), 3000, 'reconnected while the handler is still pending');
  assert.equal(seen.opens.length, 2);
});

test('concurrency 1: a pending onMessage that waits for onClose does not hang the engine: after closeTimeout without progress, onClose reports what was left undelivered, which stays in the old peer', async (t) => {
  const { url } = await recordingServer(t, (peer, index) => {
    if (index > 0) return;
    peer.send('first');
    peer.send('second');
    setTimeout(() => peer.socket.destroy(), 50);
  });
  let closed!: () => void;
  const whenClosed = new Promise<void>((resolve) => (closed = resolve));
  const peers: Peer[] = [];
  const closes: EngineCloseInfo[] = [];
  const messages: string[] = [];
  const engine = startClientEngine(
    url,
    {
      onOpen: (peer) => void peers.push(peer),
      // Waits for the close of its own connection: the second message can never get the slot.
      onMessage: (message) => (messages.push(String(message.data)), whenClosed),
      onClose: (info) => (closes.push(info), closed()),
    },
    { concurrency: 1, closeTimeout: 300, reconnect: { initialDelay: 10 } },
  );
  defer(t, () => engine.stop(1000, '', 500));
  await waitFor(() => closes.length === 1, 3000, 'onClose despite the pending handler');
  assert.deepEqual(messages, ['first']);
  assert.equal(closes[0]!.undelivered, 1);
  await within(engine.opened(), 3000, 'reconnected');
  await sleep(20);
  assert.deepEqual(messages, ['first'], 'the lost connection\'s message never goes to the next connection\'s handlers');
  assert.equal((await within(peers[0]!.read(100), 1000, 'the left message'))?.data, 'second');
});

test('a stop while a lost connection\'s messages are still handed over: onClose says no reconnect follows, shouldReconnect is not asked, and none is made', async (t) => {
  const { url } = await recordingServer(t, (peer) => {
    peer.send('first');
    peer.send('second');
    setTimeout(() => peer.socket.destroy(), 50);
  });
  let asked = 0;
  // The first handler never settles (concurrency 1): 'second' waits to be handed over.
  const { engine, seen } = recordingEngine(
    t,
    url,
    { concurrency: 1, closeTimeout: 5000, reconnect: { initialDelay: 10 }, shouldReconnect: () => (asked++, true) },
    { onMessage: () => new Promise<void>(() => {}) },
  );
  await within(engine.opened(), 3000, 'opened');
  await sleep(250); // lost at 50 ms; its close waits for 'second' to be handed over
  assert.equal(seen.closes.length, 0, 'the close still waits for the hand-over');
  await within(engine.stop(), 3000, 'stopped');
  assert.equal(seen.closes.length, 1);
  assert.equal(seen.closes[0]!.willReconnect, false, 'a stopped engine makes no further attempt');
  assert.equal(seen.closes[0]!.byStop, false, 'the connection was lost before the stop');
  assert.equal(asked, 0, 'shouldReconnect is not asked once the engine is stopped');
  await sleep(100);
  assert.equal(seen.opens.length, 1);
  assert.equal(engine.state, 'stopped');
});

test('the bound on a lost connection\'s hand-over counts from the last message handed over: slow handlers that progress get every message before onClose', async (t) => {
  const { url } = await recordingServer(t, (peer, index) => {
    if (index > 0) return;
    for (let i = 0; i < 4; i++) peer.send(`u${i}`);
    setTimeout(() => peer.socket.destroy(), 30);
  });
  // Four handlers of 120 ms in a row take longer than closeTimeout (250 ms), each shorter.
  const { engine, seen } = recordingEngine(t, url, { concurrency: 1, closeTimeout: 250, reconnect: { initialDelay: 10 } }, { onMessage: () => sleep(120) });
  await waitFor(() => seen.closes.length === 1, 5000, 'the close');
  assert.deepEqual(seen.messages, ['u0', 'u1', 'u2', 'u3']);
  assert.equal(seen.closes[0]!.undelivered, 0);
  await within(engine.opened(), 3000, 'reconnected');
});

test('an onOpen that fails after its connection was reported closed (paused engine) leaves the next connection alone: its messages are still handed over before its close', async (t) => {
  const { url, peers } = await recordingServer(t, (peer, index) => {
    if (index === 0) setTimeout(() => peer.socket.destroy(), 30);
  });
  let opens = 0;
  const { engine, seen } = recordingEngine(t, url, { concurrency: 1, reconnect: { initialDelay: 10 } }, {
    onOpen: async () => {
      if (opens++ > 0) return;
      await sleep(200); // the connection drops, is reported closed (paused), and the next opens meanwhile
      throw new Error('late');
    },
    onMessage: () => sleep(10),
  });
  engine.pause();
  await waitFor(() => seen.errors.length === 1 && seen.opens.length === 2 && engine.state === 'open', 3000, 'the late failure, after the reconnection');
  engine.resume();
  const second = peers[1]!;
  for (let i = 0; i < 4; i++) second.send(`v${i}`);
  setTimeout(() => second.socket.destroy(), 20);
  await waitFor(() => seen.closes.length === 2, 3000, 'the second close');
  assert.deepEqual(seen.messages, ['v0', 'v1', 'v2', 'v3']);
  assert.equal(seen.closes[1]!.undelivered, 0);
});

test('an engine made without callbacks works with none, across a failed attempt; callbacks that are not an object are refused at once', async (t) => {
  const refused = await refusedPort();
  const engine = startClientEngine(`ws://${LOCALHOST}:${refused}/`, undefined as never, { reconnect: { initialDelay: 10, maxRetries: 1 } });
  defer(t, () => engine.stop());
  await assert.rejects(within(engine.opened(), 3000, 'the engine gives up'), EngineStoppedError);
  const { url } = await recordingServer(t, echo);
  const live = startClientEngine(url, null as never);
  defer(t, () => live.stop());
  const peer = await within(live.opened(), 3000, 'opened');
  assert.equal(peer.state, 'OPEN');
  assert.throws(() => startClientEngine(url, 'callbacks' as never), TypeError);
});

test('a closing handshake the server began (its close answered, its FIN not yet come) is not reported byStop when stop comes meanwhile', async (t) => {
  // The server closes right behind its 101 and keeps TCP open; the client answers at once.
  const closing = createNetServer((socket) => {
    void rawAcceptUpgrade(socket).then(() => {
      socket.write(Buffer.from([0x88, 0x04, 0x03, 0xe9, 0x62, 0x79])); // close 1001 "by"
      socket.resume();
    });
  }).listen(0, LOCALHOST);
  await once(closing, 'listening');
  defer(t, () => new Promise<void>((resolve) => closing.close(() => resolve())));
  const closes: EngineCloseInfo[] = [];
  const engine = startClientEngine(`ws://${LOCALHOST}:${(closing.address() as AddressInfo).port}/`, { onClose: (info) => void closes.push(info) }, { reconnect: false, closeTimeout: 300 });
  await waitFor(() => engine.peer?.state === 'CLOSED', 2000, 'the closing handshake done');
  await within(engine.stop(), 2000, 'stop');
  await waitFor(() => closes.length === 1, 2000, 'onClose');
  assert.deepEqual([closes[0]!.code, closes[0]!.reason, closes[0]!.byStop], [1001, 'by', false]);
});

test('a connection the server dropped while onOpen was still running is not reported byStop when stop comes later', async (t) => {
  const { url, peers } = await recordingServer(t, () => {});
  const closes: EngineCloseInfo[] = [];
  const engine = startClientEngine(url, { onOpen: () => new Promise<void>(() => {}), onClose: (info) => void closes.push(info) }, { reconnect: false });
  await waitFor(() => peers.length === 1, 2000, 'the connection');
  peers[0]!.close();
  await waitFor(() => engine.peer?.closed === true, 2000, 'the drop');
  await within(engine.stop(), 2000, 'stop');
  assert.equal(closes.length, 1);
  assert.equal(closes[0]!.byStop, false);
  assert.equal(closes[0]!.code, 1006);
});

/** A promise and the hands that settle it. */
function deferred(): { promise: Promise<void>; resolve: () => void; reject: (error: Error) => void } {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((yes, no) => ((resolve = yes), (reject = no)));
  return { promise, resolve, reject };
}

test("an onOpen that settles after its connection was closed out neither starts the next connection's messages before that one's onOpen settles, nor resolves opened() with the dead peer", async (t) => {
  const { url, peers } = await recordingServer(t, (peer, index) => {
    if (index === 0) peer.close();
    else peer.send('hello');
  });
  const openings = [deferred(), deferred()];
  const { engine, seen } = recordingEngine(t, url, { closeTimeout: 100, reconnect: { initialDelay: 10, jitter: 0 } }, { onOpen: (_peer, info) => openings[info.attempt - 1]!.promise });
  // The first onOpen outlives closeTimeout: its close is reported and the next connection made.
  await waitFor(() => seen.closes.length === 1 && seen.opens.length === 2 && engine.peer?.unread === 1, 3000, 'the second connection, its message waiting');
  const opened = engine.opened();
  openings[0]!.resolve();
  await sleep(20);
  assert.deepEqual(seen.messages, [], "the first onOpen settling does not start the second connection's messages");
  openings[1]!.resolve();
  assert.equal(await within(opened, 2000, 'opened'), engine.peer);
  await waitFor(() => seen.messages.length === 1, 2000, 'the message, once its own onOpen settled');
  assert.equal(peers[1]!.closed, false);
});

test('an onOpen that rejects after its connection dropped: onClose follows at once, not at closeTimeout', async (t) => {
  const { url } = await recordingServer(t, (peer) => peer.close());
  const opening = deferred();
  const { engine, seen } = recordingEngine(t, url, { closeTimeout: 30_000, reconnect: false }, { onOpen: () => opening.promise });
  await waitFor(() => engine.peer?.closed === true, 3000, 'the drop, onOpen still pending');
  assert.equal(seen.closes.length, 0, 'the close waits for onOpen');
  opening.reject(new Error('open failed late'));
  await waitFor(() => seen.closes.length === 1, 3000, 'onClose once onOpen failed');
  assert.deepEqual(seen.errors.map(({ error, info }) => [info.phase, (error as Error).message]), [['open', 'open failed late']]);
  assert.equal(engine.state, 'stopped');
});

test("an onMessage that rejects after its connection was closed out is reported, and leaves the next connection's delivery alone (opened(), pause and resume)", async (t) => {
  const { url, peers } = await recordingServer(t, (peer, index) => {
    if (index > 0) return;
    peer.send('first');
    setTimeout(() => peer.socket.destroy(), 50);
  });
  const handling = deferred();
  const { engine, seen } = recordingEngine(t, url, { reconnect: { initialDelay: 10, jitter: 0 } }, { onMessage: (message) => (message.data === 'first' ? handling.promise : undefined) });
  await waitFor(() => seen.closes.length === 1 && seen.opens.length === 2 && engine.state === 'open', 3000, 'the reconnection, the first handler still pending');
  await within(engine.opened(), 2000, 'opened');
  handling.reject(new Error('late failure'));
  await waitFor(() => seen.errors.length === 1, 2000, 'the late failure reported');
  assert.equal(seen.errors[0]!.info.phase, 'message');
  assert.equal(await within(engine.opened(), 1000, 'opened, as before the late failure'), engine.peer);
  engine.pause();
  engine.resume();
  peers[1]!.send('second');
  await waitFor(() => seen.messages.length === 2, 2000, "the next connection's message");
  assert.deepEqual(seen.messages, ['first', 'second']);
  assert.equal(peers[1]!.closed, false);
});

test("an onMessage that rejects while a lost connection's messages are handed over ends the hand-over: onClose at once, with what is left undelivered", async (t) => {
  const { url } = await recordingServer(t, (peer) => {
    for (const each of ['a', 'b', 'c']) peer.send(each);
    setTimeout(() => peer.socket.destroy(), 50);
  });
  const handling = deferred();
  const { engine, seen } = recordingEngine(t, url, { concurrency: 1, closeTimeout: 30_000, reconnect: false }, { onMessage: (message) => (message.data === 'a' ? handling.promise : new Promise<void>(() => {})) });
  await waitFor(() => engine.peer?.closed === true && seen.messages.length === 1, 3000, 'the drop, the first handler holding the only slot');
  handling.reject(new Error('failed in the hand-over'));
  await waitFor(() => seen.closes.length === 1, 3000, 'onClose once the handler failed');
  assert.deepEqual(seen.errors.map(({ info }) => info.phase), ['message']);
  assert.deepEqual(seen.messages, ['a'], 'nothing more goes to a failed onMessage');
  assert.equal(seen.closes[0]!.undelivered, 2);
});

test('concurrency 1: once an onMessage promise rejects, the next message is not handed over; the connection closes with 1011', async (t) => {
  const { url, peers } = await recordingServer(t, (peer) => {
    peer.send('a');
    peer.send('b');
  });
  const handling = deferred();
  const { engine, seen } = recordingEngine(t, url, { concurrency: 1, reconnect: false }, { onMessage: (message) => (message.data === 'a' ? handling.promise : undefined) });
  await waitFor(() => seen.messages.length === 1 && engine.peer?.unread === 1, 3000, "'b' waiting for the slot 'a' holds");
  handling.reject(new Error('a failed'));
  await waitFor(() => seen.closes.length === 1, 3000, 'the close');
  assert.deepEqual(seen.messages, ['a']);
  assert.equal(seen.closes[0]!.undelivered, 1);
  await waitFor(() => peers[0]!.closed, 3000, 'the server side closed');
  assert.equal(peers[0]!.closeCode, 1011);
});

test('an onClose that throws is reported to onError (phase close), and the engine reconnects all the same', async (t) => {
  const { url, peers } = await recordingServer(t, (peer, index) => {
    if (index === 0) peer.close();
  });
  const errors: Array<[string, string]> = [];
  let opens = 0;
  const engine = startClientEngine(
    url,
    {
      onOpen: () => void opens++,
      onClose: () => {
        throw new Error('close callback failed');
      },
      onError: (error, info) => void errors.push([info.phase, (error as Error).message]),
    },
    { reconnect: { initialDelay: 10, jitter: 0 } },
  );
  defer(t, () => engine.stop(1000, '', 500));
  await waitFor(() => opens === 2 && engine.state === 'open', 3000, 'the reconnection');
  assert.deepEqual(errors, [['close', 'close callback failed']]);
  assert.equal(peers.length, 2);
});

test('without onError, a failing callback is printed on stderr, and a failed attempt is not', async (t) => {
  const printed = t.mock.method(console, 'error', () => {});
  const refused = await refusedPort();
  const failing = startClientEngine(`ws://${LOCALHOST}:${refused}/`, {}, { reconnect: false });
  defer(t, () => failing.stop());
  await assert.rejects(within(failing.opened(), 3000, 'the engine gives up'), EngineStoppedError);
  assert.equal(printed.mock.callCount(), 0, 'a refused connection is not printed');
  const { url } = await recordingServer(t, (peer) => void peer.send('boom'));
  const engine = startClientEngine(
    url,
    {
      onMessage: () => {
        throw new Error('message failed on purpose');
      },
    },
    { reconnect: false },
  );
  defer(t, () => engine.stop());
  await waitFor(() => printed.mock.callCount() === 1, 3000, 'the failure printed');
  const [text, error] = printed.mock.calls[0]!.arguments as [string, Error];
  assert.equal(text, 'wspeer engine: the message callback threw');
  assert.equal(error.message, 'message failed on purpose');
});

test('an engine that gives up on a URL function throwing a non-Error says what it threw', async (t) => {
  const engine = startClientEngine(
    () => {
      throw 'no token'; // not an Error: the message must still say what
    },
    { onError: () => {} },
    { reconnect: false },
  );
  defer(t, () => engine.stop());
  const error = await within(engine.opened().catch((thrown: unknown) => thrown), 3000, 'the engine gives up');
  assert.ok(error instanceof EngineStoppedError);
  assert.equal(error.message, 'opened: the engine gave up: no token');
  assert.equal(error.cause, 'no token');
});

test('stableAfter: connections that last it start the retries over, so maxRetries is never spent; connections lost sooner spend it', async (t) => {
  // Every connection is dropped by the server: at once, or after outlasting stableAfter (300 ms) twice over.
  const run = async (lasting: number): Promise<EngineCloseInfo[]> => {
    const { url } = await recordingServer(t, (peer) => void (lasting === 0 ? peer.close() : setTimeout(() => peer.close(), lasting)));
    const { engine, seen } = recordingEngine(t, url, { reconnect: { initialDelay: 10, jitter: 0, maxRetries: 1, stableAfter: 300 } });
    await waitFor(() => seen.closes.length === 2, 5000, 'two closes');
    await engine.stop();
    return seen.closes;
  };
  assert.deepEqual((await run(0)).map((close) => close.willReconnect), [true, false], 'the one retry spent, the engine gives up');
  assert.deepEqual((await run(600)).map((close) => close.willReconnect), [true, true], 'each stable connection starts the retries over');
});

test("opened() called while a lost connection's messages are still handed over waits for the next connection, never resolving with the lost one", async (t) => {
  const { url } = await recordingServer(t, (peer, index) => {
    if (index > 0) return;
    peer.send('a');
    peer.send('b');
    setTimeout(() => peer.socket.destroy(), 50);
  });
  const handling = deferred();
  const { engine, seen } = recordingEngine(t, url, { concurrency: 1, closeTimeout: 30_000, reconnect: { initialDelay: 10, jitter: 0 } }, { onMessage: (message) => (message.data === 'a' ? handling.promise : undefined) });
  await waitFor(() => engine.peer?.closed === true && seen.messages.length === 1, 3000, "the drop, 'b' waiting for the slot");
  const next = engine.opened();
  assert.equal(await settlesWithin(next, 50), false, 'not the lost connection');
  handling.resolve();
  const peer = await within(next, 3000, 'the next connection');
  assert.equal(peer.closed, false);
  assert.deepEqual(seen.messages, ['a', 'b']);
  assert.equal(seen.opens.length, 2);
});
