/**
 * Messages whose DEFLATE stream ends with a BFINAL block (RFC 7692 §7.2.1, example in
 * §7.2.3.4): bytes after the end of the stream are ignored, and with context takeover the
 * next message, a new DEFLATE stream, may refer back into the output before it. Both roles,
 * with and without context takeover, at the connection level and over a loopback socket.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { constants, deflateRawSync, inflateRawSync } from 'node:zlib';
import { describe, test } from 'node:test';

import { Connection } from '../../src/connection/connection.ts';
import { EventCollector, type ConnectionEvent } from '../../src/connection/handler.ts';
import { DeflateCodec, resolveDeflateOptions, type DeflateParams } from '../../src/extensions/permessage-deflate/index.ts';
import { encodeFrame } from '../../src/frame/encoder.ts';
import { Opcode } from '../../src/frame/opcode.ts';
import { server, type Peer } from '../../src/index.ts';
import { clientFrame, defer, LOCALHOST, parseResponse, portOf, rawConnect, requestText, upgradeLines, waitFor, within } from '../peer/helpers.ts';
import { assertSameBytes, concat, KiB, sample, TAIL } from './helpers.ts';

// ——— Fixtures ———

/** RFC 7692 §7.2.3.4: "Hello" in one BFINAL block; the last 0x00 lies after the end of the stream. */
const HELLO = Uint8Array.of(0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00);
const MASK = Uint8Array.of(0x5a, 0x01, 0xc3, 0x7e);
/** Bytes that are not DEFLATE (a reserved block type): parsed, they would fail the connection. */
const JUNK = Uint8Array.of(0x07, 0x00, 0xff, 0x13);
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

type Role = 'client' | 'server';
const ROLES: Role[] = ['server', 'client'];

interface Receiver {
  role: Role;
  connection: Connection;
  events: EventCollector;
}

function receiver(role: Role, contextTakeover: boolean): Receiver {
  const noTakeover = !contextTakeover;
  const params: DeflateParams = { serverNoContextTakeover: noTakeover, clientNoContextTakeover: noTakeover, serverMaxWindowBits: 15, clientMaxWindowBits: 15 };
  const events = new EventCollector();
  const connection = new Connection(role, events, { compression: new DeflateCodec(role, params, resolveDeflateOptions({})) });
  return { role, connection, events };
}

/** A frame from the other end: masked towards a server, not towards a client (RFC 6455 §5.1). */
function deliver(to: Receiver, opcode: number, payload: Uint8Array, fin = true): void {
  // RFC 7692 §6.1: RSV1 on the first frame of a compressed message only.
  const rsv1 = opcode !== Opcode.Continuation;
  to.connection.receive(encodeFrame({ opcode, payload: new Uint8Array(payload), fin, rsv1, maskKey: to.role === 'server' ? MASK : null }));
}

/** A raw DEFLATE stream of `data` ending with a BFINAL block (Z_FINISH), optionally over a dictionary. */
function finalStream(data: Uint8Array, dictionary?: Uint8Array): Uint8Array {
  return new Uint8Array(deflateRawSync(data, dictionary === undefined ? {} : { dictionary }));
}

/** A sync-flushed payload with its tail removed (§7.2.1), optionally over a dictionary. */
function syncFlushed(data: Uint8Array, dictionary?: Uint8Array): Uint8Array {
  const out = deflateRawSync(data, { finishFlush: constants.Z_SYNC_FLUSH, ...(dictionary === undefined ? {} : { dictionary }) });
  return new Uint8Array(out.subarray(0, out.length - 4));
}

/** The messages delivered, as text or bytes; fails on anything else. */
function messages(target: Receiver): Array<string | Uint8Array> {
  return target.events.take().map((event) => {
    if (event.type === 'text' || event.type === 'binary') return event.data;
    return assert.fail(`unexpected ${event.type} event${event.type === 'error' ? `: ${event.error.message}` : ''}`);
  });
}

/** The connection failed with `closeCode` and delivered no message. */
function assertFailed(target: Receiver, closeCode: number, what: string): void {
  const events = target.events.take();
  const errors = events.filter((event): event is Extract<ConnectionEvent, { type: 'error' }> => event.type === 'error');
  assert.equal(errors.length, 1, `${what}: one error, got ${events.map((event) => event.type).join(', ')}`);
  assert.equal(errors[0]!.error.closeCode, closeCode, `${what}: ${errors[0]!.error.message}`);
  assert.ok(!events.some((event) => event.type === 'text' || event.type === 'binary'), `${what}: no message delivered`);
  assert.equal(target.connection.state, 'CLOSED');
}

/** Whether raw `payload` (tail restored) inflates over `dictionary` at all. */
function inflates(payload: Uint8Array, dictionary?: Uint8Array): boolean {
  try {
    inflateRawSync(concat([payload, TAIL]), { finishFlush: constants.Z_SYNC_FLUSH, ...(dictionary === undefined ? {} : { dictionary }) });
    return true;
  } catch {
    return false;
  }
}

