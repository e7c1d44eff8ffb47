/**
 * A real browser as the peer: Debian's Chromium, driven by playwright-core, opens
 * WebSockets to our server from a page and checks what comes back, with and without
 * permessage-deflate (Chromium always offers it). CI installs Chromium with apt-get.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { server, type Peer, type Server } from '../../src/index.ts';

const CHROMIUM = '/usr/bin/chromium';
/** The page's side, plain JavaScript so that no compiler helper leaks into the browser. */
const EXERCISE = readFileSync(new URL('./exercise.js', import.meta.url), 'utf8');

/** The outcome of the page's script, as plain data. */
interface BrowserReport {
  extensions: string;
  protocol: string;
  echoes: Array<{ kind: string; length: number; same: boolean }>;
  closeCode: number;
  closeReason: string;
  wasClean: boolean;
}

/** The echo handler, which closes with 4001 when asked to. */
async function echo(peer: Peer): Promise<void> {
  for await (const message of peer) {
    if (message.data === 'close please') {
      await peer.shutdown(4001, 'asked to');
      return;
    }
    await peer.write(message.data);
  }
}

describe('Chromium as the peer (RFC 6455 and RFC 7692 interop)', { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed` }, () => {
  let browser: Browser;
  let page: Page;
  const servers: Server[] = [];

  before(async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await browser.newPage();
  });

  after(async () => {
    await browser?.close();
    await Promise.all(servers.map((each) => each.close(1000)));
  });

  for (const deflate of [false, true]) {
    test(`echoes text and binary of every length class and closes with 4001${deflate ? ', compressed' : ''}`, async () => {
      const closes: Array<[number, string]> = [];
      const instance = await server(
        'ws://127.0.0.1:0',
        async (peer) => {
          await echo(peer);
          closes.push([peer.closeCode, peer.closeReason]);
        },
        { deflate, protocols: ['superchat', 'chat'] },
      );
      servers.push(instance);
      const report = (await page.evaluate(`(${EXERCISE})(${JSON.stringify(instance.url)})`)) as BrowserReport;
      assert.equal(report.protocol, 'superchat', 'the server chose by its own preference (RFC 6455 §4.2.2)');
      if (deflate) assert.match(report.extensions, /^permessage-deflate/);
      else assert.equal(report.extensions, '');
      for (const each of report.echoes) assert.ok(each.same, `${each.kind} of ${each.length} bytes came back changed`);
      assert.equal(report.echoes.length, 14);
      assert.deepEqual([report.closeCode, report.closeReason, report.wasClean], [4001, 'asked to', true]);
      assert.deepEqual(closes, [[4001, 'asked to']], 'Chromium answered our close with the same code (RFC 6455 §5.5.1)');
    });
  }
});
