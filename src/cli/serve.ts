/**
 * `wspeer serve`: the echo server (text back as text, binary as binary). It is the main job
 * of `npm start` and the Autobahn testee.
 * @module
 */
import { server, type Server } from '../server/server.ts';
import type { ServerOptions } from '../server/options.ts';

/** Settings of the echo server. */
export interface EchoServerSettings {
  host: string;
  port: number;
  path: string;
  options: ServerOptions;
}

/** Start the echo server; resolves once it listens. */
export async function startEchoServer(settings: EchoServerSettings): Promise<Server> {
  const scheme = settings.options.tls === undefined ? 'ws' : 'wss';
  const host = settings.host.includes(':') ? `[${settings.host}]` : settings.host;
  return server(
    `${scheme}://${host}:${settings.port}${settings.path}`,
    (peer) => {
      // The callback path: no promise per message. Reading pauses by itself while the
      // peer's echoes back up, so the echo needs no flow control of its own; a client that
      // sends without ever reading is dropped once its echoes reach the buffer cap.
      peer.onMessage((message) => void peer.send(message));
    },
    { closeOnBufferFull: true, ...settings.options },
  );
}
