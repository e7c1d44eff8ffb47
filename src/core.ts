/**
 * The protocol core without I/O, for any JavaScript runtime: the frame codec, the
 * connection state machine, and the opening handshake (parsers, validation, and the heads
 * to send, `Sec-WebSocket-Accept` included). Plain `Uint8Array` and strings in, events and
 * bytes out; no `node:` imports, no timers, no sockets.
 * @module
 */
export * from './frame/index.ts';
export * from './connection/index.ts';
export * from './handshake/index.ts';
