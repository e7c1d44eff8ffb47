/**
 * `wss://` (RFC 6455 §3, §4.1 item 5): our server with a certificate, our client checking
 * it — by a given CA, or self-signed only when asked and still for the right name.
 */
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect as tlsConnect, createSecureContext, type SecureContext } from 'node:tls';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';

import { connect, server, type Server, type TlsServerOptions } from '../../src/index.ts';
import { defer, portOf, rawConnect, requestText, sleep, upgradeLines, waitFor, within, readPlain } from '../peer/helpers.ts';
import { closeWs, wsClient } from '../peer/ws-helpers.ts';

const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/tls/${name}`, import.meta.url));
const CA = fixture('ca.pem');
const CA_SIGNED: TlsServerOptions = { cert: fixture('server.pem'), key: fixture('server.key') };
const SELF_SIGNED: TlsServerOptions = { cert: fixture('self-signed.pem'), key: fixture('self-signed.key') };

async function wssEcho(t: TestContext, tls: TlsServerOptions): Promise<Server> {
  const instance = await server(
    'wss://127.0.0.1:0/',
    async (peer) => {
      for await (const message of peer) await peer.write(message.data).catch(() => {});
    },
    { tls },
  );
  defer(t, () => instance.close(500));
  return instance;
}

async function assertEchoes(url: string, options: Parameters<typeof connect>[2]): Promise<void> {
  const client = await within(connect(url, {}, options), 3000, `connect ${url}`);
  try {
    await client.write('over tls');
    assert.deepEqual(await readPlain(client, 2000), { opcode: 1, fin: true, data: 'over tls' });
    const bytes = new Uint8Array(100_000).map((_, i) => i & 0xff);
    await client.write(bytes);
    const echoed = await client.read(2000);
    assert.ok(echoed !== null && echoed.data instanceof Uint8Array);
    assert.ok(Buffer.from(echoed.data).equals(Buffer.from(bytes)));
    assert.equal(await client.shutdown(1000, '', 2000), true);
  } finally {
    client.close();
  }
}

test('the server URL of a TLS server is wss:// with the bound port', async (t) => {
  const instance = await wssEcho(t, CA_SIGNED);
  assert.equal(instance.url, `wss://127.0.0.1:${portOf(instance)}/`);
});

test('our client with the test CA connects to a CA-signed server by name (wss://localhost) and by address (wss://127.0.0.1)', async (t) => {
  const instance = await wssEcho(t, CA_SIGNED);
  const port = portOf(instance);
  await assertEchoes(`wss://localhost:${port}/`, { tls: { ca: CA } });
  await assertEchoes(`wss://127.0.0.1:${port}/`, { tls: { ca: readFileSync(CA, 'utf8') } });
});

test('our client without the CA refuses the CA-signed server, and allowSelfSigned does not make it accept an unknown issuer', async (t) => {
  const instance = await wssEcho(t, CA_SIGNED);
  const url = `wss://localhost:${portOf(instance)}/`;
  await assert.rejects(within(connect(url, {}, { timeout: 2000 }), 3000, 'connect'), (error: Error) => {
    assert.match(String((error as NodeJS.ErrnoException).code ?? error.message), /UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT/);
    return true;
  });
  await assert.rejects(within(connect(url, {}, { timeout: 2000, tls: { allowSelfSigned: true } }), 3000, 'connect'), (error: Error) => {
    // The refusal carries Node's code, with the opt-in as without it.
    assert.match(String((error as NodeJS.ErrnoException).code), /^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT)$/);
    return true;
  });
  assert.equal(instance.peers.size, 0);
});

test('allowSelfSigned does not accept a certificate from an unknown CA whose root the server sends along: it does not sign itself', async (t) => {
  const chain = readFileSync(fixture('server.pem'), 'utf8') + readFileSync(CA, 'utf8');
  const instance = await wssEcho(t, { cert: chain, key: fixture('server.key') });
  const url = `wss://localhost:${portOf(instance)}/`;
  await assert.rejects(within(connect(url, {}, { timeout: 2000, tls: { allowSelfSigned: true } }), 3000, 'connect'), (error: Error) => {
    assert.equal((error as NodeJS.ErrnoException).code, 'SELF_SIGNED_CERT_IN_CHAIN');
    assert.match(error.message, /SELF_SIGNED_CERT_IN_CHAIN \(the certificate comes from a CA this process does not trust: give that CA as tls\.ca\)$/);
    return true;
  });
  await assertEchoes(url, { tls: { ca: readFileSync(CA, 'utf8') } });
});

