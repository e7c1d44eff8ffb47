/**
 * permessage-deflate against `ws` over loopback, both ways, for the parameters `ws` can
 * offer and accept (RFC 7692 §7.1): a `ws` client against our server, and our client
 * against a `ws` server. Messages of 0 B to 1 MiB, text and binary, several in a row so that
 * a kept context is used, must come back exactly; both ends must report the extension,
 * and the bytes on the socket must show it was used.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';

import WebSocket, { WebSocketServer, type PerMessageDeflateOptions, type RawData } from 'ws';

import { connect, server, type Peer, type Server } from '../../src/index.ts';
import type { DeflateOptions } from '../../src/extensions/permessage-deflate/index.ts';
import { assertSameBytes, element, KiB, MiB, paramSet, sample, within } from './helpers.ts';

const LOCALHOST = '127.0.0.1';
const WAIT = 10_000;

// ——— Messages ———

interface Msg {
  label: string;
  binary: boolean;
  bytes: Uint8Array;
}

function text(label: string, bytes: Uint8Array): Msg {
  return { label: `${label} text`, binary: false, bytes };
}
function binary(label: string, bytes: Uint8Array): Msg {
  return { label: `${label} binary`, binary: true, bytes };
}

/** 0 B, 100 B, 64 KiB and 1 MiB, text and binary, then the smaller ones again (a kept context now has history). */
const FULL: Msg[] = (() => {
  const small: Msg[] = [
    text('0 B', new Uint8Array(0)),
    binary('0 B', new Uint8Array(0)),
    text('100 B', sample('utf8', 100, 1)),
    binary('100 B', sample('random', 100, 2)),
    text('64 KiB', sample('json', 64 * KiB, 3)),
    binary('64 KiB', sample('random', 64 * KiB, 4)),
  ];
  const large: Msg[] = [text('1 MiB', sample('json', MiB, 5)), binary('1 MiB', sample('prose', MiB, 6))];
  return [...small, ...large, ...small.map((msg) => ({ ...msg, label: `${msg.label} again` }))];
})();

/** A lighter set for the parameter grids: still empty, small, repeated and one large enough to need a window. */
const LIGHT: Msg[] = (() => {
  const once: Msg[] = [
    text('0 B', new Uint8Array(0)),
    text('100 B', sample('utf8', 100, 7)),
    binary('2 KiB', sample('random', 2 * KiB, 8)),
    text('40 KiB', sample('json', 40 * KiB, 9)),
    binary('0 B', new Uint8Array(0)),
  ];
  return [...once, ...once.map((msg) => ({ ...msg, label: `${msg.label} again` }))];
})();

const totalBytes = (messages: readonly Msg[]): number => messages.reduce((sum, msg) => sum + msg.bytes.length, 0);
const decoder = new TextDecoder('utf-8', { fatal: true });

// ——— A ws client against our echo server ———

interface OurServer {
  server: Server;
  /** The server side of each connection, in order. */
  peers: Peer[];
  close(): Promise<void>;
}

async function ourEchoServer(deflate: DeflateOptions | true): Promise<OurServer> {
  const peers: Peer[] = [];
  const instance = await server(
    `ws://${LOCALHOST}:0/`,
    async (peer) => {
      peers.push(peer);
      for await (const message of peer) peer.write(message.data).catch(() => peer.close());
    },
    { deflate, maxPayload: 8 * MiB },
  );
  return { server: instance, peers, close: () => instance.close(1000) };
}

/** Every message a ws socket receives, in order. */
class WsInbox {
  readonly messages: Array<{ binary: boolean; data: Buffer }> = [];
  private wake: (() => void) | null = null;
  constructor(socket: WebSocket) {
    socket.on('message', (data: RawData, isBinary: boolean) => {
      const buffer = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
      this.messages.push({ binary: isBinary, data: buffer });
      this.wake?.();
    });
  }
  async count(n: number): Promise<void> {
    while (this.messages.length < n) await within(new Promise<void>((resolve) => (this.wake = resolve)), WAIT, `${n} ws messages (have ${this.messages.length})`);
  }
}

