/**
 * Negotiation of permessage-deflate, RFC 7692 §7.1: the client's offer, the server's
 * choice among offers, and the client's check of the server's answer. Pure functions over
 * parsed `Sec-WebSocket-Extensions` elements; no I/O.
 * @module
 */
import { describeOptionValue } from '../../connection/errors.ts';
import type { ExtensionOffer, ExtensionParam } from '../../handshake/extensions.ts';

/** The extension token (RFC 7692 §7). */
export const PERMESSAGE_DEFLATE = 'permessage-deflate';

/** The agreed parameters of one connection (RFC 7692 §7.1). */
export interface DeflateParams {
  /** §7.1.1.1: the server starts every message with an empty LZ77 window. */
  serverNoContextTakeover: boolean;
  /** §7.1.1.2: the client starts every message with an empty LZ77 window. */
  clientNoContextTakeover: boolean;
  /** §7.1.2.1: the server's LZ77 window is at most 2^n bytes (8–15). */
  serverMaxWindowBits: number;
  /** §7.1.2.2: the client's LZ77 window is at most 2^n bytes (8–15). */
  clientMaxWindowBits: number;
}

/** What an endpoint is willing to agree to. */
export interface DeflateOptions {
  /**
   * Keep the LZ77 window between messages, on our side and on the peer's. Better ratios on
   * streams of similar messages, at a cost of some 300 KB of zlib state per connection
   * (ws#1202). Default false: without it every connection shares the process's zlib
   * streams and an idle connection holds none. A server that keeps its context all the
   * same (RFC 7692 §7.1.1.1 says it must not) is accepted: the client then keeps a window
   * to inflate its messages.
   */
  contextTakeover?: boolean;
  /** Largest LZ77 window our compressor uses, 9–15. Default 15. (A peer may still ask for 8: see the codec.) */
  maxWindowBits?: number;
  /** zlib compression level, 0–9. Default 1: most of the ratio for a fraction of the CPU. */
  level?: number;
  /** zlib memory level, 1–9. Default 8. */
  memLevel?: number;
  /** Messages shorter than this many bytes go uncompressed. Default 64: below that the framing dominates. */
  threshold?: number;
}

/** {@link DeflateOptions} with every default applied. */
export type ResolvedDeflateOptions = Required<DeflateOptions>;

/** Apply the defaults and check the ranges. */
export function resolveDeflateOptions(options: DeflateOptions | true): ResolvedDeflateOptions {
  const given = options === true ? {} : options;
  if (typeof given !== 'object' || given === null) throw new TypeError(`deflate must be a boolean or an object of settings, got ${describeOptionValue(given)}`);
  if (given.contextTakeover != null && typeof given.contextTakeover !== 'boolean') {
    throw new TypeError(`contextTakeover must be a boolean, got ${describeOptionValue(given.contextTakeover)}`);
  }
  const resolved = {
    contextTakeover: given.contextTakeover ?? false,
    maxWindowBits: given.maxWindowBits ?? 15,
    level: given.level ?? 1,
    memLevel: given.memLevel ?? 8,
    threshold: given.threshold ?? 64,
  };
  inRange('maxWindowBits', resolved.maxWindowBits, 9, 15);
  inRange('level', resolved.level, 0, 9);
  inRange('memLevel', resolved.memLevel, 1, 9);
  if (typeof resolved.threshold !== 'number' || !(resolved.threshold >= 0)) throw new RangeError(`threshold must be zero or more, got ${resolved.threshold}`);
  return resolved;
}

function inRange(name: string, value: number, low: number, high: number): void {
  if (!Number.isInteger(value) || value < low || value > high) throw new RangeError(`${name} must be an integer from ${low} to ${high}, got ${value}`);
}

/** The client's offer (§5): what it asks of the server's compressor and allows for its own. */
export function clientOffer(options: ResolvedDeflateOptions): ExtensionOffer {
  const params: ExtensionParam[] = [['client_max_window_bits', true]];
  if (!options.contextTakeover) params.push(['server_no_context_takeover', true], ['client_no_context_takeover', true]);
  return { name: PERMESSAGE_DEFLATE, params };
}

/** An offer's parameters, checked (§7.1): each known, at most once, with a valid value. */
interface OfferedParams {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  serverMaxWindowBits: number | undefined;
  /** `true` when offered without a value. */
  clientMaxWindowBits: number | true | undefined;
}

/** Read an element's parameters; null if it breaks §7.1 (unknown, repeated or ill-valued). */
function readParams(params: readonly ExtensionParam[], requireClientBitsValue: boolean): OfferedParams | null {
  const seen = new Set<string>();
  const result: OfferedParams = {
    serverNoContextTakeover: false,
    clientNoContextTakeover: false,
    serverMaxWindowBits: undefined,
    clientMaxWindowBits: undefined,
  };
  for (const [rawName, value] of params) {
    const name = rawName.toLowerCase();
    if (seen.has(name)) return null;
    seen.add(name);
    switch (name) {
      case 'server_no_context_takeover':
      case 'client_no_context_takeover':
        if (value !== true) return null;
        if (name === 'server_no_context_takeover') result.serverNoContextTakeover = true;
        else result.clientNoContextTakeover = true;
        break;
      case 'server_max_window_bits': {
        const bits = windowBits(value);
        if (bits === null) return null;
        result.serverMaxWindowBits = bits;
        break;
      }
      case 'client_max_window_bits': {
        if (value === true && !requireClientBitsValue) {
          result.clientMaxWindowBits = true;
          break;
        }
        const bits = windowBits(value);
        if (bits === null) return null;
        result.clientMaxWindowBits = bits;
        break;
      }
      default:
        return null;
    }
  }
  return result;
}

