/**
 * Serialisation of header fields for heads this module builds, with the
 * checks that keep caller-supplied strings from breaking the head.
 */

import { InvalidHeaderError } from './errors.ts';
import { describe } from './field-lines.ts';
import { isFieldValue, isToken } from './tokens.ts';

/**
 * Extra header fields for a head. An array value writes the field once per
 * element (e.g. several `Set-Cookie` lines).
 */
export type HeaderFields = Readonly<Record<string, string | readonly string[]>>;

/**
 * Formats one `name: value` line, CRLF included.
 *
 * @throws {InvalidHeaderError} if the name is not a token or the value holds
 * CR, LF or another forbidden character, which would let the value inject
 * lines of its own into the head.
 */
export function headerLine(name: string, value: string): string {
  if (!isToken(name)) throw new InvalidHeaderError(`Invalid header name: ${describe(name)}`);
  if (!isFieldValue(value)) throw new InvalidHeaderError(`Invalid characters in the value of header ${name}`);
  return `${name}: ${value}\r\n`;
}

/**
 * Formats caller-supplied fields, refusing those in `managed` (lower-case
 * names) because the head already sets them and a second copy would
 * contradict it.
 *
 * @throws {InvalidHeaderError} for a managed or invalid field.
 * @throws {TypeError} for fields that are not an object of strings or arrays of strings.
 */
export function extraHeaderLines(fields: HeaderFields | undefined, managed: ReadonlySet<string>): string {
  if (fields == null) return '';
  // From JavaScript, a string here would be read as fields named '0', '1', …
  if (typeof fields !== 'object' || Array.isArray(fields)) {
    throw new TypeError(`headers must be an object of field names and values, got ${Array.isArray(fields) ? 'an array' : typeof fields}`);
  }
  let lines = '';
  for (const name of Object.keys(fields)) {
    if (managed.has(name.toLowerCase())) {
      throw new InvalidHeaderError(`Header ${name} is set by the handshake and cannot be overridden`);
    }
    const value = fields[name];
    if (typeof value === 'string') {
      lines += headerLine(name, value);
    } else if (Array.isArray(value) && value.every((item) => typeof item === 'string')) {
      for (const item of value as readonly string[]) lines += headerLine(name, item);
    } else if (value !== undefined) {
      throw new TypeError(`the value of header ${name} must be a string or an array of strings, got ${value === null ? 'null' : typeof value}`);
    }
  }
  return lines;
}
