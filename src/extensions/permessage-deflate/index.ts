/**
 * permessage-deflate (RFC 7692): negotiation and the zlib-backed codec, put together for
 * each side of the handshake.
 * @module
 */
import { formatExtensions, type ExtensionOffer } from '../../handshake/extensions.ts';
import type { MessageCompression } from '../../connection/compression.ts';
import { DeflateCodec, type OutputAllocator } from './codec.ts';
import { acceptOffer, acceptResponse, clientOffer, PERMESSAGE_DEFLATE, type ResolvedDeflateOptions } from './params.ts';

export { DeflateCodec, zlibDriverAvailable, type OutputAllocator } from './codec.ts';
export {
  acceptOffer,
  acceptResponse,
  clientOffer,
  PERMESSAGE_DEFLATE,
  resolveDeflateOptions,
  type Acceptance,
  type DeflateOptions,
  type DeflateParams,
  type ResolvedDeflateOptions,
} from './params.ts';

/**
 * The server's answer to the client's extension offers: the response header value and the
 * codec (its outputs from `allocate`, if given), or nothing.
 */
export function negotiateAsServer(
  offers: readonly ExtensionOffer[],
  options: ResolvedDeflateOptions | null,
  allocate?: OutputAllocator,
): { header: string; compression: MessageCompression } | null {
  if (options === null) return null;
  const acceptance = acceptOffer(offers, options);
  if (acceptance === null) return null;
  return { header: formatExtensions([acceptance.response]), compression: new DeflateCodec('server', acceptance.params, options, allocate) };
}

/** The client's offer header value. */
export function offerAsClient(options: ResolvedDeflateOptions): ExtensionOffer {
  return clientOffer(options);
}

/**
 * The client's reading of the extensions the server accepted (already checked to be among
 * those offered): the codec (its outputs from `allocate`, if given), none, or a reason to
 * fail the connection.
 */
export function completeAsClient(
  accepted: readonly ExtensionOffer[],
  offer: ExtensionOffer,
  options: ResolvedDeflateOptions,
  allocate?: OutputAllocator,
): MessageCompression | null | string {
  if (accepted.length === 0) return null;
  if (accepted.length > 1 || accepted[0]!.name.toLowerCase() !== PERMESSAGE_DEFLATE) {
    return 'the server accepted more than the one permessage-deflate offered';
  }
  const params = acceptResponse(accepted[0]!, offer);
  return typeof params === 'string' ? params : new DeflateCodec('client', params, options, allocate);
}
