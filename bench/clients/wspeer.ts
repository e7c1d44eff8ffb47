/**
 * `wspeer` client entry: this library's `connect()`, driven through its callback path.
 * @module
 */
import { loadWspeer } from '../lib/shipped.ts';
import { runClientBenchmark, type ClientAdapter } from './driver.ts';

const { connect } = await loadWspeer();

/** wspeer's client through its callback path (`onMessage` + `send`), as the ws client uses `on('message')`. */
const wspeerAdapter: ClientAdapter = {
  async start(url, tracker) {
    const peer = await connect(url);
    peer.onMessage((message) => {
      if (tracker.echoed(message.data)) {
        peer.send(tracker.payload);
        tracker.sent();
      }
    });
    for (let i = 0; i < tracker.inFlight; i++) {
      peer.send(tracker.payload);
      tracker.sent();
    }
    return { close: () => peer.close() };
  },
};

await runClientBenchmark(wspeerAdapter);
