/**
 * `ws-addons` client entry: ws 8 with bufferutil available (native masking above ws's threshold).
 * @module
 */
delete process.env['WS_NO_BUFFER_UTIL'];
delete process.env['WS_NO_UTF_8_VALIDATE'];
const { wsAdapter } = await import('./ws-client.ts');
const { runClientBenchmark } = await import('./driver.ts');
await runClientBenchmark(wsAdapter);
