import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { describe, test } from 'node:test';

import fc from 'fast-check';

import { isValidUtf8, Utf8Validator } from '../../src/frame/utf8.ts';
import { anyText, hex, utf8 } from './helpers.ts';

/** Feeds `bytes` one at a time; the index of the first byte `push` rejects, or -1. */
function firstRejectedByte(bytes: Uint8Array): number {
  const validator = new Utf8Validator();
  for (let i = 0; i < bytes.length; i++) {
    if (!validator.push(bytes.subarray(i, i + 1))) return i;
  }
  return -1;
}

// Continuation bytes at the edges of every range a second byte may be restricted to (E0: A0–BF,
// ED: 80–9F, F0: 90–BF, F4: 80–8F, otherwise 80–BF): if any completion exists, one of these does.
const COMPLETION_BYTES = [0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf];

/**
 * Reference for fail-fast, built on Node's validator: can `prefix` be extended by at most
 * three continuation bytes into valid UTF-8?
 */
function canBeCompleted(prefix: Uint8Array): boolean {
  if (isUtf8(prefix)) return true;
  const candidate = new Uint8Array(prefix.length + 3);
  candidate.set(prefix);
  for (let extra = 1; extra <= 3; extra++) {
    const combinations = COMPLETION_BYTES.length ** extra;
    for (let n = 0; n < combinations; n++) {
      let rest = n;
      for (let k = 0; k < extra; k++) {
        candidate[prefix.length + k] = COMPLETION_BYTES[rest % COMPLETION_BYTES.length]!;
        rest = Math.floor(rest / COMPLETION_BYTES.length);
      }
      if (isUtf8(candidate.subarray(0, prefix.length + extra))) return true;
    }
  }
  return false;
}

/** The reference index of the first byte after which no completion is valid, or -1. */
function referenceFailIndex(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; i++) if (!canBeCompleted(bytes.subarray(0, i + 1))) return i;
  return -1;
}

const VALID: [string, Uint8Array][] = [
  ['empty', new Uint8Array(0)],
  ['ASCII', utf8('Hello, WebSocket! ~\u007f\u0000')],
  ['2-byte: U+0080 and U+07FF', hex('c2 80 df bf')],
  ['3-byte: U+0800, U+FFFF', hex('e0 a0 80 ef bf bf')],
  ['3-byte around the surrogates: U+D7FF, U+E000', hex('ed 9f bf ee 80 80')],
  ['U+FEFF byte order mark', hex('ef bb bf')],
  ['4-byte: U+10000', hex('f0 90 80 80')],
  ['4-byte: U+10FFFF, the last code point', hex('f4 8f bf bf')],
  ['κόσμε (Greek, 2- and 3-byte)', hex('ce ba e1 bd b9 cf 83 ce bc ce b5')],
  ['mixed scripts and emoji', utf8('añ€😀 中文 ﷽ 𝄞')],
  ['long ASCII run then a multibyte tail', utf8(`${'x'.repeat(37)}é`)],
];

const INVALID: [string, Uint8Array][] = [
  ['overlong 2-byte NUL (C0 80)', hex('c0 80')],
  ['overlong 2-byte (C1 BF)', hex('c1 bf')],
  ['overlong 3-byte NUL (E0 80 80)', hex('e0 80 80')],
  ['overlong 3-byte U+07FF (E0 9F BF)', hex('e0 9f bf')],
  ['overlong 4-byte NUL (F0 80 80 80)', hex('f0 80 80 80')],
  ['overlong 4-byte U+FFFF (F0 8F BF BF)', hex('f0 8f bf bf')],
  ['high surrogate U+D800 (ED A0 80)', hex('ed a0 80')],
  ['high surrogate U+DB7F (ED AD BF)', hex('ed ad bf')],
  ['low surrogate U+DC00 (ED B0 80)', hex('ed b0 80')],
  ['low surrogate U+DFFF (ED BF BF)', hex('ed bf bf')],
  ['surrogate pair encoded as two 3-byte forms (CESU-8)', hex('ed a0 80 ed b0 80')],
  ['U+110000 (F4 90 80 80)', hex('f4 90 80 80')],
  ['F5 lead', hex('f5 80 80 80')],
  ['F8 5-byte lead', hex('f8 88 80 80 80')],
  ['FC 6-byte lead', hex('fc 84 80 80 80 80')],
  ['FE', hex('fe')],
  ['FF', hex('ff')],
  ['stray continuation byte', hex('41 80 41')],
  ['continuation byte first', hex('bf')],
  ['lead byte followed by ASCII', hex('c3 41')],
  ['3-byte lead interrupted by a new lead', hex('e2 82 e2 82 ac')],
];

