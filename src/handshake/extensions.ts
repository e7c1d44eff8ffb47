/**
 * The `Sec-WebSocket-Extensions` header grammar (RFC 6455 §9.1):
 *
 *   extension-list  = 1#extension
 *   extension       = extension-token *( ";" extension-param )
 *   extension-param = token [ "=" ( token / quoted-string ) ]
 *
 * with OWS allowed around ";", "," and "=", and quoted values required to
 * be tokens once unescaped.
 */

import { HandshakeError, InvalidHeaderError } from './errors.ts';
import { describe } from './field-lines.ts';
import { isOws, isToken, TCHAR_CLASS } from './tokens.ts';

/** One extension parameter: `name` alone is `[name, true]`. */
export type ExtensionParam = [name: string, value: string | true];

/**
 * One element of an extension list, e.g. `permessage-deflate;
 * client_max_window_bits`. Parameters keep their order and duplicates, since
 * extensions such as RFC 7692 must reject repeated parameters themselves.
 * Names are kept as sent.
 */
export interface ExtensionOffer {
  /** The extension token, e.g. `permessage-deflate`. */
  name: string;
  /** Parameters in order of appearance, duplicates included. */
  params: ExtensionParam[];
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
// Sticky, single character class: matches a token run at `lastIndex` in
// linear time without backtracking.
const TOKEN_RUN = new RegExp(`${TCHAR_CLASS}+`, 'y');

/**
 * Parses a `Sec-WebSocket-Extensions` value. Repeated headers may be passed
 * joined with `", "`. Empty list elements are skipped, so `""` gives `[]`.
 *
 * @throws {HandshakeError} 400 `WS_HANDSHAKE_BAD_EXTENSIONS` on any syntax
 * error, including a quoted value that is not a token once unescaped.
 */
export function parseExtensions(value: string): ExtensionOffer[] {
  return new ExtensionScanner(value).parseList();
}

/**
 * Formats extensions as a `Sec-WebSocket-Extensions` value, the inverse of
 * {@link parseExtensions}. Values are written as bare tokens, the only form
 * RFC 6455 §9.1 permits after unquoting.
 *
 * @throws {InvalidHeaderError} if a name or value is not a token.
 */
export function formatExtensions(extensions: readonly ExtensionOffer[]): string {
  return extensions.map(formatExtension).join(', ');
}

function formatExtension(extension: ExtensionOffer): string {
  if (!isToken(extension.name)) {
    throw new InvalidHeaderError(`extension name is not a token: ${describe(extension.name)}`);
  }
  let text = extension.name;
  for (const [name, value] of extension.params) {
    if (!isToken(name)) throw new InvalidHeaderError(`extension parameter name is not a token: ${describe(name)}`);
    if (value === true) {
      text += `; ${name}`;
    } else if (isToken(value)) {
      text += `; ${name}=${value}`;
    } else {
      throw new InvalidHeaderError(`value of extension parameter ${name} is not a token: ${describe(value)}`);
    }
  }
  return text;
}

/** A single forward pass over the header value; no backtracking. */
class ExtensionScanner {
  readonly #text: string;
  #pos = 0;

  constructor(text: string) {
    this.#text = text;
  }

  parseList(): ExtensionOffer[] {
    const extensions: ExtensionOffer[] = [];
    for (;;) {
      this.#skipOws();
      if (this.#atEnd()) return extensions;
      if (this.#peek() === 0x2c) {
        // Empty list element (RFC 7230 §7): tolerated.
        this.#pos++;
        continue;
      }
      extensions.push(this.#parseExtension());
      this.#skipOws();
      if (this.#atEnd()) return extensions;
      this.#expect(0x2c, 'a comma between extensions');
    }
  }

  #parseExtension(): ExtensionOffer {
    const name = this.#readToken('an extension name');
    const params: ExtensionParam[] = [];
    for (;;) {
      this.#skipOws();
      if (this.#peek() !== 0x3b) return { name, params };
      this.#pos++;
      this.#skipOws();
      const paramName = this.#readToken('a parameter name');
      this.#skipOws();
      if (this.#peek() !== 0x3d) {
        params.push([paramName, true]);
        continue;
      }
      this.#pos++;
      this.#skipOws();
      params.push([paramName, this.#readParamValue(paramName)]);
    }
  }

  #readParamValue(paramName: string): string {
    if (this.#peek() !== QUOTE) return this.#readToken('a parameter value');
    const value = this.#readQuotedString();
    if (!isToken(value)) this.#fail(`quoted value of ${paramName} is not a token`);
    return value;
  }

  /** quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE (RFC 7230 §3.2.6). */
  #readQuotedString(): string {
    this.#pos++;
    let value = '';
    let segmentStart = this.#pos;
    for (;;) {
      if (this.#atEnd()) this.#fail('unterminated quoted string');
      const code = this.#peek();
      if (code === QUOTE) {
        value += this.#text.slice(segmentStart, this.#pos);
        this.#pos++;
        return value;
      }
      if (code === BACKSLASH) {
        value += this.#text.slice(segmentStart, this.#pos);
        this.#pos++;
        if (this.#atEnd() || !isQuotedPairChar(this.#peek())) this.#fail('invalid escape in quoted string');
        segmentStart = this.#pos;
        this.#pos++;
        continue;
      }
      if (!isQdtext(code)) this.#fail('invalid character in quoted string');
      this.#pos++;
    }
  }

  #readToken(what: string): string {
    TOKEN_RUN.lastIndex = this.#pos;
    const match = TOKEN_RUN.exec(this.#text);
    if (match === null) this.#fail(`expected ${what}`);
    this.#pos = TOKEN_RUN.lastIndex;
    return match[0];
  }

  #expect(code: number, what: string): void {
    if (this.#peek() !== code) this.#fail(`expected ${what}`);
    this.#pos++;
  }

  #skipOws(): void {
    while (!this.#atEnd() && isOws(this.#peek())) this.#pos++;
  }

  #peek(): number {
    return this.#text.charCodeAt(this.#pos);
  }

  #atEnd(): boolean {
    return this.#pos >= this.#text.length;
  }

  #fail(problem: string): never {
    throw new HandshakeError(
      400,
      'WS_HANDSHAKE_BAD_EXTENSIONS',
      `Invalid Sec-WebSocket-Extensions at offset ${this.#pos}: ${problem}`,
    );
  }
}

/** qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text */
function isQdtext(code: number): boolean {
  return code === 0x09 || code === 0x20 || code === 0x21 || (code >= 0x23 && code <= 0x5b) || (code >= 0x5d && code <= 0x7e) || (code >= 0x80 && code <= 0xff);
}

/** quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text ) */
function isQuotedPairChar(code: number): boolean {
  return code === 0x09 || (code >= 0x20 && code <= 0x7e) || (code >= 0x80 && code <= 0xff);
}