async function wsClientRun(url: string, params: WsParams, messages: readonly Msg[]): Promise<{ negotiated: string }> {
  const ws = new WebSocket(url, { perMessageDeflate: wsOptions(params) });
  let negotiated = '';
  ws.on('upgrade', (response) => {
    negotiated = String(response.headers['sec-websocket-extensions'] ?? '');
  });
  const errors: Error[] = [];
  ws.on('error', (error) => errors.push(error));
  const inbox = new WsInbox(ws);
  try {
    await within(once(ws, 'open'), WAIT, 'ws client open');
    assert.equal(ws.extensions, 'permessage-deflate', 'the ws client uses permessage-deflate');
    for (const msg of messages) ws.send(msg.binary ? msg.bytes : decoder.decode(msg.bytes), { binary: msg.binary });
    await inbox.count(messages.length);
    messages.forEach((msg, i) => {
      const got = inbox.messages[i]!;
      assert.equal(got.binary, msg.binary, `${msg.label}: type`);
      assertSameBytes(got.data, msg.bytes, msg.label);
    });
    assert.deepEqual(errors, []);
    const closed = once(ws, 'close');
    ws.close(1000);
    const [code] = (await within(closed, WAIT, 'ws client close')) as [number];
    assert.equal(code, 1000);
  } finally {
    ws.terminate();
  }
  return { negotiated };
}

// ——— Our client against a ws echo server ———

interface WsServer {
  url: string;
  /** The Sec-WebSocket-Extensions line of each 101 response ws sent. */
  responses: string[];
  sockets: WebSocket[];
  close(): Promise<void>;
}

