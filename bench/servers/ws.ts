/**
 * `ws` server entry: ws 8 with its optional native add-ons switched off, i.e. pure JavaScript
 * masking (UTF-8 validation still uses the runtime's `buffer.isUtf8` where it exists).
 * @module
 */
process.env['WS_NO_BUFFER_UTIL'] = '1';
process.env['WS_NO_UTF_8_VALIDATE'] = '1';
// Imported after the environment is set: ws decides on its add-ons when it is first loaded.
const { startWsEcho } = await import('./ws-echo.ts');
await startWsEcho('ws', false);
