/**
 * `ws` client entry: ws 8 without its native add-ons (JavaScript masking).
 * @module
 */
process.env['WS_NO_BUFFER_UTIL'] = '1';
process.env['WS_NO_UTF_8_VALIDATE'] = '1';
// Imported after the environment is set: ws decides on its add-ons when it is first loaded.
const { wsAdapter } = await import('./ws-client.ts');
const { runClientBenchmark } = await import('./driver.ts');
await runClientBenchmark(wsAdapter);