async function wsEchoServer(params: WsParams): Promise<WsServer> {
  const wss = new WebSocketServer({
    host: LOCALHOST,
    port: 0,
    perMessageDeflate: wsOptions(params),
    maxPayload: 8 * MiB,
  });
  const responses: string[] = [];
  const sockets: WebSocket[] = [];
  wss.on('headers', (headers: string[]) => {
    const line = headers.find((header) => header.toLowerCase().startsWith('sec-websocket-extensions:'));
    responses.push(line === undefined ? '' : line.slice(line.indexOf(':') + 1).trim());
  });
  wss.on('connection', (ws) => {
    sockets.push(ws);
    ws.on('error', () => {});
    ws.on('message', (data: RawData, isBinary: boolean) => ws.send(data as Buffer, { binary: isBinary }));
  });
  await within(once(wss, 'listening'), WAIT, 'ws server listening');
  return {
    url: `ws://${LOCALHOST}:${(wss.address() as AddressInfo).port}/`,
    responses,
    sockets,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

async function ourClientRun(url: string, deflate: DeflateOptions, messages: readonly Msg[]): Promise<Peer> {
  const peer = await within(connect(url, {}, { deflate, maxPayload: 8 * MiB }), WAIT, 'our client connects');
  try {
    for (const msg of messages) void peer.write(msg.binary ? msg.bytes : decoder.decode(msg.bytes));
    for (const msg of messages) {
      const got = await peer.read(WAIT);
      assert.ok(got !== null, `${msg.label}: the connection closed (${peer.closeCode}, ${peer.error?.message ?? 'no protocol error'})`);
      assert.equal(typeof got.data !== 'string', msg.binary, `${msg.label}: type`);
      assertSameBytes(typeof got.data === 'string' ? new TextEncoder().encode(got.data) : got.data, msg.bytes, msg.label);
    }
    assert.equal(await within(peer.shutdown(1000), WAIT, 'closing handshake'), true, 'a clean close');
    assert.equal(peer.error, null);
  } finally {
    peer.close();
  }
  return peer;
}

/** The window a negotiated header gives one side (15 when absent). */
function windowOf(header: string, name: 'server_max_window_bits' | 'client_max_window_bits'): number {
  const param = paramSet(element(header)).find((entry) => entry.startsWith(`${name}=`));
  return param === undefined ? 15 : Number(param.slice(name.length + 1));
}

/**
 * The bytes on our socket show compression was used both ways: far fewer than the messages
 * hold — except what we send under a window of 8, which goes in stored blocks (§7.1.2: zlib
 * has no 256-byte window), a little more than the messages.
 */
function assertWireBytes(peer: Peer, ourSendWindow: number, messages: readonly Msg[]): void {
  const total = totalBytes(messages);
  const { bytesRead, bytesWritten } = peer.socket;
  assert.ok(bytesRead < total * 0.6, `read ${bytesRead} bytes for ${total}`);
  if (ourSendWindow === 8) assert.ok(bytesWritten >= total && bytesWritten < total * 1.01, `window 8: wrote ${bytesWritten} bytes for ${total}`);
  else assert.ok(bytesWritten < total * 0.6, `wrote ${bytesWritten} bytes for ${total}`);
}

// ——— Parameter sets ———

/** The negotiation options of ws (its typings say `clientMaxWindowBits: number`, but it also takes true and false). */
interface WsParams {
  serverNoContextTakeover?: boolean | undefined;
  clientNoContextTakeover?: boolean | undefined;
  serverMaxWindowBits?: number | undefined;
  clientMaxWindowBits?: number | boolean | undefined;
}

function wsOptions(params: WsParams): PerMessageDeflateOptions {
  return { ...(params as PerMessageDeflateOptions), threshold: 0, zlibDeflateOptions: { level: 1 } };
}

function describeParams(params: WsParams): string {
  const parts = Object.entries(params)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => `${name}: ${String(value)}`);
  return parts.length === 0 ? 'defaults' : parts.join(', ');
}

const WINDOWS = [8, 9, 10, 11, 12, 13, 14, 15];

/** Each parameter of ws on its own, at its telling values (8: stored blocks; 9: the smallest zlib window). */
function oneAtATime(options: { clientNoContextTakeoverFalse: boolean }): WsParams[] {
  return [
    {},
    { serverNoContextTakeover: true },
    { serverNoContextTakeover: false },
    { clientNoContextTakeover: true },
    ...(options.clientNoContextTakeoverFalse ? [{ clientNoContextTakeover: false }] : []),
    ...[8, 9, 12].map((bits) => ({ serverMaxWindowBits: bits })),
    { clientMaxWindowBits: false },
    { clientMaxWindowBits: true },
    ...[8, 9, 12].map((bits) => ({ clientMaxWindowBits: bits })),
  ];
}

/** Every pair of windows, 8..15 each. */
function windowPairs(): WsParams[] {
  return WINDOWS.flatMap((serverMaxWindowBits) => WINDOWS.map((clientMaxWindowBits) => ({ serverMaxWindowBits, clientMaxWindowBits })));
}

/** Every combination of the context flags with some windows. */
function grid(clientNctValues: ReadonlyArray<boolean | undefined>, serverNctValues: ReadonlyArray<boolean | undefined>): WsParams[] {
  const out: WsParams[] = [];
  for (const serverNoContextTakeover of serverNctValues) {
    for (const clientNoContextTakeover of clientNctValues) {
      for (const serverMaxWindowBits of [undefined, 8, 11, 15]) {
        for (const clientMaxWindowBits of [undefined, false, 9, 12, 15] as const) {
          out.push({ serverNoContextTakeover, clientNoContextTakeover, serverMaxWindowBits, clientMaxWindowBits });
        }
      }
    }
  }
  return out;
}

/** Run `jobs` with at most `limit` at a time. */
async function pool<T>(items: readonly T[], limit: number, job: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const failures: unknown[] = [];
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++]!;
      try {
        await job(item);
      } catch (error) {
        failures.push(error);
      }
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  if (failures.length > 0) throw failures[0];
}

// ——— ws client → our server ———

const OUR_SERVERS: Array<{ name: string; deflate: DeflateOptions; keepsContext: boolean }> = [
  { name: 'our server (default: no context takeover)', deflate: { threshold: 0 }, keepsContext: false },
  { name: 'our server with contextTakeover', deflate: { contextTakeover: true, threshold: 0 }, keepsContext: true },
  { name: 'our server with contextTakeover and maxWindowBits 10', deflate: { contextTakeover: true, maxWindowBits: 10, threshold: 0 }, keepsContext: true },
];