// ——— At the connection ———

for (const role of ROLES) {
  const from = role === 'server' ? 'masked, from a client' : 'unmasked, from a server';

  describe(`RFC 7692 §7.2.1: a ${role} receiving messages that end their DEFLATE stream (${from})`, () => {
    for (const contextTakeover of [true, false]) {
      const context = contextTakeover ? 'context takeover' : 'no context takeover';

      test(`§7.2.3.4 (${context}): the BFINAL example three times is "Hello" three times, then a sync-flushed message decodes`, () => {
        const target = receiver(role, contextTakeover);
        for (let i = 0; i < 3; i++) deliver(target, Opcode.Text, HELLO);
        deliver(target, Opcode.Text, syncFlushed(utf8('World')));
        deliver(target, Opcode.Text, syncFlushed(utf8('World, again')));
        assert.deepEqual(messages(target), ['Hello', 'Hello', 'Hello', 'World', 'World, again']);
      });

      test(`§7.2.1 (${context}): a stream that ends in the first fragment: later fragments are junk, ignored; the message is the output up to the end`, () => {
        const target = receiver(role, contextTakeover);
        deliver(target, Opcode.Text, HELLO, false);
        deliver(target, Opcode.Continuation, JUNK, false);
        deliver(target, Opcode.Continuation, JUNK, true);
        // The stream also ending inside a frame's payload, with junk after it there.
        deliver(target, Opcode.Text, concat([HELLO, JUNK]), false);
        deliver(target, Opcode.Continuation, new Uint8Array(0), true);
        deliver(target, Opcode.Text, syncFlushed(utf8('after')));
        assert.deepEqual(messages(target), ['Hello', 'Hello', 'after']);
      });

      test(`§7.2.1 (${context}): a stream that ends exactly at the end of a frame, or of its payload (noticed on the tail), is delivered`, () => {
        const target = receiver(role, contextTakeover);
        const exact = HELLO.subarray(0, 7); // without the byte after the end of the stream
        deliver(target, Opcode.Text, exact);
        deliver(target, Opcode.Text, exact, false);
        deliver(target, Opcode.Continuation, JUNK, true);
        // Split inside the stream: it ends in the second fragment.
        deliver(target, Opcode.Text, HELLO.subarray(0, 3), false);
        deliver(target, Opcode.Continuation, HELLO.subarray(3), true);
        deliver(target, Opcode.Text, syncFlushed(utf8('World')));
        assert.deepEqual(messages(target), ['Hello', 'Hello', 'Hello', 'World']);
      });
    }

    test('§7.2.1 / §7.2.2 (context takeover): a new DEFLATE stream after a BFINAL message refers back into its output', () => {
      const target = receiver(role, true);
      const first = utf8('The quick brown fox jumps over the lazy dog, twice: the quick brown fox.');
      const second = utf8('the lazy dog and the quick brown fox jumps');
      const third = utf8('and the lazy dog, the quick brown fox jumps');
      // Each later message is a new stream that only makes sense over the one before.
      const secondPayload = finalStream(second, first);
      const thirdPayload = syncFlushed(third, second);
      assert.ok(!inflates(secondPayload) && !inflates(thirdPayload), 'the later messages refer back');
      deliver(target, Opcode.Text, concat([finalStream(first), Uint8Array.of(0)]));
      deliver(target, Opcode.Text, secondPayload);
      deliver(target, Opcode.Text, thirdPayload);
      assert.deepEqual(messages(target), [first, second, third].map((bytes) => new TextDecoder().decode(bytes)));
    });

    test('§7.2.1 (context takeover): the stream outlives messages that end it, as many as come (one zlib stream per connection, not per message)', () => {
      const codec = new DeflateCodec(role, { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 }, resolveDeflateOptions({}));
      const events = new EventCollector();
      const target: Receiver = { role, connection: new Connection(role, events, { compression: codec }), events };
      const streamOf = (): unknown => (codec as unknown as { inflater: unknown }).inflater;
      deliver(target, Opcode.Text, HELLO);
      const stream = streamOf();
      assert.ok(stream !== null);
      const words = ['alpha beta gamma', 'beta gamma delta', 'gamma delta alpha'].map(utf8);
      for (let i = 0; i < 50; i++) {
        // Each refers back into the one before, the output of an ended stream or not.
        deliver(target, Opcode.Text, HELLO);
        deliver(target, Opcode.Text, finalStream(words[0]!));
        deliver(target, Opcode.Text, finalStream(words[1]!, words[0]));
        deliver(target, Opcode.Text, syncFlushed(words[2]!, words[1]));
      }
      assert.equal(streamOf(), stream, 'the same zlib stream, reset and primed');
      const seen = messages(target);
      assert.equal(seen.length, 201);
      assert.deepEqual(seen.slice(-4), ['Hello', 'alpha beta gamma', 'beta gamma delta', 'gamma delta alpha']);
    });

    test('§7.2.1 (context takeover): the kept output is the last window of a longer one (2^15 bytes of 40 KiB)', () => {
      const target = receiver(role, true);
      const long = sample('random', 40 * KiB, 3);
      // Matches 32000 bytes back: inside the window, past the first 8 KiB of the output.
      const echo = long.subarray(long.length - 32_000, long.length - 31_000);
      const payload = syncFlushed(echo, long);
      assert.ok(payload.length < echo.length / 4, `the echo is a back-reference: ${payload.length} bytes`);
      deliver(target, Opcode.Binary, finalStream(long));
      deliver(target, Opcode.Binary, payload);
      const [first, second] = messages(target);
      assertSameBytes(first as Uint8Array, long, 'the long message');
      assertSameBytes(second as Uint8Array, echo, 'the message referring back 32000 bytes');
    });

    test('§7.2.1 (context takeover): a reference further back than the kept output of an ended stream fails with 1007, never gives wrong data', () => {
      const target = receiver(role, true);
      const a = sample('random', 2000, 1);
      const b = utf8('short');
      // C repeats A's start: with A and B as its window it is a match 2005 bytes back.
      const c = a.subarray(0, 500);
      const cPayload = syncFlushed(c, concat([a, b]));
      assert.ok(inflates(cPayload, concat([a, b])) && !inflates(cPayload, b), 'C refers back into A, past B');
      deliver(target, Opcode.Binary, finalStream(a));
      deliver(target, Opcode.Binary, finalStream(b, a));
      const [first, second] = messages(target);
      assertSameBytes(first as Uint8Array, a, 'A');
      assertSameBytes(second as Uint8Array, b, 'B');
      // Only B's output is known after B's stream ended.
      deliver(target, Opcode.Binary, cPayload);
      assertFailed(target, 1007, 'C');
    });

    test('§7.2.1 (context takeover): a stream that ends exactly at the end of a fragment keeps no output: a reference back fails with 1007, never gives wrong data', () => {
      const target = receiver(role, true);
      const text = utf8('Hello, Hello, Hello');
      // The end shows only on the next frame, when the first frame's output is delivered.
      deliver(target, Opcode.Text, finalStream(text), false);
      deliver(target, Opcode.Continuation, new Uint8Array(0), true);
      assert.deepEqual(messages(target), ['Hello, Hello, Hello']);
      deliver(target, Opcode.Text, syncFlushed(text, text));
      assertFailed(target, 1007, 'the reference back');
    });
  });
}

