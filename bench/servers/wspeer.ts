/**
 * `wspeer` server: this library through its public `server()` entry point, echoing with
 * the callback API (`onMessage` + `send`), the counterpart of ws's `on('message')` and
 * uWebSockets' `message` handler.
 * @module
 */
import { server } from '../../src/index.ts';
import { announceReady, listenPort } from './control.ts';

const port = listenPort();
await server(
  `ws://127.0.0.1:${port}`,
  (peer) => {
    peer.onMessage((message) => {
      peer.send(message.data);
    });
  },
  { maxPayload: 64 * 1024 * 1024 },
);
announceReady('wspeer', 'src/index.ts server() onMessage/send');
