/**
 * `wspeer connect`: its options, how it prints messages, and whole sessions against real
 * servers over loopback, in process (with streams for its input and output) and as the
 * command a user runs.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { test, type TestContext } from 'node:test';

import { server, type ConnectionHandlerFunction, type ServerOptions } from '../../src/index.ts';
import { ArgumentError, parseArgs } from '../../src/cli/args.ts';
import { connectSettings, formatMessage, runClient, type ClientStreams } from '../../src/cli/connect.ts';
import { closedPort, defer, LOCALHOST, rawAcceptUpgrade, waitFor, within } from '../peer/helpers.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

function settingsOf(...argv: string[]): ReturnType<typeof connectSettings> {
  return connectSettings(parseArgs(['connect', ...argv]));
}

test('connect settings: the echo server of serve by default, a comma list of subprotocols, TLS trust, and a URL that is no WebSocket URL refused', () => {
  assert.deepEqual(settingsOf(), { url: 'ws://127.0.0.1:9001/', options: { deflate: false, pingFrequency: 0 } });
  assert.deepEqual(settingsOf('--url', 'wss://example.com/feed', '--protocol', 'superchat, chat', '--origin', 'https://example.com', '--deflate', '--ca', 'ca.pem', '--ping-frequency', '5000'), {
    url: 'wss://example.com/feed',
    options: { protocols: ['superchat', 'chat'], origin: 'https://example.com', deflate: true, pingFrequency: 5000, tls: { ca: 'ca.pem', allowSelfSigned: false } },
  });
  assert.deepEqual(settingsOf('--allow-self-signed').options.tls, { allowSelfSigned: true });
  // --header may repeat; a name given twice sends both values.
  assert.deepEqual(settingsOf('--header', 'Authorization: Bearer abc', '--header=X-Tag: one', '--header', 'x-tag:two').options.headers, {
    Authorization: ['Bearer abc'],
    'X-Tag': ['one', 'two'],
  });
  for (const bad of [['--header'], ['--header', 'no colon'], ['--header', ': no name']]) {
    assert.throws(() => settingsOf(...bad), (error: unknown) => error instanceof ArgumentError && /--header needs "Name: value"/.test(error.message), bad.join(' '));
  }
  assert.throws(() => settingsOf('--url', 'http://127.0.0.1:9001/'), (error: unknown) => error instanceof ArgumentError && /ws:\/\/ or wss:\/\//.test(error.message));
});

test('a message prints as one line: text as it is, binary as its length and at most 64 bytes in hex', () => {
  assert.equal(formatMessage({ opcode: 1, fin: true, data: 'héllo' }), 'héllo');
  assert.equal(formatMessage({ opcode: 2, fin: true, data: Uint8Array.of(0, 0x0f, 0xff) }), '[binary, 3 bytes] 00 0f ff');
  assert.equal(formatMessage({ opcode: 2, fin: true, data: new Uint8Array(0) }), '[binary, 0 bytes]');
  const long = formatMessage({ opcode: 2, fin: true, data: new Uint8Array(65).fill(0xab) });
  assert.equal(long, `[binary, 65 bytes] ${Array(64).fill('ab').join(' ')} …`);
});

/** Streams for one in-process session: its input to write lines into, what it printed and reported. */
function sessionStreams(): ClientStreams & { input: PassThrough; printed: () => string; reported: () => string } {
  const streams = { input: new PassThrough(), output: new PassThrough(), report: new PassThrough() };
  let printed = '';
  let reported = '';
  streams.output.setEncoding('utf8').on('data', (chunk: string) => (printed += chunk));
  streams.report.setEncoding('utf8').on('data', (chunk: string) => (reported += chunk));
  return { ...streams, printed: () => printed, reported: () => reported };
}

async function serve(t: TestContext, handler: ConnectionHandlerFunction, options: ServerOptions = {}): Promise<string> {
  const instance = await server('ws://127.0.0.1:0/', handler, options);
  defer(t, () => instance.close(500));
  return instance.url;
}

