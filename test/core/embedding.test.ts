/**
 * The protocol core as an embedder uses it: the opening handshake and the connection from
 * `wspeer/core` alone, with the host doing the I/O. In memory, fed one byte at a time, and
 * over real loopback sockets against `ws` in both roles. Nothing of the Node API is used
 * here: only `src/core.ts`, `node:net` for the transport, and `ws` as the other side.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect as netConnect, createServer, type AddressInfo, type Socket } from 'node:net';
import { test } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';

import {
  acceptOffer,
  acceptResponse,
  buildAcceptResponse,
  buildClientRequest,
  buildRejectResponse,
  chooseSubprotocol,
  clientOffer,
  formatExtensions,
  Connection,
  EventCollector,
  generateKey,
  HandshakeError,
  latin1Encode,
  parseExtensions,
  PERMESSAGE_DEFLATE,
  RequestHeadParser,
  resolveDeflateOptions,
  ResponseHeadParser,
  validateUpgradeRequest,
  verifyServerResponse,
  type ConnectionEvent,
  type ConnectionHandler,
  type ParsedRequest,
  type ParsedResponse,
} from '../../src/core.ts';
import { concat } from '../frame/helpers.ts';
import { defer, LOCALHOST, within } from '../peer/helpers.ts';

/** Feed `bytes` to `connection` one byte at a time. */
function receiveByteByByte(connection: Connection, bytes: Uint8Array): void {
  for (let i = 0; i < bytes.length; i++) connection.receive(bytes.slice(i, i + 1));
}

test('a whole session from the core alone, in memory, every head and frame fed one byte at a time (RFC 6455 §4.1, §4.2, §5, §7)', () => {
  // Client: the request (§4.1).
  const key = generateKey();
  const request = latin1Encode(buildClientRequest({ host: 'example.com', path: '/chat?room=1', key, protocols: ['v2.chat', 'chat'] }));

  // Server: parse it byte by byte, validate, choose, answer 101 (§4.2.1, §4.2.2).
  const requestParser = new RequestHeadParser();
  let parsed: ParsedRequest | null = null;
  for (let i = 0; i < request.length; i++) {
    assert.equal(parsed, null, 'the head ends only at its last byte');
    parsed = requestParser.feed(request.subarray(i, i + 1));
  }
  assert.ok(parsed !== null);
  const upgrade = validateUpgradeRequest(parsed);
  assert.equal(upgrade.path, '/chat?room=1');
  const protocol = chooseSubprotocol(upgrade.protocols, ['chat']);
  assert.equal(protocol, 'chat');
  const serverEvents = new EventCollector();
  const server = new Connection('server', serverEvents);
  server.sendText('welcome'); // may follow the 101 at once, in the same write
  const fromServer = concat([latin1Encode(buildAcceptResponse({ key: upgrade.key, protocol })), ...server.takeOutgoing()]);

  // Client: parse the response byte by byte, verify it, then the frames behind it.
  const responseParser = new ResponseHeadParser();
  let response: ParsedResponse | null = null;
  let at = 0;
  while (response === null) response = responseParser.feed(fromServer.subarray(at, ++at));
  const result = verifyServerResponse(response, { key, protocols: ['v2.chat', 'chat'] });
  assert.equal(result.protocol, 'chat');
  const clientEvents = new EventCollector();
  const client = new Connection('client', clientEvents);
  receiveByteByByte(client, concat([response.rest, fromServer.subarray(at)]));
  assert.deepEqual(clientEvents.take(), [{ type: 'text', data: 'welcome', fin: true }]);

  // Messages both ways, then the closing handshake (§7.1.2): the server ends TCP first (§7.1.1).
  client.sendText('hello');
  client.sendBinary(new Uint8Array([1, 2, 3]));
  client.close(1000, 'done');
  receiveByteByByte(server, concat(client.takeOutgoing()));
  assert.deepEqual(serverEvents.take(), [
    { type: 'text', data: 'hello', fin: true },
    { type: 'binary', data: new Uint8Array([1, 2, 3]), fin: true },
    { type: 'close', code: 1000, reason: 'done' },
  ] satisfies ConnectionEvent[]);
  assert.equal(server.state, 'CLOSED');
  assert.equal(server.transportShouldClose, true);
  receiveByteByByte(client, concat(server.takeOutgoing()));
  // §5.5.1: the reply echoes the status code.
  assert.deepEqual(clientEvents.take(), [{ type: 'close', code: 1000, reason: '' }]);
  assert.equal(client.state, 'CLOSED');
});

test('a request the core refuses gets the status its error names, as a head to send (§4.2.1: no Sec-WebSocket-Key → 400)', () => {
  const head = latin1Encode('GET / HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n');
  const parsed = new RequestHeadParser().feed(head);
  assert.ok(parsed !== null);
  let refused: unknown;
  try {
    validateUpgradeRequest(parsed);
  } catch (error) {
    refused = error;
  }
  assert.ok(refused instanceof HandshakeError, String(refused));
  assert.equal(refused.status, 400);
  assert.match(buildRejectResponse(refused), /^HTTP\/1\.1 400 /);
});