test('ws:// to a wss:// server fails with WS_RESPONSE_CLOSED, whose message suggests the scheme', async (t) => {
  const instance = await wssEcho(t, SELF_SIGNED);
  await assert.rejects(within(connect(`ws://127.0.0.1:${portOf(instance)}/`, {}, { timeout: 2000 }), 3000, 'connect'), {
    code: 'WS_RESPONSE_CLOSED',
    message: /a wss:\/\/ server, reached with ws:\/\/, does so/,
  });
});

test('a self-signed server is refused by default and accepted with allowSelfSigned: true', async (t) => {
  const instance = await wssEcho(t, SELF_SIGNED);
  const url = `wss://localhost:${portOf(instance)}/`;
  await assert.rejects(within(connect(url, {}, { timeout: 2000 }), 3000, 'connect'), (error: Error) => {
    assert.equal((error as NodeJS.ErrnoException).code, 'DEPTH_ZERO_SELF_SIGNED_CERT');
    // Node's message, then what to do about it; Node's error kept as the cause. Node 24 and
    // later add a hint of their own to the message (`--use-system-ca`).
    const cause = error.cause as NodeJS.ErrnoException;
    assert.equal(cause.code, 'DEPTH_ZERO_SELF_SIGNED_CERT');
    assert.match(cause.message, /^self-signed certificate(;|$)/);
    assert.equal(error.message, `${cause.message} (the server's certificate signs itself: connect with tls.allowSelfSigned to accept such a one, or give it as tls.ca)`);
    return true;
  });
  await assertEchoes(url, { tls: { allowSelfSigned: true } });
  await assertEchoes(`wss://127.0.0.1:${portOf(instance)}/`, { tls: { allowSelfSigned: true } });
});

test('with allowSelfSigned, a self-signed certificate for another name is still refused', async (t) => {
  const instance = await wssEcho(t, SELF_SIGNED);
  const url = `wss://127.0.0.1:${portOf(instance)}/`;
  await assert.rejects(
    within(connect(url, {}, { timeout: 2000, tls: { allowSelfSigned: true, servername: 'wrong.example' } }), 3000, 'connect'),
    (error: Error) => {
      assert.equal((error as NodeJS.ErrnoException).code, 'ERR_TLS_CERT_ALTNAME_INVALID');
      return true;
    },
  );
  // An IP literal as the name to check (no SNI carries it) is checked all the same.
  await assert.rejects(
    within(connect(url, {}, { timeout: 2000, tls: { allowSelfSigned: true, servername: '10.0.0.1' } }), 3000, 'connect'),
    (error: Error) => {
      assert.equal((error as NodeJS.ErrnoException).code, 'ERR_TLS_CERT_ALTNAME_INVALID');
      return true;
    },
  );
  // The same check applies to a CA-signed certificate given the CA.
  const signed = await wssEcho(t, CA_SIGNED);
  await assert.rejects(
    within(connect(`wss://127.0.0.1:${portOf(signed)}/`, {}, { timeout: 2000, tls: { ca: CA, servername: 'wrong.example' } }), 3000, 'connect'),
    (error: Error) => {
      assert.equal((error as NodeJS.ErrnoException).code, 'ERR_TLS_CERT_ALTNAME_INVALID');
      return true;
    },
  );
  for (const servername of ['10.0.0.1', '::2']) {
    await assert.rejects(
      within(connect(`wss://localhost:${portOf(signed)}/`, {}, { timeout: 2000, tls: { ca: CA, servername } }), 3000, 'connect'),
      (error: Error) => {
        assert.equal((error as NodeJS.ErrnoException).code, 'ERR_TLS_CERT_ALTNAME_INVALID', servername);
        return true;
      },
    );
  }
  // The name the certificate does carry, as an IP literal, passes.
  await assertEchoes(`wss://localhost:${portOf(signed)}/`, { tls: { ca: CA, servername: '127.0.0.1' } });
});

test('PEM given as bytes, an encrypted key with its passphrase, and a list of CAs (only one of which issued the certificate) serve and connect', async (t) => {
  const passphrase = 'open sesame';
  const encryptedKey = createPrivateKey(readFileSync(CA_SIGNED.key as string)).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase }) as string;
  // Plain Uint8Arrays, not Buffers: bytes as a browser-minded caller holds them.
  const instance = await wssEcho(t, { cert: new Uint8Array(readFileSync(CA_SIGNED.cert as string)), key: encryptedKey, passphrase });
  await assertEchoes(instance.url, { tls: { ca: [readFileSync(fixture('self-signed.pem'), 'utf8'), new Uint8Array(readFileSync(CA))] } });
});

