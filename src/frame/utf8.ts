/**
 * UTF-8 validation for RFC 6455 §8.1 (text messages) and §5.5.1 (close reasons), by the
 * well-formed byte sequences of RFC 3629 §4: no overlong forms, no surrogates (U+D800–DFFF),
 * nothing above U+10FFFF. The streaming validator fails fast: it reports an error on the
 * first byte after which no continuation could make the input valid.
 * @module
 */

// Validator states. ACCEPT: between code points. NEED_n: n continuation bytes (80–BF) to go.
// The AFTER_xx states constrain the second byte of the lead bytes whose range is narrower.
const ACCEPT = 0;
const NEED_1 = 1;
const NEED_2 = 2;
const NEED_3 = 3;
const AFTER_E0 = 4; // second byte A0–BF (no overlong 3-byte forms)
const AFTER_ED = 5; // second byte 80–9F (no surrogates)
const AFTER_F0 = 6; // second byte 90–BF (no overlong 4-byte forms)
const AFTER_F4 = 7; // second byte 80–8F (nothing above U+10FFFF)
const REJECT = 8;

function afterLead(byte: number): number {
  if (byte < 0x80) return ACCEPT;
  if (byte < 0xc2) return REJECT; // stray continuation or overlong 2-byte lead (C0, C1)
  if (byte < 0xe0) return NEED_1;
  if (byte === 0xe0) return AFTER_E0;
  if (byte === 0xed) return AFTER_ED;
  if (byte < 0xf0) return NEED_2;
  if (byte === 0xf0) return AFTER_F0;
  if (byte < 0xf4) return NEED_3;
  if (byte === 0xf4) return AFTER_F4;
  return REJECT; // F5–FF never appear in UTF-8
}

function afterByte(state: number, byte: number): number {
  switch (state) {
    case ACCEPT:
      return afterLead(byte);
    case NEED_1:
    case NEED_2:
    case NEED_3:
      return byte >= 0x80 && byte <= 0xbf ? state - 1 : REJECT;
    case AFTER_E0:
      return byte >= 0xa0 && byte <= 0xbf ? NEED_1 : REJECT;
    case AFTER_ED:
      return byte >= 0x80 && byte <= 0x9f ? NEED_1 : REJECT;
    case AFTER_F0:
      return byte >= 0x90 && byte <= 0xbf ? NEED_2 : REJECT;
    case AFTER_F4:
      return byte >= 0x80 && byte <= 0x8f ? NEED_2 : REJECT;
    default:
      return REJECT;
  }
}

/** Runs the state machine over `data` from `state`; ASCII runs between code points are skipped fast. */
function run(state: number, data: Uint8Array): number {
  const length = data.length;
  let i = 0;
  while (i < length) {
    if (state === ACCEPT) {
      // Skip ASCII four bytes at a time: the common case for protocol text.
      while (i + 4 <= length && ((data[i]! | data[i + 1]! | data[i + 2]! | data[i + 3]!) & 0x80) === 0) i += 4;
      while (i < length && data[i]! < 0x80) i++;
      if (i === length) break;
    }
    state = afterByte(state, data[i]!);
    if (state === REJECT) return REJECT;
    i++;
  }
  return state;
}

/**
 * Validates UTF-8 fed in pieces (the fragments of a text message, §5.4 and §8.1). `push`
 * returns false as soon as the bytes seen so far cannot begin any valid UTF-8 text;
 * `finish` returns false if the input ended inside a code point.
 */
export class Utf8Validator {
  private state = ACCEPT;

  /**
   * `wholeCheck`, if given, is a fast validator of complete buffers (a host's native one,
   * such as Node's `buffer.isUtf8`): each piece's complete code points go through it and
   * only a code point cut at the piece's end goes through the byte-wise state machine.
   */
  constructor(private readonly wholeCheck: ((data: Uint8Array) => boolean) | null = null) {}

  /** Feed the next piece; false once the input can no longer be valid (sticky until `reset`). */
  push(data: Uint8Array): boolean {
    if (this.state === REJECT) return false;
    const check = this.wholeCheck;
    if (check === null || data.length < 16) {
      this.state = run(this.state, data);
      return this.state !== REJECT;
    }
    // Finish a code point left open by the previous piece, byte by byte.
    let at = 0;
    while (this.state !== ACCEPT && at < data.length) {
      this.state = afterByte(this.state, data[at++]!);
      if (this.state === REJECT) return false;
    }
    const end = completeEnd(data, at);
    if (end > at && !check(at === 0 && end === data.length ? data : data.subarray(at, end))) {
      this.state = REJECT;
      return false;
    }
    // A code point cut at the end: the state machine tells at once if it cannot be valid.
    for (let i = end; i < data.length; i++) {
      this.state = afterByte(this.state, data[i]!);
      if (this.state === REJECT) return false;
    }
    return true;
  }

  /** The input is complete: true if it was valid UTF-8 and did not end mid code point. */
  finish(): boolean {
    return this.state === ACCEPT;
  }

  /** Forget everything seen, ready for the next message. */
  reset(): void {
    this.state = ACCEPT;
  }

  /** Where it stands, for {@link rewind}: a piece refused by the caller can be taken back. */
  get position(): number {
    return this.state;
  }

  /** Go back to a {@link position} taken before the pieces fed since. */
  rewind(position: number): void {
    this.state = position;
  }
}

/**
 * Where the last complete code point of `data` ends (from `start`): before a lead byte
 * whose sequence runs past the end, else the end. Looks at the last three bytes only.
 */
function completeEnd(data: Uint8Array, start: number): number {
  const length = data.length;
  for (let back = 1; back <= 3 && length - back >= start; back++) {
    const byte = data[length - back]!;
    if (byte < 0x80) return length;
    if (byte >= 0xc0) {
      const needed = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : 2;
      return needed > back ? length - back : length;
    }
  }
  return length;
}

/** Whether `data` as a whole is valid UTF-8 (RFC 3629 §4). */
export function isValidUtf8(data: Uint8Array): boolean {
  return run(ACCEPT, data) === ACCEPT;
}