/** What our server must have answered a ws client with these options. */
function checkServerAnswer(header: string, params: WsParams, keepsContext: boolean, serverBits: number): void {
  const answer = element(header);
  assert.equal(answer.name, 'permessage-deflate');
  const set = paramSet(answer);
  // §7.1.1: asked-for context dropping is granted, and our default server demands it of both sides.
  assert.equal(set.includes('server_no_context_takeover'), params.serverNoContextTakeover === true || !keepsContext, header);
  assert.equal(set.includes('client_no_context_takeover'), params.clientNoContextTakeover === true || !keepsContext, header);
  // §7.1.2.1: never a bigger server window than offered or allowed.
  const expectedServerBits = Math.min(typeof params.serverMaxWindowBits === 'number' ? params.serverMaxWindowBits : 15, serverBits);
  const serverBitsAnswer = set.find((param) => param.startsWith('server_max_window_bits='));
  assert.equal(serverBitsAnswer === undefined ? 15 : Number(serverBitsAnswer.split('=')[1]), expectedServerBits, header);
  // §7.1.2.2: client_max_window_bits only when offered with a value.
  const clientBitsAnswer = set.find((param) => param.startsWith('client_max_window_bits'));
  if (typeof params.clientMaxWindowBits === 'number') assert.equal(clientBitsAnswer, `client_max_window_bits=${params.clientMaxWindowBits}`, header);
  else assert.equal(clientBitsAnswer, undefined, header);
}

describe('a ws client against our server', { concurrency: 3 }, () => {
  for (const ours of OUR_SERVERS) {
    test(`${ours.name}: each ws parameter on its own, messages 0 B to 1 MiB both ways`, { timeout: 60_000 }, async () => {
      const echo = await ourEchoServer(ours.deflate);
      const serverBits = ours.deflate.maxWindowBits ?? 15;
      try {
        // ws refuses a client_no_context_takeover it did not offer when told clientNoContextTakeover: false.
        const sets = oneAtATime({ clientNoContextTakeoverFalse: ours.keepsContext });
        await pool(sets, 4, async (params) => {
          const { negotiated } = await wsClientRun(echo.server.url, params, FULL);
          checkServerAnswer(negotiated, params, ours.keepsContext, serverBits);
        });
        assert.equal(echo.peers.length, sets.length);
        for (const peer of echo.peers) {
          assert.match(peer.handshake.extensions, /^permessage-deflate/, 'our server reports the extension');
          assertWireBytes(peer, windowOf(peer.handshake.extensions, 'server_max_window_bits'), FULL);
        }
      } finally {
        await echo.close();
      }
    });
  }

  for (const ours of OUR_SERVERS.slice(0, 2)) {
    test(`${ours.name}: combinations of the ws context flags and windows`, { timeout: 60_000 }, async () => {
      const echo = await ourEchoServer(ours.deflate);
      try {
        const sets = grid(ours.keepsContext ? [undefined, true, false] : [undefined, true], [undefined, true]);
        await pool(sets, 8, async (params) => {
          const { negotiated } = await wsClientRun(echo.server.url, params, LIGHT).catch((error: unknown) => {
            throw new Error(`${describeParams(params)}: ${String(error)}`);
          });
          checkServerAnswer(negotiated, params, ours.keepsContext, 15);
        });
        assert.equal(echo.peers.length, sets.length);
        for (const peer of echo.peers) assert.match(peer.handshake.extensions, /^permessage-deflate/, 'our server reports the extension');
      } finally {
        await echo.close();
      }
    });
  }

  test('§7.1.2: every pair of windows 8..15 offered by a ws client, against our server with and without contextTakeover', { timeout: 60_000 }, async () => {
    for (const ours of OUR_SERVERS.slice(0, 2)) {
      const echo = await ourEchoServer(ours.deflate);
      try {
        await pool(windowPairs(), 8, async (params) => {
          const { negotiated } = await wsClientRun(echo.server.url, params, LIGHT);
          checkServerAnswer(negotiated, params, ours.keepsContext, 15);
        });
        assert.equal(echo.peers.length, 64);
        for (const peer of echo.peers) assert.match(peer.handshake.extensions, /^permessage-deflate/, 'our server reports the extension');
      } finally {
        await echo.close();
      }
    }
  });

  test('§7.1.2.1: a ws offer of server_max_window_bits without a value is declined: no compression, messages still flow', async () => {
    const echo = await ourEchoServer({ threshold: 0 });
    try {
      const ws = new WebSocket(echo.server.url, { perMessageDeflate: { serverMaxWindowBits: true as unknown as number } });
      ws.on('error', () => {});
      const inbox = new WsInbox(ws);
      await within(once(ws, 'open'), WAIT, 'open');
      assert.equal(ws.extensions, '');
      ws.send('hello');
      await inbox.count(1);
      assert.equal(inbox.messages[0]!.data.toString(), 'hello');
      assert.equal(echo.peers[0]!.handshake.extensions, '');
      ws.close(1000);
      await within(once(ws, 'close'), WAIT, 'close');
    } finally {
      await echo.close();
    }
  });
});

