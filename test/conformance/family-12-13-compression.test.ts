/**
 * The ground of Autobahn families 12 and 13 (permessage-deflate, RFC 7692).
 *
 * Family 13: a client doing the upgrade by hand offers permessage-deflate with each of the
 * parameter sets of cases 13.1–13.7 (no context takeover or not, server window default, 8
 * or 15, and a list of several offers), plus the client-window variants; the echo server
 * must answer by §7.1, and echo messages compressed by the test itself (node:zlib raw
 * deflate with Z_SYNC_FLUSH, tail removed, RSV1 set, masked) so that they decompress to
 * the same bytes. Family 12: the message sizes 16 B .. 64 KiB, several messages each, whole
 * and fragmented; and our client against `ws`'s server with compression, many messages of
 * varied sizes and content.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { connect as netConnect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';

import WebSocket, { WebSocketServer, type RawData } from 'ws';

import { startEchoServer } from '../../src/cli/serve.ts';
import { connect } from '../../src/client/connect.ts';
import type { DeflateOptions } from '../../src/extensions/permessage-deflate/params.ts';
import { FrameDecoder } from '../../src/frame/decoder.ts';
import { encodeFrame } from '../../src/frame/encoder.ts';
import { Opcode } from '../../src/frame/opcode.ts';
import type { Server } from '../../src/server/server.ts';
import { assertSameBytes, element, KiB, offers, paramSet, sample, within, ZlibPeer, type SampleKind } from '../extensions/helpers.ts';

const WAIT = 10_000;
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

// ——— A raw client that compresses by itself ———

interface Received {
  opcode: number;
  rsv1: boolean;
  /** Number of frames the message came in. */
  frames: number;
  payload: Uint8Array;
}

/** The parameters a 101 response's permessage-deflate element gives (RFC 7692 §7.1), read independently of the code under test. */
interface Agreed {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  serverMaxWindowBits: number;
  clientMaxWindowBits: number;
}

function readAgreed(header: string): Agreed {
  const set = paramSet(element(header));
  const bits = (name: string): number => {
    const entry = set.find((param) => param.startsWith(`${name}=`));
    return entry === undefined ? 15 : Number(entry.slice(name.length + 1));
  };
  return {
    serverNoContextTakeover: set.includes('server_no_context_takeover'),
    clientNoContextTakeover: set.includes('client_no_context_takeover'),
    serverMaxWindowBits: bits('server_max_window_bits'),
    clientMaxWindowBits: bits('client_max_window_bits'),
  };
}

class RawDeflateClient {
  private readonly queue: Received[] = [];
  private wake: (() => void) | null = null;
  private readonly decoder: FrameDecoder;
  private current: { opcode: number; rsv1: boolean; parts: Uint8Array[]; frames: number } | null = null;
  private readonly zlib: ZlibPeer | null;
  closeCode: number | null = null;
  ended = false;
  decodeError: string | null = null;

  private constructor(
    private readonly socket: Socket,
    /** The negotiated Sec-WebSocket-Extensions value ('' if none). */
    readonly extensions: string,
    readonly agreed: Agreed | null,
    rest: Uint8Array,
  ) {
    this.zlib =
      agreed === null
        ? null
        : new ZlibPeer({
            deflateBits: agreed.clientMaxWindowBits,
            inflateBits: agreed.serverMaxWindowBits,
            deflateFresh: agreed.clientNoContextTakeover,
            inflateFresh: agreed.serverNoContextTakeover,
            // zlib has no 256-byte window: under a window of 8 the client sends stored blocks, which use none.
            level: agreed.clientMaxWindowBits === 8 ? 0 : 6,
          });
    this.decoder = new FrameDecoder(
      {
        onFrame: (opcode, fin, rsv1, payload) => this.onFrame(opcode, fin, rsv1, payload),
        onFramePart: () => {},
        onFrameError: (error) => {
          this.decodeError = error.message;
          this.notify();
        },
      },
      { expectMasked: false, maxMessageSize: 1 << 30, allowRsv1: agreed !== null },
    );
    socket.on('data', (chunk: Buffer) => this.decoder.push(new Uint8Array(chunk)));
    socket.on('close', () => {
      this.ended = true;
      this.notify();
    });
    if (rest.length > 0) this.decoder.push(rest);
  }

