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
    async (peer) => {
      for await (const message of peer) {
        // The echo does not wait for each write: the peer batches them and applies backpressure.
        peer.write(message.data).catch(() => peer.close());
      }
    },
    settings.options,
  );
}
