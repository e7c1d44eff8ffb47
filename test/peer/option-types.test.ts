/**
 * Options and arguments given from JavaScript with the wrong type are refused where they
 * are given, with an error naming them, rather than taken by their truthiness or iterated
 * as characters; a string stands for a list of one where a list of strings is asked.
 * Real loopback sockets where the effect of an option is the point.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { bind, connect, HandshakeResponseError, InvalidUrlError, server, startClientEngine, wrap, type Peer } from '../../src/index.ts';
import { defer, LOCALHOST, portOf, rawUpgrade, socketPair, waitFor, within } from './helpers.ts';

/** A value TypeScript would refuse, as JavaScript may pass it. */
const untyped = (value: unknown): never => value as never;

test('a boolean option given as anything but true or false is a TypeError naming it, at construction: "false" does not switch it on', async () => {
  for (const name of ['fragments', 'closeOnBufferFull', 'lentReads', 'lentMessages']) {
    for (const value of ['false', 'true', 0, 1, {}]) {
      await assert.rejects(server(`ws://${LOCALHOST}:0/`, () => {}, { [name]: untyped(value) }), (error: Error) => {
        assert.ok(error instanceof TypeError, `${name}: ${String(value)}`);
        assert.match(error.message, new RegExp(`^${name} must be true or false`));
        return true;
      });
      await assert.rejects(connect(`ws://${LOCALHOST}:9/`, {}, { [name]: untyped(value) }), TypeError, `${name}: ${String(value)} (client)`);
    }
  }
});

test('undefined and null mean the default for the boolean and list options, as ?? takes them for the others', async (t) => {
  const instance = await server(`ws://${LOCALHOST}:0/`, () => {}, untyped({ fragments: null, lentReads: null, protocols: null, origins: null, verify: null }));
  defer(t, () => instance.close(500));
  const client = await connect(instance.url, untyped({ protocols: null, origin: null, headers: null }), untyped({ closeOnBufferFull: null, deflate: null }));
  defer(t, () => client.close());
  assert.equal(client.handshake.protocol, '');
  // Inside settings objects too: a contextTakeover of null is the default, not a TypeError.
  const deflating = await connect(instance.url, {}, { deflate: { contextTakeover: untyped(null) } });
  defer(t, () => deflating.close());
  assert.equal(deflating.state, 'OPEN');
  // TLS files given as null are absent too, not a path to read.
  const engine = startClientEngine(`wss://${LOCALHOST}:9/`, {}, { tls: untyped({ ca: null, cert: null, key: null }), reconnect: false });
  await engine.stop();
});

test('the engine\'s reconnect and tls.allowSelfSigned are refused unless false / an object and a boolean: "false" would mean reconnecting on', () => {
  for (const reconnect of ['false', 0]) {
    assert.throws(() => startClientEngine(`ws://${LOCALHOST}:9/`, {}, { reconnect: untyped(reconnect) }), /reconnect must be false or an object of settings/);
  }
  assert.throws(() => startClientEngine(`wss://${LOCALHOST}:9/`, {}, { tls: { allowSelfSigned: untyped('yes') } }), /tls.allowSelfSigned must be true or false/);
});

test('deflate given as neither a boolean nor settings, or contextTakeover / threshold of the wrong type, is refused (RFC 7692 is not negotiated by accident)', async () => {
  for (const deflate of ['false', 'true', 1]) {
    await assert.rejects(server(`ws://${LOCALHOST}:0/`, () => {}, { deflate: untyped(deflate) }), /deflate must be a boolean or an object of settings/);
  }
  await assert.rejects(server(`ws://${LOCALHOST}:0/`, () => {}, { deflate: { contextTakeover: untyped('no') } }), /contextTakeover must be a boolean, got the string "no"/);
  await assert.rejects(server(`ws://${LOCALHOST}:0/`, () => {}, { deflate: { threshold: untyped('64') } }), RangeError);
});

