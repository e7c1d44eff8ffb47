/**
 * A process that finishes a peer the documented way (`server.close`, `shutdown`, `abort`)
 * waits for that to settle, within its timeout, even when nothing else holds it: a peer
 * whose reading is paused (unread messages over the high-water mark) is no active handle,
 * so only the closing's own deadline keeps the process until the socket is gone. Each case
 * runs test/fixtures/paused-finish.ts in a process of its own.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';

import { clientFrame, defer, LOCALHOST, rawAcceptUpgrade, rawUpgrade, waitFor, within } from './helpers.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/paused-finish.ts', import.meta.url));
/** More than the fixture's 16 KiB high-water mark, in messages it never reads. */
const FLOOD = 20;
const MESSAGE = 20_000;

interface Run {
  output: () => string;
  exited: Promise<[number | null, NodeJS.Signals | null]>;
}

function runFixture(t: TestContext, args: string[]): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  defer(t, () => child.kill());
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => (output += text));
  return { output: () => output, exited: once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]> };
}

/** A raw server (in this process) that upgrades the fixture's client, floods it with unread messages, then answers nothing. */
async function floodingServer(t: TestContext): Promise<number> {
  const sockets = new Set<Socket>();
  const listener = createServer((socket) => {
    sockets.add(socket);
    void rawAcceptUpgrade(socket).then(() => {
      socket.resume(); // reads the close frame, answers nothing, never ends its side
      const header = Buffer.from([0x82, 126, MESSAGE >> 8, MESSAGE & 0xff]);
      for (let i = 0; i < FLOOD; i++) socket.write(Buffer.concat([header, Buffer.alloc(MESSAGE, 1)]));
    });
  });
  listener.listen(0, LOCALHOST);
  await once(listener, 'listening');
  defer(t, () => {
    for (const socket of sockets) socket.destroy();
    listener.close();
  });
  return (listener.address() as AddressInfo).port;
}

async function finishes(run: Run, ms: number): Promise<void> {
  const [code, signal] = await within(run.exited, ms, 'the fixture process');
  assert.equal(signal, null);
  assert.equal(code, 0, `the process exited with ${code} before its finish settled; it printed ${JSON.stringify(run.output())}`);
  assert.match(run.output(), /paused\ndone\n$/);
}

test('server.close() with a peer whose reading is paused: the process waits for close() to resolve, by its timeout', async (t) => {
  const run = runFixture(t, ['server-close']);
  await waitFor(() => /port \d+\n/.test(run.output()), 10_000, 'the fixture listening');
  const port = Number(/port (\d+)\n/.exec(run.output())![1]);
  const { socket } = await rawUpgrade(port);
  defer(t, () => socket.destroy());
  socket.resume(); // reads the close frame, answers nothing, never ends its side
  for (let i = 0; i < FLOOD; i++) socket.write(clientFrame(2, new Uint8Array(MESSAGE)));
  await finishes(run, 10_000);
});

test('peer.shutdown(timeout) on a client whose reading is paused: the process waits for it to resolve', async (t) => {
  const run = runFixture(t, ['client-shutdown', String(await floodingServer(t))]);
  await finishes(run, 10_000);
});

test('peer.abort() on a client whose reading is paused: the process waits for whenClosed(), by closeTimeout', async (t) => {
  const run = runFixture(t, ['client-abort', String(await floodingServer(t))]);
  await finishes(run, 10_000);
});
