import assert from 'node:assert/strict';
import { test } from 'node:test';

import fc from 'fast-check';

import {
  formatExtensions,
  HandshakeError,
  InvalidHeaderError,
  parseExtensions,
  type ExtensionOffer,
} from '../../src/handshake/index.ts';

function rejectsSyntax(value: string): void {
  assert.throws(
    () => parseExtensions(value),
    (error: unknown) => error instanceof HandshakeError && error.status === 400 && error.code === 'WS_HANDSHAKE_BAD_EXTENSIONS',
    JSON.stringify(value),
  );
}

test('RFC 6455 §9.1 / RFC 7692 §5: two offers with flags and a quoted value', () => {
  assert.deepEqual(
    parseExtensions(
      'permessage-deflate; client_max_window_bits, permessage-deflate; server_max_window_bits="10"; client_no_context_takeover',
    ),
    [
      { name: 'permessage-deflate', params: [['client_max_window_bits', true]] },
      {
        name: 'permessage-deflate',
        params: [
          ['server_max_window_bits', '10'],
          ['client_no_context_takeover', true],
        ],
      },
    ],
  );
});

test('RFC 6455 §9.1: OWS is allowed around ";", "," and "="', () => {
  assert.deepEqual(parseExtensions(' foo \t;\tbar = 1 ; baz ,\tqux ; a="b" '), [
    {
      name: 'foo',
      params: [
        ['bar', '1'],
        ['baz', true],
      ],
    },
    { name: 'qux', params: [['a', 'b']] },
  ]);
});

test('RFC 7230 §7: empty list elements are skipped', () => {
  assert.deepEqual(parseExtensions(''), []);
  assert.deepEqual(parseExtensions(' , ,'), []);
  assert.deepEqual(parseExtensions(', foo,, bar ,'), [
    { name: 'foo', params: [] },
    { name: 'bar', params: [] },
  ]);
});

test('RFC 7692 §7: duplicate parameters stay visible, in order', () => {
  assert.deepEqual(parseExtensions('permessage-deflate; server_max_window_bits=10; server_max_window_bits=11'), [
    {
      name: 'permessage-deflate',
      params: [
        ['server_max_window_bits', '10'],
        ['server_max_window_bits', '11'],
      ],
    },
  ]);
});

test('RFC 7230 §3.2.6: quoted-pair escapes are unescaped', () => {
  assert.deepEqual(parseExtensions('x; a="\\1\\0"; b="ab\\c"'), [
    {
      name: 'x',
      params: [
        ['a', '10'],
        ['b', 'abc'],
      ],
    },
  ]);
  assert.deepEqual(parseExtensions('x; a="tok"'), [{ name: 'x', params: [['a', 'tok']] }]);
});

test('RFC 7230 §3.2.6: obs-text is qdtext and may be quoted-paired, so such a value fails as no token, not as bad syntax', () => {
  const reasonOf = (value: string): string => {
    try {
      parseExtensions(value);
    } catch (error) {
      if (error instanceof HandshakeError && error.status === 400) return error.reason;
    }
    return assert.fail(`${JSON.stringify(value)} was not refused with 400`);
  };
  assert.match(reasonOf('x; a="caf\xe9"'), /quoted value of a is not a token/);
  assert.match(reasonOf('x; a="\\\xff"'), /quoted value of a is not a token/);
  // DEL is neither qdtext nor a quoted-pair character.
  assert.match(reasonOf('x; a="\x7f"'), /invalid character in quoted string/);
  assert.match(reasonOf('x; a="\\\x7f"'), /invalid escape in quoted string/);
});

test('RFC 6455 §9.1: a quoted value must be a token once unescaped', () => {
  rejectsSyntax('x; a=""');
  rejectsSyntax('x; a="1 2"');
  rejectsSyntax('x; a="a,b"');
  rejectsSyntax('x; a="\\""');
});

test('RFC 6455 §9.1: bad syntax is rejected with 400', () => {
  for (const value of [
    ';',
    'foo;',
    'foo; ',
    'foo;;bar',
    'foo; =1',
    'foo; a=',
    'foo; a= ;',
    'foo; a==1',
    'foo bar',
    'foo; a b',
    'foo; a=1 2',
    'foo; a="unterminated',
    'foo; a="bad\\',
    'foo; a="ctl\x01"',
    'foo; a="esc\\\x01"',
    '"quoted-name"',
    'foo/bar',
    'f\xf6o',
    'foo; a=1,;',
    'foo=1',
  ]) {
    rejectsSyntax(value);
  }
});

test('formatExtensions writes the canonical form', () => {
  assert.equal(
    formatExtensions([
      { name: 'permessage-deflate', params: [['client_max_window_bits', true]] },
      {
        name: 'permessage-deflate',
        params: [
          ['server_max_window_bits', '10'],
          ['client_no_context_takeover', true],
        ],
      },
    ]),
    'permessage-deflate; client_max_window_bits, permessage-deflate; server_max_window_bits=10; client_no_context_takeover',
  );
  assert.equal(formatExtensions([]), '');
});

test('formatExtensions refuses names and values that are not tokens', () => {
  assert.throws(() => formatExtensions([{ name: 'bad name', params: [] }]), InvalidHeaderError);
  assert.throws(() => formatExtensions([{ name: 'x', params: [['a\r\n', true]] }]), InvalidHeaderError);
  assert.throws(() => formatExtensions([{ name: 'x', params: [['a', '1 2']] }]), InvalidHeaderError);
  assert.throws(() => formatExtensions([{ name: 'x', params: [['a', '']] }]), InvalidHeaderError);
});

const tokenArbitrary = fc.stringMatching(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,12}$/);
const offerArbitrary: fc.Arbitrary<ExtensionOffer> = fc
  .tuple(tokenArbitrary, fc.array(fc.tuple(tokenArbitrary, fc.oneof(fc.constant(true as const), tokenArbitrary)), { maxLength: 4 }))
  .map(([name, params]) => ({ name, params }));

test('property: parseExtensions inverts formatExtensions', () => {
  fc.assert(
    fc.property(fc.array(offerArbitrary, { maxLength: 4 }), (offers) => {
      assert.deepEqual(parseExtensions(formatExtensions(offers)), offers);
    }),
  );
});

test('property: arbitrary strings parse or fail with a 400 HandshakeError', () => {
  fc.assert(
    fc.property(fc.string({ unit: fc.constantFrom(...'ab=;, \t"\\\x01\xe9') }), (value) => {
      try {
        parseExtensions(value);
      } catch (error) {
        assert.ok(error instanceof HandshakeError && error.status === 400, String(error));
      }
    }),
  );
});
