/**
 * Parsing of header field lines (RFC 7230 §3.2), shared by the request and
 * response parsers.
 */

import { HeaderList } from './headers.ts';
import { isFieldValue, isOws, isToken, trimOws } from './tokens.ts';

/**
 * Parses `lines[from..]` as `field-name ":" OWS field-value OWS` into a
 * {@link HeaderList}. Calls `fail` (which must throw) with a one-line
 * explanation on the first malformed line.
 */
export function parseFieldLines(
  lines: readonly string[],
  from: number,
  fail: (reason: string) => never,
): HeaderList {
  const headers = new HeaderList();
  for (let i = from; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line.length > 0 && isOws(line.charCodeAt(0))) {
      // obs-fold (RFC 7230 §3.2.4): must be rejected or unfolded; unfolding
      // would hide the field from intermediaries that reject it.
      fail('Obsolete line folding is not allowed in header fields');
    }
    const colon = line.indexOf(':');
    if (colon === -1) fail(`Header line without a colon: ${describe(line)}`);
    const name = line.slice(0, colon);
    // A space before the colon also lands here, as RFC 7230 §3.2.4 requires.
    if (!isToken(name)) fail(`Invalid header field name: ${describe(name)}`);
    const value = trimOws(line.slice(colon + 1));
    if (!isFieldValue(value)) fail(`Invalid characters in the value of header ${name}`);
    headers.append(name, value);
  }
  return headers;
}

/** Quotes a fragment of input for an error message, bounded in length. */
export function describe(text: string): string {
  const shown = text.length > 64 ? `${text.slice(0, 64)}...` : text;
  return JSON.stringify(shown);
}