/** §7.1.2: a window size is a decimal integer 8–15 with no leading zero. */
function windowBits(value: string | true): number | null {
  if (value === true || !/^(8|9|1[0-5])$/.test(value)) return null;
  return Number(value);
}

/** The server's decision: the parameters agreed and the response element to send. */
export interface Acceptance {
  params: DeflateParams;
  response: ExtensionOffer;
}

/**
 * Server side (§5, §7.1): take the first acceptable permessage-deflate offer, in the
 * client's order. An offer with an unknown or repeated parameter or a bad value is
 * declined (§7.1: "MUST decline"). Returns null if none is acceptable.
 */
export function acceptOffer(offers: readonly ExtensionOffer[], options: ResolvedDeflateOptions): Acceptance | null {
  for (const offer of offers) {
    if (offer.name.toLowerCase() !== PERMESSAGE_DEFLATE) continue;
    const offered = readParams(offer.params, false);
    if (offered === null) continue;
    return accept(offered, options);
  }
  return null;
}

function accept(offered: OfferedParams, options: ResolvedDeflateOptions): Acceptance {
  const params: DeflateParams = {
    // §7.1.1.1: the server may always choose to drop its own context; it must if asked.
    serverNoContextTakeover: offered.serverNoContextTakeover || !options.contextTakeover,
    // §7.1.1.2: the server may always ask the client to drop its context.
    clientNoContextTakeover: offered.clientNoContextTakeover || !options.contextTakeover,
    serverMaxWindowBits: Math.min(offered.serverMaxWindowBits ?? 15, options.maxWindowBits),
    // §7.1.2.2: only a client that offered the parameter may be given a smaller window.
    clientMaxWindowBits: typeof offered.clientMaxWindowBits === 'number' ? offered.clientMaxWindowBits : 15,
  };
  const response: ExtensionParam[] = [];
  if (params.serverNoContextTakeover) response.push(['server_no_context_takeover', true]);
  if (params.clientNoContextTakeover) response.push(['client_no_context_takeover', true]);
  if (offered.serverMaxWindowBits !== undefined || params.serverMaxWindowBits < 15) {
    response.push(['server_max_window_bits', String(params.serverMaxWindowBits)]);
  }
  if (typeof offered.clientMaxWindowBits === 'number') response.push(['client_max_window_bits', String(params.clientMaxWindowBits)]);
  return { params, response: { name: PERMESSAGE_DEFLATE, params: response } };
}

/**
 * Client side (§7.1): check the server's response to our offer and return the agreed
 * parameters, or a reason to fail the connection (§7.1: "the client MUST _Fail the
 * WebSocket Connection_" on an invalid response). Throws a `RangeError` if `offer`, ours,
 * is not a valid offer.
 */
export function acceptResponse(response: ExtensionOffer, offer: ExtensionOffer): DeflateParams | string {
  if (response.name.toLowerCase() !== PERMESSAGE_DEFLATE) return `unexpected extension ${response.name}`;
  const agreed = readParams(response.params, true);
  if (agreed === null) return 'permessage-deflate response has an unknown, repeated or invalid parameter';
  const offered = readParams(offer.params, false);
  // Our own offer, which the host passes back: one that is not valid is the host's mistake.
  if (offered === null) throw new RangeError('the offer given is not a valid permessage-deflate offer: an unknown, repeated or invalid parameter');
  // §7.1.2.2: client_max_window_bits may only come back if we offered it.
  if (agreed.clientMaxWindowBits !== undefined && offered.clientMaxWindowBits === undefined) {
    return 'permessage-deflate response sets client_max_window_bits, which was not offered';
  }
  // §7.1.1.1 says a server MUST answer server_no_context_takeover, but §7.1 fails the
  // connection only for a configuration the client cannot support, and keeping the server's
  // window to inflate is one we can: uWebSockets.js, with a dedicated compressor, drops it.
  // §7.1.2.1: a window larger than we offered to inflate is one we cannot.
  if (offered.serverMaxWindowBits !== undefined && (agreed.serverMaxWindowBits ?? 15) > offered.serverMaxWindowBits) {
    return 'permessage-deflate response exceeds the server_max_window_bits offered';
  }
  return {
    serverNoContextTakeover: agreed.serverNoContextTakeover,
    // §7.1.1.2: having offered client_no_context_takeover, we said we would not take over
    // our context, whether or not the server echoes it (one that relies on the hint could
    // not inflate our second message otherwise).
    clientNoContextTakeover: agreed.clientNoContextTakeover || offered.clientNoContextTakeover,
    serverMaxWindowBits: agreed.serverMaxWindowBits ?? 15,
    clientMaxWindowBits: typeof agreed.clientMaxWindowBits === 'number' ? agreed.clientMaxWindowBits : 15,
  };
}