test('a session: each input line goes out as a text message, each message comes back printed in order, and the end of the input closes with 1000', async (t) => {
  const url = await serve(t, (peer) => peer.onMessage((message) => void peer.send(message)));
  const streams = sessionStreams();
  const status = runClient({ url, options: {} }, streams);
  streams.input.write('one\ntwo\r\n');
  await waitFor(() => streams.printed() === 'one\ntwo\n', 5000, 'the echoes of two lines');
  streams.input.end('three\n');
  assert.equal(await within(status, 5000, 'the session to end'), 0);
  // The echo of the last line came before the server's answer to our close, and is printed.
  assert.equal(streams.printed(), 'one\ntwo\nthree\n');
  assert.equal(streams.reported(), `connected to ${url}\nclosed: 1000\n`);
});

test('a session sends the headers given with --header, and a field the handshake sets itself is refused before connecting', async (t) => {
  const seen: Array<Readonly<Record<string, string>>> = [];
  const url = await serve(t, (peer) => {
    seen.push(peer.handshake.headers);
    void peer.shutdown(1000);
  });
  const streams = sessionStreams();
  const settings = settingsOf('--url', url, '--header', 'Authorization: Bearer abc', '--header', 'X-Tag: one', '--header', 'x-tag: two');
  assert.equal(await within(runClient(settings, streams), 5000, 'the session to end'), 0);
  assert.equal(seen[0]?.authorization, 'Bearer abc');
  assert.equal(seen[0]?.['x-tag'], 'one, two');

  const managed = settingsOf('--url', url, '--header', 'Sec-WebSocket-Key: x');
  await assert.rejects(runClient(managed, sessionStreams()), /Sec-WebSocket-Key/i);
  assert.equal(seen.length, 1, 'no connection was made');
});

test('a session reports the subprotocol and the extension agreed, and prints binary messages in hex', async (t) => {
  const url = await serve(t, (peer) => void peer.send(Uint8Array.of(1, 2, 3)), { protocols: ['chat'], deflate: true });
  const streams = sessionStreams();
  const status = runClient({ url, options: { protocols: ['superchat', 'chat'], deflate: true } }, streams);
  await waitFor(() => streams.printed() !== '', 5000, 'the binary message');
  streams.input.end();
  assert.equal(await within(status, 5000, 'the session to end'), 0);
  assert.equal(streams.printed(), '[binary, 3 bytes] 01 02 03\n');
  assert.match(streams.reported(), /^connected to ws:\/\/127\.0\.0\.1:\d+\/, protocol chat, extensions permessage-deflate/);
});

test("a server's close ends the session with its code and reason, status 0, while the input is still open", async (t) => {
  const url = await serve(t, (peer) => peer.onMessage(() => void peer.shutdown(4001, 'enough')));
  const streams = sessionStreams();
  const status = runClient({ url, options: {} }, streams);
  streams.input.write('hello\n');
  assert.equal(await within(status, 5000, 'the session to end'), 0);
  assert.equal(streams.printed(), '');
  assert.match(streams.reported(), /\nclosed: 4001 "enough"\n$/);
});

test('a connection dropped without a closing handshake ends the session with 1006 and status 1', async (t) => {
  const url = await serve(t, (peer) => peer.onMessage(() => peer.close()));
  const streams = sessionStreams();
  const status = runClient({ url, options: {} }, streams);
  streams.input.write('hello\n');
  assert.equal(await within(status, 5000, 'the session to end'), 1);
  assert.match(streams.reported(), /\nclosed: 1006/);
});

