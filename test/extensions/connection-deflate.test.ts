/**
 * permessage-deflate inside the sans-I/O connection (RFC 7692 §6, §7.2, §8): where RSV1
 * goes and where it is refused, the threshold, the decompressed size limit, and bad data —
 * with pairs of connections and with frames written by hand.
 */
import assert from 'node:assert/strict';
import { createHook } from 'node:async_hooks';
import { deflateRawSync, constants } from 'node:zlib';
import { describe, test } from 'node:test';

import { Connection, type ConnectionOptions } from '../../src/connection/connection.ts';
import { EventCollector, type ConnectionEvent } from '../../src/connection/handler.ts';
import { DeflateCodec, resolveDeflateOptions, type DeflateOptions, type DeflateParams } from '../../src/extensions/permessage-deflate/index.ts';
import { FrameDecoder, type FrameSink } from '../../src/frame/decoder.ts';
import { encodeFrame } from '../../src/frame/encoder.ts';
import { Opcode } from '../../src/frame/opcode.ts';
import { assertSameBytes, concat, deflateBomb, inflateWire, KiB, MiB, sample, sampleText, split } from './helpers.ts';

/** A short text that compresses (a shorter one would grow, and go uncompressed without context takeover). */
const AFTER = 'after after after after after';

// ——— Fixtures ———

const MASK = Uint8Array.of(0x37, 0xfa, 0x21, 0x3d);
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

function agreed(noContextTakeover: boolean): DeflateParams {
  return { serverNoContextTakeover: noContextTakeover, clientNoContextTakeover: noContextTakeover, serverMaxWindowBits: 15, clientMaxWindowBits: 15 };
}

interface Side {
  connection: Connection;
  events: EventCollector;
}

function side(role: 'client' | 'server', compression: DeflateCodec | null, options: ConnectionOptions = {}): Side {
  const events = new EventCollector();
  const connection = new Connection(role, events, { ...options, ...(compression === null ? {} : { compression }) });
  return { connection, events };
}

/** A client and a server connection that negotiated permessage-deflate. */
function pair(options: { deflate?: DeflateOptions; noContextTakeover?: boolean; maxPayload?: number; fragments?: boolean } = {}): { client: Side; server: Side } {
  const resolved = resolveDeflateOptions(options.deflate ?? {});
  const params = agreed(options.noContextTakeover ?? true);
  const connectionOptions: ConnectionOptions = { ...(options.maxPayload === undefined ? {} : { maxPayload: options.maxPayload }), fragments: options.fragments ?? false };
  return {
    client: side('client', new DeflateCodec('client', params, resolved), connectionOptions),
    server: side('server', new DeflateCodec('server', params, resolved), connectionOptions),
  };
}

/** A server connection with permessage-deflate, to feed frames written by hand. */
function server(options: { maxPayload?: number; fragments?: boolean; noContextTakeover?: boolean } = {}): Side {
  return side('server', new DeflateCodec('server', agreed(options.noContextTakeover ?? true), resolveDeflateOptions({})), {
    ...(options.maxPayload === undefined ? {} : { maxPayload: options.maxPayload }),
    fragments: options.fragments ?? false,
  });
}

interface WireFrame {
  opcode: number;
  fin: boolean;
  rsv1: boolean;
  payload: Uint8Array;
}

/** Parse what a connection sent. */
function framesOf(chunks: readonly Uint8Array[], fromClient: boolean): WireFrame[] {
  const frames: WireFrame[] = [];
  const sink: FrameSink = {
    onFrame: (opcode, fin, rsv1, payload) => frames.push({ opcode, fin, rsv1, payload: payload.slice() }),
    onFramePart: () => {},
    onFrameError: (error) => assert.fail(`the connection sent an invalid frame: ${error.message}`),
  };
  const decoder = new FrameDecoder(sink, { expectMasked: fromClient, maxMessageSize: 1 << 30, allowRsv1: true });
  for (const chunk of chunks) decoder.push(chunk.slice());
  return frames;
}

/** Move everything `from` queued to `to`; returns the frames that went across. */
function pump(from: Side, to: Side): WireFrame[] {
  const chunks = from.connection.takeOutgoing();
  const frames = framesOf(chunks, from.connection.role === 'client');
  for (const chunk of chunks) to.connection.receive(chunk.slice());
  return frames;
}