test('an IP literal as servername is checked by the application\'s own checkServerIdentity when tls.extra gives one, not by ours', async (t) => {
  const signed = await wssEcho(t, CA_SIGNED);
  const asked: string[] = [];
  const checkServerIdentity = (host: string): Error | undefined => void asked.push(host);
  // The certificate does not name 10.0.0.1: our check would refuse it; the application's accepts.
  await assertEchoes(`wss://localhost:${portOf(signed)}/`, { tls: { ca: CA, servername: '10.0.0.1', extra: { checkServerIdentity } } });
  assert.deepEqual(asked, ['localhost']);
});

test('mutual TLS: a server that asks for a client certificate takes one the CA signed (tls.cert, tls.key) and refuses a client without one', async (t) => {
  const instance = await wssEcho(t, { ...CA_SIGNED, ca: CA, requestClientCertificate: true });
  await assertEchoes(instance.url, { tls: { ca: CA, cert: fixture('client.pem'), key: fixture('client.key') } });
  await assert.rejects(within(connect(instance.url, {}, { tls: { ca: CA }, timeout: 3000 }), 5000, 'connect without a certificate'));
  await sleep(100);
  await waitFor(() => instance.peers.size === 0, 2000, 'no peer for the client without a certificate');
});

test('RFC 6066 §3: a host name given as servername goes out as SNI when the URL dials an IP address (an IP literal never does)', async (t) => {
  const named: string[] = [];
  const context = createSecureContext({ cert: readFileSync(CA_SIGNED.cert as string), key: readFileSync(CA_SIGNED.key as string) });
  const sni = (servername: string, callback: (error: Error | null, context?: SecureContext) => void): void => {
    named.push(servername);
    callback(null, context);
  };
  const instance = await wssEcho(t, { ...CA_SIGNED, extra: { SNICallback: sni } });
  await assertEchoes(instance.url, { tls: { ca: CA, servername: 'localhost' } });
  await assertEchoes(instance.url, { tls: { ca: CA } });
  assert.deepEqual(named, ['localhost'], 'SNI from servername only, none for the bare 127.0.0.1');
});

test('a ws client trusting the test CA talks to our wss server', async (t) => {
  const instance = await wssEcho(t, CA_SIGNED);
  const { ws, inbox } = await wsClient(`wss://localhost:${portOf(instance)}/`, [], { ca: readFileSync(CA) });
  defer(t, () => closeWs(ws));
  ws.send('hello over tls');
  const echoed = await inbox.next(2000);
  assert.deepEqual([echoed.binary, echoed.data.toString()], [false, 'hello over tls']);
  const big = Buffer.alloc(200_000, 0x5a);
  ws.send(big);
  const bigEcho = await inbox.next(3000);
  assert.equal(bigEcho.binary, true);
  assert.ok(bigEcho.data.equals(big));
});

test('a plain TCP client speaking HTTP to a wss server gets no WebSocket and the server keeps serving', async (t) => {
  const instance = await wssEcho(t, CA_SIGNED);
  await assert.rejects(within(connect(`ws://127.0.0.1:${portOf(instance)}/`, {}, { timeout: 1000 }), 3000, 'plain connect'));
  await assertEchoes(`wss://localhost:${portOf(instance)}/`, { tls: { ca: CA } });
});

test('lentMessages over TLS: long messages, split across reads, echo intact (its reads and writes stay Node\'s, through TLS)', async (t) => {
  const instance = await server(
    'wss://127.0.0.1:0/',
    (peer) => {
      peer.onMessage((message) => {
        peer.send(message);
      });
    },
    { tls: CA_SIGNED, lentMessages: true, maxPayload: 4 * 1024 * 1024 },
  );
  defer(t, () => instance.close(500));
  const client = await within(connect(`wss://localhost:${portOf(instance)}/`, {}, { tls: { ca: CA }, maxPayload: 4 * 1024 * 1024 }), 3000, 'connect');
  defer(t, () => client.close());
  for (let i = 0; i < 8; i++) {
    const bytes = new Uint8Array(300_000 + i * 50_000).map((_, j) => (j * 31 + i) & 0xff);
    await client.write(bytes);
    const echoed = await client.read(5000);
    assert.ok(echoed !== null && echoed.data instanceof Uint8Array, `echo ${i}`);
    assert.ok(Buffer.from(echoed.data).equals(Buffer.from(bytes)), `echo ${i} differs`);
  }
});

