/**
 * What the Python interop tests share: Debian's python3 running a peer script (a client
 * whose exercise prints one JSON report, or an echo server that prints its port and then
 * one line per closed connection), and the exercise our client runs against such a server.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { TestContext } from 'node:test';
import { connect, type Peer, type PeerOptions } from '../../src/index.ts';
import { asBuffer, defer, patternBytes, sleep, waitFor, within } from '../peer/helpers.ts';
import type { WhatwgReport } from './whatwg.ts';

/** Debian's Python, where CI installs the peers' libraries. */
const PYTHON = '/usr/bin/python3';

/** Why `module` cannot be imported here (with the package that brings it), or false when it can. */
export function pythonMissing(module: string, debianPackage: string): string | false {
  const probe = spawnSync(PYTHON, ['-c', `import ${module}`], { encoding: 'utf8' });
  return probe.status === 0 ? false : `${module} is not installed (apt-get install ${debianPackage}): ${probe.error?.message ?? probe.stderr.trim()}`;
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

/** Run a client exercise (`script` with `args`) and return its report; `name` says whose, in errors. */
export async function pythonClient<Extra>(script: string, args: readonly string[], name: string): Promise<WhatwgReport & Extra> {
  const child = spawn(PYTHON, [script, ...args]);
  const output = lines(child);
  let errors = '';
  child.stderr.setEncoding('utf8').on('data', (text: string) => (errors += text));
  const code = await within(new Promise<number | null>((resolve) => child.on('close', resolve)), 60_000, `the ${name} client to finish`).finally(() => child.kill());
  if (code !== 0) throw new Error(`the ${name} client exited with ${code}: ${errors.trim()}`);
  const report = JSON.parse(output[0]!) as Omit<WhatwgReport, 'wasClean'> & Extra;
  // The Python libraries report 1006 for a connection that ended without a closing handshake.
  return { ...report, wasClean: report.closeCode !== 1006 } as WhatwgReport & Extra;
}

/** What a Python echo server reported of the connections that closed. */
export type Closes = () => Array<{ closeCode: number; closeReason: string }>;

/** Start an echo server (`script` with `args`), stopped after the test; `name` says whose, in errors. */
export async function pythonServer(t: TestContext, script: string, args: readonly string[], scheme: string, name: string): Promise<{ url: string; closes: Closes }> {
  const child = spawn(PYTHON, [script, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  defer(t, () => {
    child.stdin.end();
    return within(new Promise((resolve) => child.on('close', resolve)), 5000, `the ${name} server to stop`).finally(() => child.kill());
  });
  const output = lines(child);
  await waitFor(() => output.length > 0, 15_000, `the ${name} server to listen`);
  return { url: `${scheme}://127.0.0.1:${output[0]}/`, closes: () => output.slice(1).map((line) => JSON.parse(line)) };
}

/** Write `data` and read its echo. */
async function echoed(peer: Peer, data: string | Uint8Array): Promise<string | Uint8Array> {
  await peer.write(data);
  const message = await peer.read(10_000);
  assert.ok(message !== null, `an echo, not the end of the connection (${peer.closeCode}: ${peer.error?.message ?? 'no error of ours'})`);
  return message.data;
}

/** How the exercise of our client against a Python echo server is run and checked. */
export interface ServerExercise {
  /** Our client's options (deflate, TLS), for every connection. */
  options: PeerOptions;
  /** Checks the extensions header the server answered with. */
  checkExtensions(extensions: string): void;
  /** The server sends fragments when asked ("fragments please"), and our fragments are sent. */
  fragments: boolean;
  closes: Closes;
}

/**
 * Our client against a Python echo server at `url`: the subprotocol, every length class of
 * text and binary, fragments both ways (if the server sends them), our close with 4003 and
 * its report of it, a connection kept open by its pongs alone (§5.5.2), and its close with
 * 4002 when asked.
 */
export async function exerciseOurClient(t: TestContext, url: string, exercise: ServerExercise): Promise<void> {
  const { options, closes } = exercise;
  const peer = await connect(url, { protocols: ['superchat'] }, options);
  defer(t, () => peer.close());
  assert.equal(peer.handshake.protocol, 'superchat');
  exercise.checkExtensions(peer.handshake.extensions);
  for (const text of ['', 'héllo wörld ✓ 🚀 日本語', 'x'.repeat(125), 'y'.repeat(126), 'z'.repeat(65_536), '{"price": 101.25} '.repeat(50_000)]) {
    assert.equal(await echoed(peer, text), text, `${text.length}-character text`);
  }
  for (const size of [0, 1, 125, 126, 65_535, 65_536, 4 * 1024 * 1024]) {
    const bytes = patternBytes(size, size + 1);
    assert.ok(asBuffer(await echoed(peer, bytes)).equals(bytes), `${size}-byte binary`);
  }
  if (exercise.fragments) {
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
}
