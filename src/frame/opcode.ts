/**
 * Frame opcodes of RFC 6455 §5.2 and the predicates the parser needs.
 * @module
 */

/** The opcodes RFC 6455 §5.2 defines; every other value is reserved. */
export const Opcode = {
  /** §5.4: a continuation fragment of the current data message. */
  Continuation: 0x0,
  /** §5.6: the first frame of a text message (UTF-8 payload). */
  Text: 0x1,
  /** §5.6: the first frame of a binary message. */
  Binary: 0x2,
  /** §5.5.1: the closing handshake. */
  Close: 0x8,
  /** §5.5.2: a keepalive or liveness probe; must be answered by a pong. */
  Ping: 0x9,
  /** §5.5.3: the answer to a ping, or an unsolicited heartbeat. */
  Pong: 0xa,
} as const;

/** One of the opcodes RFC 6455 §5.2 defines. */
export type Opcode = (typeof Opcode)[keyof typeof Opcode];

/** §5.5: control frames have the most significant opcode bit set (0x8–0xF). */
export function isControlOpcode(opcode: number): boolean {
  return (opcode & 0x8) !== 0;
}

/** §5.2: opcodes 0x3–0x7 and 0xB–0xF are reserved and fail the connection. */
export function isKnownOpcode(opcode: number): boolean {
  return opcode <= 0x2 || (opcode >= 0x8 && opcode <= 0xa);
}
