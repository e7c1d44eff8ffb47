import assert from 'node:assert/strict';
import { test } from 'node:test';

import fc from 'fast-check';

import {
  HandshakeError,
  HandshakeResponseError,
  RequestHeadParser,
  ResponseHeadParser,
  validateUpgradeRequest,
  verifyServerResponse,
  type ParsedRequest,
} from '../../src/handshake/index.ts';
import { bytes, concat, RFC_KEY, VALID_REQUEST } from './helpers.ts';

/** Splits bytes at the given (unsorted, possibly repeated) offsets. */
function split(input: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const offsets = [...new Set(cuts.map((cut) => cut % (input.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const offset of offsets) {
    chunks.push(input.subarray(start, offset));
    start = offset;
  }
  chunks.push(input.subarray(start));
  return chunks;
}

/** Feeds chunks to a fresh parser until it yields; returns the request or null. */
function feedRequest(chunks: readonly Uint8Array[], maxHeadBytes?: number, maxHeaders?: number): ParsedRequest | null {
  const parser = new RequestHeadParser(maxHeadBytes, maxHeaders);
  for (const chunk of chunks) {
    const result = parser.feed(chunk);
    if (result !== null) return result;
  }
  return null;
}

function onlyHandshakeErrors(action: () => unknown): void {
  try {
    action();
  } catch (error) {
    assert.ok(error instanceof HandshakeError, `unexpected ${String(error)}`);
    assert.ok([400, 405, 426, 431, 505].includes(error.status), `status ${error.status}`);
  }
}

// Bytes that matter to the grammar, so mutations hit interesting paths.
const interestingByte = fc.constantFrom(0x0d, 0x0a, 0x3a, 0x20, 0x09, 0x00, 0x2c, 0x3b, 0x3d, 0x22, 0x5c, 0x7f, 0x80, 0xff, 0x61);

const mutatedRequest = fc
  .array(fc.tuple(fc.nat(), fc.constantFrom('replace', 'insert', 'delete'), interestingByte), { maxLength: 6 })
  .map((edits) => {
    const out = [...bytes(VALID_REQUEST)];
    for (const [position, kind, byte] of edits) {
      const index = position % (out.length + 1);
      if (kind === 'insert') out.splice(index, 0, byte);
      else if (kind === 'delete') out.splice(index, 1);
      else out[index] = byte;
    }
    return new Uint8Array(out);
  });

test('property: random bytes only ever give a request, null or a HandshakeError', () => {
  fc.assert(
    fc.property(
      fc.oneof(fc.uint8Array({ maxLength: 300, size: 'max' }), fc.uint8Array({ maxLength: 300, size: 'max' }).map((random) => concat(random, bytes('\r\n\r\n')))),
      fc.array(fc.nat(), { maxLength: 5 }),
      fc.integer({ min: 4, max: 400 }),
      fc.integer({ min: 0, max: 20 }),
      (input, cuts, maxHeadBytes, maxHeaders) => {
        onlyHandshakeErrors(() => {
          const request = feedRequest(split(input, cuts), maxHeadBytes, maxHeaders);
          if (request !== null) validateUpgradeRequest(request);
        });
      },
    ),
    { numRuns: 2000 },
  );
});

test('property: mutated valid requests only ever give a request or a HandshakeError', () => {
  fc.assert(
    fc.property(mutatedRequest, fc.array(fc.nat(), { maxLength: 5 }), (input, cuts) => {
      onlyHandshakeErrors(() => {
        const request = feedRequest(split(input, cuts));
        if (request !== null) validateUpgradeRequest(request);
      });
    }),
    { numRuns: 2000 },
  );
});

test('property: how a request is split never changes the outcome', () => {
  const outcome = (chunks: readonly Uint8Array[]): unknown => {
    try {
      const request = feedRequest(chunks);
      return request === null ? null : { target: request.target, headers: [...request.headers], rest: [...request.rest] };
    } catch (error) {
      return error instanceof HandshakeError ? { status: error.status, code: error.code } : error;
    }
  };
  fc.assert(
    fc.property(mutatedRequest, fc.uint8Array({ maxLength: 8 }), fc.array(fc.nat(), { maxLength: 5 }), (head, tail, cuts) => {
      const input = concat(head, tail);
      const whole = outcome([input]);
      const chunked = outcome(split(input, cuts));
      // A split after the head's end leaves later chunks unfed, so compare all but `rest` there.
      if (chunked !== null && typeof chunked === 'object' && 'rest' in chunked && whole !== null && typeof whole === 'object') {
        assert.deepEqual({ ...chunked, rest: [] }, { ...whole, rest: [] });
      } else {
        assert.deepEqual(chunked, whole);
      }
    }),
    { numRuns: 1000 },
  );
});

test('property: random responses only ever give a response, null or a HandshakeResponseError', () => {
  const prefix = bytes('HTTP/1.1 101 Switching Protocols\r\n');
  fc.assert(
    fc.property(fc.boolean(), fc.uint8Array({ maxLength: 300, size: 'max' }), fc.array(fc.nat(), { maxLength: 5 }), (withPrefix, random, cuts) => {
      const input = concat(withPrefix ? prefix : new Uint8Array(0), random, bytes('\r\n\r\n'));
      try {
        const parser = new ResponseHeadParser();
        for (const chunk of split(input, cuts)) {
          const response = parser.feed(chunk);
          if (response !== null) {
            verifyServerResponse(response, { key: RFC_KEY, protocols: ['a'], extensionsOffered: ['b'] });
            break;
          }
        }
      } catch (error) {
        assert.ok(error instanceof HandshakeResponseError, `unexpected ${String(error)}`);
      }
    }),
    { numRuns: 1000 },
  );
});
