import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createConnection, createServer, type AddressInfo } from 'node:net';
import { test } from 'node:test';

import WebSocket, { WebSocketServer } from 'ws';

import {
  buildAcceptResponse,
  buildClientRequest,
  buildRejectResponse,
  chooseSubprotocol,
  generateKey,
  HandshakeError,
  parseUrl,
  RequestHeadParser,
  ResponseHeadParser,
  validateUpgradeRequest,
  verifyServerResponse,
  type ParsedResponse,
} from '../../src/handshake/index.ts';

test('interop: a ws client completes the handshake with this server side', { timeout: 10_000 }, async () => {
  const received: Buffer[] = [];
  const server = createServer((socket) => {
    const parser = new RequestHeadParser();
    let upgraded = false;
    socket.on('data', (chunk: Buffer) => {
      if (upgraded) {
        received.push(chunk);
        return;
      }
      try {
        const parsed = parser.feed(chunk);
        if (parsed === null) return;
        const request = validateUpgradeRequest(parsed);
        upgraded = true;
        socket.write(buildAcceptResponse({ key: request.key, protocol: chooseSubprotocol(request.protocols, ['chat']) }), 'latin1');
        if (parsed.rest.length > 0) received.push(Buffer.from(parsed.rest));
      } catch (error) {
        assert.ok(error instanceof HandshakeError);
        socket.end(buildRejectResponse(error), 'latin1');
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  try {
    const client = new WebSocket(`ws://127.0.0.1:${port}/path?q=1`, ['superchat', 'chat'], { perMessageDeflate: true });
    await once(client, 'open');
    assert.equal(client.protocol, 'chat');
    assert.equal(client.extensions, '');
    client.send('hi');
    while (Buffer.concat(received).length < 8) await new Promise((resolve) => setTimeout(resolve, 5));
    const frame = Buffer.concat(received);
    assert.equal(frame[0], 0x81, 'FIN + text opcode');
    assert.equal(frame[1], 0x82, 'masked, length 2');
    client.terminate();
  } finally {
    server.close();
  }
});

test('interop: a ws client sees the 426 rejection as an unexpected response', { timeout: 10_000 }, async () => {
  const server = createServer((socket) => {
    const parser = new RequestHeadParser();
    socket.on('data', (chunk: Buffer) => {
      const parsed = parser.feed(chunk);
      if (parsed === null) return;
      const error = new HandshakeError(426, 'WS_HANDSHAKE_UNSUPPORTED_VERSION', 'Only version 13 is supported', {
        'Sec-WebSocket-Version': '13',
        Upgrade: 'websocket',
      });
      socket.end(buildRejectResponse(error), 'latin1');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  try {
    const client = new WebSocket(`ws://127.0.0.1:${port}/`);
    const [, response] = (await once(client, 'unexpected-response')) as [unknown, { statusCode: number; headers: Record<string, string> }];
    assert.equal(response.statusCode, 426);
    assert.equal(response.headers['sec-websocket-version'], '13');
    // Aborting a handshake that got a response reports an error; expected here.
    client.on('error', () => {});
    client.terminate();
  } finally {
    server.close();
  }
});

test('interop: this client side completes the handshake with a ws server', { timeout: 10_000 }, async () => {
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    perMessageDeflate: true,
    handleProtocols: (protocols) => (protocols.has('chat') ? 'chat' : false),
  });
  await once(wss, 'listening');
  wss.on('connection', (socket) => socket.send('hello'));
  const { port } = wss.address() as AddressInfo;
  try {
    const target = parseUrl(`ws://127.0.0.1:${port}/room?id=7`);
    const key = generateKey();
    const extensions = 'permessage-deflate; client_max_window_bits';
    const socket = createConnection({ host: target.host, port: target.port });
    await once(socket, 'connect');
    socket.write(buildClientRequest({ ...target, key, protocols: ['superchat', 'chat'], extensions }), 'latin1');
    const parser = new ResponseHeadParser();
    let response: ParsedResponse | null = null;
    let afterHead = Buffer.alloc(0);
    for await (const chunk of socket) {
      const bytes = chunk as Buffer;
      if (response === null) {
        response = parser.feed(bytes);
        if (response !== null) afterHead = Buffer.from(response.rest);
      } else {
        afterHead = Buffer.concat([afterHead, bytes]);
      }
      if (afterHead.length >= 7) break;
    }
    assert.ok(response !== null);
    assert.deepEqual([...afterHead.subarray(0, 2)], [0xc1, 0x07], 'compressed text frame from the server');
    const result = verifyServerResponse(response, { key, protocols: ['superchat', 'chat'], extensionsOffered: extensions });
    assert.equal(result.protocol, 'chat');
    assert.deepEqual(result.extensions.map((extension) => extension.name), ['permessage-deflate']);
    socket.destroy();
  } finally {
    wss.close();
  }
});
