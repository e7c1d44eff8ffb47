/**
 * Client adapter for ws 8's `WebSocket`, shared by the `ws` and `ws-addons` client entries.
 * @module
 */
import { createRequire } from 'node:module';
import type { ClientAdapter } from './driver.ts';

// Through `require`, like the ws servers, so the entries' environment settings decide the add-ons.
const require = createRequire(import.meta.url);
const { WebSocket } = require('ws') as typeof import('ws');

/** ws client: event-driven, one `send` per echo. */
export const wsAdapter: ClientAdapter = {
  async start(url, tracker) {
    const socket = new WebSocket(url, { perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
    await new Promise<void>((resolve, reject) => socket.once('open', resolve).once('error', reject));
    socket.on('error', () => undefined);
    socket.on('message', (data, isBinary) => {
      const message = isBinary || !Buffer.isBuffer(data) ? (data as Buffer) : data.toString('utf8');
      if (tracker.echoed(message)) {
        socket.send(tracker.payload);
        tracker.sent();
      }
    });
    for (let i = 0; i < tracker.inFlight; i++) {
      socket.send(tracker.payload);
      tracker.sent();
    }
    return { close: () => socket.terminate() };
  },
};
