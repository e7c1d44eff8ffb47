/**
 * permessage-deflate negotiation (RFC 7692 §5, §7.1): the options, the client's offer, the
 * server's choice among offers, and the client's check of the answer — over every
 * combination of the four parameters.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { formatExtensions, type ExtensionOffer } from '../../src/handshake/extensions.ts';
import {
  acceptOffer,
  acceptResponse,
  clientOffer,
  completeAsClient,
  DeflateCodec,
  negotiateAsServer,
  offerAsClient,
  resolveDeflateOptions,
  type DeflateOptions,
  type DeflateParams,
} from '../../src/extensions/permessage-deflate/index.ts';
import { element, offers, paramSet } from './helpers.ts';

const DEFAULTS = resolveDeflateOptions(true);
const TAKEOVER = resolveDeflateOptions({ contextTakeover: true });

/** The server's answer to `header`, as a header value, or null if it declines every offer. */
function answer(header: string, options = DEFAULTS): string | null {
  const acceptance = acceptOffer(offers(header), options);
  return acceptance === null ? null : formatExtensions([acceptance.response]);
}

function params(sNct: boolean, cNct: boolean, sBits: number, cBits: number): DeflateParams {
  return { serverNoContextTakeover: sNct, clientNoContextTakeover: cNct, serverMaxWindowBits: sBits, clientMaxWindowBits: cBits };
}

/** Every value of a parameter an offer can carry: absent, or present as given. */
interface OfferShape {
  sNct: boolean;
  cNct: boolean;
  sBits: number | undefined;
  cBits: number | true | undefined;
}

function offerHeader(shape: OfferShape): string {
  let header = 'permessage-deflate';
  if (shape.sNct) header += '; server_no_context_takeover';
  if (shape.cNct) header += '; client_no_context_takeover';
  if (shape.sBits !== undefined) header += `; server_max_window_bits=${shape.sBits}`;
  if (shape.cBits === true) header += '; client_max_window_bits';
  else if (shape.cBits !== undefined) header += `; client_max_window_bits=${shape.cBits}`;
  return header;
}

function* allShapes(): Generator<OfferShape> {
  const bits = [8, 9, 10, 11, 12, 13, 14, 15];
  for (const sNct of [false, true]) {
    for (const cNct of [false, true]) {
      for (const sBits of [undefined, ...bits]) {
        for (const cBits of [undefined, true, ...bits] as const) yield { sNct, cNct, sBits, cBits };
      }
    }
  }
}

/** A response element's parameters by name; fails on a repeated one. */
function responseParams(response: ExtensionOffer): Map<string, string | true> {
  const map = new Map<string, string | true>();
  for (const [name, value] of response.params) {
    assert.ok(!map.has(name), `parameter ${name} repeated in the response`);
    map.set(name, value);
  }
  return map;
}

