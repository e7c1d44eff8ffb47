/**
 * The `wspeer` command: `serve` (the echo server), `connect` (a client to try a server by
 * hand) and `autobahn-client` (the testee client of the Autobahn|Testsuite).
 * @module
 */
import { runAutobahnClient } from './autobahn-client.ts';
import { ArgumentError, checkKnownOptions, flagOption, parseArgs, stringOption } from './args.ts';
import { CONNECT_OPTIONS, connectSettings, runClient } from './connect.ts';
import { DEFAULT_PORT, SERVE_OPTIONS, serveSettings, startEchoServer } from './serve.ts';
import { InvalidUrlError } from '../handshake/errors.ts';

const USAGE = `usage:
  wspeer serve [--host 127.0.0.1] [--port 9001] [--path /] [--max-payload BYTES]
               [--ping-frequency MS] [--deflate [--context-takeover]] [--lent-messages] [--tls-cert FILE --tls-key FILE]
  wspeer connect [--url ws://127.0.0.1:9001/] [--header 'NAME: VALUE']... [--protocol NAME[,NAME...]]
                 [--origin ORIGIN] [--deflate] [--ping-frequency MS] [--ca FILE] [--allow-self-signed]
      sends each line of stdin as a text message, prints each message on stdout
  wspeer autobahn-client [--url ws://127.0.0.1:9001] [--agent wspeer] [--no-deflate]`;

const AUTOBAHN_CLIENT_OPTIONS = ['url', 'agent', 'no-deflate'];

async function main(argv: readonly string[]): Promise<void> {
  const parsed = parseArgs(argv);
  const { command, options } = parsed;
  if (options.has('help')) {
    console.log(USAGE);
    return;
  }
  if (command === 'serve') {
    checkKnownOptions(options, SERVE_OPTIONS);
    const echo = await startEchoServer(serveSettings(options));
    const stop = (): void => {
      echo.close(2000).then(() => process.exit(0), () => process.exit(1));
    };
    // Before the line that tells a supervisor it may signal us.
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    console.log(`wspeer echo server listening on ${echo.url}`);
    return;
  }
  if (command === 'connect') {
    checkKnownOptions(options, CONNECT_OPTIONS);
    const settings = connectSettings(parsed);
    const streams = { input: process.stdin, output: process.stdout, report: process.stderr };
    process.exitCode = await runClient(settings, streams, (stop) => process.once('SIGINT', stop));
    // What still holds the event loop (the terminal's stdin) has nothing left to do.
    process.stdin.destroy();
    return;
  }
  if (command === 'autobahn-client') {
    checkKnownOptions(options, AUTOBAHN_CLIENT_OPTIONS);
    const run = await runAutobahnClient({
      url: stringOption(options, 'url', `ws://127.0.0.1:${DEFAULT_PORT}`),
      agent: stringOption(options, 'agent', 'wspeer'),
      deflate: !flagOption(options, 'no-deflate'),
    });
    // The reports are written: a case that could not connect fails the run all the same.
    if (run.failed.length > 0) process.exitCode = 1;
    return;
  }
  console.error(USAGE);
  process.exitCode = command === undefined ? 0 : 2;
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(`wspeer: ${error instanceof Error ? error.message : String(error)}`);
  // A value the options refuse (out of range, a URL it cannot make) is a usage error too.
  const usage = error instanceof ArgumentError || error instanceof RangeError || error instanceof InvalidUrlError;
  process.exitCode = usage ? 2 : 1;
});
