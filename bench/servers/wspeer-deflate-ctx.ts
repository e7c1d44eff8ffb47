/**
 * `wspeer-deflate-ctx` server: permessage-deflate with context takeover in both directions,
 * as ws does by default, otherwise wspeer's defaults (level 1, 64-byte threshold).
 * @module
 */
import { startWspeerEcho } from './wspeer-echo.ts';

await startWspeerEcho('wspeer-deflate-ctx', { deflate: { contextTakeover: true } });
