/**
 * The Autobahn testee client against a small stand-in for the suite's fuzzingserver (our
 * own server, speaking its three requests): the sequence of requests, the echo, and a case
 * whose connection fails being reported rather than skipped.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { test, type TestContext } from 'node:test';

import { runAutobahnClient } from '../../src/cli/autobahn-client.ts';
import { server, TimeoutError } from '../../src/index.ts';
import { acceptFor, closedPort, defer, LOCALHOST, sleep, waitFor, within } from '../peer/helpers.ts';

test('the testee client asks for the case count, runs every case in order echoing what it gets, then asks for the reports; a case it cannot connect for is reported', async (t) => {
  const { url, requests, offers, echoed } = await fakeSuite(t, { count: 4, refused: 3, echo: true });
  const run = await runAutobahnClient({ url, agent: 'we test' });
  assert.equal(run.count, 4);
  assert.deepEqual(run.failed.map(({ index }) => index), [3]);
  assert.deepEqual(requests, ['/getCaseCount', '/runCase?case=1&agent=we%20test', '/runCase?case=2&agent=we%20test', '/runCase?case=4&agent=we%20test', '/updateReports?agent=we%20test']);
  assert.deepEqual(echoed, ['case 1', 'case 2', 'case 4']);
  // Deflate is offered by default, with context takeover, for the suite's 12.* and 13.* cases.
  assert.equal(offers.length, 3);
  for (const offer of offers) assert.match(offer, /^permessage-deflate/);
});

test('a suite that upgrades but never sends the case count ends the run with a TimeoutError, its connection closed', async (t) => {
  const suite = await server(`ws://${LOCALHOST}:0`, () => {});
  defer(t, () => suite.close(500));
  await assert.rejects(within(runAutobahnClient({ url: suite.url, agent: 'we test', answerTimeout: 100 }), 3000, 'the run'), TimeoutError);
  await waitFor(() => suite.peers.size === 0, 1000, 'our side closes the connection');
});

test('a case whose connection the suite never closes fails at caseTimeout, and the run goes on', async (t) => {
  const requests: string[] = [];
  const suite = await server(`ws://${LOCALHOST}:0`, async (peer) => {
    const path = peer.handshake.path;
    requests.push(path);
    if (path === '/getCaseCount') await peer.write('2');
    if (path.includes('case=1&')) return; // never closes
    await peer.shutdown(1000);
  });
  defer(t, () => suite.close(500));
  const run = await within(runAutobahnClient({ url: suite.url, agent: 'a', caseTimeout: 200 }), 5000, 'the run');
  assert.deepEqual(run.failed.map(({ index, error }) => [index, error instanceof TimeoutError]), [[1, true]]);
  assert.deepEqual(requests, ['/getCaseCount', '/runCase?case=1&agent=a', '/runCase?case=2&agent=a', '/updateReports?agent=a']);
});

test('a suite not listening yet (a port Docker publishes before the suite is up) is asked again until it answers, within answerTimeout; one that never listens fails the run', async (t) => {
  const port = await closedPort();
  const started = within(runAutobahnClient({ url: `ws://${LOCALHOST}:${port}`, agent: 'late' }), 10_000, 'the run');
  started.catch(() => {}); // a run that fails early fails at its await below, its server still closed after
  await sleep(1200); // two or three refused tries
  const suite = await server(`ws://${LOCALHOST}:${port}`, async (peer) => {
    if (peer.handshake.path === '/getCaseCount') await peer.write('1');
    await peer.shutdown(1000);
  });
  defer(t, () => suite.close(500));
  assert.equal((await started).count, 1);
  const never = await closedPort();
  await assert.rejects(within(runAutobahnClient({ url: `ws://${LOCALHOST}:${never}`, agent: 'none', answerTimeout: 1200 }), 5000, 'the run'), { code: 'ECONNREFUSED' });
});

test('a suite whose first answer is no case count ends the run with the reason: a count that is not a number, or a close with no message', async (t) => {
  const answers: Array<string | null> = ['many', null];
  const suite = await server(`ws://${LOCALHOST}:0`, async (peer) => {
    const answer = answers.shift();
    if (typeof answer === 'string') await peer.write(answer);
    await peer.shutdown(1000);
  });
  defer(t, () => suite.close(500));
  await assert.rejects(within(runAutobahnClient({ url: suite.url, agent: 'a' }), 5000, 'the run'), /the fuzzing server reported "many" cases/);
  await assert.rejects(within(runAutobahnClient({ url: suite.url, agent: 'a' }), 5000, 'the run'), /no case count from ws:\/\/.*\/getCaseCount/);
});

test('a case that drops its connection while a long echo is still being written: the refused echo is no failure, and the run goes on', async (t) => {
  // 32 MiB outgrows the loopback socket buffers: when the first bytes of its echo come back,
  // most of the echo still waits in the client, and the connection is dropped under it.
  const size = 32 * 1024 * 1024;
  const paths: string[] = [];
  const suite = createNetServer((socket) => {
    socket.on('error', () => {});
    let head = '';
    let path = '';
    socket.on('data', (chunk: Buffer) => {
      if (head.includes('\r\n\r\n')) return void (path.startsWith('/runCase?') ? socket.destroy() : socket.end());
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      path = /^GET (\S+)/.exec(head)![1]!;
      paths.push(path);
      const key = /^sec-websocket-key:\s*(\S+)/im.exec(head)![1]!;
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(key)}\r\n\r\n`);
      const close = Buffer.from([0x88, 0x02, 0x03, 0xe8]); // 1000, answered by the client's close
      if (path === '/getCaseCount') socket.write(Buffer.concat([Buffer.from([0x81, 0x01]), Buffer.from('2'), close]));
      else if (!path.startsWith('/runCase?')) socket.write(close);
      else {
        const header = Buffer.from([0x82, 127, 0, 0, 0, 0, 0, 0, 0, 0]);
        header.writeUInt32BE(size, 6);
        socket.write(Buffer.concat([header, Buffer.alloc(size)]));
      }
    });
  }).listen(0, LOCALHOST);
  await once(suite, 'listening');
  defer(t, () => new Promise<void>((resolve) => suite.close(() => resolve())));
  const port = (suite.address() as AddressInfo).port;
  const run = await within(runAutobahnClient({ url: `ws://${LOCALHOST}:${port}`, agent: 'a', deflate: false, maxPayload: size }), 10_000, 'the run');
  assert.deepEqual(run, { count: 2, failed: [] });
  assert.deepEqual(paths, ['/getCaseCount', '/runCase?case=1&agent=a', '/runCase?case=2&agent=a', '/updateReports?agent=a']);
});

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

test('wspeer autobahn-client, the command: --no-deflate offers no compression, a failed case is named on stderr and the exit status is 1, the reports still asked for', async (t) => {
  const { url, requests, offers } = await fakeSuite(t, { count: 2, refused: 2, echo: false });
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'autobahn-client', '--url', url, '--agent', 'cli', '--no-deflate'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  defer(t, () => child.kill('SIGKILL'));
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const [code] = (await within(once(child, 'exit'), 15_000, 'wspeer autobahn-client to exit')) as [number];
  assert.equal(code, 1, stderr);
  assert.match(stderr, /^case 2 failed: /m);
  assert.match(stdout, /\ncases: 2\nreports updated for agent cli\n$/);
  assert.deepEqual(requests, ['/getCaseCount', '/runCase?case=1&agent=cli', '/updateReports?agent=cli']);
  assert.deepEqual(offers, ['']);
});

/**
 * A stand-in for the fuzzing server's testee protocol: answers the case count, runs each
 * case (sending `case N` and reading the echo back, with `echo`), refuses the `refused`
 * case's upgrade as if it could not be answered, and records the paths asked for and the
 * extensions offered for the cases. It enables deflate, so that an offer could be taken.
 */
async function fakeSuite(t: TestContext, { count, refused, echo }: { count: number; refused: number; echo: boolean }) {
  const requests: string[] = [];
  const offers: string[] = [];
  const echoed: string[] = [];
  const suite = await server(
    `ws://${LOCALHOST}:0`,
    async (peer) => {
      const path = peer.handshake.path;
      requests.push(path);
      if (path.startsWith('/runCase?')) offers.push(peer.handshake.headers['sec-websocket-extensions'] ?? '');
      if (path === '/getCaseCount') {
        await peer.write(String(count));
      } else if (echo && path.startsWith('/runCase?')) {
        await peer.write(`case ${new URLSearchParams(path.slice(path.indexOf('?'))).get('case')}`);
        echoed.push(String((await peer.read(2000))?.data));
      }
      await peer.shutdown(1000);
    },
    { deflate: true, verify: ({ path }) => (path.includes(`case=${refused}&`) ? { status: 400 } : true) },
  );
  defer(t, () => suite.close(500));
  return { url: suite.url, requests, offers, echoed };
}
