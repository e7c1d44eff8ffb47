/**
 * Python's `websockets` as the peer, both ways: a strict implementation written
 * independently of this project (Debian's python3-websockets, which CI installs), with its
 * own defaults for permessage-deflate (12-bit windows each way, RFC 7692 §7.1.2), over TCP
 * and over TLS checked against the test CA.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import type { TlsServerOptions } from '../../src/index.ts';
import { exerciseOurClient, pythonClient, pythonMissing, pythonServer } from './python.ts';
import { exerciseServer } from './whatwg.ts';

const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/tls/${name}`, import.meta.url));
/** The test CA, and a certificate it signed for 127.0.0.1 and localhost. */
const CA = fixture('ca.pem');
const CERT = fixture('server.pem');
const KEY = fixture('server.key');
const CERTIFICATE: TlsServerOptions = { cert: CERT, key: KEY };
const PEER = fileURLToPath(new URL('./python_peer.py', import.meta.url));
const MISSING = pythonMissing('websockets', 'python3-websockets');

describe("Python's websockets as the peer (RFC 6455 and RFC 7692 interop)", { skip: MISSING }, () => {
  const variants = [
    { label: '', deflate: false, tls: false },
    { label: ', compressed', deflate: true, tls: false },
    { label: ', compressed, over TLS', deflate: true, tls: true },
  ];
  for (const { label, deflate, tls } of variants) {
    test(`its client: every length class, a fragmented message, a ping, and our close with 4001${label}`, async (t) => {
      const { url, check } = await exerciseServer(t, { deflate, client: "Python's websockets", echoes: 14, ...(tls ? { tls: CERTIFICATE } : {}) });
      const report = await pythonClient<{ pong: boolean }>(PEER, ['client', url, ...(deflate ? ['--deflate'] : []), ...(tls ? ['--ca', CA] : [])], "Python's websockets");
      assert.equal(report.pong, true);
      await check(report);
    });

    test(`its server: every length class, fragments both ways, heartbeat pings, and closes both ways${label}`, async (t) => {
      const flags = [...(deflate ? ['--deflate'] : []), ...(tls ? ['--cert', CERT, '--key', KEY] : [])];
      const { url, closes } = await pythonServer(t, PEER, ['server', ...flags], tls ? 'wss' : 'ws', "Python's websockets");
      await exerciseOurClient(t, url, {
        options: { deflate, ...(tls ? { tls: { ca: CA } } : {}) },
        // Its server sets 12-bit windows each way (RFC 7692 §7.1.2).
        checkExtensions: (extensions) =>
          assert.equal(extensions, deflate ? 'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=12; client_max_window_bits=12' : ''),
        fragments: true,
        closes,
      });
    });
  }
});