test('a client that opens TCP and never starts TLS is dropped after the handshake timeout (not Node\'s 120 s)', async (t) => {
  const instance = await server('wss://127.0.0.1:0/', () => {}, { tls: CA_SIGNED, timeout: 300 });
  defer(t, () => instance.close(500));
  const silent = await rawConnect(portOf(instance));
  defer(t, () => silent.destroy());
  silent.on('error', () => {});
  await within(once(silent, 'close'), 3000, 'the silent client is dropped');
});

test('Server.close ends a client still before its TLS handshake rather than waiting for it', async () => {
  const instance = await server('wss://127.0.0.1:0/', () => {}, { tls: CA_SIGNED });
  const silent = await rawConnect(portOf(instance));
  silent.on('error', () => {});
  await sleep(50);
  const gone = once(silent, 'close');
  await within(instance.close(3000), 1000, 'Server.close with a client still before TLS');
  await within(gone, 1000, 'the client before TLS is ended');
});

test('sockets still in their TLS handshake count against maxConnections: one over the limit is dropped', async (t) => {
  const instance = await server('wss://127.0.0.1:0/', () => {}, { tls: CA_SIGNED, maxConnections: 1 });
  defer(t, () => instance.close(500));
  const silent = await rawConnect(portOf(instance));
  defer(t, () => silent.destroy());
  silent.on('error', () => {});
  await sleep(50);
  await assert.rejects(within(connect(instance.url, {}, { tls: { ca: CA } }), 3000, 'a second client'));
  // The first one leaves: its slot is free again.
  silent.destroy();
  await sleep(50);
  const client = await within(connect(instance.url.replace('127.0.0.1', 'localhost'), {}, { tls: { ca: CA } }), 3000, 'a client after it');
  client.close();
});

test('over wss, the handshake timeout counts from the TCP connection: a slow TLS handshake leaves the request head only the rest of it', async (t) => {
  const instance = await server('wss://127.0.0.1:0/', () => {}, { tls: CA_SIGNED, timeout: 1000 });
  defer(t, () => instance.close(500));
  const tcp = await rawConnect(portOf(instance));
  defer(t, () => tcp.destroy());
  tcp.on('error', () => {});
  const started = performance.now();
  await sleep(600); // each stage within 1000 ms, together past it
  const secure = tlsConnect({ socket: tcp, ca: readFileSync(CA), servername: 'localhost' });
  secure.on('error', () => {});
  await within(once(secure, 'secureConnect'), 2000, 'TLS');
  let answered = '';
  secure.on('data', (chunk: Buffer) => (answered += chunk.toString('latin1')));
  const closed = once(secure, 'close');
  await sleep(600);
  secure.write(requestText(upgradeLines('/', 'localhost')));
  await within(closed, 3000, 'the socket closed');
  assert.equal(answered, '', 'no 101 after the deadline');
  // Deadlines of request heads are checked every 250 ms.
  assert.ok(performance.now() - started < 1500, `closed after ${Math.round(performance.now() - started)} ms`);
});

test('a wss:// server with onRequest serves HTTPS and wss:// on one port, a kept-alive HTTPS connection upgrading later included', async (t) => {
  const instance = await server('wss://127.0.0.1:0/', (peer) => peer.onMessage((message) => void peer.send(message)), {
    tls: CA_SIGNED,
    onRequest: (request, response) => response.end(`secure ${request.url}`),
  });
  defer(t, () => instance.close(500));
  const socket = tlsConnect({ host: '127.0.0.1', port: portOf(instance), ca: readFileSync(CA), servername: 'localhost' });
  defer(t, () => socket.destroy());
  await within(once(socket, 'secureConnect'), 3000, 'TLS');
  let received = '';
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => (received += chunk));
  socket.write(requestText(['GET /page HTTP/1.1', 'Host: localhost']));
  await waitFor(() => received.endsWith('secure /page'), 3000, 'the HTTPS answer');
  assert.match(received, /^HTTP\/1\.1 200 /);
  received = '';
  socket.write(requestText(upgradeLines('/', 'localhost')));
  await waitFor(() => received.includes('\r\n\r\n'), 3000, 'the 101');
  assert.match(received, /^HTTP\/1\.1 101 /);
  await assertEchoes(instance.url.replace('127.0.0.1', 'localhost'), { tls: { ca: CA } });
});