// ——— our client → ws server ———

const OUR_CLIENTS: Array<{ name: string; deflate: DeflateOptions }> = [
  { name: 'our client (default: no context takeover)', deflate: { threshold: 0 } },
  { name: 'our client with contextTakeover', deflate: { contextTakeover: true, threshold: 0 } },
  { name: 'our client with contextTakeover and maxWindowBits 11', deflate: { contextTakeover: true, maxWindowBits: 11, threshold: 0 } },
];

/** Whether a ws server with `params` accepts our client's offer (ws answers 400 to an offer it cannot take). */
function wsAccepts(params: WsParams, deflate: DeflateOptions): boolean {
  const demandsServerNct = deflate.contextTakeover !== true;
  const offeredServerBits = (deflate.maxWindowBits ?? 15) < 15 ? deflate.maxWindowBits! : undefined;
  if (params.serverNoContextTakeover === false && demandsServerNct) return false;
  if (offeredServerBits !== undefined && typeof params.serverMaxWindowBits === 'number' && params.serverMaxWindowBits > offeredServerBits) return false;
  return true;
}

describe('our client against a ws server', { concurrency: 3 }, () => {
  for (const ours of OUR_CLIENTS) {
    test(`${ours.name}: each ws server parameter on its own, messages 0 B to 1 MiB both ways`, { timeout: 60_000 }, async () => {
      const sets = oneAtATime({ clientNoContextTakeoverFalse: true }).filter((params) => params.clientMaxWindowBits !== false && wsAccepts(params, ours.deflate));
      await pool(sets, 4, async (params) => {
        const ws = await wsEchoServer(params);
        try {
          const peer = await ourClientRun(ws.url, ours.deflate, FULL);
          assert.match(peer.handshake.extensions, /^permessage-deflate/, 'our client reports the extension');
          assert.equal(ws.sockets[0]?.extensions, 'permessage-deflate', 'the ws server uses permessage-deflate');
          assert.deepEqual(paramSet(element(peer.handshake.extensions)), paramSet(element(ws.responses[0]!)), 'both sides saw the same answer');
          assertWireBytes(peer, windowOf(peer.handshake.extensions, 'client_max_window_bits'), FULL);
        } catch (error) {
          throw new Error(`${describeParams(params)}: ${String(error)}`);
        } finally {
          await ws.close();
        }
      });
    });
  }

  for (const ours of OUR_CLIENTS.slice(0, 2)) {
    test(`${ours.name}: combinations of the ws server context flags and windows`, { timeout: 60_000 }, async () => {
      const sets = grid([undefined, true, false], [undefined, true, false])
        .map((params) => ({ ...params, clientMaxWindowBits: params.clientMaxWindowBits === false ? undefined : params.clientMaxWindowBits }))
        .filter((params) => wsAccepts(params, ours.deflate));
      await pool(sets, 8, async (params) => {
        const server = await wsEchoServer(params);
        try {
          const peer = await ourClientRun(server.url, ours.deflate, LIGHT);
          assert.match(peer.handshake.extensions, /^permessage-deflate/);
          assert.equal(server.sockets[0]?.extensions, 'permessage-deflate');
        } catch (error) {
          throw new Error(`${describeParams(params)}: ${String(error)}`);
        } finally {
          await server.close();
        }
      });
    });
  }

  test('§7.1.2: every pair of windows 8..15 set by a ws server, for our client with and without contextTakeover', { timeout: 60_000 }, async () => {
    for (const ours of OUR_CLIENTS.slice(0, 2)) {
      await pool(windowPairs(), 8, async (params) => {
        const server = await wsEchoServer(params);
        try {
          const peer = await ourClientRun(server.url, ours.deflate, LIGHT);
          assert.equal(windowOf(peer.handshake.extensions, 'server_max_window_bits'), params.serverMaxWindowBits);
          assert.equal(windowOf(peer.handshake.extensions, 'client_max_window_bits'), params.clientMaxWindowBits);
        } catch (error) {
          throw new Error(`${describeParams(params)}: ${String(error)}`);
        } finally {
          await server.close();
        }
      });
    }
  });

  test('an offer a ws server cannot take fails the handshake cleanly (ws answers 400 rather than declining)', async () => {
    const ws = await wsEchoServer({ serverNoContextTakeover: false });
    try {
      await assert.rejects(within(connect(ws.url, {}, { deflate: true }), WAIT, 'connect'));
      // Without demanding server_no_context_takeover the same server accepts.
      const peer = await ourClientRun(ws.url, { contextTakeover: true, threshold: 0 }, LIGHT);
      assert.equal(peer.handshake.extensions, 'permessage-deflate');
    } finally {
      await ws.close();
    }
  });
});