describe('options and the client offer', () => {
  test('§7.1: resolveDeflateOptions(true) gives the documented defaults', () => {
    assert.deepEqual(resolveDeflateOptions(true), { contextTakeover: false, maxWindowBits: 15, level: 1, memLevel: 8, threshold: 64 });
    assert.deepEqual(resolveDeflateOptions({ level: 9, threshold: 0 }), { contextTakeover: false, maxWindowBits: 15, level: 9, memLevel: 8, threshold: 0 });
  });

  test('§7.1.2: resolveDeflateOptions rejects windows outside 9..15 and other values out of range', () => {
    const bad: DeflateOptions[] = [
      { maxWindowBits: 8 },
      { maxWindowBits: 16 },
      { maxWindowBits: 12.5 },
      { level: -1 },
      { level: 10 },
      { memLevel: 0 },
      { memLevel: 10 },
      { threshold: -1 },
      { threshold: Number.NaN },
    ];
    for (const options of bad) assert.throws(() => resolveDeflateOptions(options), RangeError, JSON.stringify(options));
    for (const maxWindowBits of [9, 10, 11, 12, 13, 14, 15]) assert.equal(resolveDeflateOptions({ maxWindowBits }).maxWindowBits, maxWindowBits);
  });

  test('§5, §7.1.1: the default offer lets the server cap our window and asks for no context takeover on both sides', () => {
    assert.equal(formatExtensions([clientOffer(DEFAULTS)]), 'permessage-deflate; client_max_window_bits; server_no_context_takeover; client_no_context_takeover');
    assert.deepEqual(offerAsClient(DEFAULTS), clientOffer(DEFAULTS));
  });

  test('§7.1.1: with contextTakeover the offer asks for no *_no_context_takeover', () => {
    assert.equal(formatExtensions([clientOffer(TAKEOVER)]), 'permessage-deflate; client_max_window_bits');
  });

  test('§7.1.2.1: maxWindowBits caps our own compressor only, so the client does not restrict the server window', () => {
    for (const maxWindowBits of [9, 12, 14]) {
      const offer = clientOffer(resolveDeflateOptions({ maxWindowBits, contextTakeover: true }));
      assert.deepEqual(paramSet(offer), ['client_max_window_bits']);
    }
    assert.ok(!paramSet(clientOffer(DEFAULTS)).some((param) => param.startsWith('server_max_window_bits')));
  });

  test('§7.1: our own offer, answered by our own server, is accepted by our client with the same parameters on both sides', () => {
    for (const client of [DEFAULTS, TAKEOVER, resolveDeflateOptions({ maxWindowBits: 10 }), resolveDeflateOptions({ maxWindowBits: 9, contextTakeover: true })]) {
      for (const server of [DEFAULTS, TAKEOVER, resolveDeflateOptions({ maxWindowBits: 11 }), resolveDeflateOptions({ maxWindowBits: 9, contextTakeover: true })]) {
        const offer = clientOffer(client);
        const acceptance = acceptOffer([offer], server);
        assert.ok(acceptance !== null, 'our server accepts our offer');
        assert.deepEqual(acceptResponse(acceptance.response, offer), acceptance.params);
      }
    }
  });
});

