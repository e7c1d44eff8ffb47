/**
 * The `wspeer serve` command as a child process: it prints the URL it listens on, echoes,
 * enforces `--max-payload` (1009, §7.4.1) and exits cleanly on SIGTERM.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { test, type TestContext } from 'node:test';

import { connect } from '../../src/index.ts';
import { ArgumentError, parseArgs } from '../../src/cli/args.ts';
import { serveSettings } from '../../src/cli/serve.ts';
import { defer, within, readPlain } from '../peer/helpers.ts';
import { closeWs, wsClient } from '../peer/ws-helpers.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/tls/${name}`, import.meta.url));

interface Running {
  child: ChildProcess;
  url: string;
  output: () => string;
}

/** Start `serve` with these arguments and wait for the line with its URL. */
async function startServe(t: TestContext, args: string[]): Promise<Running> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve', '--host', '127.0.0.1', '--port', '0', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  defer(t, () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const url = await within(
    new Promise<string>((resolve, reject) => {
      const check = (): void => {
        const match = /listening on (wss?:\/\/\S+)/.exec(output);
        if (match) resolve(match[1]!);
      };
      child.stdout!.on('data', check);
      child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${output}`)));
    }),
    15_000,
    'serve prints its URL',
  );
  return { child, url, output: () => output };
}

async function stop(running: Running, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  const exited = once(running.child, 'exit');
  running.child.kill(signal);
  const [code] = (await within(exited, 5000, `serve exits on ${signal}`)) as [number | null];
  return code;
}

test('wspeer serve --port 0 prints the ws:// URL with the port it got, echoes text and binary, and exits 0 on SIGTERM', async (t) => {
  const running = await startServe(t, []);
  assert.match(running.url, /^ws:\/\/127\.0\.0\.1:(\d+)\/$/);
  const port = Number(/:(\d+)\/$/.exec(running.url)![1]);
  assert.ok(port > 0, 'a real port, not 0');

  const client = await connect(running.url);
  await client.write('echo me');
  assert.deepEqual(await readPlain(client, 3000), { opcode: 1, fin: true, data: 'echo me' });
  const bytes = new Uint8Array(70_000).map((_, i) => (i * 31) & 0xff);
  await client.write(bytes);
  const echoed = await client.read(3000);
  assert.ok(echoed !== null && echoed.data instanceof Uint8Array);
  assert.ok(Buffer.from(echoed.data).equals(Buffer.from(bytes)));

  const { ws, inbox } = await wsClient(running.url);
  ws.send('from ws');
  assert.equal((await inbox.next(3000)).data.toString(), 'from ws');

  // SIGTERM closes the open connections with 1001 and exits 0.
  const wsClosed = once(ws, 'close');
  assert.equal(await stop(running), 0);
  assert.equal(await client.read(2000), null);
  assert.equal(client.closeCode, 1001);
  const [wsCode] = (await within(wsClosed, 2000, 'ws sees the close')) as [number];
  assert.equal(wsCode, 1001);
  await closeWs(ws);
});

test('wspeer serve --max-payload closes a connection that sends a larger message with 1009 (§7.4.1)', async (t) => {
  const running = await startServe(t, ['--max-payload', '1000']);
  const client = await connect(running.url);
  defer(t, () => client.close());
  await client.write('x'.repeat(1000));
  assert.deepEqual(await readPlain(client, 3000), { opcode: 1, fin: true, data: 'x'.repeat(1000) });
  await client.write(new Uint8Array(1001));
  assert.equal(await client.read(3000), null);
  assert.equal(client.closeCode, 1009);
  // The server keeps serving others.
  const other = await connect(running.url);
  await other.write('fine');
  assert.deepEqual(await readPlain(other, 3000), { opcode: 1, fin: true, data: 'fine' });
  other.close();
  assert.equal(await stop(running), 0);
});

test('wspeer with an unknown command prints the usage and exits 2; with no command at all, the usage and exit 0', async () => {
  const { code, stderr } = await runToExit(['frobnicate']);
  assert.equal(code, 2);
  assert.match(stderr, /usage:/);
  const bare = await runToExit([]);
  assert.equal(bare.code, 0);
  assert.match(bare.stderr, /usage:/);
});

/** Run `wspeer` with `args` to its exit: its code and what it wrote. */
async function runToExit(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = within(once(child, 'exit'), 15_000, 'exit');
  // A command line that is wrongly accepted starts a server: stop it, and let the test fail.
  exited.catch(() => child.kill('SIGKILL'));
  const [code] = (await exited) as [number];
  return { code, stdout, stderr };
}

test('wspeer refuses an option its command does not take, a flag given a value, and a value out of range, with exit 2 and the reason', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['serve', '--max-paylod', '10'], /unknown option --max-paylod; this command takes --host, --port/],
    [['serve', '--deflate', 'false'], /--deflate takes no value, got false/],
    [['serve', '--port', 'abc'], /--port needs a whole number, got "abc"/],
    [['autobahn-client', '--agnet', 'x'], /unknown option --agnet/],
    // Well-formed numbers that the options refuse.
    [['serve', '--max-payload', '0'], /--max-payload must be at least 1 byte/],
    [['serve', '--port', '70000'], /--port must be from 0 to 65535, got 70000/],
    [['serve', '--ping-frequency', '9999999999'], /pingFrequency must be a number of milliseconds/],
    // A second word is not taken for the command's value: `serve 9001` is not `--port 9001`.
    [['serve', '9001'], /unexpected argument: 9001/],
  ];
  for (const [args, reason] of cases) {
    const { code, stderr } = await runToExit(args);
    assert.equal(code, 2, args.join(' '));
    assert.match(stderr, reason);
  }
  const help = await runToExit(['serve', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /usage:/);
});

test("serve's settings refuse what Number would bend into a value: an empty or non-decimal number, a value-less TLS file, a path without its slash", () => {
  const settingsOf = (...argv: string[]): ReturnType<typeof serveSettings> => serveSettings(parseArgs(['serve', ...argv]).options);
  const refusals: Array<[string[], RegExp]> = [
    [['--port='], /--port needs a whole number, got ""/],
    [['--port', ' '], /--port needs a whole number, got " "/],
    [['--port', '0x10'], /--port needs a whole number, got "0x10"/],
    [['--port', '1e3'], /--port needs a whole number, got "1e3"/],
    [['--ping-frequency='], /--ping-frequency needs a whole number/],
    [['--port'], /--port needs a whole number, got nothing/],
    [['--tls-cert', '--tls-key', 'key.pem'], /--tls-cert needs a value/],
    [['--tls-cert', 'cert.pem'], /--tls-cert and --tls-key go together/],
    [['--path', 'nopath'], /--path must start with \/, got nopath/],
  ];
  for (const [argv, reason] of refusals) assert.throws(() => settingsOf(...argv), (error: unknown) => error instanceof ArgumentError && reason.test(error.message), argv.join(' '));
  assert.equal(settingsOf('--port', '0').port, 0);
  assert.equal(settingsOf('--port', '08080').port, 8080);
  // The bounds themselves are taken.
  assert.equal(settingsOf('--port', '65535').port, 65535);
  assert.throws(() => settingsOf('--port', '65536'), /--port must be from 0 to 65535, got 65536/);
  assert.equal(settingsOf('--max-payload', '1').options.maxPayload, 1);
  // By default: loopback only (nothing reachable from elsewhere unless asked), on 9001.
  const defaults = settingsOf();
  assert.deepEqual([defaults.host, defaults.port, defaults.path, defaults.options.maxPayload, defaults.options.pingFrequency], ['127.0.0.1', 9001, '/', 64 * 1024 * 1024, 0]);
  assert.deepEqual(settingsOf('--tls-cert', 'c.pem', '--tls-key', 'k.pem').options.tls, { cert: 'c.pem', key: 'k.pem' });
});

test('wspeer serve --lent-messages lends each message to the echo (lentMessages), and long ones still come back whole', async (t) => {
  const settingsOf = (...argv: string[]): ReturnType<typeof serveSettings> => serveSettings(parseArgs(['serve', ...argv]).options);
  assert.equal(settingsOf('--lent-messages').options.lentMessages, true);
  assert.equal(settingsOf().options.lentMessages, false);
  const running = await startServe(t, ['--lent-messages']);
  const client = await connect(running.url);
  defer(t, () => client.close());
  for (const size of [10, 70_000, 300_000]) {
    const bytes = new Uint8Array(size).map((_, i) => (i * 7 + size) & 0xff);
    await client.write(bytes);
    const echoed = await client.read(3000);
    assert.ok(echoed !== null && Buffer.from(echoed.data as Uint8Array).equals(Buffer.from(bytes)), `${size} bytes`);
  }
  assert.equal(await stop(running), 0);
});

test('wspeer serve --deflate --context-takeover keeps the compression context when the client allows it (RFC 7692 §7.1.1), and echoes across messages', async (t) => {
  const settingsOf = (...argv: string[]): ReturnType<typeof serveSettings> => serveSettings(parseArgs(['serve', ...argv]).options);
  assert.deepEqual(settingsOf('--deflate', '--context-takeover').options.deflate, { contextTakeover: true });
  assert.equal(settingsOf('--deflate').options.deflate, true);
  assert.throws(() => settingsOf('--context-takeover'), /--context-takeover is a setting of --deflate/);
  const kept = await startServe(t, ['--deflate', '--context-takeover']);
  const client = await connect(kept.url, {}, { deflate: { contextTakeover: true } });
  defer(t, () => client.close());
  assert.equal(client.handshake.extensions, 'permessage-deflate', 'no context dropped by either side');
  for (let i = 0; i < 5; i++) {
    await client.write(`the same words again and again, round ${i}`);
    assert.equal((await client.read(3000))?.data, `the same words again and again, round ${i}`);
  }
  assert.equal(await stop(kept), 0);
  const dropped = await startServe(t, ['--deflate']);
  const other = await connect(dropped.url, {}, { deflate: { contextTakeover: true } });
  defer(t, () => other.close());
  assert.match(other.handshake.extensions, /server_no_context_takeover/);
  assert.equal(await stop(dropped), 0);
});

test('wspeer serve --tls-cert --tls-key listens on wss://, and a client trusting the CA gets its echo', async (t) => {
  const running = await startServe(t, ['--tls-cert', fixture('server.pem'), '--tls-key', fixture('server.key')]);
  assert.match(running.url, /^wss:\/\/127\.0\.0\.1:\d+\/$/);
  const client = await connect(running.url, {}, { tls: { ca: fixture('ca.pem') } });
  defer(t, () => client.close());
  await client.write('over tls');
  assert.deepEqual(await readPlain(client, 3000), { opcode: 1, fin: true, data: 'over tls' });
  assert.equal(await stop(running), 0);
});

test('wspeer serve exits 0 on SIGINT (Ctrl-C) as on SIGTERM, closing its connections with 1001', async (t) => {
  const running = await startServe(t, []);
  const client = await connect(running.url);
  defer(t, () => client.close());
  assert.equal(await stop(running, 'SIGINT'), 0);
  assert.equal(await client.read(2000), null);
  assert.equal(client.closeCode, 1001);
});
