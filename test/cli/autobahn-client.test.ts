/**
 * The Autobahn testee client against a small stand-in for the suite's fuzzingserver (our
 * own server, speaking its three requests): the sequence of requests, the echo, and a case
 * whose connection fails being reported rather than skipped.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { runAutobahnClient } from '../../src/cli/autobahn-client.ts';
import { server, TimeoutError } from '../../src/index.ts';
import { closedPort, defer, LOCALHOST, sleep, waitFor, within } from '../peer/helpers.ts';

test('the testee client asks for the case count, runs every case in order echoing what it gets, then asks for the reports; a case it cannot connect for is reported', async (t) => {
  const requests: string[] = [];
  const echoed: string[] = [];
  const suite = await server(
    `ws://${LOCALHOST}:0`,
    async (peer) => {
      const path = peer.handshake.path;
      requests.push(path);
      if (path === '/getCaseCount') {
        await peer.write('4');
      } else if (path.startsWith('/runCase?')) {
        await peer.write(`case ${new URLSearchParams(path.slice(path.indexOf('?'))).get('case')}`);
        const echo = await peer.read(2000);
        echoed.push(String(echo?.data));
      }
      await peer.shutdown(1000);
    },
    // Case 3 is refused, as if its upgrade could not be answered.
    { verify: ({ path }) => (path.includes('case=3&') ? { status: 400 } : true) },
  );
  defer(t, () => suite.close(500));
  const run = await runAutobahnClient({ url: suite.url, agent: 'we test' });
  assert.equal(run.count, 4);
  assert.deepEqual(run.failed.map(({ index }) => index), [3]);
  assert.deepEqual(requests, ['/getCaseCount', '/runCase?case=1&agent=we%20test', '/runCase?case=2&agent=we%20test', '/runCase?case=4&agent=we%20test', '/updateReports?agent=we%20test']);
  assert.deepEqual(echoed, ['case 1', 'case 2', 'case 4']);
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
