/**
 * Errors in the use of a connection by its own application (as opposed to the peer's
 * protocol violations, which are {@link ProtocolError}s).
 * @module
 */

/** Stable identifiers of {@link UsageError}. */
export type UsageErrorCode =
  | 'WS_ERR_NOT_OPEN'
  | 'WS_ERR_INVALID_CLOSE_CODE'
  | 'WS_ERR_REASON_TOO_LONG'
  | 'WS_ERR_CONTROL_PAYLOAD_TOO_LONG'
  | 'WS_ERR_FRAGMENT_SEQUENCE'
  | 'WS_ERR_INVALID_OPCODE'
  | 'WS_ERR_INVALID_ARGUMENT'
  | 'WS_ERR_REENTRANT'
  | 'WS_ERR_CALLBACK_SET'
  | 'WS_ERR_INVALID_UTF8';

/** The application asked for something the protocol does not allow; nothing was sent. */
export class UsageError extends Error {
  /** Stable identifier, safe to match on. */
  readonly code: UsageErrorCode;

  constructor(code: UsageErrorCode, message: string) {
    super(message);
    this.name = 'UsageError';
    this.code = code;
  }
}

/** §5.4: a message may not start while another is being sent in fragments, nor continue when none is. */
export function fragmentSequenceError(): UsageError {
  return new UsageError('WS_ERR_FRAGMENT_SEQUENCE', 'a fragmented message is in progress or none is (RFC 6455 §5.4): messages may not interleave');
}

/** What `value` is, for an error message: `null`, a class name, or a `typeof`. */
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value;
  return (value as object).constructor?.name ?? 'an object';
}

/**
 * An option's value, for the error refusing it: strings quoted, so that `'false'` is not
 * read as `false`, and objects by their class.
 */
export function describeOptionValue(value: unknown): string {
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  if (typeof value === 'function') return 'a function';
  if (typeof value !== 'object' || value === null) return String(value);
  if (Array.isArray(value)) return 'an array';
  const kind = describe(value);
  return kind === 'Object' || kind === 'an object' ? 'an object' : `a ${kind} object`;
}

/**
 * An argument of the wrong type, refused before anything changes: from JavaScript, or past
 * a cast, an `ArrayBuffer` or a number would otherwise be sent as zeros or break the output.
 */
export function invalidArgument(call: string, name: string, expected: string, value: unknown): UsageError {
  return new UsageError('WS_ERR_INVALID_ARGUMENT', `${call}: ${name} must be ${expected}, got ${describe(value)}`);
}
