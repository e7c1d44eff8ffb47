/**
 * `wspeer-lent` server: the `wspeer` echo with `lentMessages` on, the opt-in that passes a
 * message to the callback as it lies in the read buffer, valid during the call only, and
 * writes what the callback sends on before the next read (uWebSockets.js lends its message
 * ArrayBuffers the same way).
 * @module
 */
import { startWspeerEcho } from './wspeer-echo.ts';

await startWspeerEcho('wspeer-lent', { lentMessages: true });
