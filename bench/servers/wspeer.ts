/**
 * `wspeer` server: this library through its public `server()` entry point, echoing with
 * the callback API (`onMessage` + `send`), the counterpart of ws's `on('message')` and
 * uWebSockets' `message` handler.
 * @module
 */
import { startWspeerEcho } from './wspeer-echo.ts';

await startWspeerEcho('wspeer');
