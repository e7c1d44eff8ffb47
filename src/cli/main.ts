/**
 * The `wspeer` command: `serve` (the echo server) and `autobahn-client` (the testee client
 * of the Autobahn|Testsuite).
 * @module
 */
import { runAutobahnClient } from './autobahn-client.ts';
import { ArgumentError, checkKnownOptions, flagOption, integerOption, parseArgs, stringOption } from './args.ts';
import { startEchoServer } from './serve.ts';

const USAGE = `usage:
  wspeer serve [--host 127.0.0.1] [--port 9001] [--path /] [--max-payload BYTES]
               [--ping-frequency MS] [--deflate] [--tls-cert FILE --tls-key FILE]
  wspeer autobahn-client [--url ws://127.0.0.1:9001] [--agent wspeer] [--no-deflate]`;

/** The default port of the echo server. */
export const DEFAULT_PORT = 9001;

const SERVE_OPTIONS = ['host', 'port', 'path', 'max-payload', 'ping-frequency', 'deflate', 'tls-cert', 'tls-key'];
const AUTOBAHN_CLIENT_OPTIONS = ['url', 'agent', 'no-deflate'];

async function main(argv: readonly string[]): Promise<void> {
  const { command, options } = parseArgs(argv);
  if (options.has('help')) {
    console.log(USAGE);
    return;
  }
  if (command === 'serve') {
    checkKnownOptions(options, SERVE_OPTIONS);
    const cert = options.get('tls-cert');
    const key = options.get('tls-key');
    if ((cert === undefined) !== (key === undefined)) throw new ArgumentError('--tls-cert and --tls-key go together');
    const echo = await startEchoServer({
      host: stringOption(options, 'host', '127.0.0.1'),
      port: integerOption(options, 'port', DEFAULT_PORT),
      path: stringOption(options, 'path', '/'),
      options: {
        maxPayload: integerOption(options, 'max-payload', 64 * 1024 * 1024),
        pingFrequency: integerOption(options, 'ping-frequency', 0),
        deflate: flagOption(options, 'deflate'),
        ...(typeof cert === 'string' && typeof key === 'string' ? { tls: { cert, key } } : {}),
      },
    });
    console.log(`wspeer echo server listening on ${echo.url}`);
    const stop = (): void => {
      echo.close(2000).then(() => process.exit(0), () => process.exit(1));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    return;
  }
  if (command === 'autobahn-client') {
    checkKnownOptions(options, AUTOBAHN_CLIENT_OPTIONS);
    await runAutobahnClient({
      url: stringOption(options, 'url', `ws://127.0.0.1:${DEFAULT_PORT}`),
      agent: stringOption(options, 'agent', 'wspeer'),
      deflate: !flagOption(options, 'no-deflate'),
    });
    return;
  }
  console.error(USAGE);
  process.exitCode = command === undefined ? 0 : 2;
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(`wspeer: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = error instanceof ArgumentError ? 2 : 1;
});
