/**
 * The protocol core without I/O, for any JavaScript runtime: the frame codec and the
 * connection state machine. Plain `Uint8Array` in, events and bytes out; no `node:`
 * imports, no timers, no sockets.
 * @module
 */
export * from './frame/index.ts';
export * from './connection/index.ts';
