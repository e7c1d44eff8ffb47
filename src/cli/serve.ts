/**
 * `wspeer serve`: the echo server (text back as text, binary as binary). It is the main job
 * of `npm start` and the Autobahn testee.
 * @module
 */
import { server, type Server } from '../server/server.ts';
import type { ServerOptions } from '../server/options.ts';
import { ArgumentError, flagOption, integerOption, stringOption } from './args.ts';

/** The default port of the echo server. */
export const DEFAULT_PORT = 9001;

/** The options `serve` takes. */
export const SERVE_OPTIONS = ['host', 'port', 'path', 'max-payload', 'ping-frequency', 'deflate', 'context-takeover', 'lent-messages', 'tls-cert', 'tls-key'];

/** Settings of the echo server. */
export interface EchoServerSettings {
  host: string;
  port: number;
  path: string;
  options: ServerOptions;
}

/** The settings `serve`'s command-line options ask for, with the defaults applied. */
export function serveSettings(options: Map<string, string | true>): EchoServerSettings {
  const cert = stringOption(options, 'tls-cert', '');
  const key = stringOption(options, 'tls-key', '');
  if ((cert === '') !== (key === '')) throw new ArgumentError('--tls-cert and --tls-key go together');
  const port = integerOption(options, 'port', DEFAULT_PORT);
  if (port > 65535) throw new ArgumentError(`--port must be from 0 to 65535, got ${port}`);
  const path = stringOption(options, 'path', '/');
  if (!path.startsWith('/')) throw new ArgumentError(`--path must start with /, got ${path}`);
  const maxPayload = integerOption(options, 'max-payload', 64 * 1024 * 1024);
  if (maxPayload < 1) throw new ArgumentError('--max-payload must be at least 1 byte');
  const deflate = flagOption(options, 'deflate');
  const contextTakeover = flagOption(options, 'context-takeover');
  if (contextTakeover && !deflate) throw new ArgumentError('--context-takeover is a setting of --deflate');
  return {
    host: stringOption(options, 'host', '127.0.0.1'),
    port,
    path,
    options: {
      maxPayload,
      pingFrequency: integerOption(options, 'ping-frequency', 0),
      // Context takeover kept when the client allows it: a zlib stream per connection.
      deflate: contextTakeover ? { contextTakeover: true } : deflate,
      // Each message is lent to the echo as it lies in the read buffer (see `lentMessages`).
      lentMessages: flagOption(options, 'lent-messages'),
      ...(cert === '' ? {} : { tls: { cert, key } }),
    },
  };
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