/** A masked client frame. */
function clientFrame(opcode: number, payload: Uint8Array, options: { fin?: boolean; rsv1?: boolean; rsv2?: boolean; rsv3?: boolean } = {}): Uint8Array {
  const bytes = encodeFrame({ opcode, payload, fin: options.fin ?? true, rsv1: options.rsv1 ?? false, maskKey: MASK });
  if (options.rsv2 === true) bytes[0] = bytes[0]! | 0x20;
  if (options.rsv3 === true) bytes[0] = bytes[0]! | 0x10;
  return bytes;
}

/** A message compressed by an independent deflater, as a permessage-deflate payload (§7.2.1). */
function compressed(data: Uint8Array): Uint8Array {
  const out = deflateRawSync(data, { finishFlush: constants.Z_SYNC_FLUSH });
  // A plain Uint8Array copy: `encodeFrame` masks `payload.slice()`, which is a view, not a copy, of a Buffer.
  return new Uint8Array(out.subarray(0, out.length - 4));
}

/** The failure event, and the close frame the connection sent for it. */
function assertFailed(target: Side, closeCode: number, what: string): void {
  const events = target.events.take();
  const errors = events.filter((event): event is Extract<ConnectionEvent, { type: 'error' }> => event.type === 'error');
  assert.equal(errors.length, 1, `${what}: one error event, got ${events.map((event) => event.type).join(', ')}`);
  assert.equal(errors[0]!.error.closeCode, closeCode, `${what}: close code (${errors[0]!.error.message})`);
  assert.equal(target.connection.state, 'CLOSED');
  assert.ok(target.connection.transportShouldClose);
  const sent = framesOf(target.connection.takeOutgoing(), target.connection.role === 'client');
  const close = sent.at(-1);
  assert.ok(close !== undefined && close.opcode === Opcode.Close, `${what}: a close frame is sent`);
  assert.equal((close.payload[0]! << 8) | close.payload[1]!, closeCode, `${what}: the close frame's code`);
  assert.ok(!events.some((event) => event.type === 'text' || event.type === 'binary'), `${what}: no message is delivered`);
}

function onlyMessage(target: Side): ConnectionEvent {
  const events = target.events.take();
  assert.equal(events.length, 1, `one event, got ${events.map((event) => event.type).join(', ')}`);
  return events[0]!;
}

// ——— Tests ———

