/**
 * What the WHATWG-API peers share: the exercise they run (`whatwg-exercise.js`), the echo
 * server it runs against, and the checks of its report. A Chromium page and Node's own
 * WebSocket client (undici) are two independent implementations of that API.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { server, type DeflateOptions, type Peer, type TlsServerOptions } from '../../src/index.ts';
import { defer, waitFor } from '../peer/helpers.ts';

/** The exercise's source: a function `exercise(url)` resolving to a {@link WhatwgReport}. */
export const EXERCISE = readFileSync(new URL('./whatwg-exercise.js', import.meta.url), 'utf8');

/** The outcome of the exercise, as plain data. */
export interface WhatwgReport {
  extensions: string;
  protocol: string;
  echoes: Array<{ kind: string; length: number; same: boolean }>;
  closeCode: number;
  closeReason: string;
  wasClean: boolean;
}

/** Texts and binaries the WHATWG exercise echoes (see its lists). */
const WHATWG_ECHOES = 14;

/** Subprotocols the exercise's servers speak, in their order of preference. */
export const PROTOCOLS = ['superchat', 'chat'];

/** The echo handler, which closes with 4001 when asked to. */
export async function echo(peer: Peer): Promise<void> {
  for await (const message of peer) {
    if (message.data === 'close please') {
      await peer.shutdown(4001, 'asked to');
      return;
    }
    await peer.write(message.data);
  }
}

/** How the exercise is run: compressed or not, by which client, over TLS or not. */
export interface ExerciseSetup {
  deflate: boolean;
  /** The client's name, for the assertions' messages. */
  client: string;
  /** Messages the client's exercise echoes. Default: the WHATWG exercise's. */
  echoes?: number;
  /** A certificate and key: the server is then `wss://`. */
  tls?: TlsServerOptions;
  /** The code the client answers our 4001 with. Default 4001: §5.5.1 says it typically echoes the code. */
  answerCode?: number;
  /** The server's permessage-deflate options, when `deflate`. Default: ours. */
  deflateOptions?: DeflateOptions;
}

/**
 * Start the echo server for one exercise; `check(report)` then asserts what the client
 * reported (every echo the same as sent) and what the server saw of the close.
 */
export async function exerciseServer(t: TestContext, setup: ExerciseSetup): Promise<{ url: string; check(report: WhatwgReport): Promise<void> }> {
  const { deflate, client, echoes, tls, answerCode, deflateOptions } = setup;
  const closeCodes: number[] = [];
  const instance = await server(
    tls === undefined ? 'ws://127.0.0.1:0' : 'wss://127.0.0.1:0',
    async (peer) => {
      await echo(peer);
      closeCodes.push(peer.closeCode);
    },
    { deflate: deflate && (deflateOptions ?? true), protocols: PROTOCOLS, ...(tls === undefined ? {} : { tls }) },
  );
  defer(t, () => instance.close(1000));
  const check = async (report: WhatwgReport): Promise<void> => {
    await serverSawClose(closeCodes, client);
    checkReport(report, { deflate, client, echoes, answerCode }, closeCodes);
  };
  return { url: instance.url, check };
}

/**
 * Wait until the server has recorded a close. A client may report, and its process end, as
 * soon as it has sent its answer to our close, before our side has read that answer.
 */
export async function serverSawClose(closeCodes: readonly number[], client: string): Promise<void> {
  await waitFor(() => closeCodes.length > 0, 5000, `the server to read ${client}'s answer to our close`);
}

/**
 * Assert what the client reported (every echo the same as sent, the subprotocol and
 * extension agreed, our 4001 seen) and the close codes the server saw, one per connection.
 */
export function checkReport(report: WhatwgReport, setup: ExerciseSetup, closeCodes: readonly number[]): void {
  const { deflate, client, echoes = WHATWG_ECHOES, answerCode = 4001 } = setup;
  assert.equal(report.protocol, 'superchat', 'the server chose by its own preference (RFC 6455 §4.2.2)');
  if (deflate) assert.match(report.extensions, /^permessage-deflate/);
  else assert.equal(report.extensions, '');
  for (const each of report.echoes) assert.ok(each.same, `${each.kind} of ${each.length} bytes came back changed`);
  assert.equal(report.echoes.length, echoes, 'every echo was tried');
  assert.deepEqual([report.closeCode, report.closeReason, report.wasClean], [4001, 'asked to', true]);
  // §5.5.1: the answer typically echoes the code; the reason is the answerer's (undici sends none).
  assert.deepEqual(closeCodes, [answerCode], `${client} answered our close with ${answerCode}`);
}