describe('RFC 3629 §4 well-formed UTF-8 (RFC 6455 §8.1 text, §5.5.1 close reasons)', () => {
  for (const [name, bytes] of VALID) {
    test(`§8.1 valid: ${name}`, () => {
      assert.equal(isValidUtf8(bytes), true);
      const validator = new Utf8Validator();
      assert.equal(validator.push(bytes), true);
      assert.equal(validator.finish(), true);
      assert.equal(firstRejectedByte(bytes), -1);
    });
  }

  for (const [name, bytes] of INVALID) {
    test(`§8.1 invalid: ${name}`, () => {
      assert.equal(isUtf8(bytes), false, 'the vector itself is invalid by Node');
      assert.equal(isValidUtf8(bytes), false);
      const validator = new Utf8Validator();
      assert.equal(validator.push(bytes), false);
      assert.equal(validator.finish(), false);
    });
  }

  const truncated: [string, Uint8Array][] = [
    ['2-byte lead alone', hex('c3')],
    ['3-byte sequence missing its last byte', hex('e2 82')],
    ['4-byte sequence missing one byte', hex('f0 9f 98')],
    ['4-byte lead alone after ASCII', hex('41 42 f4')],
    ['E0 with a valid second byte', hex('e0 a0')],
    ['ED with a valid second byte', hex('ed 9f')],
  ];
  for (const [name, bytes] of truncated) {
    test(`§8.1 truncated (${name}): valid for push, invalid at finish`, () => {
      const validator = new Utf8Validator();
      assert.equal(validator.push(bytes), true);
      assert.equal(validator.finish(), false);
      assert.equal(isValidUtf8(bytes), false);
    });
  }

  test('§5.4/§8.1 a code point split across pushes is accepted', () => {
    const bytes = utf8('a€😀é');
    for (let cut = 0; cut <= bytes.length; cut++) {
      const validator = new Utf8Validator();
      assert.equal(validator.push(bytes.subarray(0, cut)), true);
      assert.equal(validator.push(bytes.subarray(cut)), true);
      assert.equal(validator.finish(), true, `cut at ${cut}`);
    }
  });

  test('§8.1 rejection is sticky until reset, and reset forgets everything', () => {
    const validator = new Utf8Validator();
    assert.equal(validator.push(hex('ff')), false);
    assert.equal(validator.push(utf8('fine')), false);
    assert.equal(validator.finish(), false);
    validator.reset();
    assert.equal(validator.push(utf8('fine')), true);
    assert.equal(validator.finish(), true);
    assert.equal(validator.push(hex('e2')), true);
    validator.reset();
    assert.equal(validator.finish(), true, 'a pending partial code point is forgotten too');
  });
});

describe('RFC 6455 §8.1 fail-fast: rejected at the first byte no continuation could make valid', () => {
  // Autobahn family 6 style: κόσμε followed by a bad sequence and "edited".
  const kosme = 'ce ba e1 bd b9 cf 83 ce bc ce b5';
  const edited = '65 64 69 74 65 64';
  const cases: [string, string, number][] = [
    ['κόσμε + surrogate ED A0 80 + "edited"', `${kosme} ed a0 80 ${edited}`, 12],
    ['κόσμε + U+110000 F4 90 80 80 + "edited"', `${kosme} f4 90 80 80 ${edited}`, 12],
    ['κόσμε + overlong C0 80 + "edited"', `${kosme} c0 80 ${edited}`, 11],
    ['κόσμε + F5 + "edited"', `${kosme} f5 ${edited}`, 11],
    ['κόσμε + E1 BD cut short by "e"', `${kosme} e1 bd ${edited}`, 13],
    ['κόσμε + ED BF BF (last surrogate)', `${kosme} ed bf bf`, 12],
    ['overlong E0 80 80', 'e0 80 80', 1],
    ['overlong F0 80 80 80', 'f0 80 80 80', 1],
    ['stray continuation after ASCII', '61 62 80 63', 2],
    ['4-byte sequence interrupted by a space after 3 bytes', '78 f0 9f 98 20', 4],
    ['valid U+10FFFF then F4 90', 'f4 8f bf bf f4 90', 5],
    ['two 2-byte leads in a row', 'c2 c2', 1],
    ['nine ASCII bytes then FE', '61 61 61 61 61 61 61 61 61 fe', 9],
    ['valid text never fails', `${kosme} ${edited}`, -1],
    ['truncated text never fails while pushing', `${kosme} f0 9f 98`, -1],
  ];
  for (const [name, vector, expected] of cases) {
    test(`§8.1 ${name}: push fails at index ${expected}`, () => {
      const bytes = hex(vector);
      assert.equal(referenceFailIndex(bytes), expected, 'the hand-computed index agrees with the reference');
      assert.equal(firstRejectedByte(bytes), expected);
      // Sticky: every later byte is rejected too.
      if (expected >= 0) {
        const validator = new Utf8Validator();
        assert.equal(validator.push(bytes.subarray(0, expected)), true);
        assert.equal(validator.push(bytes.subarray(expected, expected + 1)), false);
        for (let i = expected + 1; i < bytes.length; i++) assert.equal(validator.push(bytes.subarray(i, i + 1)), false);
      }
    });
  }

  test('§8.1 byte-by-byte rejection index equals the completion-based reference on random input', () => {
    const interesting = fc.constantFrom(0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xe1, 0xed, 0xef, 0xf0, 0xf3, 0xf4, 0xf5, 0xff);
    fc.assert(
      fc.property(fc.array(fc.oneof(interesting, fc.integer({ min: 0, max: 255 })), { maxLength: 12, size: 'max' }), (values) => {
        const bytes = Uint8Array.from(values);
        assert.equal(firstRejectedByte(bytes), referenceFailIndex(bytes));
      }),
      { numRuns: 1500 },
    );
  });
});

