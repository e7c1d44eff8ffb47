/**
 * `ws-addons` server entry: ws 8 with bufferutil and utf-8-validate available. The READY line
 * reports what ws really uses; the server refuses to start if native bufferutil is not in use.
 * @module
 */
delete process.env['WS_NO_BUFFER_UTIL'];
delete process.env['WS_NO_UTF_8_VALIDATE'];
const { startWsEcho } = await import('./ws-echo.ts');
await startWsEcho('ws-addons', true);
