/**
 * Firefox as the peer: Debian's firefox-esr, headless, loads a page from a `node:http`
 * server whose `upgrade` event goes to `createUpgradeHandler` on the same port (plain HTTP
 * and WebSockets side by side, seed 003). The page runs the WHATWG exercise against two
 * paths, one without and one with permessage-deflate, and posts its reports back. No
 * driver: Firefox only has to load a page. CI installs firefox-esr with apt-get.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { createUpgradeHandler, type UpgradeHandler } from '../../src/index.ts';
import { defer, waitFor, within } from '../peer/helpers.ts';
import { checkReport, echo, EXERCISE, PROTOCOLS, serverSawClose, type WhatwgReport } from './whatwg.ts';

const FIREFOX = '/usr/bin/firefox-esr';
/** Preferences that keep a fresh profile from first-run pages, updates and calls home. */
const PREFERENCES = {
  'browser.shell.checkDefaultBrowser': false,
  'browser.startup.homepage_override.mstone': 'ignore',
  'datareporting.policy.dataSubmissionEnabled': false,
  'toolkit.telemetry.reportingpolicy.firstRun': false,
  'toolkit.telemetry.enabled': false,
  'app.update.enabled': false,
  'app.normandy.enabled': false,
  'extensions.update.enabled': false,
  'network.captive-portal-service.enabled': false,
  'browser.safebrowsing.malware.enabled': false,
  'browser.safebrowsing.phishing.enabled': false,
};

/** The page: run the exercise on each path in turn and post each report, or the error. */
function page(paths: readonly string[]): string {
  const run = `(async () => { for (const path of ${JSON.stringify(paths)}) {
    const report = await exercise('ws://' + location.host + path).catch((error) => ({ error: String(error) }));
    await fetch('/report' + path, { method: 'POST', body: JSON.stringify(report) });
  } })();`;
  return `<!doctype html><meta charset="utf-8"><script>${EXERCISE}\n${run}</script>`;
}

async function body(request: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of request) text += String(chunk);
  return text;
}

describe('Firefox as the peer (RFC 6455 and RFC 7692 interop)', { skip: existsSync(FIREFOX) ? false : `${FIREFOX} is not installed` }, () => {
  test('echoes text and binary of every length class and closes with 4001, plain and compressed, on the port that serves the page', async (t) => {
    const setups = { '/plain': { deflate: false }, '/compressed': { deflate: true } } as const;
    type Path = keyof typeof setups;
    const upgrades: Record<Path, UpgradeHandler> = {
      '/plain': createUpgradeHandler({ protocols: PROTOCOLS }),
      '/compressed': createUpgradeHandler({ protocols: PROTOCOLS, deflate: true }),
    };
    const closeCodes: Record<Path, number[]> = { '/plain': [], '/compressed': [] };
    const reports = new Map<string, WhatwgReport | { error: string }>();

    const http = createServer((request, response) => {
      if (request.url === '/') {
        response.setHeader('content-type', 'text/html; charset=utf-8');
        response.end(page(Object.keys(setups)));
      } else if (request.method === 'POST' && request.url?.startsWith('/report/')) {
        void body(request).then((text) => {
          reports.set(request.url!.slice('/report'.length), JSON.parse(text));
          response.end();
        });
      } else {
        response.statusCode = 404;
        response.end();
      }
    });
    http.on('upgrade', (request: IncomingMessage, socket, head: Buffer) => {
      const path = request.url as Path;
      const peer = upgrades[path]?.(request, socket, head);
      if (peer) void echo(peer).then(() => closeCodes[path].push(peer.closeCode));
      else if (!(path in upgrades)) socket.destroy();
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    defer(t, () => new Promise((resolve) => http.close(resolve)));

    const profile = mkdtempSync(join(tmpdir(), 'wspeer-firefox-'));
    defer(t, () => rmSync(profile, { recursive: true, force: true }));
    writeFileSync(join(profile, 'user.js'), Object.entries(PREFERENCES).map(([name, value]) => `user_pref(${JSON.stringify(name)}, ${JSON.stringify(value)});\n`).join(''));
    const port = (http.address() as AddressInfo).port;
    // Its own process group, so that its content processes go with it.
    const firefox = spawn(FIREFOX, ['--headless', '--no-remote', '--profile', profile, `http://127.0.0.1:${port}/`], { stdio: 'ignore', detached: true });
    const exited = new Promise((resolve) => firefox.on('exit', resolve));
    defer(t, () => {
      try {
        process.kill(-firefox.pid!, 'SIGKILL');
      } catch {
        // Already gone.
      }
      return within(exited, 5000, 'Firefox to exit');
    });

    await waitFor(() => reports.size === 2 || firefox.exitCode !== null, 60_000, "Firefox's reports");
    for (const [path, setup] of Object.entries(setups) as Array<[Path, (typeof setups)[Path]]>) {
      const report = reports.get(path);
      assert.ok(report !== undefined && !('error' in report), `${path}: ${JSON.stringify(report)}`);
      await serverSawClose(closeCodes[path], `Firefox (${path})`);
      checkReport(report, { ...setup, client: 'Firefox' }, closeCodes[path]);
    }
  });
});
