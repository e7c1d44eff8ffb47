/**
 * The {@link HandshakeInfo} a peer made from a parsed head keeps: its header record is
 * built when first read. Most applications never read it, and building a record with one
 * property per header name cost every connection about a microsecond.
 * @module
 */
import type { HeaderList } from '../handshake/headers.ts';
import type { HandshakeInfo } from './types.ts';

/** See the module comment. */
export class ParsedHandshakeInfo implements HandshakeInfo {
  readonly #fields: HeaderList;
  #headers: Readonly<Record<string, string>> | null = null;

  /** `fields`: the request (server) or response (client) header fields, as parsed. */
  constructor(
    readonly path: string,
    fields: HeaderList,
    readonly protocol: string,
    readonly extensions: string,
  ) {
    this.#fields = fields;
  }

  /**
   * The header fields, names in lower case, repeated fields joined by `", "`. A record
   * without a prototype, so that a field named `__proto__` is kept like any other.
   */
  get headers(): Readonly<Record<string, string>> {
    return (this.#headers ??= this.#fields.toRecord());
  }

  /** As JSON (and in logs), the four fields, headers included. */
  toJSON(): HandshakeInfo {
    return { path: this.path, headers: this.headers, protocol: this.protocol, extensions: this.extensions };
  }

  /** How `console.log` and `util.inspect` show it: the same four fields. */
  [Symbol.for('nodejs.util.inspect.custom')](): HandshakeInfo {
    return this.toJSON();
  }
}
