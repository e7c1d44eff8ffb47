/**
 * Echo server on ws 8's `WebSocketServer`, shared by the `ws` and `ws-addons` entries. The
 * entries set the environment before loading this module, because ws reads it at load time.
 * @module
 */
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import type { PerMessageDeflateOptions, RawData, WebSocket } from 'ws';
import { announceReady, listenPort, unavailable } from './control.ts';

// Loaded through `require` so that ws and its optional add-ons live in the CommonJS cache,
// where the checks below can see exactly which modules ws itself picked up.
const require = createRequire(import.meta.url);

/** Which native helpers ws is really using in this process. */
export interface WsNatives {
  readonly bufferutil: 'native' | 'js-fallback' | 'not-loaded';
  readonly utf8: string;
}

function isNativeFunction(value: unknown): boolean {
  return typeof value === 'function' && Function.prototype.toString.call(value).includes('[native code]');
}

function inspectNatives(): WsNatives {
  const wsLib = join(dirname(require.resolve('ws')), 'lib') + sep;
  const loaded = Object.keys(require.cache);
  const bufferutilLoaded = loaded.some((file) => file.includes(`${sep}bufferutil${sep}`));
  const utf8ValidateLoaded = loaded.some((file) => file.includes(`${sep}utf-8-validate${sep}`));
  let bufferutil: WsNatives['bufferutil'] = 'not-loaded';
  if (bufferutilLoaded) {
    const module: unknown = require('bufferutil');
    const unmask = typeof module === 'object' && module !== null ? Reflect.get(module, 'unmask') : undefined;
    bufferutil = isNativeFunction(unmask) ? 'native' : 'js-fallback';
  }
  // ws prefers node:buffer's isUtf8 (native) when the runtime has it, and only then utf-8-validate.
  const validation: unknown = require(join(wsLib, 'validation.js'));
  const validator = typeof validation === 'object' && validation !== null ? Reflect.get(validation, 'isValidUTF8') : undefined;
  const source = typeof validator === 'function' ? Function.prototype.toString.call(validator) : '';
  const utf8 = source.includes('isUtf8(') ? 'buffer.isUtf8' : utf8ValidateLoaded ? 'utf-8-validate' : 'js';
  return { bufferutil, utf8 };
}

/**
 * Starts the echo server and announces it; `expectAddons` says which setup the entry promised,
 * `perMessageDeflate` is handed to ws as is (off unless given).
 */
export async function startWsEcho(name: string, expectAddons: boolean, perMessageDeflate: PerMessageDeflateOptions | false = false): Promise<void> {
  const port = listenPort();
  const ws = require('ws') as typeof import('ws');
  const natives = inspectNatives();
  if (expectAddons && natives.bufferutil !== 'native') unavailable(`bufferutil is ${natives.bufferutil} in ws`);
  if (!expectAddons && natives.bufferutil !== 'not-loaded') unavailable('ws loaded bufferutil despite WS_NO_BUFFER_UTIL');

  const server = new ws.WebSocketServer({
    host: '127.0.0.1',
    port,
    perMessageDeflate,
    maxPayload: 64 * 1024 * 1024,
  });
  // Listeners shared by every socket (ws calls them with the socket as `this`): no closure
  // per connection, as the other servers keep none.
  server.on('connection', (socket) => {
    socket.on('error', terminateSocket);
    socket.on('message', echoMessage);
  });
  await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject));
  const deflate = perMessageDeflate === false ? '' : ` perMessageDeflate=${JSON.stringify(perMessageDeflate)}`;
  const version = (require('ws/package.json') as { version: string }).version;
  announceReady(name, `ws@${version} mask=bufferutil:${natives.bufferutil} utf8=${natives.utf8}${deflate}`);
}

function terminateSocket(this: WebSocket): void {
  this.terminate();
}

function echoMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
  // With the default binaryType every message arrives as a single Buffer.
  if (Buffer.isBuffer(data)) this.send(data, { binary: isBinary });
}
