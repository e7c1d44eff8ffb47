/**
 * The bodies of control frames (RFC 6455 §5.5): the 125-byte limit on what we send, and the
 * close frame's code and reason (§5.5.1, §7.4), checked both ways.
 * @module
 */
import { CloseCode, isValidCloseCode } from '../frame/close-code.ts';
import { ProtocolError } from '../frame/errors.ts';
import { invalidArgument, UsageError } from './errors.ts';

/** §5.5: control frame payloads are at most 125 bytes; a close reason 123 after its code. */
const MAX_CONTROL_PAYLOAD = 125;
/** The longest close reason, in bytes of UTF-8. */
export const MAX_CLOSE_REASON = 123;

const encoder = new TextEncoder();
const lenientDecoder = new TextDecoder('utf-8', { ignoreBOM: true });

/** The bytes of a ping or pong payload we send; a {@link UsageError} past 125 bytes, or for what is neither text nor bytes. */
export function controlPayload(call: string, payload: Uint8Array | string): Uint8Array {
  if (typeof payload !== 'string' && !(payload instanceof Uint8Array)) throw invalidArgument(call, 'the payload', 'a string or a Uint8Array', payload);
  const bytes = typeof payload === 'string' ? encoder.encode(payload) : payload;
  if (bytes.length > MAX_CONTROL_PAYLOAD) {
    throw new UsageError('WS_ERR_CONTROL_PAYLOAD_TOO_LONG', `a control frame payload is at most 125 bytes (RFC 6455 §5.5), got ${bytes.length}`);
  }
  return bytes;
}

/**
 * Throws a {@link UsageError} unless `code` and `reason` can go in a close frame we send:
 * a code that may be sent (§7.4; none for an empty body, which then takes no reason) and
 * a reason of at most 123 bytes of UTF-8. Returns the reason's bytes.
 */
export function checkCloseArguments(code: number | undefined, reason: string): Uint8Array {
  if (typeof reason !== 'string') throw invalidArgument('close', 'the reason', 'a string', reason);
  const reasonBytes = encoder.encode(reason);
  if (code === undefined) {
    if (reason !== '') throw new UsageError('WS_ERR_INVALID_CLOSE_CODE', 'a close reason needs a close code');
  } else if (typeof code !== 'number') {
    throw invalidArgument('close', 'the code', 'a number', code);
  } else if (!isValidCloseCode(code)) {
    throw new UsageError('WS_ERR_INVALID_CLOSE_CODE', `close code ${code} may not be sent (RFC 6455 §7.4)`);
  }
  if (reasonBytes.length > MAX_CLOSE_REASON) {
    throw new UsageError('WS_ERR_REASON_TOO_LONG', `a close reason is at most ${MAX_CLOSE_REASON} bytes of UTF-8, got ${reasonBytes.length}`);
  }
  return reasonBytes;
}

/**
 * The code and reason of a close frame the peer sent (§5.5.1: an optional 2-byte code, then
 * a UTF-8 reason; 1005 when the body is empty), or the rule its body breaks.
 */
export function readCloseBody(payload: Uint8Array, isUtf8: (bytes: Uint8Array) => boolean): { code: number; reason: string } | ProtocolError {
  if (payload.length === 0) return { code: CloseCode.NoStatusReceived, reason: '' };
  if (payload.length === 1) {
    return new ProtocolError('WS_ERR_CLOSE_PAYLOAD_ONE_BYTE', CloseCode.ProtocolError, 'RFC 6455 §5.5.1', 'a close frame with a 1-byte payload');
  }
  const code = (payload[0]! << 8) | payload[1]!;
  // §7.4.1, §7.4.2: only registered, library and private-use codes may be sent.
  if (!isValidCloseCode(code)) return new ProtocolError('WS_ERR_INVALID_CLOSE_CODE', CloseCode.ProtocolError, 'RFC 6455 §7.4', `invalid close code ${code}`);
  const reasonBytes = payload.subarray(2);
  if (!isUtf8(reasonBytes)) {
    return new ProtocolError('WS_ERR_INVALID_UTF8', CloseCode.InvalidPayload, 'RFC 6455 §5.5.1', 'a close reason is not valid UTF-8');
  }
  return { code, reason: lenientDecoder.decode(reasonBytes) };
}
