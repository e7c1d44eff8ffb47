/**
 * Three more independent implementations as the peer, both ways, plain and compressed
 * (RFC 7692): aiohttp and Tornado, whose frame readers and writers are their own, and
 * wsproto, a sans-I/O implementation (Debian's python3-aiohttp, python3-tornado and
 * python3-wsproto, which CI installs). Each runs `python_others.py`: as a client, the
 * exercise of every length class, then our close; as a server, an echo that closes when
 * asked. wsproto also sends fragments and matches a pong to its ping.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { exerciseOurClient, pythonClient, pythonMissing, pythonServer } from './python.ts';
import { exerciseServer } from './whatwg.ts';

const PEER = fileURLToPath(new URL('./python_others.py', import.meta.url));

/**
 * How each differs. aiohttp answers a close with 1000 rather than echo the code (§5.5.1 says
 * "typically"). Tornado 6.2 reads only the parameters with a value in an extension header,
 * so it never sees the `client_no_context_takeover` our server asks of it by default
 * (RFC 7692 §7.1.1.2) and keeps its compression context: our server must keep its own too.
 */
const LIBRARIES = [
  { library: 'aiohttp', debianPackage: 'python3-aiohttp', fragmentsAndPings: false, answerCode: 1000, contextTakeover: false },
  { library: 'tornado', debianPackage: 'python3-tornado', fragmentsAndPings: false, answerCode: 4001, contextTakeover: true },
  { library: 'wsproto', debianPackage: 'python3-wsproto', fragmentsAndPings: true, answerCode: 4001, contextTakeover: false },
];

for (const { library, debianPackage, fragmentsAndPings, answerCode, contextTakeover } of LIBRARIES) {
  describe(`${library} as the peer (RFC 6455 and RFC 7692 interop)`, { skip: pythonMissing(library, debianPackage) }, () => {
    for (const deflate of [false, true]) {
      const label = deflate ? ', compressed' : '';

      test(`its client: every length class${fragmentsAndPings ? ', a fragmented message, a ping' : ''}, and our close with 4001${label}`, async (t) => {
        const echoes = 13 + (fragmentsAndPings ? 1 : 0);
        const { url, check } = await exerciseServer(t, { deflate, client: library, echoes, answerCode, deflateOptions: { contextTakeover } });
        const report = await pythonClient<{ pong?: boolean }>(PEER, [library, 'client', url, ...(deflate ? ['--deflate'] : [])], library);
        if (fragmentsAndPings) assert.equal(report.pong, true, 'the pong carried the ping payload (§5.5.3)');
        await check(report);
      });

      test(`its server: every length class${fragmentsAndPings ? ', fragments both ways' : ''}, heartbeat pings, and closes both ways${label}`, async (t) => {
        const { url, closes } = await pythonServer(t, PEER, [library, 'server', ...(deflate ? ['--deflate'] : [])], 'ws', library);
        await exerciseOurClient(t, url, {
          options: { deflate },
          checkExtensions: (extensions) => (deflate ? assert.match(extensions, /^permessage-deflate/) : assert.equal(extensions, '')),
          fragments: fragmentsAndPings,
          closes,
        });
      });
    }
  });
}
