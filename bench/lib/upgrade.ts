/**
 * The client side of the HTTP/1.1 upgrade (RFC 6455 §4), over a raw `node:net` socket.
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** `Sec-WebSocket-Accept` value for a `Sec-WebSocket-Key`. */
export function acceptFor(key: string): string {
  return createHash('sha1').update(key + GUID).digest('base64');
}

/** Where to connect, and from which loopback address. */
export interface UpgradeTarget {
  readonly host: string;
  readonly port: number;
  readonly localAddress?: string;
  readonly timeoutMs: number;
  /** `Sec-WebSocket-Extensions` value to offer; none when absent. */
  readonly extensions?: string;
}

/** An upgraded socket and any bytes that arrived right after the 101 response. */
export interface UpgradedSocket {
  readonly socket: Socket;
  readonly leftover: Buffer;
  /** The server's `Sec-WebSocket-Extensions` value (all such lines joined); empty when it sent none. */
  readonly extensions: string;
}

/**
 * Connects, sends the upgrade request and resolves once a valid 101 arrived (status line and
 * `Sec-WebSocket-Accept` both checked, and no extension accepted that was not offered).
 * Rejects on any other answer, error, close or timeout.
 */
export function openWebSocket(target: UpgradeTarget): Promise<UpgradedSocket> {
  return new Promise((resolve, reject) => {
    const key = randomBytes(16).toString('base64');
    const socket = connect({
      host: target.host,
      port: target.port,
      noDelay: true,
      ...(target.localAddress === undefined ? {} : { localAddress: target.localAddress }),
    });
    let received: Buffer = Buffer.alloc(0);
    const fail = (reason: string): void => {
      cleanup();
      socket.destroy();
      reject(new Error(reason));
    };
    const onData = (chunk: Buffer): void => {
      received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
      const end = received.indexOf('\r\n\r\n');
      if (end < 0) {
        if (received.length > 8192) fail('upgrade response headers too long');
        return;
      }
      const response = readUpgradeResponse(received.toString('latin1', 0, end), key);
      if (typeof response === 'string') return fail(response);
      if (response.extensions !== '' && target.extensions === undefined) return fail(`unrequested extensions: ${response.extensions}`);
      cleanup();
      resolve({ socket, leftover: received.subarray(end + 4), extensions: response.extensions });
    };
    const onError = (error: Error): void => fail(`connect/upgrade failed: ${error.message}`);
    const onClose = (): void => fail('socket closed during upgrade');
    const timer = setTimeout(() => fail('upgrade timed out'), target.timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      socket.off('data', onData).off('error', onError).off('close', onClose);
    };
    socket.on('data', onData).on('error', onError).on('close', onClose);
    const offer = target.extensions === undefined ? '' : `Sec-WebSocket-Extensions: ${target.extensions}\r\n`;
    socket.once('connect', () => {
      socket.write(
        `GET / HTTP/1.1\r\nHost: ${target.host}:${target.port}\r\nUpgrade: websocket\r\n` +
          `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${offer}\r\n`,
      );
    });
  });
}

/** Header values of `name` (lower case) in a response head, in order. */
function headerValues(lines: readonly string[], name: string): string[] {
  return lines.flatMap((line) => (line.toLowerCase().startsWith(`${name}:`) ? [line.slice(name.length + 1).trim()] : []));
}

/** Returns why a response head is not a valid 101 for `key`, or what it negotiated when it is. */
function readUpgradeResponse(head: string, key: string): { readonly extensions: string } | string {
  const lines = head.split('\r\n');
  const status = lines[0] ?? '';
  if (!/^HTTP\/1\.1 101\b/.test(status)) return `expected 101, got "${status}"`;
  if (headerValues(lines, 'sec-websocket-accept')[0] !== acceptFor(key)) return 'wrong Sec-WebSocket-Accept';
  return { extensions: headerValues(lines, 'sec-websocket-extensions').filter((value) => value !== '').join(', ') };
}
