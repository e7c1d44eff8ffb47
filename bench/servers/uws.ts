/**
 * `uws` server: uWebSockets.js. The native binary is loaded directly, never through the
 * package's entry point, which silently falls back to a JavaScript implementation.
 * @module
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { announceReady, listenPort, unavailable } from './control.ts';

/** The small part of the uWebSockets.js API this server uses. */
interface UwsSocket {
  send(message: ArrayBuffer, isBinary: boolean): number;
}
interface UwsBehavior {
  maxPayloadLength: number;
  maxBackpressure: number;
  idleTimeout: number;
  compression: number;
  sendPingsAutomatically: boolean;
  message: (socket: UwsSocket, message: ArrayBuffer, isBinary: boolean) => void;
}
interface UwsApp {
  ws(pattern: string, behavior: UwsBehavior): UwsApp;
  listen(host: string, port: number, callback: (token: unknown) => void): UwsApp;
}
interface UwsModule {
  App(): UwsApp;
  DISABLED: number;
}

const require = createRequire(import.meta.url);
const port = listenPort();
const packageDir = dirname(require.resolve('@trufflesuite/uws-js-unofficial/package.json'));
const binary = join(packageDir, 'dist', `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`);

let uws: UwsModule;
try {
  uws = require(binary) as UwsModule;
} catch (error) {
  unavailable(`uWebSockets.js native binary did not load (${binary.slice(packageDir.length + 1)}): ${String(error)}`);
}

uws
  .App()
  .ws('/*', {
    maxPayloadLength: 64 * 1024 * 1024,
    // uWS drops a send outright once this much is queued; the benchmark must never lose echoes.
    maxBackpressure: 512 * 1024 * 1024,
    idleTimeout: 0,
    compression: uws.DISABLED,
    sendPingsAutomatically: false,
    message: (socket, message, isBinary) => {
      socket.send(message, isBinary);
    },
  })
  .listen('127.0.0.1', port, (token) => {
    if (!token) unavailable(`uWebSockets.js could not listen on port ${port}`);
    announceReady('uws', `native ${binary.slice(packageDir.length + 1)}`);
  });
