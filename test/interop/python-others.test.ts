/**
 * Three more independent implementations as the peer, both ways, plain and compressed
 * (RFC 7692): aiohttp and Tornado, whose frame readers and writers are their own, and
 * wsproto, a sans-I/O implementation (Debian's python3-aiohttp, python3-tornado and
 * python3-wsproto, which CI installs). Each runs `python_others.py`: as a client, the
 * exercise of every length class, then our close; as a server, an echo that closes when
 * asked. wsproto also sends fragments and matches a pong to its ping.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, test, type TestContext } from 'node:test';
import { connect, type Peer } from '../../src/index.ts';
import { asBuffer, defer, patternBytes, sleep, waitFor, within } from '../peer/helpers.ts';
import { exerciseServer, type WhatwgReport } from './whatwg.ts';

const PYTHON = '/usr/bin/python3';
const PEER = fileURLToPath(new URL('./python_others.py', import.meta.url));

/** Why `library` cannot run here, or false when it can. */
function missing(library: string, debianPackage: string): string | false {
  const probe = spawnSync(PYTHON, ['-c', `import ${library}`], { encoding: 'utf8' });
  return probe.status === 0 ? false : `${library} is not installed (apt-get install ${debianPackage}): ${probe.error?.message ?? probe.stderr.trim()}`;
}

/** Lines a child writes to stdout, as they come. */
function lines(child: { stdout: Readable }): string[] {
  const received: string[] = [];
  let partial = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => {
    const parts = (partial + text).split('\n');
    partial = parts.pop()!;
    received.push(...parts);
  });
  return received;
}

/** Run `library`'s client exercise against `url` and return its report. */
async function pythonClient(library: string, url: string, deflate: boolean): Promise<WhatwgReport & { pong?: boolean }> {
  const child = spawn(PYTHON, [PEER, library, 'client', url, ...(deflate ? ['--deflate'] : [])]);
  const output = lines(child);
  let errors = '';
  child.stderr.setEncoding('utf8').on('data', (text: string) => (errors += text));
  const code = await within(new Promise<number | null>((resolve) => child.on('close', resolve)), 60_000, `the ${library} client to finish`).finally(() => child.kill());
  if (code !== 0) throw new Error(`the ${library} client exited with ${code}: ${errors.trim()}`);
  const report = JSON.parse(output[0]!) as Omit<WhatwgReport, 'wasClean'> & { pong?: boolean };
  return { ...report, wasClean: report.closeCode !== 1006 };
}

/** `library`'s echo server; its stdout gives its port, then one line per closed connection. */
async function pythonServer(t: TestContext, library: string, deflate: boolean): Promise<{ url: string; closes(): Array<{ closeCode: number; closeReason: string }> }> {
  const child = spawn(PYTHON, [PEER, library, 'server', ...(deflate ? ['--deflate'] : [])], { stdio: ['pipe', 'pipe', 'inherit'] });
  defer(t, () => {
    child.stdin.end();
    return within(new Promise((resolve) => child.on('close', resolve)), 5000, `the ${library} server to stop`).finally(() => child.kill());
  });
  const output = lines(child);
  await waitFor(() => output.length > 0, 15_000, `the ${library} server to listen`);
  return { url: `ws://127.0.0.1:${output[0]}/`, closes: () => output.slice(1).map((line) => JSON.parse(line)) };
}

/** Write `data` and read its echo. */
async function echoed(peer: Peer, data: string | Uint8Array): Promise<string | Uint8Array> {
  await peer.write(data);
  const message = await peer.read(10_000);
  assert.ok(message !== null, `an echo, not the end of the connection (${peer.closeCode}: ${peer.error?.message ?? 'no error of ours'})`);
  return message.data;
}

/**
 * How each differs. aiohttp answers a close with 1000 rather than echo the code (§5.5.1 says
 * "typically"). Tornado 6.2 reads only the parameters with a value in an extension header,
 * so it never sees the `client_no_context_takeover` our server asks of it by default
 * (RFC 7692 §7.1.1.2) and keeps its compression context: our server must keep its own too.
 */
