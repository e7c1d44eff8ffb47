/**
 * The settings of a peer's sans-I/O connection: Node's Buffers for payloads and views,
 * Node's UTF-8 check, and the peer's limits. Peers made with the same options share one
 * settings object; a peer with compression has its own, since the codec is its alone.
 * @module
 */
import { isUtf8 } from 'node:buffer';
import type { MessageCompression } from '../connection/compression.ts';
import { ConnectionSettings } from '../connection/options.ts';
import { allocateUnsafe, bufferView } from './buffers.ts';
import { allocateLendable } from './lent-messages.ts';
import type { ResolvedPeerOptions } from './options.ts';

const shared = new WeakMap<ResolvedPeerOptions, ConnectionSettings>();

/** The connection settings of a peer made with `options` and, if negotiated, `compression`. */
export function settingsFor(options: ResolvedPeerOptions, compression?: MessageCompression): ConnectionSettings {
  if (compression !== undefined) return connectionSettings(options, compression);
  let settings = shared.get(options);
  if (settings === undefined) shared.set(options, (settings = connectionSettings(options)));
  return settings;
}

function connectionSettings(options: ResolvedPeerOptions, compression?: MessageCompression): ConnectionSettings {
  return new ConnectionSettings({
    maxPayload: options.maxPayload,
    fragments: options.fragments,
    allocate: allocateUnsafe,
    allocateLendable: options.lentMessages ? allocateLendable : undefined,
    view: bufferView,
    // Messages reach the application asynchronously: answer the peer's close only once
    // it has had them (see the peer's `closeReceived`), so that its reply to the last one is not cut off.
    deferCloseReply: true,
    isUtf8,
    compression,
    maxQueuedPongs: options.maxQueuedPongs,
  });
}