test('a server that breaks the protocol: the session fails with 1006 and the report says why, status 1', async (t) => {
  // A raw server that sends a frame of a reserved opcode (§5.2), then answers the client's close.
  const raw = createNetServer((socket) => {
    void rawAcceptUpgrade(socket).then(() => {
      socket.write(Buffer.from([0x83, 0x00]));
      socket.resume();
      socket.once('data', () => socket.end(Buffer.from([0x88, 0x02, 0x03, 0xea]))); // 1002
    });
  }).listen(0, LOCALHOST);
  await once(raw, 'listening');
  defer(t, () => new Promise<void>((resolve) => raw.close(() => resolve())));
  const streams = sessionStreams();
  const status = runClient({ url: `ws://${LOCALHOST}:${(raw.address() as AddressInfo).port}/`, options: {} }, streams);
  assert.equal(await within(status, 5000, 'the session to end'), 1);
  assert.match(streams.reported(), /\nclosed: 1006 \(reserved opcode 0x3 \(RFC 6455 §5\.2\)\)\n$/);
});

test('a connection dropped while a long line is still being written: the refused write ends the session as the drop does, 1006 and status 1', async (t) => {
  // 32 MiB outgrows the loopback socket buffers: when its first bytes arrive, most of the
  // line still waits in the client, and the server drops the connection under that write.
  const raw = createNetServer((socket) => {
    void rawAcceptUpgrade(socket).then(() => {
      socket.once('data', () => socket.destroy());
      socket.resume();
    });
  }).listen(0, LOCALHOST);
  await once(raw, 'listening');
  defer(t, () => new Promise<void>((resolve) => raw.close(() => resolve())));
  const streams = sessionStreams();
  const status = runClient({ url: `ws://${LOCALHOST}:${(raw.address() as AddressInfo).port}/`, options: {} }, streams);
  streams.input.write(`${'x'.repeat(32 * 1024 * 1024)}\n`);
  assert.equal(await within(status, 5000, 'the session to end'), 1);
  assert.match(streams.reported(), /\nclosed: 1006\n$/);
});

/** Start `wspeer connect` with these arguments, its stdin a pipe. */
function startConnect(args: readonly string[]): { child: ReturnType<typeof spawn>; output: () => { stdout: string; stderr: string } } {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'connect', ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return { child, output: () => ({ stdout, stderr }) };
}

test('wspeer connect, the command: lines piped in come back on stdout, and it exits 0 when its input ends', async (t) => {
  const url = await serve(t, (peer) => peer.onMessage((message) => void peer.send(message)));
  const { child, output } = startConnect(['--url', url]);
  defer(t, () => child.kill('SIGKILL'));
  const exited = once(child, 'exit');
  child.stdin!.end('ping\npong\n');
  const [code] = (await within(exited, 15_000, 'wspeer connect to exit')) as [number];
  assert.equal(code, 0, output().stderr);
  assert.equal(output().stdout, 'ping\npong\n');
  assert.match(output().stderr, /closed: 1000\n$/);
});

test('wspeer connect, the command: SIGINT closes with 1000 and exits 0; a refused connection exits 1 with the reason', async (t) => {
  const closeCodes: number[] = [];
  const url = await serve(t, async (peer) => {
    await peer.whenClosed();
    closeCodes.push(peer.closeCode);
  });
  const { child, output } = startConnect(['--url', url]);
  defer(t, () => child.kill('SIGKILL'));
  const exited = once(child, 'exit');
  await waitFor(() => output().stderr.includes('connected to'), 15_000, 'wspeer connect to connect');
  child.kill('SIGINT');
  const [code] = (await within(exited, 15_000, 'wspeer connect to exit')) as [number];
  assert.equal(code, 0, output().stderr);
  await waitFor(() => closeCodes.length === 1, 5000, 'the server to see the close');
  assert.deepEqual(closeCodes, [1000]);

  const refused = startConnect(['--url', `ws://127.0.0.1:${await closedPort()}/`]);
  const [refusedCode] = (await within(once(refused.child, 'exit'), 15_000, 'a refused wspeer connect to exit')) as [number];
  assert.equal(refusedCode, 1);
  assert.match(refused.output().stderr, /^wspeer: connect ECONNREFUSED/m);
});