test('permessage-deflate is negotiated from the core alone, both sides agreeing on the same parameters (RFC 7692 §7.1)', () => {
  const offer = clientOffer(resolveDeflateOptions(true));
  const acceptance = acceptOffer(parseExtensions(formatExtensions([offer])), resolveDeflateOptions({ maxWindowBits: 12 }));
  assert.ok(acceptance !== null);
  const [answered] = parseExtensions(formatExtensions([acceptance.response]));
  assert.equal(answered!.name, PERMESSAGE_DEFLATE);
  assert.deepEqual(acceptResponse(answered!, offer), acceptance.params);
  assert.equal(acceptance.params.serverMaxWindowBits, 12);
  assert.equal(acceptance.params.clientNoContextTakeover, true);
  // An answer the client cannot take is a reason to fail the connection, not parameters (§7.1).
  assert.equal(typeof acceptResponse({ name: 'x-webkit-deflate-frame', params: [] }, offer), 'string');
  assert.equal(typeof acceptResponse({ name: PERMESSAGE_DEFLATE, params: [['server_max_window_bits', '16']] }, offer), 'string');
});

/** Write what `connection` queued to `socket`, and end it when the protocol says so. */
function pump(connection: Connection, socket: Socket): void {
  for (const chunk of connection.takeOutgoing()) socket.write(chunk);
  if (connection.transportShouldClose) socket.end();
}

test('a server made of the core and a node:net socket serves a ws client: upgrade, echo of text and binary, clean close', async (t) => {
  const listener = createServer((socket) => {
    const parser = new RequestHeadParser();
    let connection: Connection | null = null;
    // Payloads are views of the chunk received: sent on before the next one comes.
    const echo: ConnectionHandler = {
      onText: (text) => connection!.sendText(text),
      onBinary: (data) => connection!.sendBinary(data),
      onPing() {},
      onPong() {},
      onClose() {},
      onError() {},
    };
    socket.on('data', (chunk: Buffer) => {
      if (connection === null) {
        const parsed = parser.feed(chunk);
        if (parsed === null) return;
        const upgrade = validateUpgradeRequest(parsed);
        socket.write(latin1Encode(buildAcceptResponse({ key: upgrade.key })));
        connection = new Connection('server', echo);
        connection.receive(parsed.rest.slice());
      } else {
        connection.receive(chunk);
      }
      pump(connection, socket);
    });
  });
  listener.listen(0, LOCALHOST);
  await once(listener, 'listening');
  defer(t, () => listener.close());
  const ws = new WebSocket(`ws://${LOCALHOST}:${(listener.address() as AddressInfo).port}/`);
  defer(t, () => ws.terminate());
  const replies: Array<string | Buffer> = [];
  ws.on('message', (data: Buffer, isBinary: boolean) => replies.push(isBinary ? data : data.toString()));
  await within(once(ws, 'open'), 2000, 'the upgrade');
  ws.send('over the core');
  ws.send(Buffer.from([0, 255, 7]));
  await within(
    new Promise<void>((resolve) => ws.on('message', () => replies.length === 2 && resolve())),
    2000,
    'the echoes',
  );
  assert.deepEqual(replies, ['over the core', Buffer.from([0, 255, 7])]);
  ws.close(1000, 'bye');
  const [code] = (await within(once(ws, 'close'), 2000, 'the close')) as [number, Buffer];
  assert.equal(code, 1000, 'our reply echoes the status code (§5.5.1)');
});

test('a client made of the core and a node:net socket talks to a ws server: verified 101, the frame sent with it, echo, clean close', async (t) => {
  const wss = new WebSocketServer({ host: LOCALHOST, port: 0, handleProtocols: () => 'chat' });
  await once(wss, 'listening');
  defer(t, () => new Promise((resolve) => wss.close(resolve)));
  const serverGot = new Promise<string>((resolve) => {
    wss.on('connection', (ws) => {
      ws.send('hi from ws'); // right behind the 101
      ws.on('message', (data: Buffer) => resolve(data.toString()));
    });
  });
  const port = (wss.address() as AddressInfo).port;
  const socket = netConnect(port, LOCALHOST);
  defer(t, () => socket.destroy());
  await once(socket, 'connect');
  const key = generateKey();
  socket.write(latin1Encode(buildClientRequest({ host: LOCALHOST, port, key, protocols: ['chat'] })));
  const parser = new ResponseHeadParser();
  const events = new EventCollector();
  let connection: Connection | null = null;
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  socket.on('data', (chunk: Buffer) => {
    if (connection === null) {
      const response = parser.feed(chunk);
      if (response === null) return;
      assert.equal(verifyServerResponse(response, { key, protocols: ['chat'] }).protocol, 'chat');
      connection = new Connection('client', events);
      connection.receive(response.rest.slice());
    } else {
      connection.receive(chunk);
    }
    for (const event of events.take()) {
      if (event.type === 'text') connection.sendText(`echo: ${event.data}`);
    }
    pump(connection, socket);
  });
  assert.equal(await within(serverGot, 2000, 'the echo at the ws server'), 'echo: hi from ws');
  connection!.close(1000, 'client done');
  pump(connection!, socket);
  await within(closed, 2000, 'the server ending TCP');
  assert.equal(connection!.state, 'CLOSED');
  assert.equal(connection!.remoteCloseCode, 1000);
});