describe('isValidUtf8 agrees with Node’s buffer.isUtf8', () => {
  test('§8.1 on every 1-byte and 2-byte sequence', () => {
    const one = new Uint8Array(1);
    for (let a = 0; a < 256; a++) {
      one[0] = a;
      assert.equal(isValidUtf8(one), isUtf8(one), `byte ${a.toString(16)}`);
    }
    const two = new Uint8Array(2);
    let mismatches = 0;
    let valid = 0;
    for (let a = 0; a < 256; a++) {
      for (let b = 0; b < 256; b++) {
        two[0] = a;
        two[1] = b;
        const expected = isUtf8(two);
        if (expected) valid++;
        if (isValidUtf8(two) !== expected) mismatches++;
      }
    }
    assert.equal(mismatches, 0);
    // 128·128 ASCII pairs + 30·64 two-byte code points (C2–DF × 80–BF).
    assert.equal(valid, 128 * 128 + 30 * 64);
  });

  test('§8.1 on random 3- and 4-byte sequences biased towards lead and boundary bytes', () => {
    const byte = fc.oneof(
      fc.integer({ min: 0x80, max: 0xbf }),
      fc.integer({ min: 0xc0, max: 0xff }),
      fc.integer({ min: 0, max: 255 }),
    );
    fc.assert(
      fc.property(fc.array(byte, { minLength: 3, maxLength: 4 }), (values) => {
        const bytes = Uint8Array.from(values);
        assert.equal(isValidUtf8(bytes), isUtf8(bytes));
      }),
      { numRuns: 20000 },
    );
  });

  test('§8.1 on random byte arrays, whole and pushed in two pieces', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64, size: 'max' }), fc.nat(), (bytes, cutSeed) => {
        const expected = isUtf8(bytes);
        assert.equal(isValidUtf8(bytes), expected);
        const cut = bytes.length === 0 ? 0 : cutSeed % (bytes.length + 1);
        const validator = new Utf8Validator();
        const pushed = validator.push(bytes.subarray(0, cut)) && validator.push(bytes.subarray(cut));
        assert.equal(pushed && validator.finish(), expected);
      }),
      { numRuns: 5000 },
    );
  });

  test('§8.1 on random well-formed text with one byte replaced', () => {
    fc.assert(
      fc.property(anyText({ minLength: 1, maxLength: 40 }), fc.nat(), fc.integer({ min: 0, max: 255 }), (text, at, value) => {
        const bytes = utf8(text);
        assert.equal(isValidUtf8(bytes), true);
        bytes[at % bytes.length] = value;
        assert.equal(isValidUtf8(bytes), isUtf8(bytes));
      }),
      { numRuns: 5000 },
    );
  });
});

describe('RFC 6455 §8.1 with the host’s whole-input check (Node’s isUtf8 on pieces of 16 bytes and more)', () => {
  /** Text of 16 to 160 bytes with at most one byte replaced, cut into pieces of random lengths. */
  const cutText = fc
    .tuple(anyText({ minLength: 8, maxLength: 60 }), fc.option(fc.tuple(fc.nat(), fc.integer({ min: 0x80, max: 0xff }))), fc.array(fc.integer({ min: 1, max: 48 }), { minLength: 1, maxLength: 8 }))
    .filter(([text]) => utf8(text).length >= 16);

  test('§8.1 the first piece refused is the one holding the first byte no continuation could make valid, and finish agrees with isUtf8', () => {
    fc.assert(
      fc.property(cutText, ([text, replaced, lengths]) => {
        const bytes = utf8(text);
        if (replaced !== null) bytes[replaced[0] % bytes.length] = replaced[1];
        const failsAt = firstRejectedByte(bytes); // the byte-at-a-time reference, checked above
        const validator = new Utf8Validator(isUtf8);
        let start = 0;
        for (let piece = 0; start < bytes.length; piece++) {
          const end = Math.min(bytes.length, start + lengths[piece % lengths.length]!);
          const shouldPass = failsAt < 0 || failsAt >= end;
          assert.equal(validator.push(bytes.subarray(start, end)), shouldPass, `piece ${start}-${end}, first bad byte ${failsAt}`);
          if (!shouldPass) return;
          start = end;
        }
        assert.equal(validator.finish(), isUtf8(bytes));
      }),
      { numRuns: 3000 },
    );
  });

  test('§8.1 a bad byte inside a long piece that follows a code point cut between pieces is refused with that piece', () => {
    const validator = new Utf8Validator(isUtf8);
    assert.equal(validator.push(utf8(`${'a'.repeat(20)}`)), true);
    assert.equal(validator.push(hex('e2')), true);
    assert.equal(validator.push(hex(`82 ac ${'61 '.repeat(20)} ff ${'61 '.repeat(5)}`)), false);
  });
});