  /** Open a TCP connection to `url` and do the upgrade by hand, offering `offer` (none if null). */
  static async open(url: string, offer: string | null): Promise<RawDeflateClient> {
    const { hostname, port } = new URL(url);
    const socket = netConnect({ host: hostname, port: Number(port) });
    socket.on('error', () => {});
    await within(once(socket, 'connect'), WAIT, 'TCP connect');
    const key = randomBytes(16).toString('base64');
    socket.write(
      `GET / HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
        (offer === null ? '' : `Sec-WebSocket-Extensions: ${offer}\r\n`) +
        '\r\n',
    );
    let buffered = Buffer.alloc(0);
    const end = await within(
      new Promise<number>((resolve, reject) => {
        const onData = (chunk: Buffer): void => {
          buffered = Buffer.concat([buffered, chunk]);
          const at = buffered.indexOf('\r\n\r\n');
          if (at < 0) return;
          socket.off('data', onData);
          resolve(at);
        };
        socket.on('data', onData);
        socket.once('close', () => reject(new Error('closed during the handshake')));
      }),
      WAIT,
      'upgrade response',
    );
    const lines = buffered.subarray(0, end).toString('latin1').split('\r\n');
    assert.match(lines[0] ?? '', /^HTTP\/1\.1 101 /, `the upgrade is accepted: ${lines[0]}`);
    const fields = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).trim().toLowerCase();
      fields.set(name, fields.has(name) ? `${fields.get(name)}, ${line.slice(colon + 1).trim()}` : line.slice(colon + 1).trim());
    }
    assert.equal(fields.get('sec-websocket-accept'), createHash('sha1').update(key + GUID).digest('base64'));
    const extensions = fields.get('sec-websocket-extensions') ?? '';
    return new RawDeflateClient(socket, extensions, extensions === '' ? null : readAgreed(extensions), new Uint8Array(buffered.subarray(end + 4)));
  }

  /** Send one message, compressed if negotiated, in frames of at most `fragmentSize` payload bytes. */
  async send(opcode: number, data: Uint8Array, fragmentSize = Infinity): Promise<Uint8Array> {
    const compressed = this.zlib !== null;
    // A plain Uint8Array: masking works on a copy of it.
    const payload = compressed ? new Uint8Array(await this.zlib.compress(data)) : data;
    const frames: Uint8Array[] = [];
    for (let at = 0; at === 0 || at < payload.length; at += fragmentSize) {
      const end = Math.min(at + fragmentSize, payload.length);
      frames.push(
        encodeFrame({
          opcode: at === 0 ? opcode : Opcode.Continuation,
          payload: payload.subarray(at, end),
          fin: end === payload.length,
          // RFC 7692 §6.1: RSV1 on the first frame of a compressed message only.
          rsv1: compressed && at === 0,
          maskKey: randomBytes(4),
        }),
      );
      if (!Number.isFinite(fragmentSize)) break;
    }
    this.socket.write(Buffer.concat(frames));
    return payload;
  }

  /** The next message the server sent: its type, whether it was compressed, and its decompressed bytes. */
  async receive(): Promise<{ opcode: number; compressed: boolean; wireLength: number; data: Uint8Array }> {
    while (this.queue.length === 0) {
      if (this.closeCode !== null || this.ended || this.decodeError !== null) {
        assert.fail(`no message: close ${this.closeCode}, ended ${this.ended}, decode error ${this.decodeError}`);
      }
      await within(new Promise<void>((resolve) => (this.wake = resolve)), WAIT, 'an echoed message');
    }
    const message = this.queue.shift()!;
    if (!message.rsv1) return { opcode: message.opcode, compressed: false, wireLength: message.payload.length, data: message.payload };
    assert.ok(this.zlib !== null, 'RSV1 without permessage-deflate');
    return { opcode: message.opcode, compressed: true, wireLength: message.payload.length, data: await this.zlib.decompress(message.payload) };
  }

  /** The closing handshake: our close, the server's answer, then the server ends TCP (RFC 6455 §7.1.1). */
  async close(): Promise<void> {
    const body = Uint8Array.of(0x03, 0xe8);
    this.socket.write(encodeFrame({ opcode: Opcode.Close, payload: body, maskKey: randomBytes(4) }));
    await within(
      new Promise<void>((resolve) => {
        const check = (): void => {
          if (this.ended) resolve();
          else this.wake = check;
        };
        check();
      }),
      WAIT,
      'the server closes',
    );
    assert.equal(this.closeCode, 1000);
    assert.equal(this.decodeError, null);
  }

  destroy(): void {
    this.zlib?.close();
    this.socket.destroy();
  }

  private onFrame(opcode: number, fin: boolean, rsv1: boolean, payload: Uint8Array): void {
    if (opcode === Opcode.Close) {
      this.closeCode = payload.length >= 2 ? (payload[0]! << 8) | payload[1]! : 1005;
      this.notify();
      return;
    }
    if (opcode === Opcode.Ping || opcode === Opcode.Pong) return;
    if (opcode !== Opcode.Continuation) this.current = { opcode, rsv1, parts: [], frames: 0 };
    const current = this.current!;
    current.parts.push(payload.slice());
    current.frames++;
    if (!fin) return;
    this.queue.push({ opcode: current.opcode, rsv1: current.rsv1, frames: current.frames, payload: new Uint8Array(Buffer.concat(current.parts)) });
    this.current = null;
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}

// ——— Family 13: the offers ———

interface Family13Case {
  id: string;
  /** The Sec-WebSocket-Extensions value the client sends; null for none. */
  offer: string | null;
}

/** The client's own hints, as a client that takes whatever the server demands sends them. */
const HINTS = 'client_no_context_takeover; client_max_window_bits';

const FAMILY_13: Family13Case[] = [
  { id: '13.1 (no context takeover: false, server window: default)', offer: `permessage-deflate; ${HINTS}` },
  { id: '13.2 (no context takeover: true, server window: default)', offer: `permessage-deflate; ${HINTS}; server_no_context_takeover` },
  { id: '13.3 (no context takeover: false, server window: 8)', offer: `permessage-deflate; ${HINTS}; server_max_window_bits=8` },
  { id: '13.4 (no context takeover: false, server window: 15)', offer: `permessage-deflate; ${HINTS}; server_max_window_bits=15` },
  { id: '13.5 (no context takeover: true, server window: 8)', offer: `permessage-deflate; ${HINTS}; server_no_context_takeover; server_max_window_bits=8` },
  { id: '13.6 (no context takeover: true, server window: 15)', offer: `permessage-deflate; ${HINTS}; server_no_context_takeover; server_max_window_bits=15` },
  {
    id: '13.7 (several offers: the first is taken)',
    offer: `permessage-deflate; ${HINTS}; server_no_context_takeover; server_max_window_bits=9, permessage-deflate; ${HINTS}; server_no_context_takeover, permessage-deflate; ${HINTS}`,
  },
  { id: '13.x no extension offered', offer: null },
  { id: '13.x a bare offer', offer: 'permessage-deflate' },
  { id: '13.x server_no_context_takeover alone', offer: 'permessage-deflate; server_no_context_takeover' },
  { id: '13.x client_max_window_bits=8', offer: 'permessage-deflate; client_max_window_bits=8' },
  { id: '13.x client_max_window_bits=15', offer: 'permessage-deflate; client_max_window_bits=15' },
  { id: '13.x client_max_window_bits=8 with no context takeover both ways', offer: 'permessage-deflate; client_max_window_bits=8; client_no_context_takeover; server_no_context_takeover' },
  { id: '13.x every window of both sides at once', offer: 'permessage-deflate; server_max_window_bits=10; client_max_window_bits=12' },
  {
    id: '13.x an invalid offer first, then a valid one',
    offer: 'permessage-deflate; server_max_window_bits=16, permessage-deflate; client_no_context_takeover=1, permessage-deflate; server_max_window_bits=11',
  },
];

/** What a server with `keepsContext` must answer to `offer` (RFC 7692 §7.1), worked out from the first valid offer. */
function expectedAnswer(offer: string | null, keepsContext: boolean): string[] | null {
  if (offer === null) return null;
  const valid = offers(offer).find((candidate) =>
    candidate.params.every(([name, value]) =>
      name === 'server_no_context_takeover' || name === 'client_no_context_takeover'
        ? value === true
        : name === 'server_max_window_bits'
          ? typeof value === 'string' && /^(8|9|1[0-5])$/.test(value)
          : name === 'client_max_window_bits'
            ? value === true || /^(8|9|1[0-5])$/.test(value)
            : false,
    ),
  );
  assert.ok(valid !== undefined, `the case has a valid offer: ${offer}`);
  const get = (name: string): string | true | undefined => valid.params.find(([param]) => param === name)?.[1];
  const answer: string[] = [];
  if (get('server_no_context_takeover') === true || !keepsContext) answer.push('server_no_context_takeover');
  if (get('client_no_context_takeover') === true || !keepsContext) answer.push('client_no_context_takeover');
  const serverBits = get('server_max_window_bits');
  if (typeof serverBits === 'string') answer.push(`server_max_window_bits=${serverBits}`);
  const clientBits = get('client_max_window_bits');
  if (typeof clientBits === 'string') answer.push(`client_max_window_bits=${clientBits}`);
  return answer.sort();
}

// ——— Family 12: the messages ———

/** Autobahn family 12's message sizes, 16 B to 64 KiB. */
const SIZES = [16, 64, 256, 1024, 4096, 16 * KiB, 64 * KiB];
/** Each size in text (12.1/12.3-like) and binary (12.2/12.5-like), several times. */
const KINDS: Array<{ kind: SampleKind; opcode: number }> = [
  { kind: 'json', opcode: Opcode.Text },
  { kind: 'random', opcode: Opcode.Binary },
];
const REPEATS = 3;

/** Send every message of family 12 through `client` and check each echo. */
async function family12(client: RawDeflateClient, fragmentSize: number): Promise<void> {
  let seed = 1;
  const agreed = client.agreed;
  for (const size of SIZES) {
    for (const { kind, opcode } of KINDS) {
      for (let i = 0; i < REPEATS; i++) {
        const data = sample(kind, size, seed++);
        await client.send(opcode, data, fragmentSize);
        const echo = await client.receive();
        const what = `${kind} ${size} #${i}`;
        assert.equal(echo.opcode, opcode, `${what}: type`);
        assertSameBytes(echo.data, data, `${what}: echo`);
        if (agreed === null) {
          assert.equal(echo.compressed, false, `${what}: nothing is compressed without the extension`);
          continue;
        }
        // The echo server compresses from its default threshold of 64 bytes, unless the
        // message would grow and no context of its own depends on it (random data, stored
        // blocks for a window of 8): that goes uncompressed, RSV1 clear (RFC 7692 §6.1).
        if (size < 64) assert.equal(echo.compressed, false, `${what}: under the threshold`);
        else if (!echo.compressed) assert.ok(agreed.serverNoContextTakeover && (kind === 'random' || agreed.serverMaxWindowBits === 8), `${what}: sent uncompressed`);
        if (echo.compressed && agreed.serverMaxWindowBits === 8) {
          // §7.1.2.1: a server held to 256 bytes of window sends stored blocks, never longer back-references.
          assert.ok(echo.wireLength >= data.length, `${what}: window 8 but ${echo.wireLength} bytes for ${data.length}`);
        }
        if (echo.compressed && kind === 'json' && size >= 1024 && agreed.serverMaxWindowBits > 8) {
          assert.ok(echo.wireLength < data.length * 0.7, `${what}: ${echo.wireLength} bytes for ${data.length}`);
        }
      }
    }
  }
}