describe('sending', () => {
  test('RFC 7692 §6.1: a compressed message sets RSV1 on its first frame only', () => {
    const { client, server: srv } = pair({ deflate: { threshold: 0 } });
    const text = sampleText('json', 50_000);
    client.connection.sendText(text, 200);
    const frames = pump(client, srv);
    assert.ok(frames.length > 2, `${frames.length} frames`);
    assert.deepEqual(
      frames.map((frame) => [frame.opcode, frame.rsv1, frame.fin]),
      frames.map((_, i) => [i === 0 ? Opcode.Text : Opcode.Continuation, i === 0, i === frames.length - 1]),
    );
    // The frames together are one DEFLATE payload (§7.2.1) of the whole message.
    assertSameBytes(inflateWire(concat(frames.map((frame) => frame.payload))), utf8(text), 'the payload inflates to the message');
    assert.deepEqual(srv.events.take(), [{ type: 'text', data: text, fin: true }]);

    const data = sample('prose', 30_000);
    srv.connection.sendBinary(data, 1000);
    const back = pump(srv, client);
    assert.deepEqual(
      back.map((frame) => [frame.opcode, frame.rsv1]),
      back.map((_, i) => [i === 0 ? Opcode.Binary : Opcode.Continuation, i === 0]),
    );
    const event = onlyMessage(client);
    assert.equal(event.type, 'binary');
    assertSameBytes(event.type === 'binary' ? event.data : null, data, 'binary echo');
  });

  test('RFC 7692 §6: a whole compressed message is one frame with RSV1, smaller than the message', () => {
    const { client, server: srv } = pair();
    const text = sampleText('prose', 10_000);
    client.connection.sendText(text);
    const [frame, ...rest] = pump(client, srv);
    assert.equal(rest.length, 0);
    assert.ok(frame !== undefined && frame.rsv1 && frame.fin && frame.opcode === Opcode.Text);
    assert.ok(frame.payload.length < text.length / 2, `${frame.payload.length} bytes for ${text.length}`);
    assert.deepEqual(srv.events.take(), [{ type: 'text', data: text, fin: true }]);
  });

  test('messages below the threshold go uncompressed (RSV1 clear, payload as is); at the threshold they are compressed', () => {
    for (const threshold of [64, 1000]) {
      const { client, server: srv } = pair({ deflate: { threshold } });
      const below = 'a'.repeat(threshold - 1);
      const at = 'a'.repeat(threshold);
      client.connection.sendText(below);
      client.connection.sendBinary(utf8(below));
      client.connection.sendText(at);
      client.connection.sendBinary(utf8(at));
      const frames = pump(client, srv);
      assert.deepEqual(
        frames.map((frame) => frame.rsv1),
        [false, false, true, true],
        `threshold ${threshold}`,
      );
      assert.deepEqual(frames[0]!.payload, utf8(below));
      assert.ok(frames[2]!.payload.length < threshold);
      assert.deepEqual(
        srv.events.take().map((event) => (event.type === 'text' ? event.data : event.type === 'binary' ? new TextDecoder().decode(event.data) : event.type)),
        [below, below, at, at],
      );
    }
  });

  test('a multi-byte text measured in bytes against the threshold', () => {
    const { client, server: srv } = pair({ deflate: { threshold: 64 } });
    // 32 characters of two bytes each: 64 bytes, so compressed.
    const text = 'é'.repeat(32);
    client.connection.sendText(text);
    const short = 'é'.repeat(31);
    client.connection.sendText(short);
    assert.deepEqual(
      pump(client, srv).map((frame) => frame.rsv1),
      [true, false],
    );
    assert.deepEqual(
      srv.events.take().map((event) => (event.type === 'text' ? event.data : '')),
      [text, short],
    );
  });

  test('RFC 7692 §6: without context takeover a message that compressing would grow goes uncompressed (RSV1 clear), so one of exactly maxPayload stays within the limit', () => {
    const { client, server: srv } = pair({ deflate: { threshold: 0 }, noContextTakeover: true });
    const data = sample('random', 30_000);
    client.connection.sendBinary(data);
    const frames = pump(client, srv);
    assert.deepEqual(frames.map((frame) => [frame.rsv1, frame.payload.length]), [[false, data.length]]);
    const event = onlyMessage(srv);
    assertSameBytes(event.type === 'binary' ? event.data : null, data, 'as it was');
  });

  test('threshold 0: an empty message is compressed too (RSV1 with the one-byte empty block)', () => {
    for (const noContextTakeover of [true, false]) {
      const { client, server: srv } = pair({ deflate: { threshold: 0 }, noContextTakeover });
      for (let i = 0; i < 3; i++) {
        client.connection.sendText('');
        client.connection.sendBinary(new Uint8Array(0));
        client.connection.sendText(AFTER);
      }
      const frames = pump(client, srv);
      assert.ok(frames.every((frame) => frame.rsv1));
      assert.deepEqual(
        srv.events.take().map((event) => (event.type === 'text' ? `t:${event.data}` : event.type === 'binary' ? `b:${event.data.length}` : event.type)),
        ['t:', 'b:0', `t:${AFTER}`, 't:', 'b:0', `t:${AFTER}`, 't:', 'b:0', `t:${AFTER}`],
        `context takeover: ${!noContextTakeover}`,
      );
    }
  });

  test('RFC 7692 §6: a message framed once for many connections goes compressed from one that compresses it, not as the shared frame', () => {
    const { client, server: srv } = pair();
    const text = sampleText('json', 2 * KiB);
    const payload = utf8(text);
    const frame = encodeFrame({ opcode: Opcode.Text, payload });
    srv.connection.sendFramed(Opcode.Text, frame, payload);
    const [sent, ...rest] = pump(srv, client);
    assert.equal(rest.length, 0);
    assert.ok(sent !== undefined && sent.rsv1 && sent.fin && sent.opcode === Opcode.Text);
    assert.ok(sent.payload.length < payload.length, `${sent.payload.length} bytes for ${payload.length}`);
    assert.deepEqual(client.events.take(), [{ type: 'text', data: text, fin: true }]);
  });

  test('RFC 7692 §6.1: control frames are never compressed, even above the threshold', () => {
    const { client, server: srv } = pair({ deflate: { threshold: 0 } });
    client.connection.sendPing('p'.repeat(125));
    client.connection.sendPong('q'.repeat(100));
    client.connection.close(1000, 'r'.repeat(100));
    const frames = pump(client, srv);
    assert.deepEqual(
      frames.map((frame) => [frame.opcode, frame.rsv1]),
      [
        [Opcode.Ping, false],
        [Opcode.Pong, false],
        [Opcode.Close, false],
      ],
    );
  });

  test('frames sent one by one with sendFrame are not compressed', () => {
    const { client, server: srv } = pair({ deflate: { threshold: 0 } });
    client.connection.sendFrame(Opcode.Text, 'hello ', false);
    client.connection.sendFrame(Opcode.Continuation, 'world', true);
    assert.deepEqual(
      pump(client, srv).map((frame) => frame.rsv1),
      [false, false],
    );
    assert.deepEqual(srv.events.take(), [{ type: 'text', data: 'hello world', fin: true }]);
  });

  test('§7.1.1: with context takeover a repeated message goes out smaller; compressed and plain messages mix', () => {
    const { client, server: srv } = pair({ noContextTakeover: false });
    const text = sampleText('json', 3000, 9);
    const sizes: number[] = [];
    for (let i = 0; i < 4; i++) {
      client.connection.sendText(text);
      client.connection.sendText('tiny');
      const frames = pump(client, srv);
      sizes.push(frames[0]!.payload.length);
      assert.deepEqual(
        frames.map((frame) => frame.rsv1),
        [true, false],
      );
      assert.deepEqual(srv.events.take(), [
        { type: 'text', data: text, fin: true },
        { type: 'text', data: 'tiny', fin: true },
      ]);
    }
    assert.ok(sizes[1]! < sizes[0]! / 4, `sizes ${sizes.join(', ')}`);
  });

  test('§7.2.2: a send refused for its fragmentSize leaves the compression context as it was, in step with the peer', () => {
    const { client, server: srv } = pair({ noContextTakeover: false });
    const text = sampleText('json', 3000, 9);
    assert.throws(() => client.connection.sendText(text, 0), RangeError);
    assert.throws(() => client.connection.sendBinary(utf8(text), Number.NaN), RangeError);
    assert.equal(client.connection.outgoingBytes, 0);
    client.connection.sendText(text);
    pump(client, srv);
    assert.deepEqual(srv.events.take(), [{ type: 'text', data: text, fin: true }]);
  });
});