describe('server: one offer', () => {
  test('§7.1: a bare offer is accepted; by default both sides are told to drop their context', () => {
    const acceptance = acceptOffer(offers('permessage-deflate'), DEFAULTS);
    assert.ok(acceptance !== null);
    assert.deepEqual(acceptance.params, params(true, true, 15, 15));
    assert.equal(formatExtensions([acceptance.response]), 'permessage-deflate; server_no_context_takeover; client_no_context_takeover');
  });

  test('§7.1: with contextTakeover a bare offer is accepted with no parameters', () => {
    const acceptance = acceptOffer(offers('permessage-deflate'), TAKEOVER);
    assert.ok(acceptance !== null);
    assert.deepEqual(acceptance.params, params(false, false, 15, 15));
    assert.equal(formatExtensions([acceptance.response]), 'permessage-deflate');
  });

  test('§7.1.1.1: server_no_context_takeover offered is answered even when the server would keep its context', () => {
    assert.equal(answer('permessage-deflate; server_no_context_takeover', TAKEOVER), 'permessage-deflate; server_no_context_takeover');
    assert.equal(answer('permessage-deflate; server_no_context_takeover'), 'permessage-deflate; server_no_context_takeover; client_no_context_takeover');
  });

  test('§7.1.1.2: client_no_context_takeover offered is answered (and the server may also demand it)', () => {
    assert.equal(answer('permessage-deflate; client_no_context_takeover', TAKEOVER), 'permessage-deflate; client_no_context_takeover');
    assert.equal(answer('permessage-deflate; client_no_context_takeover'), 'permessage-deflate; server_no_context_takeover; client_no_context_takeover');
  });

  test('§7.1.2.1: server_max_window_bits=8..15 is accepted with the same value, and the server compresses within it', () => {
    for (let bits = 8; bits <= 15; bits++) {
      const acceptance = acceptOffer(offers(`permessage-deflate; server_max_window_bits=${bits}`), TAKEOVER);
      assert.ok(acceptance !== null, `server_max_window_bits=${bits}`);
      assert.equal(acceptance.params.serverMaxWindowBits, bits);
      assert.equal(formatExtensions([acceptance.response]), `permessage-deflate; server_max_window_bits=${bits}`);
    }
  });

  test('§7.1.2.1: a server with a smaller maxWindowBits answers with its own smaller value, offered or not', () => {
    const small = resolveDeflateOptions({ maxWindowBits: 10, contextTakeover: true });
    assert.equal(answer('permessage-deflate; server_max_window_bits=12', small), 'permessage-deflate; server_max_window_bits=10');
    assert.equal(answer('permessage-deflate; server_max_window_bits=9', small), 'permessage-deflate; server_max_window_bits=9');
    assert.equal(answer('permessage-deflate', small), 'permessage-deflate; server_max_window_bits=10');
  });

  test('§7.1.2.2: client_max_window_bits without a value is accepted and not answered (the client keeps 15)', () => {
    const acceptance = acceptOffer(offers('permessage-deflate; client_max_window_bits'), TAKEOVER);
    assert.ok(acceptance !== null);
    assert.equal(acceptance.params.clientMaxWindowBits, 15);
    assert.equal(formatExtensions([acceptance.response]), 'permessage-deflate');
  });

  test('§7.1.2.2: client_max_window_bits=8..15 is accepted and answered with the same value', () => {
    for (let bits = 8; bits <= 15; bits++) {
      const acceptance = acceptOffer(offers(`permessage-deflate; client_max_window_bits=${bits}`), TAKEOVER);
      assert.ok(acceptance !== null, `client_max_window_bits=${bits}`);
      assert.equal(acceptance.params.clientMaxWindowBits, bits);
      assert.equal(formatExtensions([acceptance.response]), `permessage-deflate; client_max_window_bits=${bits}`);
    }
  });

  test('§7.1.2.2: the response carries client_max_window_bits only when the offer had it', () => {
    for (const options of [DEFAULTS, TAKEOVER, resolveDeflateOptions({ maxWindowBits: 9 })]) {
      for (const header of ['permessage-deflate', 'permessage-deflate; server_max_window_bits=10', 'permessage-deflate; server_no_context_takeover; client_no_context_takeover']) {
        assert.doesNotMatch(answer(header, options)!, /client_max_window_bits/, header);
      }
      assert.match(answer('permessage-deflate; client_max_window_bits=11', options)!, /client_max_window_bits=11/);
    }
  });

  test('§7.1: all four parameters together', () => {
    const header = 'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=9';
    for (const options of [DEFAULTS, TAKEOVER]) {
      const acceptance = acceptOffer(offers(header), options);
      assert.ok(acceptance !== null);
      assert.deepEqual(acceptance.params, params(true, true, 10, 9));
      assert.deepEqual(paramSet(acceptance.response), ['client_max_window_bits=9', 'client_no_context_takeover', 'server_max_window_bits=10', 'server_no_context_takeover']);
    }
  });

  test('§7.1, RFC 6455 §9.1: a quoted value is read as its token; parameter names match in any case', () => {
    const acceptance = acceptOffer(offers('permessage-deflate; server_max_window_bits="10"; Client_Max_Window_Bits="12"'), TAKEOVER);
    assert.ok(acceptance !== null);
    assert.deepEqual(acceptance.params, params(false, false, 10, 12));
  });

  test('§7.1: every combination of the four parameters, under both context policies, obeys the rules of §7.1.1 and §7.1.2', () => {
    let count = 0;
    for (const options of [DEFAULTS, TAKEOVER, resolveDeflateOptions({ maxWindowBits: 11 }), resolveDeflateOptions({ maxWindowBits: 9, contextTakeover: true })]) {
      for (const shape of allShapes()) {
        const header = offerHeader(shape);
        const offer = element(header);
        const acceptance = acceptOffer([offer], options);
        assert.ok(acceptance !== null, `a valid offer is accepted: ${header}`);
        const { params: agreed, response } = acceptance;
        const sent = responseParams(response);
        assert.equal(response.name, 'permessage-deflate');
        for (const name of sent.keys()) {
          assert.ok(['server_no_context_takeover', 'client_no_context_takeover', 'server_max_window_bits', 'client_max_window_bits'].includes(name), name);
        }
        // §7.1.1.1 / §7.1.1.2: asked-for context dropping is granted; the default server demands it of both.
        if (shape.sNct || !options.contextTakeover) assert.equal(sent.get('server_no_context_takeover'), true, header);
        else assert.ok(!sent.has('server_no_context_takeover'), header);
        if (shape.cNct || !options.contextTakeover) assert.equal(sent.get('client_no_context_takeover'), true, header);
        else assert.ok(!sent.has('client_no_context_takeover'), header);
        assert.equal(agreed.serverNoContextTakeover, sent.has('server_no_context_takeover'));
        assert.equal(agreed.clientNoContextTakeover, sent.has('client_no_context_takeover'));
        // §7.1.2.1: an offered server window is answered with the same or a smaller value, and never above our own limit.
        const expectedServerBits = Math.min(shape.sBits ?? 15, options.maxWindowBits);
        assert.equal(agreed.serverMaxWindowBits, expectedServerBits, header);
        if (shape.sBits !== undefined || expectedServerBits < 15) assert.equal(sent.get('server_max_window_bits'), String(expectedServerBits), header);
        else assert.ok(!sent.has('server_max_window_bits'), header);
        // §7.1.2.2: client_max_window_bits is answered only if offered, and only with a value.
        if (typeof shape.cBits === 'number') {
          assert.equal(sent.get('client_max_window_bits'), String(shape.cBits), header);
          assert.equal(agreed.clientMaxWindowBits, shape.cBits);
        } else {
          assert.ok(!sent.has('client_max_window_bits'), header);
          assert.equal(agreed.clientMaxWindowBits, 15);
        }
        // Both ends read the same parameters out of the exchange.
        assert.deepEqual(acceptResponse(response, offer), agreed, header);
        count++;
      }
    }
    assert.equal(count, 4 * 2 * 2 * 9 * 10);
  });
});

