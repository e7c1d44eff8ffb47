/**
 * `wspeer-deflate` server: the `wspeer` echo server with permessage-deflate on, at wspeer's
 * defaults (no context takeover on either side, level 1, 64-byte threshold).
 * @module
 */
import { startWspeerEcho } from './wspeer-echo.ts';

await startWspeerEcho('wspeer-deflate', { deflate: true });
