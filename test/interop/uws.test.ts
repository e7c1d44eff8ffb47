/**
 * Our client against uWebSockets.js, a server written in C++ independently of this project
 * and of ws, run in this process: messages of every length class, fragments both ways,
 * pings, close codes both ways, each side's size limit, and permessage-deflate with each
 * kind of compressor uWS offers (one of which answers our offer in its own way).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { connect, type Peer } from '../../src/index.ts';
import { asBuffer, defer, patternBytes, sleep, waitFor } from '../peer/helpers.ts';

/** The part of uWebSockets.js's API these tests use. */
interface UwsSocket {
  send(message: ArrayBuffer | Uint8Array | string, isBinary?: boolean, compress?: boolean): number;
  sendFirstFragment(message: Uint8Array | string, isBinary?: boolean, compress?: boolean): boolean;
  sendFragment(message: Uint8Array | string, compress?: boolean): boolean;
  sendLastFragment(message: Uint8Array | string, compress?: boolean): boolean;
  end(code?: number, reason?: string): void;
  ping(message?: string): number;
}
interface UwsBehavior {
  maxPayloadLength?: number;
  idleTimeout?: number;
  compression?: number;
  sendPingsAutomatically?: boolean;
  message?: (socket: UwsSocket, message: ArrayBuffer, isBinary: boolean) => void;
  close?: (socket: UwsSocket, code: number, reason: ArrayBuffer) => void;
  pong?: (socket: UwsSocket, message: ArrayBuffer) => void;
}
interface UwsModule {
  App(): { ws(pattern: string, behavior: UwsBehavior): { listen(host: string, port: number, callback: (token: unknown) => void): void } };
  us_listen_socket_close(token: unknown): void;
  us_socket_local_port(token: unknown): number;
  DISABLED: number;
  SHARED_COMPRESSOR: number;
  DEDICATED_COMPRESSOR: number;
  DEDICATED_COMPRESSOR_3KB: number;
}

// The native binary is loaded directly: the package's entry point falls back to a
// JavaScript implementation when it does not load, which is not the peer meant here.
const require = createRequire(import.meta.url);
const packageDir = dirname(require.resolve('@trufflesuite/uws-js-unofficial/package.json'));
const BINARY = join(packageDir, 'dist', `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`);
const MiB = 1024 * 1024;

/** A uWS server on an ephemeral port, closed when the test ends; what it saw of closes. */
async function uwsServer(t: TestContext, behavior: UwsBehavior): Promise<{ url: string; closes: Array<[number, string]> }> {
  const uws = require(BINARY) as UwsModule;
  const closes: Array<[number, string]> = [];
  const token = await new Promise<unknown>((resolve) =>
    uws
      .App()
      .ws('/*', {
        idleTimeout: 0,
        sendPingsAutomatically: false,
        ...behavior,
        close: (socket, code, reason) => {
          closes.push([code, Buffer.from(reason).toString()]);
          behavior.close?.(socket, code, reason);
        },
      })
      .listen('127.0.0.1', 0, resolve),
  );
  assert.ok(token, 'uWS listens');
  defer(t, () => uws.us_listen_socket_close(token));
  return { url: `ws://127.0.0.1:${uws.us_socket_local_port(token)}/`, closes };
}

/** A behaviour that echoes, and on the commands below does something else. */
function echoing(compression: number, maxPayloadLength = 16 * MiB): UwsBehavior {
  return {
    compression,
    maxPayloadLength,
    message: (socket, message, isBinary) => {
      const text = isBinary ? '' : Buffer.from(message).toString();
      if (text === 'end please') socket.end(4002, 'bye');
      else if (text.endsWith('fragments please')) {
        const compress = text.startsWith('compressed');
        socket.sendFirstFragment('frag', false, compress);
        socket.sendFragment('men', compress);
        socket.sendLastFragment('ted', compress);
      } else if (text === '2 MiB please') socket.send(patternBytes(2 * MiB, 3), true);
      else if (text === 'ping please') socket.ping('are you there');
      else socket.send(message, isBinary, true);
    },
  };
}

/** Write `data` and read its echo. */
async function echoed(peer: Peer, data: string | Uint8Array): Promise<string | Uint8Array> {
  await peer.write(data);
  const message = await peer.read(5000);
  assert.ok(message !== null, `an echo, not the end of the connection (${peer.closeCode}: ${peer.error?.message ?? 'no error of ours'})`);
  return message.data;
}

const TEXTS = ['', 'héllo wörld ✓ 🚀 日本語', 'x'.repeat(125), 'y'.repeat(126), 'z'.repeat(65_536), '{"price": 101.25, "size": 3} '.repeat(40_000)];
const SIZES = [0, 1, 125, 126, 65_535, 65_536, 4 * MiB];

