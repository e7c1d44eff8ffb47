/**
 * `wspeer` server: this library, through its public `server()` entry point.
 *
 * The module is imported dynamically and checked at run time, so a missing or unfinished
 * library makes this server report itself unavailable (the runner then carries on without it)
 * instead of breaking the type check of the whole benchmark suite.
 * @module
 */
import { announceReady, listenPort, unavailable } from './control.ts';

/** The planned shape of the library's server API, as far as the echo needs it. */
interface Message {
  readonly data: string | Uint8Array;
}
interface Peer extends AsyncIterable<Message> {
  write(data: string | Uint8Array): unknown;
}
type ServerFunction = (url: string, handler: (peer: Peer) => Promise<void>, options: { maxPayload: number }) => Promise<unknown>;

// A write to a peer that is already closing may reject; that must not take the server down
// mid-round (the echo below deliberately does not await its writes).
let rejectionsReported = 0;
process.on('unhandledRejection', (reason) => {
  if (rejectionsReported++ === 0) process.stderr.write(`wspeer server: unhandled rejection: ${String(reason)}\n`);
});

const port = listenPort();
const entry = '../../src/index.ts';
let server: ServerFunction;
try {
  const library: unknown = await import(entry);
  const candidate = typeof library === 'object' && library !== null ? Reflect.get(library, 'server') : undefined;
  if (typeof candidate !== 'function') unavailable('src/index.ts does not export server()');
  server = candidate as ServerFunction;
} catch (error) {
  unavailable(`src/index.ts did not load: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
}

try {
  await server(
    `ws://127.0.0.1:${port}`,
    async (peer) => {
      for await (const message of peer) void peer.write(message.data);
    },
    { maxPayload: 64 * 1024 * 1024 },
  );
} catch (error) {
  unavailable(`server() failed: ${error instanceof Error ? error.message : String(error)}`);
}
announceReady('wspeer', 'src/index.ts server()');
