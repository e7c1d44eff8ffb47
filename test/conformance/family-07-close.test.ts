/**
 * Autobahn family 7 (close handling), RFC 6455 §5.5.1, §7.1 and §7.4: a close frame is
 * answered by a close frame (the code echoed, 1000 for an empty one), nothing is sent or
 * processed after it, a malformed close body fails the connection with 1002 (or 1007 for a
 * reason that is not UTF-8), and the server closes the TCP connection once the closing
 * handshake is done while a client waits for it.
 * @module
 */
import {
  binary,
  close,
  closeBody,
  cont,
  family,
  filled,
  hex,
  ping,
  text,
  textReply,
  utf8,
  type Scenario,
} from './harness.ts';

const VALID_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3001, 3999, 4000, 4001, 4999] as const;
const INVALID_CODES = [0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535] as const;

function scenarios(): Scenario[] {
  const out: Scenario[] = [];

  // 7.1.x: the closing handshake and what may follow it.
  out.push({
    id: '7.1.1',
    title: '§5.5.1 message echoed, then a close 1000: the close is answered with 1000',
    steps: [{ send: [text('Hello World!')] }, { awaitReplies: 1 }, { send: [close(1000)] }],
    replies: [textReply('Hello World!')],
    end: { closeReply: 1000 },
  });
  out.push({
    id: '7.1.1',
    title: '§5.5.1 message and a close 1000 in one write: the message is echoed before the close answer',
    steps: [{ send: [text('Hello World!'), close(1000)] }],
    replies: [textReply('Hello World!')],
    end: { closeReply: 1000 },
  });
  out.push({
    id: '7.1.2',
    title: '§5.5.1 a second close frame is not answered',
    steps: [{ send: [close(1000), close(1000)] }],
    replies: [],
    end: { closeReply: 1000 },
  });
  out.push({
    id: '7.1.3',
    title: '§5.5.1 a ping after the close frame is not answered',
    steps: [{ send: [close(1000), ping('Hello World!')] }],
    replies: [],
    end: { closeReply: 1000 },
  });
  out.push({
    id: '7.1.4',
    title: '§5.5.1 a text message after the close frame is not echoed',
    steps: [{ send: [close(1000), text('Hello World!')] }],
    replies: [],
    end: { closeReply: 1000 },
  });
  out.push({
    id: '7.1.4',
    title: '§5.5.1 a binary message after the close frame, in a later write, is not echoed',
    steps: [{ send: [close(1000)] }, { send: [binary(hex('0102030405'))] }],
    replies: [],
    end: { closeReply: 1000 },
  });
  out.push({
    id: '7.1.4',
    title: '§5.5.1 a broken frame after the close frame is ignored: the close is answered with 1000',
    steps: [{ send: [close(1000), { opcode: 0x3, payload: new Uint8Array(0) }] }],
    replies: [],
    end: { closeReply: 1000 },
  });
  out.push({
    id: '7.1.5',
    title: '§5.5.1 close between the fragments of a message: answered, the message is dropped',
    steps: [{ send: [text('fragment1', false), close(1000), cont('fragment2')] }],
    replies: [],
    end: { closeReply: 1000 },
  });
  out.push({
    id: '7.1.5',
    title: '§5.5.1 close between the fragments of a message, frame by frame: answered, the message is dropped',
    steps: [{ send: [text('fragment1', false), close(1000), cont('fragment2')], delivery: 'frames' }],
    replies: [],
    end: { closeReply: 1000 },
  });
  out.push({
    id: '7.1.6',
    title: '§5.5.1 a 256 KiB message and a ping echoed, then a close: answered with 1000',
    steps: [{ send: [text(filled(256 * 1024, 'BAsd7&jh23'))] }, { send: [ping('ping')] }, { awaitReplies: 2 }, { send: [close(1000)] }],
    replies: [{ type: 'pong', data: utf8('ping') }, textReply(filled(256 * 1024, 'BAsd7&jh23'))],
    alternatives: [[textReply(filled(256 * 1024, 'BAsd7&jh23')), { type: 'pong', data: utf8('ping') }]],
    end: { closeReply: 1000 },
  });

  out.push({
    id: '7.1.6',
    title: '§5.5.1 a 256 KiB message, a ping and a close in one write: echo, pong, then the close answer',
    steps: [{ send: [text(filled(256 * 1024, 'BAsd7&jh23')), ping('ping'), close(1000)] }],
    replies: [textReply(filled(256 * 1024, 'BAsd7&jh23')), { type: 'pong', data: utf8('ping') }],
    // §5.4: a control frame may come before the echo of an earlier message, as it does from
    // an endpoint whose application reads asynchronously (the pong is sent by the protocol).
    alternatives: [[{ type: 'pong', data: utf8('ping') }, textReply(filled(256 * 1024, 'BAsd7&jh23'))]],
    end: { closeReply: 1000 },
  });

  // 7.3.x: close bodies.
  out.push({ id: '7.3.1', title: '§5.5.1 close with no payload is answered with 1000', steps: [{ send: [close()] }], replies: [], end: { closeReply: 1000, remoteCode: 1005 } });
  out.push({ id: '7.3.1', title: '§5.5.1 close with no payload sent in single bytes is answered with 1000', steps: [{ send: [close()], delivery: { chop: 1 } }], replies: [], end: { closeReply: 1000, remoteCode: 1005 } });
  out.push({ id: '7.3.2', title: '§5.5.1 close with a 1-byte payload fails with 1002', steps: [{ send: [closeBody(hex('03'))] }], replies: [], end: { fail: 1002 } });
  out.push({ id: '7.3.3', title: '§5.5.1 close 1000 with no reason is answered with 1000', steps: [{ send: [close(1000)] }], replies: [], end: { closeReply: 1000 } });
  out.push({ id: '7.3.4', title: '§5.5.1 close 1000 with a reason is answered with 1000', steps: [{ send: [close(1000, 'Hello World!')] }], replies: [], end: { closeReply: 1000 } });
  out.push({
    id: '7.3.5',
    title: '§5.5.1 close 1000 with a 123-byte reason (the most) is accepted and answered with 1000',
    steps: [{ send: [close(1000, filled(123, '*'))] }],
    replies: [],
    end: { closeReply: 1000 },
  });
  out.push({
    id: '7.3.5',
    title: '§5.5.1 close 1000 with a 123-byte UTF-8 reason of multibyte characters is answered with 1000',
    steps: [{ send: [close(1000, filled(123, 'κόσμε-'))] }],
    replies: [],
    end: { closeReply: 1000 },
  });
  out.push({
    id: '7.3.6',
    title: '§5.5 close with a 124-byte reason (126-byte payload, too long for a control frame) fails with 1002',
    steps: [{ send: [close(1000, filled(124, '*'))] }],
    replies: [],
    end: { fail: 1002 },
  });
  out.push({
    id: '7.3.6',
    title: '§5.5 close claiming a 126-byte payload fails with 1002 from its header alone',
    steps: [{ send: [{ headerOnly: true, opcode: 0x8, length: 126 }] }, { awaitClose: 'the payload is sent' }],
    replies: [],
    end: { fail: 1002 },
  });

  // 7.5.1: the reason must be UTF-8 (§5.5.1, §8.1).
  for (const [what, reason] of [
    ['"κόσμε" + surrogate + "edited"', 'cebae1bdb9cf83cebcceb5eda080656469746564'],
    ['a stray continuation byte', '48656c6c6f80'],
    ['a truncated 3-byte character', '48656c6c6fe282'],
    ['an overlong "/"', 'c0af'],
    ['byte FF', 'ff'],
    ['U+110000', 'f4908080'],
  ] as const) {
    out.push({ id: '7.5.1', title: `§8.1 close 1000 with a reason holding ${what} fails with 1007`, steps: [{ send: [close(1000, hex(reason))] }], replies: [], end: { fail: 1007 } });
  }
  out.push({
    id: '7.5.1',
    title: '§5.5.1 close 1000 with a valid 4-byte UTF-8 reason is answered with 1000',
    steps: [{ send: [close(1000, hex('f09d849ef48fbfbf'))] }],
    replies: [],
    end: { closeReply: 1000 },
  });

  // 7.7.x: codes that may be sent are echoed (§7.4.1, §7.4.2).
  for (const code of VALID_CODES) {
    out.push({ id: '7.7.x', title: `§7.4 close with valid code ${code} is answered with ${code}`, steps: [{ send: [close(code)] }], replies: [], end: { closeReply: code } });
    out.push({
      id: '7.7.x',
      title: `§7.4 close with valid code ${code} and a reason is answered with ${code}`,
      steps: [{ send: [close(code, `reason for ${code}`)] }],
      replies: [],
      end: { closeReply: code },
    });
  }
  // 7.9.x and 7.13.x: codes that may never be sent fail with 1002.
  for (const code of INVALID_CODES) {
    out.push({ id: '7.9.x', title: `§7.4 close with invalid code ${code} fails with 1002`, steps: [{ send: [close(code)] }], replies: [], end: { fail: 1002 } });
    out.push({
      id: '7.9.x',
      title: `§7.4 close with invalid code ${code} after an echoed message fails with 1002`,
      steps: [{ send: [text('Hello World!')] }, { awaitReplies: 1 }, { send: [close(code, 'invalid')] }],
      replies: [textReply('Hello World!')],
      end: { fail: 1002 },
    });
  }

  // After the close: data sent later in the same connection is ignored, and TCP is closed by the server.
  out.push({
    id: '7.x',
    title: '§5.5.1 close sent in single bytes with pings behind it: answered with 1000, no pong',
    steps: [{ send: [close(1000, 'bye'), ping('a'), ping('b')], delivery: { chop: 1 } }],
    replies: [],
    end: { closeReply: 1000 },
  });
  out.push({
    id: '7.x',
    title: '§7.1.2 pings answered before a close, nothing after it',
    steps: [{ send: [ping('1'), ping('2'), close(1001), ping('3')] }],
    replies: [
      { type: 'pong', data: utf8('1') },
      { type: 'pong', data: utf8('2') },
    ],
    end: { closeReply: 1001 },
  });
  return out;
}

family('Autobahn 7 close handling', scenarios());