describe('server: several offers (§5: the first acceptable one, in the client order)', () => {
  const SECOND = 'permessage-deflate; client_max_window_bits=12';
  const invalid: Array<[string, string]> = [
    ['an unknown parameter', 'permessage-deflate; foo'],
    ['an unknown parameter with a value', 'permessage-deflate; x_webkit_deflate=1'],
    ['server_no_context_takeover twice', 'permessage-deflate; server_no_context_takeover; server_no_context_takeover'],
    ['client_no_context_takeover twice', 'permessage-deflate; client_no_context_takeover; client_no_context_takeover'],
    ['client_max_window_bits twice', 'permessage-deflate; client_max_window_bits; client_max_window_bits=10'],
    ['server_max_window_bits twice', 'permessage-deflate; server_max_window_bits=10; server_max_window_bits=10'],
    ['a parameter repeated in another case', 'permessage-deflate; server_no_context_takeover; SERVER_NO_CONTEXT_TAKEOVER'],
    ['server_max_window_bits without a value', 'permessage-deflate; server_max_window_bits'],
    ['server_max_window_bits=7', 'permessage-deflate; server_max_window_bits=7'],
    ['server_max_window_bits=16', 'permessage-deflate; server_max_window_bits=16'],
    ['server_max_window_bits=08 (leading zero)', 'permessage-deflate; server_max_window_bits=08'],
    ['server_max_window_bits=abc', 'permessage-deflate; server_max_window_bits=abc'],
    ['server_max_window_bits=0', 'permessage-deflate; server_max_window_bits=0'],
    ['server_max_window_bits=-9', 'permessage-deflate; server_max_window_bits=-9'],
    ['server_max_window_bits=9.0', 'permessage-deflate; server_max_window_bits=9.0'],
    ['server_max_window_bits quoted out of range', 'permessage-deflate; server_max_window_bits="16"'],
    ['client_max_window_bits=7', 'permessage-deflate; client_max_window_bits=7'],
    ['client_max_window_bits=16', 'permessage-deflate; client_max_window_bits=16'],
    ['client_max_window_bits=015', 'permessage-deflate; client_max_window_bits=015'],
    ['client_no_context_takeover=1', 'permessage-deflate; client_no_context_takeover=1'],
    ['server_no_context_takeover=true', 'permessage-deflate; server_no_context_takeover=true'],
  ];

  for (const [what, first] of invalid) {
    test(`§7.1: an offer with ${what} is declined and the next offer is taken`, () => {
      assert.equal(answer(`${first}, ${SECOND}`, TAKEOVER), 'permessage-deflate; client_max_window_bits=12');
      assert.equal(answer(first, TAKEOVER), null, 'alone it is declined');
      assert.equal(answer(first, DEFAULTS), null, 'declined under either context policy');
    });
  }

  test('§5: the first of two valid offers wins', () => {
    assert.equal(answer('permessage-deflate; server_max_window_bits=10, permessage-deflate; server_max_window_bits=12', TAKEOVER), 'permessage-deflate; server_max_window_bits=10');
    assert.equal(answer('permessage-deflate; server_max_window_bits=12, permessage-deflate; server_max_window_bits=10', TAKEOVER), 'permessage-deflate; server_max_window_bits=12');
  });

  test('§5: other extensions around the offer are skipped', () => {
    assert.equal(answer('x-webkit-deflate-frame, foo; bar=1, permessage-deflate; server_max_window_bits=9', TAKEOVER), 'permessage-deflate; server_max_window_bits=9');
  });

  test('§7.1: several invalid offers then a valid one', () => {
    assert.equal(
      answer('permessage-deflate; foo, permessage-deflate; server_max_window_bits=16, permessage-deflate; client_no_context_takeover=1, permessage-deflate; server_max_window_bits=11', TAKEOVER),
      'permessage-deflate; server_max_window_bits=11',
    );
  });

  test('§5: no acceptable offer gives null', () => {
    assert.equal(acceptOffer([], DEFAULTS), null);
    assert.equal(answer('x-webkit-deflate-frame'), null);
    assert.equal(answer('permessage-deflate; foo, permessage-deflate; server_max_window_bits=7'), null);
    assert.equal(answer('deflate-frame; server_max_window_bits=10'), null);
  });

  test('§5, §7.1: negotiateAsServer gives the response header and a codec, or null when off or nothing is acceptable', () => {
    assert.equal(negotiateAsServer(offers('permessage-deflate'), null), null);
    assert.equal(negotiateAsServer(offers('permessage-deflate; foo'), DEFAULTS), null);
    const result = negotiateAsServer(offers('permessage-deflate; foo, permessage-deflate; client_max_window_bits=10'), resolveDeflateOptions({ threshold: 7 }));
    assert.ok(result !== null);
    assert.equal(result.header, 'permessage-deflate; server_no_context_takeover; client_no_context_takeover; client_max_window_bits=10');
    assert.ok(result.compression instanceof DeflateCodec);
    assert.equal(result.compression.threshold, 7);
    result.compression.dispose();
  });
});