describe('receiving', () => {
  test('RFC 7692 §7.2.2: a compressed message in fragments, with a ping in between, is delivered whole', () => {
    for (const fragments of [false, true]) {
      const srv = server({ fragments });
      const text = sampleText('utf8', 20_000, 3);
      const pieces = split(compressed(utf8(text)), [3, 100, 1000]);
      const wire = pieces.map((piece, i) => clientFrame(i === 0 ? Opcode.Text : Opcode.Continuation, piece, { fin: i === pieces.length - 1, rsv1: i === 0 }));
      wire.splice(2, 0, clientFrame(Opcode.Ping, utf8('are you there')));
      for (const bytes of wire) srv.connection.receive(bytes);
      const events = srv.events.take();
      assert.deepEqual(
        events.filter((event) => event.type === 'ping').map((event) => event.type === 'ping' && new TextDecoder().decode(event.data)),
        ['are you there'],
      );
      if (!fragments) assert.equal(events[0]?.type, 'ping', 'the ping is answered before the message ends');
      const texts = events.filter((event) => event.type === 'text');
      assert.equal(texts.map((event) => (event.type === 'text' ? event.data : '')).join(''), text, `fragments mode ${fragments}`);
      assert.equal(texts.at(-1)?.type === 'text' && texts.at(-1)!.fin, true);
      if (!fragments) assert.equal(texts.length, 1);
      const pong = framesOf(srv.connection.takeOutgoing(), false);
      assert.deepEqual(
        pong.map((frame) => [frame.opcode, frame.rsv1]),
        [[Opcode.Pong, false]],
      );
    }
  });

  test('§8.1: a code point split between the inflated output of two frames is fine', () => {
    const srv = server();
    const text = '€'.repeat(5000);
    const payload = compressed(utf8(text));
    for (let cut = 1; cut < payload.length; cut += 7) {
      srv.connection.receive(clientFrame(Opcode.Text, payload.subarray(0, cut), { fin: false, rsv1: true }));
      srv.connection.receive(clientFrame(Opcode.Continuation, payload.subarray(cut), { fin: true }));
      assert.deepEqual(srv.events.take(), [{ type: 'text', data: text, fin: true }], `cut at ${cut}`);
    }
  });

  test('a compressed message split across TCP chunks at every byte is delivered', () => {
    const srv = server();
    const text = sampleText('json', 2000, 4);
    const bytes = clientFrame(Opcode.Text, compressed(utf8(text)), { rsv1: true });
    for (let i = 0; i < bytes.length; i++) srv.connection.receive(bytes.slice(i, i + 1));
    assert.deepEqual(srv.events.take(), [{ type: 'text', data: text, fin: true }]);
  });

  test('without context takeover, messages in several frames reuse spare streams: a peer cannot make one built per message', () => {
    const srv = server();
    let built = 0;
    const hook = createHook({ init: (_id, type) => void (type === 'ZLIB' && built++) }).enable();
    try {
      const text = 'fragmented and compressed';
      const body = compressed(utf8(text));
      for (let i = 0; i < 200; i++) {
        srv.connection.receive(concat([clientFrame(Opcode.Text, body.subarray(0, 5), { fin: false, rsv1: true }), clientFrame(Opcode.Continuation, body.subarray(5))]));
      }
      assert.equal(srv.events.take().filter((event) => event.type === 'text' && event.data === text).length, 200);
    } finally {
      hook.disable();
    }
    assert.ok(built <= 2, `${built} zlib streams built for 200 messages`);
  });

  test('without context takeover, a burst of connections each mid-way through a fragmented message leaves at most 8 spare streams: the others are closed', () => {
    const connections = Array.from({ length: 20 }, () => server());
    const text = 'fragmented and compressed';
    const body = compressed(utf8(text));
    let built = 0;
    let closed = 0;
    // The native handle of each stream built, its close counted as it is made (the hook's
    // destroy would come only once the handle is garbage-collected, whenever that is).
    const hook = createHook({
      init: (_id, type, _trigger, resource) => {
        if (type !== 'ZLIB') return;
        built++;
        const handle = resource as { close(): void };
        const close = handle.close;
        handle.close = function (this: unknown) {
          closed++;
          return close.call(this);
        };
      },
    }).enable();
    try {
      // Each takes a stream of its own (a spare left by earlier tests, or a new one) ...
      for (const c of connections) c.connection.receive(clientFrame(Opcode.Text, body.subarray(0, 5), { fin: false, rsv1: true }));
      // ... and gives it back once its message ends: 8 are kept, the rest closed.
      for (const c of connections) c.connection.receive(clientFrame(Opcode.Continuation, body.subarray(5)));
      for (const c of connections) assert.deepEqual(c.events.take(), [{ type: 'text', data: text, fin: true }]);
    } finally {
      hook.disable();
    }
    assert.ok(built >= 20 - 8, `${built} streams built`);
    assert.equal(closed, 20 - 8);
  });

  test('without context takeover, fragmented compressed messages interleaved on two connections each keep a stream of their own', () => {
    const [a, b] = [server(), server()];
    const texts = ['on connection a, '.repeat(40), 'and on connection b, '.repeat(40)];
    const bodies = texts.map((text) => compressed(utf8(text)));
    const half = (body: Uint8Array): number => body.length >> 1;
    for (let round = 0; round < 5; round++) {
      a.connection.receive(clientFrame(Opcode.Text, bodies[0]!.subarray(0, half(bodies[0]!)), { fin: false, rsv1: true }));
      b.connection.receive(clientFrame(Opcode.Text, bodies[1]!.subarray(0, half(bodies[1]!)), { fin: false, rsv1: true }));
      b.connection.receive(clientFrame(Opcode.Continuation, bodies[1]!.subarray(half(bodies[1]!))));
      a.connection.receive(clientFrame(Opcode.Continuation, bodies[0]!.subarray(half(bodies[0]!))));
      assert.deepEqual(a.events.take(), [{ type: 'text', data: texts[0], fin: true }]);
      assert.deepEqual(b.events.take(), [{ type: 'text', data: texts[1], fin: true }]);
    }
  });

  test('uncompressed messages still arrive as they are on a connection with permessage-deflate', () => {
    const srv = server();
    srv.connection.receive(clientFrame(Opcode.Text, utf8('plain')));
    srv.connection.receive(clientFrame(Opcode.Text, compressed(utf8('squeezed')), { rsv1: true }));
    srv.connection.receive(clientFrame(Opcode.Binary, Uint8Array.of(0x00, 0x00, 0xff, 0xff)));
    const events = srv.events.take();
    assert.deepEqual(events.slice(0, 2), [
      { type: 'text', data: 'plain', fin: true },
      { type: 'text', data: 'squeezed', fin: true },
    ]);
    assert.deepEqual(events[2], { type: 'binary', data: Uint8Array.of(0x00, 0x00, 0xff, 0xff), fin: true });
  });
});