test('server: verify that is not a function, protocols / origins that are not strings, headers that are not an object of strings are refused when it is made', async () => {
  const refused: [string, object, ErrorConstructor][] = [
    ['verify: true', { verify: true }, TypeError],
    ['protocols: 5', { protocols: 5 }, TypeError],
    ['protocols: [1]', { protocols: [1] }, TypeError],
    ['protocols: ["a b"] (no token: no client can offer it)', { protocols: ['chat', 'a b'] }, TypeError],
    ['onRequest: "index.html"', { onRequest: 'index.html' }, TypeError],
    ['maxPayload: "10"', { maxPayload: '10' }, RangeError],
    ['lentMessages without lentReads (it would lend nothing)', { lentMessages: true, lentReads: false }, TypeError],
    ['origins: {}', { origins: {} }, TypeError],
    ['origins: [null]', { origins: [null] }, TypeError],
    ['headers: "ab"', { headers: 'ab' }, TypeError],
    ['headers: ["X: 1"]', { headers: ['X: 1'] }, TypeError],
    ['headers: { X: 5 }', { headers: { X: 5 } }, TypeError],
    ['headers: { X: [1] }', { headers: { X: [1] } }, TypeError],
  ];
  for (const [what, options, type] of refused) {
    await assert.rejects(server(`ws://${LOCALHOST}:0/`, () => {}, untyped(options)), type, what);
  }
  // A string where a number belongs is shown as one, not as the number it reads like.
  await assert.rejects(server(`ws://${LOCALHOST}:0/`, () => {}, untyped({ maxPayload: '10' })), /maxPayload must be a positive number, got the string "10"/);
  await assert.rejects(server(`ws://${LOCALHOST}:0/`, () => {}, untyped({ timeout: 'x' })), /timeout must be a number of milliseconds above 0 .*, got the string "x"/);
  // Objects by their kind, not "[object Object]" or "Object object".
  await assert.rejects(server(`ws://${LOCALHOST}:0/`, () => {}, untyped({ origins: {} })), /origins must be a string or an array of strings, got an object$/);
  await assert.rejects(server(`ws://${LOCALHOST}:0/`, () => {}, untyped({ maxPayload: [10] })), /got an array$/);
  await assert.rejects(server(`ws://${LOCALHOST}:0/`, () => {}, untyped({ timeout: new Map() })), /got a Map object$/);
});

test('server: one string for protocols or origins is a list of one (not its characters)', async (t) => {
  const instance = await server(`ws://${LOCALHOST}:0/`, () => {}, { protocols: 'chat', origins: 'https://good.example' });
  defer(t, () => instance.close(500));
  const client = await connect(instance.url, { protocols: ['c', 'chat'], origin: 'https://good.example' });
  defer(t, () => client.close());
  assert.equal(client.handshake.protocol, 'chat');
  // Taken as its characters, 'https://good.example' would have let an origin 'h' in.
  await assert.rejects(connect(instance.url, { origin: 'h' }), (error: HandshakeResponseError) => error.status === 403);
});

test('client: one string for protocols is a list of one; path, origin and headers of the wrong type are TypeErrors before any socket', async (t) => {
  const instance = await server(`ws://${LOCALHOST}:0/`, () => {}, { protocols: ['other', 'chat'] });
  defer(t, () => instance.close(500));
  const client = await connect(instance.url, { protocols: 'chat' });
  defer(t, () => client.close());
  assert.equal(client.handshake.protocol, 'chat');
  for (const request of [{ path: 5 }, { origin: 5 }, { headers: 'ab' }, { headers: { Authorization: 5 } }, { protocols: [5] }]) {
    await assert.rejects(connect(instance.url, untyped(request)), TypeError, JSON.stringify(request));
  }
  assert.equal(instance.peers.size, 1, 'no connection was made for a refused request');
});