const LIBRARIES = [
  { library: 'aiohttp', debianPackage: 'python3-aiohttp', fragmentsAndPings: false, answerCode: 1000, contextTakeover: false },
  { library: 'tornado', debianPackage: 'python3-tornado', fragmentsAndPings: false, answerCode: 4001, contextTakeover: true },
  { library: 'wsproto', debianPackage: 'python3-wsproto', fragmentsAndPings: true, answerCode: 4001, contextTakeover: false },
];

for (const { library, debianPackage, fragmentsAndPings, answerCode, contextTakeover } of LIBRARIES) {
  describe(`${library} as the peer (RFC 6455 and RFC 7692 interop)`, { skip: missing(library, debianPackage) }, () => {
    for (const deflate of [false, true]) {
      const label = deflate ? ', compressed' : '';

      test(`its client: every length class${fragmentsAndPings ? ', a fragmented message, a ping' : ''}, and our close with 4001${label}`, async (t) => {
        const echoes = 13 + (fragmentsAndPings ? 1 : 0);
        const { url, check } = await exerciseServer(t, { deflate, client: library, echoes, answerCode, deflateOptions: { contextTakeover } });
        const report = await pythonClient(library, url, deflate);
        if (fragmentsAndPings) assert.equal(report.pong, true, 'the pong carried the ping payload (§5.5.3)');
        check(report);
      });

      test(`its server: every length class${fragmentsAndPings ? ', fragments both ways' : ''}, heartbeat pings, and closes both ways${label}`, async (t) => {
        const { url, closes } = await pythonServer(t, library, deflate);
        const peer = await connect(url, { protocols: ['superchat'] }, { deflate });
        defer(t, () => peer.close());
        assert.equal(peer.handshake.protocol, 'superchat');
        if (deflate) assert.match(peer.handshake.extensions, /^permessage-deflate/);
        else assert.equal(peer.handshake.extensions, '');
        for (const text of ['', 'héllo wörld ✓ 🚀 日本語', 'x'.repeat(125), 'y'.repeat(126), 'z'.repeat(65_536), '{"price": 101.25} '.repeat(50_000)]) {
          assert.equal(await echoed(peer, text), text, `${text.length}-character text`);
        }
        for (const size of [0, 1, 125, 126, 65_535, 65_536, 4 * 1024 * 1024]) {
          const bytes = patternBytes(size, size + 1);
          assert.ok(asBuffer(await echoed(peer, bytes)).equals(bytes), `${size}-byte binary`);
        }
        if (fragmentsAndPings) {
          await peer.write({ opcode: 1, fin: false, data: 'frag' });
          await peer.write({ opcode: 0, fin: false, data: 'men' });
          await peer.write({ opcode: 0, fin: true, data: 'ted' });
          assert.equal((await peer.read(5000))?.data, 'fragmented', 'our fragments, joined');
          assert.equal(await echoed(peer, 'fragments please'), 'fragmented', 'its fragments, joined');
        }
        assert.equal(await peer.shutdown(4003, 'done here'), true, 'it answered our close');
        await waitFor(() => closes().length === 1, 5000, 'its report of the close');
        assert.deepEqual(closes(), [{ closeCode: 4003, closeReason: 'done here' }]);

        // §5.5.2: a connection on which nothing but its pongs comes for ten ping periods stays open.
        const idle = await connect(url, {}, { deflate, pingFrequency: 40 });
        defer(t, () => idle.close());
        await sleep(400);
        assert.equal(idle.state, 'OPEN');

        const asked = await connect(url, {}, { deflate });
        defer(t, () => asked.close());
        await asked.write('close please');
        assert.equal(await asked.read(5000), null);
        await asked.whenClosed();
        assert.deepEqual([asked.closeCode, asked.closeReason], [4002, 'bye']);
      });
    }
  });
}
