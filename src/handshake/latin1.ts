/**
 * Byte <-> string conversion for HTTP heads.
 *
 * HTTP/1.1 heads are octets; mapping each octet to the code point of the
 * same value ("latin1") is lossless and lets header text be handled as
 * strings. `TextDecoder('latin1')` is not usable here: the Encoding Standard
 * maps that label to windows-1252, which rewrites bytes 0x80-0x9F.
 */

// Large enough to amortise call overhead, small enough to stay well under
// engine limits on the number of arguments to a function call.
const DECODE_CHUNK = 4096;

// With `fatal`, invalid UTF-8 throws instead of being replaced, so a decoded
// string as long as its input proves every byte was ASCII (any other UTF-8
// sequence spends at least two bytes per UTF-16 unit).
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes bytes to a string with one code point (0-255) per byte. */
export function latin1Decode(bytes: Uint8Array): string {
  // Heads are nearly always ASCII, where UTF-8 and latin1 agree; the native
  // decoder is an order of magnitude faster than building the string in JS.
  try {
    const text = utf8.decode(bytes);
    if (text.length === bytes.length) return text;
  } catch {
    // Not UTF-8: some byte is above 0x7F. Fall through to the general path.
  }
  return latin1DecodeSlow(bytes);
}

function latin1DecodeSlow(bytes: Uint8Array): string {
  if (bytes.length <= DECODE_CHUNK) {
    return String.fromCharCode.apply(null, bytes as unknown as number[]);
  }
  let text = '';
  for (let start = 0; start < bytes.length; start += DECODE_CHUNK) {
    const part = bytes.subarray(start, start + DECODE_CHUNK);
    text += String.fromCharCode.apply(null, part as unknown as number[]);
  }
  return text;
}

/**
 * Encodes a string with one byte per code point. Throws a `RangeError` on
 * code points above 255, which cannot be represented and would otherwise be
 * silently truncated. Heads built by this module only contain code points
 * that pass this check.
 */
export function latin1Encode(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0xff) {
      throw new RangeError(`code point U+${code.toString(16).toUpperCase()} at index ${i} is not latin1`);
    }
    bytes[i] = code;
  }
  return bytes;
}