test('connect and the engine take a URL object; port 0 is an InvalidUrlError; neither a string nor a URL is a TypeError', async (t) => {
  const instance = await server(`ws://${LOCALHOST}:0/`, () => {});
  defer(t, () => instance.close(500));
  const target = new URL(`ws://${LOCALHOST}:${portOf(instance)}/room?id=7`);
  const client = await connect(target);
  defer(t, () => client.close());
  assert.equal(client.handshake.path, '/room?id=7');

  const engine = startClientEngine(target, {}, { reconnect: false });
  defer(t, () => engine.stop());
  target.port = '9'; // the engine keeps the URL it was given, not the object
  const peer = await engine.opened(2000);
  assert.equal(peer.handshake.path, '/room?id=7');

  await assert.rejects(connect(`ws://${LOCALHOST}:0/`), (error: InvalidUrlError) => error instanceof InvalidUrlError && error.code === 'WS_URL_INVALID' && /port 0/.test(error.message));
  await assert.rejects(connect(untyped(5)), TypeError);
  assert.throws(() => startClientEngine(untyped(null), {}), TypeError);
});

test('wrap: a role other than "server" or "client" is a TypeError (a "Client" would otherwise act as a server, unmasked); handshaked must be a boolean', async (t) => {
  const [left, right] = await socketPair();
  defer(t, () => {
    left.destroy();
    right.destroy();
  });
  // With the handshake still to do, a 'Client' used to wait for a request as a server would.
  await assert.rejects(within(wrap(left, untyped({ role: 'Client', url: 'ws://a.example/' })), 2000, 'the refusal'), /options.role must be 'server' or 'client', got the string "Client"/);
  await assert.rejects(wrap(left, untyped({ role: 'Client', handshaked: true })), TypeError);
  await assert.rejects(wrap(left, untyped({ handshaked: true })), TypeError);
  await assert.rejects(wrap(left, untyped({ role: 'server', handshaked: 'yes' })), /handshaked must be true or false/);
  assert.equal(left.destroyed, false, 'a refused wrap leaves the socket alone');
});

test('peer: read with a negative timeout is a RangeError even when a message is waiting (which stays for the next read); onMessage takes only a function or null', async (t) => {
  const instance = await server(`ws://${LOCALHOST}:0/`, (peer) => void peer.write('hello'));
  defer(t, () => instance.close(500));
  const client: Peer = await connect(instance.url);
  defer(t, () => client.close());
  await waitFor(() => client.unread === 1, 2000, 'the message');
  await assert.rejects(client.read(-5), RangeError);
  await assert.rejects(client.read(Number.NaN), RangeError);
  await assert.rejects(client.read(untyped('100')), /read: the timeout must be a number of milliseconds ≥ 0, got the string "100"/);
  await assert.rejects(client.read(untyped('9999999999999')), /got the string "9999999999999"/); // not taken for no limit
  assert.throws(() => client.onMessage(untyped(42)), /onMessage takes a function or null, got number/);
  assert.equal(client.unread, 1);
  assert.equal((await within(client.read(1000), 2000, 'the message'))?.data, 'hello');
});

test('tls given as null is absent: a wss:// server says it needs tls, a wss:// client connects (and is refused by the port) rather than crashing on null', async () => {
  await assert.rejects(server(`wss://${LOCALHOST}:0/`, () => {}, { tls: untyped(null) }), /a wss:\/\/ server needs options.tls/);
  await assert.rejects(connect(`wss://${LOCALHOST}:9/`, {}, { tls: untyped(null) }), (error: Error) => {
    assert.ok(!(error instanceof TypeError), `a TypeError: ${error.message}`);
    assert.match((error as Error & { code?: string }).code ?? '', /ECONNREFUSED/);
    return true;
  });
});

