/**
 * `raw` server: the ceiling. It answers the upgrade with a correct 101, then pipes the socket to
 * itself, so the client's (masked) frames come straight back without any WebSocket processing.
 * @module
 */
import { createHash } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import { announceReady, listenPort } from './control.ts';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

function upgradeThenPipe(socket: Socket): void {
  let head: Buffer = Buffer.alloc(0);
  socket.on('error', () => socket.destroy());
  const onData = (chunk: Buffer): void => {
    head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) return;
    socket.off('data', onData);
    const key = /^sec-websocket-key:\s*(\S+)\s*$/im.exec(head.toString('latin1', 0, end))?.[1];
    if (key === undefined) {
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      return;
    }
    const accept = createHash('sha1').update(key + GUID).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    const early = head.subarray(end + 4);
    if (early.length > 0) socket.write(early);
    socket.pipe(socket);
  };
  socket.on('data', onData);
}

const server = createServer({ noDelay: true }, upgradeThenPipe);
server.listen(listenPort(), '127.0.0.1', () => announceReady('raw', 'net socket.pipe(socket)'));
