/**
 * Echo server on this library's public `server()` entry point, with the callback API
 * (`onMessage` + `send`), shared by the `wspeer*` entries.
 * @module
 */
import type { Message, Peer, PeerOptions } from '../../src/index.ts';
import { loadWspeer } from '../lib/shipped.ts';
import { announceReady, listenPort } from './control.ts';

/** Starts the echo server and announces it; `options` are wspeer's (compression off unless given). */
export async function startWspeerEcho(name: string, options: PeerOptions = {}): Promise<void> {
  const port = listenPort();
  const { server } = await loadWspeer();
  await server(
    `ws://127.0.0.1:${port}`,
    // One callback for every peer (it is given the peer): no closure per connection.
    (peer) => peer.onMessage(echoMessage),
    { maxPayload: 64 * 1024 * 1024, ...options },
  );
  const described = Object.entries(options).map(([key, value]) => ` ${key}=${JSON.stringify(value)}`).join('');
  announceReady(name, `dist/index.js server() onMessage/send${described}`);
}

/**
 * A message read is sent back as it is: text is relayed as its validated bytes, never
 * decoded to a string and encoded again (the echo does not look at it).
 */
function echoMessage(message: Message, peer: Peer): void {
  peer.send(message);
}
