/**
 * Python's `websockets` as the peer, both ways: a strict implementation written
 * independently of this project (Debian's python3-websockets, which CI installs), with its
 * own defaults for permessage-deflate (12-bit windows each way, RFC 7692 §7.1.2), over TCP
 * and over TLS checked against the test CA.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, test, type TestContext } from 'node:test';
import { connect, type Peer, type TlsServerOptions } from '../../src/index.ts';
import { asBuffer, defer, patternBytes, sleep, waitFor, within } from '../peer/helpers.ts';
import { exerciseServer, type WhatwgReport } from './whatwg.ts';

const PYTHON = '/usr/bin/python3';
const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/tls/${name}`, import.meta.url));
/** The test CA, and a certificate it signed for 127.0.0.1 and localhost. */
const CA = fixture('ca.pem');
const CERT = fixture('server.pem');
const KEY = fixture('server.key');
const CERTIFICATE: TlsServerOptions = { cert: CERT, key: KEY };
const PEER = fileURLToPath(new URL('./python_peer.py', import.meta.url));
const probe = spawnSync(PYTHON, ['-c', 'import websockets'], { encoding: 'utf8' });
const MISSING = probe.status === 0 ? false : `Python's websockets is not installed (apt-get install python3-websockets): ${probe.error?.message ?? probe.stderr.trim()}`;

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

/** Run the Python client's exercise against `url` and return its report. */
async function pythonClient(url: string, flags: string[]): Promise<WhatwgReport & { pong: boolean }> {
  const child = spawn(PYTHON, [PEER, 'client', url, ...flags]);
  const output = lines(child);
  let errors = '';
  child.stderr.setEncoding('utf8').on('data', (text: string) => (errors += text));
  const code = await within(new Promise<number | null>((resolve) => child.on('close', resolve)), 60_000, 'the Python client to finish').finally(() => child.kill());
  if (code !== 0) throw new Error(`the Python client exited with ${code}: ${errors.trim()}`);
  const report = JSON.parse(output[0]!) as Omit<WhatwgReport, 'wasClean'> & { pong: boolean };
  // websockets reports 1006 for a connection that ended without a closing handshake.
  return { ...report, wasClean: report.closeCode !== 1006 };
}

/** A Python echo server for the test; its stdout gives its port, then one line per closed connection. */
async function pythonServer(t: TestContext, flags: string[], scheme: string): Promise<{ url: string; closes(): Array<{ closeCode: number; closeReason: string }> }> {
  const child = spawn(PYTHON, [PEER, 'server', ...flags], { stdio: ['pipe', 'pipe', 'inherit'] });
  defer(t, () => {
    child.stdin.end();
    return within(new Promise((resolve) => child.on('close', resolve)), 5000, 'the Python server to stop').finally(() => child.kill());
  });
  const output = lines(child);
  await waitFor(() => output.length > 0, 15_000, 'the Python server to listen');
  return { url: `${scheme}://127.0.0.1:${output[0]}/`, closes: () => output.slice(1).map((line) => JSON.parse(line)) };
}

/** Write `data` and read its echo. */
async function echoed(peer: Peer, data: string | Uint8Array): Promise<string | Uint8Array> {
  await peer.write(data);
  const message = await peer.read(5000);
  assert.ok(message !== null, `an echo, not the end of the connection (${peer.closeCode}: ${peer.error?.message ?? 'no error of ours'})`);
  return message.data;
}

describe("Python's websockets as the peer (RFC 6455 and RFC 7692 interop)", { skip: MISSING }, () => {
  const variants = [
    { label: '', deflate: false, tls: false },
    { label: ', compressed', deflate: true, tls: false },
    { label: ', compressed, over TLS', deflate: true, tls: true },
  ];
  for (const { label, deflate, tls } of variants) {
    test(`its client: every length class, a fragmented message, a ping, and our close with 4001${label}`, async (t) => {
      const { url, check } = await exerciseServer(t, { deflate, client: "Python's websockets", echoes: 14, ...(tls ? { tls: CERTIFICATE } : {}) });
      const report = await pythonClient(url, [...(deflate ? ['--deflate'] : []), ...(tls ? ['--ca', CA] : [])]);
      assert.equal(report.pong, true);
      check(report);
    });

    test(`its server: every length class, fragments both ways, heartbeat pings, and closes both ways${label}`, async (t) => {
      const flags = [...(deflate ? ['--deflate'] : []), ...(tls ? ['--cert', CERT, '--key', KEY] : [])];
      const { url, closes } = await pythonServer(t, flags, tls ? 'wss' : 'ws');
      const options = { deflate, ...(tls ? { tls: { ca: CA } } : {}) };
      const peer = await connect(url, { protocols: ['superchat'] }, options);
      defer(t, () => peer.close());
      assert.equal(peer.handshake.protocol, 'superchat');
      // Its server sets 12-bit windows each way (RFC 7692 §7.1.2).
      if (deflate) assert.equal(peer.handshake.extensions, 'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=12; client_max_window_bits=12');
      else assert.equal(peer.handshake.extensions, '');
      for (const text of ['', 'héllo wörld ✓ 🚀 日本語', 'x'.repeat(125), 'y'.repeat(126), 'z'.repeat(65_536), '{"price": 101.25} '.repeat(50_000)]) {
        assert.equal(await echoed(peer, text), text, `${text.length}-character text`);
      }
      for (const size of [0, 1, 125, 126, 65_535, 65_536, 4 * 1024 * 1024]) {
        const bytes = patternBytes(size, size + 1);
        assert.ok(asBuffer(await echoed(peer, bytes)).equals(bytes), `${size}-byte binary`);
      }
      await peer.write({ opcode: 1, fin: false, data: 'frag' });
      await peer.write({ opcode: 0, fin: false, data: 'men' });
      await peer.write({ opcode: 0, fin: true, data: 'ted' });
      assert.equal((await peer.read(5000))?.data, 'fragmented', 'our fragments, joined');
      assert.equal(await echoed(peer, 'fragments please'), 'fragmented', 'its fragments, joined');
      assert.equal(await peer.shutdown(4003, 'done here'), true, 'it answered our close');
      await waitFor(() => closes().length === 1, 5000, 'its report of the close');
      assert.deepEqual(closes(), [{ closeCode: 4003, closeReason: 'done here' }]);

      // §5.5.2: a connection on which nothing but its pongs comes for ten ping periods stays open.
      const idle = await connect(url, {}, { ...options, pingFrequency: 40 });
      defer(t, () => idle.close());
      await sleep(400);
      assert.equal(idle.state, 'OPEN');

      const asked = await connect(url, {}, options);
      defer(t, () => asked.close());
      await asked.write('close please');
      assert.equal(await asked.read(5000), null);
      await asked.whenClosed();
      assert.deepEqual([asked.closeCode, asked.closeReason], [4002, 'bye']);
    });
  }
});
