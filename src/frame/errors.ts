/**
 * The typed error a peer's protocol violation produces.
 * @module
 */

/** Stable identifiers for every protocol violation the parser and the connection detect. */
export type ProtocolErrorCode =
  | 'WS_ERR_UNMASKED_FRAME'
  | 'WS_ERR_MASKED_FRAME'
  | 'WS_ERR_RESERVED_BITS'
  | 'WS_ERR_RESERVED_OPCODE'
  | 'WS_ERR_LENGTH_TOO_LARGE'
  | 'WS_ERR_NON_MINIMAL_LENGTH'
  | 'WS_ERR_CONTROL_TOO_LONG'
  | 'WS_ERR_CONTROL_FRAGMENTED'
  | 'WS_ERR_UNEXPECTED_CONTINUATION'
  | 'WS_ERR_EXPECTED_CONTINUATION'
  | 'WS_ERR_CLOSE_PAYLOAD_ONE_BYTE'
  | 'WS_ERR_INVALID_CLOSE_CODE'
  | 'WS_ERR_INVALID_UTF8'
  | 'WS_ERR_FRAME_TOO_BIG'
  | 'WS_ERR_MESSAGE_TOO_BIG'
  | 'WS_ERR_EXTENSION';

/**
 * A violation of the protocol by the remote endpoint. It carries the close code the
 * connection is failed with (RFC 6455 §7.1.7), a stable `code`, and the section of the
 * RFC that the peer broke.
 */
export class ProtocolError extends Error {
  /** Stable identifier of the violation, safe to match on. */
  readonly code: ProtocolErrorCode;
  /** The status code sent in the close frame that fails the connection. */
  readonly closeCode: number;
  /** The RFC section the peer broke, e.g. `"RFC 6455 §5.1"`. */
  readonly section: string;

  constructor(code: ProtocolErrorCode, closeCode: number, section: string, message: string) {
    super(`${message} (${section})`);
    this.name = 'ProtocolError';
    this.code = code;
    this.closeCode = closeCode;
    this.section = section;
  }
}