// ——— Over a socket ———

test('RFC 7692 §7.2.1 / §7.2.3.4: a server with context takeover reads the BFINAL example twice, then a sync-flushed and a plain message, from a raw client', async (t) => {
  const received: Array<string | Uint8Array> = [];
  const instance = await server(
    `ws://${LOCALHOST}:0/`,
    (peer: Peer) => {
      peer.onMessage((message) => {
        received.push(message.data as string | Uint8Array);
      });
    },
    { deflate: { contextTakeover: true } },
  );
  defer(t, () => instance.close(200));
  const socket = await rawConnect(portOf(instance));
  defer(t, () => socket.destroy());
  socket.on('error', () => {});
  socket.write(requestText([...upgradeLines(), 'Sec-WebSocket-Extensions: permessage-deflate']));
  let head = Buffer.alloc(0);
  while (!head.includes('\r\n\r\n')) {
    const [chunk] = (await within(once(socket, 'data'), 2000, 'the 101 response')) as [Buffer];
    head = Buffer.concat([head, chunk]);
  }
  const response = parseResponse(head);
  assert.equal(response.status, 101);
  // Bare: the server keeps the client's context (no client_no_context_takeover).
  assert.equal(response.headers.get('sec-websocket-extensions'), 'permessage-deflate');
  const compressed = (payload: Uint8Array): Buffer => {
    const frame = clientFrame(Opcode.Text, payload);
    frame[0] = frame[0]! | 0x40; // RSV1 (§6.1)
    return frame;
  };
  socket.write(Buffer.concat([compressed(HELLO), compressed(HELLO), compressed(syncFlushed(utf8('World'))), clientFrame(Opcode.Text, 'plain')]));
  await waitFor(() => received.length >= 4, 2000, 'four messages');
  assert.deepEqual(received, ['Hello', 'Hello', 'World', 'plain']);
  // A flood of them costs no zlib stream each: the connection's inflate stream stays the same one.
  const [peer] = [...instance.peers];
  const inflaterOf = (): unknown => (peer as unknown as { connection: { compression: { inflater: unknown } } }).connection.compression.inflater;
  const stream = inflaterOf();
  socket.write(Buffer.concat(Array.from({ length: 2000 }, () => compressed(HELLO))));
  await waitFor(() => received.length === 2004, 5000, 'the flood');
  assert.ok(received.slice(4).every((text) => text === 'Hello'));
  assert.ok(stream !== null && inflaterOf() === stream, 'one inflate stream for the connection');
});