describe('failures', () => {
  test('RFC 7692 §6.1: RSV1 on a continuation frame fails the connection with 1002', () => {
    for (const firstCompressed of [true, false]) {
      const srv = server();
      const payload = compressed(utf8('hello hello hello'));
      srv.connection.receive(clientFrame(Opcode.Text, firstCompressed ? payload.subarray(0, 4) : utf8('hel'), { fin: false, rsv1: firstCompressed }));
      srv.connection.receive(clientFrame(Opcode.Continuation, firstCompressed ? payload.subarray(4) : utf8('lo'), { fin: true, rsv1: true }));
      assertFailed(srv, 1002, `first frame compressed: ${firstCompressed}`);
    }
  });

  for (const [name, opcode] of [
    ['ping', Opcode.Ping],
    ['pong', Opcode.Pong],
    ['close', Opcode.Close],
  ] as const) {
    test(`RFC 7692 §6.1: RSV1 on a ${name} frame fails the connection with 1002`, () => {
      const srv = server();
      srv.connection.receive(clientFrame(opcode, opcode === Opcode.Close ? Uint8Array.of(0x03, 0xe8) : utf8('x'), { rsv1: true }));
      assertFailed(srv, 1002, name);
    });
  }

  test('RFC 6455 §5.2: RSV1 without permessage-deflate negotiated fails the connection with 1002', () => {
    for (const opcode of [Opcode.Text, Opcode.Binary]) {
      const plain = side('server', null);
      plain.connection.receive(clientFrame(opcode, compressed(utf8('hello')), { rsv1: true }));
      assertFailed(plain, 1002, `opcode ${opcode}`);
    }
    // And on the client side, from a server.
    const client = side('client', null);
    client.connection.receive(encodeFrame({ opcode: Opcode.Text, payload: compressed(utf8('hello')), rsv1: true }));
    assertFailed(client, 1002, 'client');
  });

  test('RFC 6455 §5.2: RSV2 and RSV3 still fail with 1002 when permessage-deflate is negotiated', () => {
    for (const bits of [{ rsv2: true }, { rsv3: true }, { rsv1: true, rsv2: true }]) {
      const srv = server();
      srv.connection.receive(clientFrame(Opcode.Text, compressed(utf8('hello')), bits));
      assertFailed(srv, 1002, JSON.stringify(bits));
    }
  });

  test('RFC 7692 §8 / RFC 6455 §10.4: a small compressed frame whose message inflates past maxPayload fails with 1009', () => {
    for (const noContextTakeover of [true, false]) {
      const srv = server({ maxPayload: 64 * KiB, noContextTakeover });
      const payload = compressed(new Uint8Array(MiB));
      assert.ok(payload.length < 2 * KiB, `the frame is small: ${payload.length} bytes`);
      srv.connection.receive(clientFrame(Opcode.Binary, payload, { rsv1: true }));
      assertFailed(srv, 1009, `context takeover: ${!noContextTakeover}`);
    }
  });

  test('§8: the limit counts the inflated bytes of all the fragments of a message', () => {
    const limit = 64 * KiB;
    const srv = server({ maxPayload: limit });
    // Each frame inflates to 40 KiB: the second one crosses 64 KiB.
    const payload = compressed(new Uint8Array(200 * KiB));
    const frames = split(payload, [payload.length / 5, (2 * payload.length) / 5].map(Math.floor));
    srv.connection.receive(clientFrame(Opcode.Binary, frames[0]!, { fin: false, rsv1: true }));
    assert.deepEqual(srv.events.take(), []);
    srv.connection.receive(clientFrame(Opcode.Continuation, frames[1]!, { fin: false }));
    assertFailed(srv, 1009, 'fragments');
  });

  test('§8: a compressed message of exactly maxPayload bytes is delivered; one byte more fails with 1009', () => {
    const limit = 100_000;
    const ok = server({ maxPayload: limit });
    ok.connection.receive(clientFrame(Opcode.Binary, compressed(new Uint8Array(limit)), { rsv1: true }));
    const event = onlyMessage(ok);
    assert.equal(event.type === 'binary' && event.data.length, limit);
    const tooBig = server({ maxPayload: limit });
    tooBig.connection.receive(clientFrame(Opcode.Binary, compressed(new Uint8Array(limit + 1)), { rsv1: true }));
    assertFailed(tooBig, 1009, 'one byte over');
  });

  test('§8: a 1 MiB frame that would inflate to 1 GiB fails with 1009 at the default limit, quickly and without the memory', () => {
    const { payload } = deflateBomb(4_161_791);
    const srv = server();
    const before = process.memoryUsage();
    const started = performance.now();
    srv.connection.receive(clientFrame(Opcode.Binary, payload, { rsv1: true }));
    const elapsed = performance.now() - started;
    const after = process.memoryUsage();
    assertFailed(srv, 1009, 'bomb');
    assert.ok(elapsed < 3000, `took ${elapsed.toFixed(0)} ms`);
    const grew = Math.max(after.rss - before.rss, after.arrayBuffers - before.arrayBuffers);
    assert.ok(grew < 512 * MiB, `memory grew by ${(grew / MiB).toFixed(0)} MiB`);
  });

  test('RFC 7692 §7.2.2: compressed data that is not DEFLATE fails the connection with 1007', () => {
    for (const [what, bad] of [
      ['reserved block type', Uint8Array.of(0x07, 0x00)],
      ['bad stored block length', Uint8Array.of(0x00, 0x05, 0x00, 0x00, 0x00, 0x61)],
      ['distance too far back', Uint8Array.of(0x02, 0x04, 0x00)],
    ] as const) {
      for (const opcode of [Opcode.Text, Opcode.Binary]) {
        const srv = server();
        srv.connection.receive(clientFrame(opcode, bad, { rsv1: true }));
        assertFailed(srv, 1007, `${what}, opcode ${opcode}`);
      }
    }
    // Bad data in a later fragment.
    const srv = server();
    const good = compressed(utf8(sampleText('prose', 5000)));
    srv.connection.receive(clientFrame(Opcode.Text, good.subarray(0, 50), { fin: false, rsv1: true }));
    srv.connection.receive(clientFrame(Opcode.Continuation, Uint8Array.of(0xff, 0xff, 0xff), { fin: true }));
    assertFailed(srv, 1007, 'a bad last fragment');
  });

  test('RFC 6455 §8.1: invalid UTF-8 inside a compressed text message fails with 1007', () => {
    const invalid: Array<[string, Uint8Array]> = [
      ['a lone continuation byte', Uint8Array.of(0x61, 0x80, 0x62)],
      ['an overlong encoding', Uint8Array.of(0xc0, 0xaf)],
      ['a surrogate', Uint8Array.of(0xed, 0xa0, 0x80)],
      ['a truncated code point at the end', concat([utf8('a'.repeat(100)), Uint8Array.of(0xe2, 0x82)])],
    ];
    for (const fragments of [false, true]) {
      for (const [what, bytes] of invalid) {
        const whole = server({ fragments });
        whole.connection.receive(clientFrame(Opcode.Text, compressed(bytes), { rsv1: true }));
        assertFailed(whole, 1007, `${what} (fragments mode ${fragments})`);
        // The same bytes as one compressed message in two frames.
        const payload = compressed(bytes);
        const split2 = server({ fragments });
        split2.connection.receive(clientFrame(Opcode.Text, payload.subarray(0, 1), { fin: false, rsv1: true }));
        split2.connection.receive(clientFrame(Opcode.Continuation, payload.subarray(1), { fin: true }));
        const events = split2.events.take();
        const errors = events.filter((event) => event.type === 'error');
        assert.equal(errors.length, 1, `${what} in two frames (fragments mode ${fragments})`);
        assert.equal(errors[0]!.type === 'error' && errors[0]!.error.closeCode, 1007);
      }
    }
  });

  test('after a failure nothing more is decompressed or delivered', () => {
    const srv = server();
    srv.connection.receive(clientFrame(Opcode.Text, Uint8Array.of(0x07, 0x00), { rsv1: true }));
    assertFailed(srv, 1007, 'bad data');
    srv.connection.receive(clientFrame(Opcode.Text, compressed(utf8('late')), { rsv1: true }));
    assert.deepEqual(srv.events.take(), []);
  });
});
