/**
 * The header fields of a parsed HTTP head.
 */

/**
 * Header fields in arrival order, looked up case-insensitively.
 *
 * Names are stored lower-cased. `get` joins repeated fields with `", "`,
 * which is equivalent for list-valued fields (RFC 7230 §3.2.2); `getAll`
 * returns each occurrence separately, which matters for fields that must
 * not repeat (`Host`, `Sec-WebSocket-Key`) and for `Set-Cookie`.
 */
export class HeaderList implements Iterable<[name: string, value: string]> {
  // Parallel arrays and a plain string for a field seen once: a head is
  // parsed on every connection, and these avoid an allocation per field.
  readonly #names: string[] = [];
  readonly #values: string[] = [];
  readonly #byName = new Map<string, string | string[]>();

  /**
   * Adds one field occurrence. The name is lower-cased; the value is stored
   * as given (callers trim optional whitespace first).
   */
  append(name: string, value: string): void {
    const key = name.toLowerCase();
    this.#names.push(key);
    this.#values.push(value);
    const existing = this.#byName.get(key);
    if (existing === undefined) this.#byName.set(key, value);
    else if (typeof existing === 'string') this.#byName.set(key, [existing, value]);
    else existing.push(value);
  }

  /** The field's value, repeated occurrences joined by `", "`, or `undefined`. */
  get(name: string): string | undefined {
    const values = this.#byName.get(name.toLowerCase());
    return typeof values === 'object' ? values.join(', ') : values;
  }

  /** Every occurrence of the field, in arrival order (empty if absent). */
  getAll(name: string): readonly string[] {
    const values = this.#byName.get(name.toLowerCase());
    if (values === undefined) return [];
    return typeof values === 'string' ? [values] : values;
  }

  /** Whether the field occurs at least once. */
  has(name: string): boolean {
    return this.#byName.has(name.toLowerCase());
  }

  /** Number of field lines (occurrences, not distinct names). */
  get size(): number {
    return this.#names.length;
  }

  /** Distinct lower-cased field names, in order of first appearance. */
  names(): IterableIterator<string> {
    return this.#byName.keys();
  }

  /** Every field line as `[lower-cased name, value]`, in arrival order. */
  *[Symbol.iterator](): IterableIterator<[name: string, value: string]> {
    for (let i = 0; i < this.#names.length; i++) {
      yield [this.#names[i] ?? '', this.#values[i] ?? ''];
    }
  }

  /**
   * A plain object mapping each lower-cased name to its joined value. The
   * object has no prototype, so names like `__proto__` are harmless.
   */
  toRecord(): Record<string, string> {
    const record: Record<string, string> = Object.create(null);
    for (const name of this.#byName.keys()) record[name] = this.get(name) ?? '';
    return record;
  }
}
