/**
 * `wspeer` client entry: this library's `connect()`, driven pull-style with `read()`.
 *
 * Imported dynamically and checked at run time (like the wspeer server), so an unfinished
 * library makes this client report itself unavailable instead of failing the type check.
 * @module
 */
import { runClientBenchmark, type ClientAdapter } from './driver.ts';

/** The planned shape of the library's client API, as far as the echo needs it. */
interface Message {
  readonly data: string | Uint8Array;
}
interface Peer {
  write(data: string | Uint8Array): unknown;
  read(): Promise<Message | null | undefined>;
  close?(): unknown;
}
type ConnectFunction = (url: string) => Promise<Peer>;

/** Swallows a rejection of a write we chose not to await (the peer may be closing at the end). */
function ignoreRejection(result: unknown): void {
  if (result instanceof Promise) result.catch(() => undefined);
}

function unavailable(reason: string): never {
  process.stderr.write(`UNAVAILABLE ${reason}\n`);
  process.exit(2);
}

const entry = '../../src/index.ts';
let connect: ConnectFunction;
try {
  const library: unknown = await import(entry);
  const candidate = typeof library === 'object' && library !== null ? Reflect.get(library, 'connect') : undefined;
  if (typeof candidate !== 'function') unavailable('src/index.ts does not export connect()');
  connect = candidate as ConnectFunction;
} catch (error) {
  unavailable(`src/index.ts did not load: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
}

const wspeerAdapter: ClientAdapter = {
  async start(url, tracker) {
    const peer = await connect(url);
    for (let i = 0; i < tracker.inFlight; i++) {
      ignoreRejection(peer.write(tracker.payload));
      tracker.sent();
    }
    // The read loop runs on its own; it ends when the peer does or the interval is over.
    void (async () => {
      for (;;) {
        const message = await peer.read();
        if (message === null || message === undefined || !tracker.echoed(message.data)) return;
        ignoreRejection(peer.write(tracker.payload));
        tracker.sent();
      }
    })().catch(() => undefined);
    return { close: () => void peer.close?.() };
  },
};

await runClientBenchmark(wspeerAdapter);
