/**
 * The sans-I/O connection: one endpoint's protocol state machine over the frame codec.
 * @module
 */
export { Connection, ConnectionSettings, DEFAULT_MAX_PAYLOAD, DEFAULT_MAX_QUEUED_PONGS, type ConnectionOptions, type ConnectionState, type Role } from './connection.ts';
export { EventCollector, type ConnectionEvent, type ConnectionHandler } from './handler.ts';
export { UsageError, type UsageErrorCode } from './errors.ts';
export type { MessageCompression } from './compression.ts';
