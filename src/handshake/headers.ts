/**
 * The header fields of a parsed HTTP head.
 */

// The prototype of header records: empty, with no prototype of its own. Not null itself,
// because V8 keeps objects made with `Object.create(null)` as hash tables; records made
// from this one stay compact, with shapes shared by every record of the same fields (one is
// kept per connection, in `peer.handshake.headers`). Frozen, so that no one can give every
// record a field through it.
const RECORD_PROTOTYPE: object = Object.freeze(Object.create(null));

/**
 * Header fields in arrival order, looked up case-insensitively.
 *
 * Names are stored lower-cased. `get` joins repeated fields with `", "`,
 * which is equivalent for list-valued fields (RFC 7230 §3.2.2); `getAll`
 * returns each occurrence separately, which matters for fields that must
 * not repeat (`Host`, `Sec-WebSocket-Key`) and for `Set-Cookie`.
 */
export class HeaderList implements Iterable<[name: string, value: string]> {
  // Two parallel arrays and no index: a head has few fields (the parser takes 100 by
  // default), a handshake looks up a handful of them, and a scan needs no map built and
  // hashed on every connection.
  readonly #names: string[] = [];
  readonly #values: string[] = [];

  /**
   * Adds one field occurrence. The name is lower-cased; the value is stored
   * as given (callers trim optional whitespace first).
   */
  append(name: string, value: string): void {
    this.#names.push(name.toLowerCase());
    this.#values.push(value);
  }

  /** The field's value, repeated occurrences joined by `", "`, or `undefined`. */
  get(name: string): string | undefined {
    const key = name.toLowerCase();
    const names = this.#names;
    let joined: string | undefined;
    for (let i = 0; i < names.length; i++) {
      if (names[i] !== key) continue;
      joined = joined === undefined ? this.#values[i]! : `${joined}, ${this.#values[i]!}`;
    }
    return joined;
  }

  /** Every occurrence of the field, in arrival order (empty if absent). */
  getAll(name: string): readonly string[] {
    const key = name.toLowerCase();
    const all: string[] = [];
    for (let i = 0; i < this.#names.length; i++) if (this.#names[i] === key) all.push(this.#values[i]!);
    return all;
  }

  /** Whether the field occurs at least once. */
  has(name: string): boolean {
    return this.#names.includes(name.toLowerCase());
  }

  /** Number of field lines (occurrences, not distinct names). */
  get size(): number {
    return this.#names.length;
  }

  /** Distinct lower-cased field names, in order of first appearance. */
  names(): IterableIterator<string> {
    return new Set(this.#names).values();
  }

  /** Every field line as `[lower-cased name, value]`, in arrival order. */
  *[Symbol.iterator](): IterableIterator<[name: string, value: string]> {
    for (let i = 0; i < this.#names.length; i++) {
      yield [this.#names[i] ?? '', this.#values[i] ?? ''];
    }
  }

  /**
   * A plain object mapping each lower-cased name to its joined value. It inherits nothing
   * (its prototype is an empty object with no prototype), so `record.constructor` is
   * undefined unless a field is so named and a `__proto__` field is a field like any other.
   */
  toRecord(): Record<string, string> {
    const record: Record<string, string> = Object.create(RECORD_PROTOTYPE);
    const names = this.#names;
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      const earlier = record[name];
      record[name] = earlier === undefined ? this.#values[i]! : `${earlier}, ${this.#values[i]!}`;
    }
    return record;
  }
}
