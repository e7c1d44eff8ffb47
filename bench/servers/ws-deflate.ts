/**
 * `ws-deflate` server entry: ws 8 with its add-ons and permessage-deflate on, at level 1 and a
 * 64-byte threshold like wspeer's defaults; everything else is ws's default, notably context
 * takeover in both directions and a 15-bit window.
 * @module
 */
delete process.env['WS_NO_BUFFER_UTIL'];
delete process.env['WS_NO_UTF_8_VALIDATE'];
const { startWsEcho } = await import('./ws-echo.ts');
await startWsEcho('ws-deflate', true, { threshold: 64, zlibDeflateOptions: { level: 1 } });