describe('uWebSockets.js as the server (RFC 6455 and RFC 7692 interop)', { skip: existsSync(BINARY) ? false : `no uWebSockets.js binary for this Node (${BINARY})` }, () => {
  // What uWS answers our default offer (which asks for no context takeover either way) with.
  const compressors: Array<[string, keyof UwsModule | null, string]> = [
    ['no compression', null, ''],
    ['the shared compressor', 'SHARED_COMPRESSOR', 'permessage-deflate; client_no_context_takeover; server_no_context_takeover'],
    // RFC 7692 §7.1.1.1: uWS keeps its context though asked not to; we keep a window to inflate.
    ['a dedicated compressor', 'DEDICATED_COMPRESSOR', 'permessage-deflate; client_no_context_takeover'],
    ['a dedicated 3 KB compressor', 'DEDICATED_COMPRESSOR_3KB', 'permessage-deflate; client_no_context_takeover; server_max_window_bits=9'],
  ];
  for (const [label, compressor, extensions] of compressors) {
    test(`echoes text and binary of every length class, and streams of alike messages, with ${label}`, async (t) => {
      const uws = require(BINARY) as UwsModule;
      const { url } = await uwsServer(t, echoing(compressor === null ? uws.DISABLED : (uws[compressor] as number)));
      const peer = await connect(url, {}, { deflate: compressor !== null });
      defer(t, () => peer.close());
      assert.equal(peer.handshake.extensions, extensions);
      for (const text of TEXTS) assert.equal(await echoed(peer, text), text, `${text.length}-character text`);
      for (const size of SIZES) {
        const bytes = patternBytes(size, size + 1);
        assert.ok(asBuffer(await echoed(peer, bytes)).equals(bytes), `${size}-byte binary`);
      }
      // With context takeover the server's later messages refer back to earlier ones.
      for (let round = 0; round < 50; round++) {
        const text = `{"id": ${round}, "symbol": "BTC-USD", "side": "${round % 2 ? 'buy' : 'sell'}", "book": [${'[101.5, 2],'.repeat(20)} [0, 0]]}`;
        assert.equal(await echoed(peer, text), text, `alike message ${round}`);
      }
      assert.equal(await peer.shutdown(1000, 'done'), true, 'uWS answered our close');
    });
  }

  test('§5.4: a message we fragment (a ping between its frames) comes back whole; one uWS fragments arrives whole', async (t) => {
    const uws = require(BINARY) as UwsModule;
    const { url } = await uwsServer(t, echoing(uws.SHARED_COMPRESSOR));
    const peer = await connect(url, {}, { deflate: true });
    defer(t, () => peer.close());
    await peer.write({ opcode: 1, fin: false, data: 'frag' });
    await peer.write({ opcode: 9, data: 'between' });
    await peer.write({ opcode: 0, fin: false, data: 'men' });
    await peer.write({ opcode: 0, fin: true, data: 'ted' });
    assert.equal((await peer.read(5000))?.data, 'fragmented');
    assert.equal(await echoed(peer, 'fragments please'), 'fragmented');
  });

  test('RFC 7692 §7.2.1: uWS compresses each fragment on its own, which is no DEFLATE stream once joined; we fail it with 1007, as ws does', async (t) => {
    const uws = require(BINARY) as UwsModule;
    const { url, closes } = await uwsServer(t, echoing(uws.SHARED_COMPRESSOR));
    const peer = await connect(url, {}, { deflate: true });
    defer(t, () => peer.close());
    await peer.write('compressed fragments please');
    assert.equal(await peer.read(5000), null);
    assert.equal(peer.error?.closeCode, 1007);
    await waitFor(() => closes.length === 1, 5000, "uWS's close handler");
    assert.equal(closes[0]![0], 1007);
  });

  test('§5.5.2, §5.5.3: uWS answers our heartbeat pings, and we answer its ping with its payload', async (t) => {
    const uws = require(BINARY) as UwsModule;
    const pongs: string[] = [];
    const { url } = await uwsServer(t, { ...echoing(uws.DISABLED), pong: (_socket, message) => void pongs.push(Buffer.from(message).toString()) });
    // A peer from which nothing arrives for a period is dropped: only uWS's pongs keep it.
    const peer = await connect(url, {}, { pingFrequency: 40 });
    defer(t, () => peer.close());
    await sleep(400);
    assert.equal(peer.state, 'OPEN', 'still open after ten ping periods of silence but for pongs');
    await peer.write('ping please');
    await waitFor(() => pongs.length > 0, 5000, "our pong to uWS's ping");
    assert.deepEqual(pongs, ['are you there']);
  });

  test('§7.4: close codes and reasons cross both ways', async (t) => {
    const uws = require(BINARY) as UwsModule;
    const { url, closes } = await uwsServer(t, echoing(uws.DISABLED));
    const ours = await connect(url);
    defer(t, () => ours.close());
    assert.equal(await ours.shutdown(4003, 'done here'), true, 'uWS answered our close');
    await waitFor(() => closes.length === 1, 5000, "uWS's close handler");
    assert.deepEqual(closes[0], [4003, 'done here']);

    const theirs = await connect(url);
    defer(t, () => theirs.close());
    await theirs.write('end please');
    assert.equal(await theirs.read(5000), null, 'the end of the messages');
    await theirs.whenClosed();
    assert.deepEqual([theirs.closeCode, theirs.closeReason], [4002, 'bye']);
  });

  test('§7.4.1: a message over our maxPayload closes with 1009; one over uWS\'s limit ends the connection, and a read does not hang', async (t) => {
    const uws = require(BINARY) as UwsModule;
    const { url, closes } = await uwsServer(t, echoing(uws.DISABLED, MiB));
    const peer = await connect(url, {}, { maxPayload: MiB });
    defer(t, () => peer.close());
    await peer.write('2 MiB please');
    assert.equal(await peer.read(5000), null);
    assert.equal(peer.error?.closeCode, 1009);
    await waitFor(() => closes.length === 1, 5000, "uWS's close handler");
    assert.equal(closes[0]![0], 1009, 'uWS got our 1009');

    // uWS drops a connection whose message passes its limit, without a close frame.
    const over = await connect(url);
    defer(t, () => over.close());
    await over.write(new Uint8Array(MiB + 1));
    assert.equal(await over.read(5000), null);
    await over.whenClosed();
    assert.equal(over.closeCode, 1006, 'no close frame came (RFC 6455 §7.1.5)');
  });
});