describe('RFC 7692 §8.1: maxPayload bounds the inflated size, so an incompressible message of exactly maxPayload passes when compressed', () => {
  const LIMIT = 64 * KiB;

  test('a ws client compressing everything, against our server with maxPayload 64 KiB: 64 KiB arrives, one byte more is 1009', async () => {
    const received: number[] = [];
    const closes: number[] = [];
    const instance = await server(
      `ws://${LOCALHOST}:0/`,
      async (peer) => {
        for await (const message of peer) received.push(message.data.length);
        closes.push(peer.closeCode ?? 0);
      },
      { deflate: { threshold: 0 }, maxPayload: LIMIT },
    );
    try {
      for (const length of [LIMIT, LIMIT + 1]) {
        const ws = new WebSocket(instance.url, { perMessageDeflate: { threshold: 0 } });
        ws.on('error', () => {});
        await within(once(ws, 'open'), WAIT, 'open');
        const payload = sample('random', length, 11);
        ws.send(payload, { binary: true, compress: true });
        if (length === LIMIT) ws.close(1000);
        const [code] = (await within(once(ws, 'close'), WAIT, 'close')) as [number];
        assert.equal(code, length === LIMIT ? 1000 : 1009, `${length} bytes`);
      }
      assert.deepEqual(received, [LIMIT]);
    } finally {
      await instance.close();
    }
  });

  test('our client with maxPayload 64 KiB, against a ws server compressing everything: 64 KiB arrives, one byte more is 1009', async () => {
    const ws = new WebSocketServer({ host: LOCALHOST, port: 0, perMessageDeflate: { threshold: 0 } });
    await once(ws, 'listening');
    ws.on('connection', (socket) => {
      socket.on('error', () => {});
      socket.on('message', (data: RawData) => socket.send(sample('random', Number(String(data)), 12), { binary: true, compress: true }));
    });
    try {
      const url = `ws://${LOCALHOST}:${(ws.address() as AddressInfo).port}/`;
      const peer = await connect(url, {}, { deflate: { threshold: 0 }, maxPayload: LIMIT });
      await peer.write(String(LIMIT));
      const message = await peer.read(WAIT);
      assert.equal(message?.data.length, LIMIT);
      await peer.write(String(LIMIT + 1));
      assert.equal(await peer.read(WAIT), null);
      assert.equal(peer.error?.closeCode, 1009);
    } finally {
      for (const client of ws.clients) client.terminate();
      await new Promise((resolve) => ws.close(resolve));
    }
  });
});
