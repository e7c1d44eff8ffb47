/**
 * `raw` server: the ceiling. It answers the upgrade with a correct 101, then writes every byte
 * it reads straight back, so the client's (masked) frames return without any WebSocket processing.
 * @module
 */
import { createHash } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import { announceReady, listenPort } from './control.ts';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/**
 * Read the request head, answer it, then echo. Nothing of the upgrade outlives it: the error
 * listener is one function for every socket, and the head and its reader are dropped once
 * the answer is written (a closure still holding them would keep the request's bytes
 * alive for the connection's life, some 400 bytes an idle socket does not need).
 */
function upgradeThenEcho(socket: Socket): void {
  socket.on('error', destroySocket);
  socket.on('data', new HeadReader(socket).onData);
}

function destroySocket(this: Socket): void {
  this.destroy();
}

class HeadReader {
  private head: Buffer = Buffer.alloc(0);

  constructor(private readonly socket: Socket) {}

  readonly onData = (chunk: Buffer): void => {
    const socket = this.socket;
    const head = this.head.length === 0 ? chunk : Buffer.concat([this.head, chunk]);
    this.head = head;
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) return;
    socket.off('data', this.onData);
    const key = /^sec-websocket-key:\s*(\S+)\s*$/im.exec(head.toString('latin1', 0, end))?.[1];
    if (key === undefined) {
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      return;
    }
    const accept = createHash('sha1').update(key + GUID).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    const early = head.subarray(end + 4);
    if (early.length > 0) socket.write(early);
    echo(socket);
  };
}

/**
 * Every byte straight back, pausing reads while the socket's writes are over its high-water
 * mark: what `socket.pipe(socket)` does, without the pipe's per-connection state and
 * listeners, which made an idle piped socket 1.1 to 1.6 KB heavier than the socket itself
 * (the floor the idle-memory target is measured against).
 */
function echo(socket: Socket): void {
  socket.on('data', echoChunk);
  socket.on('drain', resumeSocket);
}

function echoChunk(this: Socket, chunk: Buffer): void {
  if (!this.write(chunk)) this.pause();
}

function resumeSocket(this: Socket): void {
  this.resume();
}

const server = createServer({ noDelay: true }, upgradeThenEcho);
server.listen(listenPort(), '127.0.0.1', () => announceReady('raw', 'net socket echoing its data'));
