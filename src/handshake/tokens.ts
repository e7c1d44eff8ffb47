/**
 * RFC 7230 grammar for header field values: tokens, optional whitespace
 * and comma-separated lists.
 *
 * Everything here runs in linear time on hostile input: scanners are single
 * forward passes, and the regular expressions are single character classes,
 * which cannot backtrack.
 */

import { HandshakeError } from './errors.ts';

const HTAB = 0x09;
const SPACE = 0x20;
const COMMA = 0x2c;

/**
 * The `tchar` set (RFC 7230 §3.2.6) as a regular-expression character class:
 * visible ASCII except the delimiters "(),/:;<=>?@[\]{}
 */
export const TCHAR_CLASS = "[!#$%&'*+\\-.^_`|~0-9A-Za-z]";

// Single character classes: linear-time, no backtracking possible.
const TOKEN_PATTERN = new RegExp(`^${TCHAR_CLASS}+$`);
const NON_FIELD_VALUE_CHAR = /[\x00-\x08\x0a-\x1f\x7f\u0100-\uffff]/;

/** Whether `text` is a non-empty `token` (RFC 7230 §3.2.6). */
export function isToken(text: string): boolean {
  return TOKEN_PATTERN.test(text);
}

/** Whether a char code is optional whitespace (SP / HTAB, RFC 7230 §3.2.3). */
export function isOws(code: number): boolean {
  return code === SPACE || code === HTAB;
}

/**
 * Whether `text` may appear as a field value (RFC 7230 §3.2): HTAB, SP,
 * visible ASCII and obs-text (0x80-0xFF). Rejects every other control
 * character, including CR and LF, which is what prevents header injection.
 */
export function isFieldValue(text: string): boolean {
  return !NON_FIELD_VALUE_CHAR.test(text);
}

/**
 * Removes leading and trailing SP / HTAB. `String.prototype.trim` is not
 * used because it also strips characters such as U+00A0, which is an
 * ordinary obs-text byte in a latin1-decoded head.
 */
export function trimOws(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isOws(text.charCodeAt(start))) start++;
  while (end > start && isOws(text.charCodeAt(end - 1))) end--;
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

/**
 * Splits a comma-separated list (RFC 7230 §7) into its elements, trimming
 * optional whitespace and dropping empty elements, which recipients must
 * accept (`"a, , b,"` gives `["a", "b"]`). Elements are not validated.
 */
export function splitList(value: string): string[] {
  const elements: string[] = [];
  let start = 0;
  for (let i = 0; i <= value.length; i++) {
    if (i === value.length || value.charCodeAt(i) === COMMA) {
      const element = trimOws(value.slice(start, i));
      if (element.length > 0) elements.push(element);
      start = i + 1;
    }
  }
  return elements;
}

/**
 * Parses `#token` (RFC 7230 §7): a comma-separated list of tokens with
 * optional whitespace and empty elements tolerated.
 *
 * @throws {HandshakeError} 400 `WS_HANDSHAKE_BAD_TOKEN_LIST` if an element
 * is not a token.
 */
export function parseTokenList(value: string): string[] {
  const elements = splitList(value);
  for (const element of elements) {
    if (!isToken(element)) {
      throw new HandshakeError(400, 'WS_HANDSHAKE_BAD_TOKEN_LIST', `Invalid token in list: ${JSON.stringify(element)}`);
    }
  }
  return elements;
}

/** Compares two strings, folding only ASCII letters (A-Z equals a-z). */
export function equalsIgnoreAsciiCase(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0x41 && x <= 0x5a) x |= 0x20;
    if (y >= 0x41 && y <= 0x5a) y |= 0x20;
    if (x !== y) return false;
  }
  return true;
}

/**
 * Whether a comma-separated header value contains `token`, compared ASCII
 * case-insensitively (`"keep-alive, Upgrade"` contains `"upgrade"`).
 * An absent header (`undefined`) contains nothing.
 */
export function listContainsToken(value: string | undefined, token: string): boolean {
  if (value === undefined) return false;
  // The usual value is the token alone ("Upgrade", "websocket"): no list to split.
  if (equalsIgnoreAsciiCase(value, token)) return true;
  return splitList(value).some((element) => equalsIgnoreAsciiCase(element, token));
}