test('a signal that is not an AbortSignal, or tls that is not an object, is a TypeError naming it before any socket (a bad signal once left the socket unwatched, and the process died of its error)', async (t) => {
  const instance = await server(`ws://${LOCALHOST}:0/`, () => {});
  defer(t, () => instance.close(500));
  for (const options of [{ signal: 'x' }, { signal: {} }, { tls: 5 }, { tls: 'ca.pem' }]) {
    const name = Object.keys(options)[0]!;
    for (const url of [instance.url, `wss://${LOCALHOST}:9/`]) {
      await assert.rejects(connect(url, {}, untyped(options)), (error: Error) => error instanceof TypeError && error.message.startsWith(`${name} must be`), `${JSON.stringify(options)} on ${url}`);
    }
    assert.throws(() => startClientEngine(instance.url, {}, untyped(options)), TypeError);
  }
  assert.equal(instance.peers.size, 0, 'no connection was made');
  for (const url of [`ws://${LOCALHOST}:0/`, `wss://${LOCALHOST}:0/`]) {
    await assert.rejects(server(url, () => {}, { tls: untyped(5) }), /^TypeError: tls must be an object of TLS options, got 5/);
  }
  // Still taken: a real signal, and null for none.
  const client = await connect(instance.url, {}, { signal: new AbortController().signal });
  client.close();
  (await connect(instance.url, {}, { signal: untyped(null) })).close();
});

test('tls.requestClientCertificate given as a string is refused by name before any file is read: "true" would leave mutual TLS off', async () => {
  for (const value of ['true', 1]) {
    await assert.rejects(
      server(`wss://${LOCALHOST}:0/`, () => {}, { tls: { cert: 'no-such-file.pem', key: 'no-such-file.pem', requestClientCertificate: untyped(value) } }),
      /tls.requestClientCertificate must be true or false/,
    );
  }
});

test('the engine\'s reconnect settings must be numbers: a string or boolean is a RangeError naming the setting, not coerced later', () => {
  for (const [name, value] of [['initialDelay', '250'], ['jitter', true], ['maxRetries', '3']] as const) {
    assert.throws(() => startClientEngine(`ws://${LOCALHOST}:9/`, {}, { reconnect: { [name]: untyped(value) } }), (error: Error) => {
      assert.ok(error instanceof RangeError, `${name}: ${String(value)}`);
      assert.match(error.message, new RegExp(`^reconnect.${name} must be a number`));
      return true;
    });
  }
});

test('head limits out of range name the option given: maxHeadBytes and maxHeaders (server), maxHeadBytes (client)', async () => {
  await assert.rejects(server(`ws://${LOCALHOST}:0/`, () => {}, { maxHeadBytes: 2 }), /^RangeError: maxHeadBytes/);
  await assert.rejects(server(`ws://${LOCALHOST}:0/`, () => {}, { maxHeaders: -1 }), /^RangeError: maxHeaders/);
  await assert.rejects(connect(`ws://${LOCALHOST}:9/`, {}, { maxHeadBytes: 1.5 }), /^RangeError: maxHeadBytes/);
});

test('accept with a negative or NaN timeout is a RangeError even when a peer is waiting (which stays for the next accept)', async (t) => {
  const bound = await bind(`ws://${LOCALHOST}:0/`);
  defer(t, () => bound.close(500));
  const client = await connect(bound.url);
  defer(t, () => client.close());
  await waitFor(() => bound.peers.size === 1, 2000, 'the server side of the connection');
  await assert.rejects(bound.accept(-1), RangeError);
  await assert.rejects(bound.accept(Number.NaN), RangeError);
  const peer = await within(bound.accept(1000), 2000, 'the waiting peer');
  assert.equal(peer.state, 'OPEN');
});

test('rawUpgrade helper still works with the checks in place (a control for the refusals above)', async (t) => {
  const instance = await server(`ws://${LOCALHOST}:0/`, () => {}, { protocols: 'chat', deflate: false, fragments: false });
  defer(t, () => instance.close(500));
  const { socket } = await rawUpgrade(portOf(instance));
  socket.destroy();
});
