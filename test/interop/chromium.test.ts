/**
 * A real browser as the peer: Debian's Chromium, driven by playwright-core, opens
 * WebSockets to our server from a page and checks what comes back, with and without
 * permessage-deflate (Chromium always offers it). CI installs Chromium with apt-get.
 */
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { EXERCISE, exerciseServer, type WhatwgReport } from './whatwg.ts';

const CHROMIUM = '/usr/bin/chromium';

describe('Chromium as the peer (RFC 6455 and RFC 7692 interop)', { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed` }, () => {
  let browser: Browser;
  let page: Page;

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
  });

  for (const deflate of [false, true]) {
    test(`echoes text and binary of every length class and closes with 4001${deflate ? ', compressed' : ''}`, async (t) => {
      const { url, check } = await exerciseServer(t, { deflate, client: 'Chromium' });
      await check((await page.evaluate(`(${EXERCISE})(${JSON.stringify(url)})`)) as WhatwgReport);
    });
  }
});