describe('client: checking the response (§7.1: an invalid one fails the connection)', () => {
  const DEFAULT_OFFER = clientOffer(DEFAULTS);
  const TAKEOVER_OFFER = clientOffer(TAKEOVER);

  const failing: Array<[string, string, ExtensionOffer]> = [
    ['an unknown parameter', 'permessage-deflate; server_no_context_takeover; client_no_context_takeover; foo', DEFAULT_OFFER],
    ['a repeated parameter', 'permessage-deflate; server_no_context_takeover; server_no_context_takeover; client_no_context_takeover', DEFAULT_OFFER],
    ['client_max_window_bits not offered', 'permessage-deflate; client_max_window_bits=10', element('permessage-deflate')],
    ['client_max_window_bits without a value', 'permessage-deflate; client_max_window_bits', TAKEOVER_OFFER],
    ['client_max_window_bits=16', 'permessage-deflate; client_max_window_bits=16', TAKEOVER_OFFER],
    ['server_max_window_bits bigger than offered', 'permessage-deflate; server_max_window_bits=12', element('permessage-deflate; server_max_window_bits=10')],
    ['server_max_window_bits left out when 10 was offered (15 is bigger)', 'permessage-deflate', element('permessage-deflate; server_max_window_bits=10')],
    ['server_max_window_bits=7', 'permessage-deflate; server_max_window_bits=7', TAKEOVER_OFFER],
    ['server_max_window_bits=08', 'permessage-deflate; server_max_window_bits=08', TAKEOVER_OFFER],
    ['server_max_window_bits without a value', 'permessage-deflate; server_max_window_bits', TAKEOVER_OFFER],
    ['server_no_context_takeover with a value', 'permessage-deflate; server_no_context_takeover=1; client_no_context_takeover', DEFAULT_OFFER],
    ['a different extension name', 'x-webkit-deflate-frame', TAKEOVER_OFFER],
  ];
  for (const [what, response, offer] of failing) {
    test(`§7.1: a response with ${what} is refused`, () => {
      const result = acceptResponse(element(response), offer);
      assert.equal(typeof result, 'string', `accepted ${response} for ${formatExtensions([offer])}`);
      assert.ok((result as string).length > 0);
      assert.equal(typeof completeAsClient([element(response)], offer, DEFAULTS), 'string', 'completeAsClient fails the same way');
    });
  }

  const passing: Array<[string, string, ExtensionOffer, DeflateParams]> = [
    ['the exact answer to the default offer', 'permessage-deflate; server_no_context_takeover; client_no_context_takeover', DEFAULT_OFFER, params(true, true, 15, 15)],
    ['client_no_context_takeover added though not offered (§7.1.1.2)', 'permessage-deflate; client_no_context_takeover', TAKEOVER_OFFER, params(false, true, 15, 15)],
    ['server_no_context_takeover added though not offered (§7.1.1.1)', 'permessage-deflate; server_no_context_takeover', TAKEOVER_OFFER, params(true, false, 15, 15)],
    ['a bare answer to the context-takeover offer', 'permessage-deflate', TAKEOVER_OFFER, params(false, false, 15, 15)],
    ['client_max_window_bits=8..15 set when offered without value (§7.1.2.2)', 'permessage-deflate; client_max_window_bits=9', TAKEOVER_OFFER, params(false, false, 15, 9)],
    ['server_max_window_bits equal to the offer', 'permessage-deflate; server_max_window_bits=10', element('permessage-deflate; server_max_window_bits=10'), params(false, false, 10, 15)],
    ['server_max_window_bits smaller than the offer', 'permessage-deflate; server_max_window_bits=8', element('permessage-deflate; server_max_window_bits=10'), params(false, false, 8, 15)],
    ['server_max_window_bits though not offered', 'permessage-deflate; server_max_window_bits=11', TAKEOVER_OFFER, params(false, false, 11, 15)],
    // §7.1.1.1 has the server answer it, but §7.1 fails only what the client cannot support:
    // these are uWebSockets.js's answers with a dedicated compressor (32 KB and 3 KB).
    ['server_no_context_takeover dropped though asked for', 'permessage-deflate; client_no_context_takeover', DEFAULT_OFFER, params(false, true, 15, 15)],
    ['server_no_context_takeover dropped and a smaller server window', 'permessage-deflate; client_no_context_takeover; server_max_window_bits=9', DEFAULT_OFFER, params(false, true, 9, 15)],
    ['parameter names in another case', 'PerMessage-Deflate; Server_No_Context_Takeover; CLIENT_NO_CONTEXT_TAKEOVER', DEFAULT_OFFER, params(true, true, 15, 15)],
  ];
  for (const [what, response, offer, expected] of passing) {
    test(`§7.1: a response with ${what} is accepted`, () => {
      assert.deepEqual(acceptResponse(element(response), offer), expected);
    });
  }

  test('§7.1.2.2, §7.1.1.2: every window the server may set for our compressor, 8..15; our client_no_context_takeover holds unechoed', () => {
    for (let bits = 8; bits <= 15; bits++) {
      // Without server_no_context_takeover the server keeps its window, and we keep one to
      // inflate; our offer's client_no_context_takeover holds whether or not it is echoed (§7.1.1.2).
      assert.deepEqual(acceptResponse(element(`permessage-deflate; client_max_window_bits=${bits}`), DEFAULT_OFFER), params(false, true, 15, bits));
      assert.deepEqual(acceptResponse(element(`permessage-deflate; server_no_context_takeover; client_max_window_bits=${bits}`), DEFAULT_OFFER), params(true, true, 15, bits));
      assert.deepEqual(acceptResponse(element(`permessage-deflate; client_max_window_bits=${bits}`), TAKEOVER_OFFER), params(false, false, 15, bits));
    }
  });

  test('§7.1, RFC 6455 §9.1: completeAsClient gives no codec when nothing is accepted, fails on more than one element, and a codec for a valid one', () => {
    assert.equal(completeAsClient([], DEFAULT_OFFER, DEFAULTS), null);
    const twice = offers('permessage-deflate; server_no_context_takeover, permessage-deflate; server_no_context_takeover');
    assert.equal(typeof completeAsClient(twice, DEFAULT_OFFER, DEFAULTS), 'string');
    const codec = completeAsClient(offers('permessage-deflate; server_no_context_takeover; client_no_context_takeover'), DEFAULT_OFFER, DEFAULTS);
    assert.ok(codec instanceof DeflateCodec);
    codec.dispose();
  });
});