// ——— The tests ———

const ECHO_SERVERS: Array<{ name: string; deflate: true | DeflateOptions; keepsContext: boolean }> = [
  { name: 'echo server with deflate: true', deflate: true, keepsContext: false },
  { name: 'echo server with deflate: { contextTakeover: true }', deflate: { contextTakeover: true }, keepsContext: true },
];

for (const echoServer of ECHO_SERVERS) {
  describe(`Autobahn 12/13 ground: ${echoServer.name}`, { concurrency: 4 }, () => {
    let instance: Server | null = null;
    before(async () => {
      instance = await startEchoServer({ host: '127.0.0.1', port: 0, path: '/', options: { deflate: echoServer.deflate } });
    });
    after(async () => {
      await instance?.close(1000);
    });

    for (const family13 of FAMILY_13) {
      test(`${family13.id}: §7.1 answer, then family 12 messages 16 B..64 KiB whole and fragmented echo exactly`, { timeout: 60_000 }, async () => {
        const expected = expectedAnswer(family13.offer, echoServer.keepsContext);
        for (const fragmentSize of [Infinity, 300]) {
          const client = await RawDeflateClient.open(instance!.url, family13.offer);
          try {
            if (expected === null) assert.equal(client.extensions, '', 'no offer, no extension');
            else assert.deepEqual(paramSet(element(client.extensions)), expected, `the answer to ${family13.offer}`);
            await family12(client, fragmentSize);
            await client.close();
          } finally {
            client.destroy();
          }
        }
      });
    }
  });
}

