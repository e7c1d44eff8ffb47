/**
 * Close status codes: the named table against RFC 6455 §7.4.1 and the IANA WebSocket Close
 * Code Number Registry (§11.7), and which codes may travel in a close frame (§7.4.1, §7.4.2).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { CloseCode, isValidCloseCode } from '../../src/frame/close-code.ts';

test('§7.4.1 every named code has its registered number', () => {
  assert.deepEqual(CloseCode, {
    Normal: 1000,
    GoingAway: 1001,
    ProtocolError: 1002,
    UnsupportedData: 1003,
    NoStatusReceived: 1005,
    Abnormal: 1006,
    InvalidPayload: 1007,
    PolicyViolation: 1008,
    MessageTooBig: 1009,
    MandatoryExtension: 1010,
    InternalError: 1011,
    ServiceRestart: 1012,
    TryAgainLater: 1013,
    BadGateway: 1014,
    TlsHandshake: 1015,
  });
});

test('§7.4.1/§7.4.2 a close frame may carry 1000-1003, 1007-1014, 3000-4999, and nothing else', () => {
  const sendable = (code: number): boolean =>
    (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
  for (let code = 0; code < 6000; code++) assert.equal(isValidCloseCode(code), sendable(code), `code ${code}`);
  for (const reserved of [1004, CloseCode.NoStatusReceived, CloseCode.Abnormal, CloseCode.TlsHandshake, 1016, 2999, 5000, 65535]) {
    assert.equal(isValidCloseCode(reserved), false, `${reserved} is never sent`);
  }
  for (const notAnInteger of [1000.5, Number.NaN, Infinity]) assert.equal(isValidCloseCode(notAnInteger), false);
});