describe('Autobahn 12-like: our client against a ws server with compression', { concurrency: 2 }, () => {
  const CONTENT: SampleKind[] = ['json', 'prose', 'utf8', 'random', 'zeros'];
  const MANY_SIZES = [0, 16, 64, 200, 1024, 4096, 8192, 16 * KiB, 32 * KiB, 64 * KiB, 128 * KiB];

  for (const [name, deflate] of [
    ['default', true],
    ['contextTakeover', { contextTakeover: true }],
    ['contextTakeover, threshold 0, level 9', { contextTakeover: true, threshold: 0, level: 9 }],
  ] as const) {
    for (const wsThreshold of [1024, 0]) {
      test(`our client (${name}) ↔ ws server (threshold ${wsThreshold}): many messages of varied sizes and content echo exactly`, { timeout: 60_000 }, async () => {
        const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: { threshold: wsThreshold } });
        wss.on('connection', (ws: WebSocket) => {
          ws.on('error', () => {});
          ws.on('message', (data: RawData, isBinary: boolean) => ws.send(data as Buffer, { binary: isBinary }));
        });
        await within(once(wss, 'listening'), WAIT, 'ws listening');
        try {
          const peer = await connect(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`, {}, { deflate });
          try {
            assert.match(peer.handshake.extensions, /^permessage-deflate/);
            let seed = 100;
            let count = 0;
            const decoder = new TextDecoder('utf-8', { fatal: true });
            for (let round = 0; round < 2; round++) {
              for (const size of MANY_SIZES) {
                const sent: Array<string | Uint8Array> = [];
                for (const kind of CONTENT) {
                  const bytes = sample(kind, size, seed++);
                  const data = kind === 'random' || kind === 'zeros' ? bytes : decoder.decode(bytes);
                  sent.push(data);
                  void peer.write(data);
                }
                for (const data of sent) {
                  const echo = await peer.read(WAIT);
                  assert.ok(echo !== null, `closed: ${peer.closeCode} ${peer.error?.message ?? ''}`);
                  if (typeof data === 'string') assert.equal(echo.data, data, `text of ${size} bytes`);
                  else assertSameBytes(typeof echo.data === 'string' ? null : echo.data, data, `binary of ${size} bytes`);
                  count++;
                }
              }
            }
            assert.equal(count, 2 * MANY_SIZES.length * CONTENT.length);
            assert.equal(await peer.shutdown(1000), true);
            assert.equal(peer.error, null);
          } finally {
            peer.close();
          }
        } finally {
          for (const client of wss.clients) client.terminate();
          await new Promise<void>((resolve) => wss.close(() => resolve()));
        }
      });
    }
  }
});
