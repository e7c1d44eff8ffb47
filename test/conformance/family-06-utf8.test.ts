/**
 * Autobahn family 6 (UTF-8 handling), RFC 6455 §8.1 and §5.6: a text message that is not
 * valid UTF-8 (RFC 3629) fails the connection with 1007, valid text echoes byte for byte.
 * Each sequence is sent whole and fragmented at every byte boundary; an invalid one is also
 * sent fail-fast: the endpoint must close as soon as the bytes so far cannot begin valid
 * UTF-8, before the rest of the message (or of the frame) is sent.
 * @module
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { cont, family, filled, hex, text, textReply, utf8, type FrameDef, type Scenario } from './harness.ts';

/** [case, what it is, hex] of sequences that are valid UTF-8. */
const VALID: ReadonlyArray<readonly [string, string, string]> = [
  ['6.2.1', 'mixed 1- and 2-byte text "Hello-µ@ßöäüàá-UTF-8!!"', toHexString('Hello-µ@ßöäüàá-UTF-8!!')],
  ['6.5.1', 'Greek "κόσμε"', 'cebae1bdb9cf83cebcceb5'],
  ['6.5.2', 'Greek "κόσμε" between ASCII', '3ccebae1bdb9cf83cebcceb53e'],
  ['6.6.2', 'prefix "κ" of "κόσμε"', 'ceba'],
  ['6.6.5', 'prefix "κό" of "κόσμε"', 'cebae1bdb9'],
  ['6.6.7', 'prefix "κόσ" of "κόσμε"', 'cebae1bdb9cf83'],
  ['6.6.9', 'prefix "κόσμ" of "κόσμε"', 'cebae1bdb9cf83cebc'],
  ['6.7.1', 'first 1-byte sequence U+0000', '00'],
  ['6.7.2', 'first 2-byte sequence U+0080', 'c280'],
  ['6.7.3', 'first 3-byte sequence U+0800', 'e0a080'],
  ['6.7.4', 'first 4-byte sequence U+10000', 'f0908080'],
  ['6.9.1', 'last 1-byte sequence U+007F', '7f'],
  ['6.9.2', 'last 2-byte sequence U+07FF', 'dfbf'],
  ['6.9.3', 'last 3-byte sequence U+FFFF', 'efbfbf'],
  ['6.9.4', 'last 4-byte sequence U+10FFFF', 'f48fbfbf'],
  ['6.11.1', 'U+D7FF, just below the surrogates', 'ed9fbf'],
  ['6.11.2', 'U+E000, just above the surrogates', 'ee8080'],
  ['6.11.3', 'U+FFFD, the replacement character', 'efbfbd'],
  ['6.11.4', 'U+10FFFF, the last code point', 'f48fbfbf'],
  ['6.22.1', 'noncharacter U+FFFE', 'efbfbe'],
  ['6.22.2', 'noncharacter U+1FFFE', 'f09fbfbe'],
  ['6.22.3', 'noncharacter U+1FFFF', 'f09fbfbf'],
  ['6.22.4', 'noncharacter U+10FFFE', 'f48fbfbe'],
  ['6.22.5', 'noncharacters U+FDD0 and U+FDEF', 'efb790efb7af'],
  ['6.23.1', 'U+FEFF (byte order mark) alone', 'efbbbf'],
  ['6.23.2', 'U+FEFF (byte order mark) before text', 'efbbbf48656c6c6f'],
  ['6.23.3', 'U+FEFF twice, inside text', '41efbbbfefbbbf42'],
  ['6.23.4', 'U+FFF9 interlinear annotation anchor', 'efbfb9'],
  ['6.x', '2-byte character "©"', 'c2a9'],
  ['6.x', '3-byte character "€"', 'e282ac'],
  ['6.x', '4-byte character "𝄞"', 'f09d849e'],
  ['6.x', '4-byte characters "😀🚀" back to back', 'f09f9880f09f9a80'],
  ['6.x', 'one character of every length', '24c2a2e282acf0908d88'],
  ['6.x', 'ASCII control characters and DEL', '000102090a0d1b1f7f'],
];

/** [case, what it is, hex] of sequences that are not valid UTF-8. */
const INVALID: ReadonlyArray<readonly [string, string, string]> = [
  ['6.3.1', '"κόσμε" + surrogate ED A0 80 + "edited"', 'cebae1bdb9cf83cebcceb5eda080656469746564'],
  ['6.6.1', 'lone lead byte CE', 'ce'],
  ['6.6.3', '"κ" + truncated 3-byte E1', 'cebae1'],
  ['6.6.4', '"κ" + truncated 3-byte E1 BD', 'cebae1bd'],
  ['6.6.6', '"κό" + truncated 2-byte CF', 'cebae1bdb9cf'],
  ['6.6.8', '"κόσ" + truncated 2-byte CE', 'cebae1bdb9cf83ce'],
  ['6.6.10', '"κόσμ" + truncated 2-byte CE', 'cebae1bdb9cf83cebcce'],
  ['6.8.1', '5-byte sequence F8 88 80 80 80', 'f888808080'],
  ['6.8.2', '6-byte sequence FC 84 80 80 80 80', 'fc8480808080'],
  ['6.10.1', 'F7 BF BF BF (above U+10FFFF)', 'f7bfbfbf'],
  ['6.10.2', 'FB BF BF BF BF', 'fbbfbfbfbf'],
  ['6.10.3', 'FD BF BF BF BF BF', 'fdbfbfbfbfbf'],
  ['6.11.5', 'F4 90 80 80 (U+110000, above U+10FFFF)', 'f4908080'],
  ['6.11.x', 'F4 90 80 80 after ASCII', '41424344f4908080'],
  ['6.12.1', 'stray continuation 80', '80'],
  ['6.12.2', 'stray continuation BF', 'bf'],
  ['6.12.3', 'stray continuations 80 BF', '80bf'],
  ['6.12.4', 'stray continuations 80 BF 80', '80bf80'],
  ['6.12.5', 'stray continuations 80 BF 80 BF', '80bf80bf'],
  ['6.12.6', 'stray continuations 80 BF 80 BF 80', '80bf80bf80'],
  ['6.12.7', 'stray continuations 80 BF 80 BF 80 BF', '80bf80bf80bf'],
  ['6.12.8', 'all 64 continuation bytes 80..BF', range(0x80, 0xbf)],
  ['6.12.x', 'stray continuation after a complete 2-byte character', 'c2a980'],
  ['6.12.x', 'stray continuation after a complete 4-byte character', 'f09d849e80'],
  ['6.13.1', 'lonely 2-byte leads C0..DF each followed by a space', interleave(0xc0, 0xdf)],
  ['6.13.2', 'lonely 3-byte leads E0..EF each followed by a space', interleave(0xe0, 0xef)],
  ['6.13.3', 'lonely 4-byte leads F0..F7 each followed by a space', interleave(0xf0, 0xf7)],
  ['6.13.4', 'lonely 5-byte leads F8..FB each followed by a space', interleave(0xf8, 0xfb)],
  ['6.13.5', 'lonely 6-byte leads FC..FD each followed by a space', interleave(0xfc, 0xfd)],
  ['6.13.x', 'lonely valid lead C3 followed by a space', 'c320'],
  ['6.14.1', 'C0 with its last byte missing', 'c0'],
  ['6.14.2', 'E0 80 with its last byte missing', 'e080'],
  ['6.14.3', 'F0 80 80 with its last byte missing', 'f08080'],
  ['6.14.4', 'F8 80 80 80 with its last byte missing', 'f8808080'],
  ['6.14.5', 'FC 80 80 80 80 with its last byte missing', 'fc80808080'],
  ['6.14.6', 'DF with its last byte missing', 'df'],
  ['6.14.7', 'EF BF with its last byte missing', 'efbf'],
  ['6.14.8', 'F7 BF BF with its last byte missing', 'f7bfbf'],
  ['6.14.9', 'FB BF BF BF with its last byte missing', 'fbbfbfbf'],
  ['6.14.10', 'FD BF BF BF BF with its last byte missing', 'fdbfbfbfbf'],
  ['6.14.x', '"€" truncated at the end of a text', '48656c6c6fe282'],
  ['6.14.x', '"𝄞" truncated at the end of a text', '616263f09d84'],
  ['6.14.x', 'valid lead F4 8F truncated at the end', 'f48f'],
  ['6.15.1', 'all the truncated sequences of 6.14 concatenated', 'c0e080f08080f8808080fc80808080dfefbff7bfbffbbfbfbffdbfbfbfbf'],
  ['6.16.1', 'impossible byte FE', 'fe'],
  ['6.16.2', 'impossible byte FF', 'ff'],
  ['6.16.3', 'impossible bytes FE FE FF FF', 'fefeffff'],
  ['6.16.x', 'lead byte F5 with continuations', 'f5808080'],
  // Every byte F5..FF, which never occurs in UTF-8, after ASCII and before continuations.
  ...Array.from({ length: 11 }, (_, i) => {
    const byte = (0xf5 + i).toString(16);
    return ['6.16.x', `byte ${byte.toUpperCase()} after ASCII`, `41${byte}8080`] as const;
  }),
  ['6.17.1', 'overlong "/" in 2 bytes C0 AF', 'c0af'],
  ['6.17.2', 'overlong "/" in 3 bytes E0 80 AF', 'e080af'],
  ['6.17.3', 'overlong "/" in 4 bytes F0 80 80 AF', 'f08080af'],
  ['6.17.4', 'overlong "/" in 5 bytes', 'f8808080af'],
  ['6.17.5', 'overlong "/" in 6 bytes', 'fc80808080af'],
  ['6.18.1', 'largest overlong 2-byte C1 BF', 'c1bf'],
  ['6.18.2', 'largest overlong 3-byte E0 9F BF', 'e09fbf'],
  ['6.18.3', 'largest overlong 4-byte F0 8F BF BF', 'f08fbfbf'],
  ['6.18.4', 'largest overlong 5-byte', 'f887bfbfbf'],
  ['6.18.5', 'largest overlong 6-byte', 'fc83bfbfbfbf'],
  ['6.19.1', 'overlong NUL C0 80', 'c080'],
  ['6.19.2', 'overlong NUL E0 80 80', 'e08080'],
  ['6.19.3', 'overlong NUL F0 80 80 80', 'f0808080'],
  ['6.19.4', 'overlong NUL in 5 bytes', 'f880808080'],
  ['6.19.5', 'overlong NUL in 6 bytes', 'fc8080808080'],
  ['6.20.1', 'surrogate U+D800 ED A0 80', 'eda080'],
  ['6.20.2', 'surrogate U+DB7F ED AD BF', 'edadbf'],
  ['6.20.3', 'surrogate U+DB80 ED AE 80', 'edae80'],
  ['6.20.4', 'surrogate U+DBFF ED AF BF', 'edafbf'],
  ['6.20.5', 'surrogate U+DC00 ED B0 80', 'edb080'],
  ['6.20.6', 'surrogate U+DF80 ED BE 80', 'edbe80'],
  ['6.20.7', 'surrogate U+DFFF ED BF BF', 'edbfbf'],
  ['6.21.1', 'surrogate pair U+D800 U+DC00', 'eda080edb080'],
  ['6.21.2', 'surrogate pair U+D800 U+DFFF', 'eda080edbfbf'],
  ['6.21.3', 'surrogate pair U+DB7F U+DC00', 'edadbfedb080'],
  ['6.21.4', 'surrogate pair U+DB7F U+DFFF', 'edadbfedbfbf'],
  ['6.21.5', 'surrogate pair U+DB80 U+DC00', 'edae80edb080'],
  ['6.21.6', 'surrogate pair U+DB80 U+DFFF', 'edae80edbfbf'],
  ['6.21.7', 'surrogate pair U+DBFF U+DC00', 'edafbfedb080'],
  ['6.21.8', 'surrogate pair U+DBFF U+DFFF', 'edafbfedbfbf'],
  ['6.x', 'surrogate U+D800 after valid text', '48656c6c6feda080'],
  ['6.x', 'CESU-8 encoded U+10000 (surrogate pair in 3-byte form)', 'eda080edb080'],
];

function toHexString(value: string): string {
  return Buffer.from(value, 'utf8').toString('hex');
}

function range(from: number, to: number): string {
  let out = '';
  for (let b = from; b <= to; b++) out += b.toString(16).padStart(2, '0');
  return out;
}

function interleave(from: number, to: number): string {
  let out = '';
  for (let b = from; b <= to; b++) out += `${b.toString(16).padStart(2, '0')}20`;
  return out;
}

/**
 * RFC 3629 §4, written out independently of the library: the index of the byte at which
 * `bytes` stops being a prefix of valid UTF-8, `bytes.length` if it is only cut short at
 * the end, or null if it is valid.
 */
function firstInvalidIndex(bytes: Uint8Array): number | null {
  let i = 0;
  while (i < bytes.length) {
    const lead = bytes[i]!;
    if (lead < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let low = 0x80;
    let high = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) need = 1;
    else if (lead === 0xe0) [need, low] = [2, 0xa0];
    else if (lead === 0xed) [need, high] = [2, 0x9f];
    else if (lead >= 0xe1 && lead <= 0xef) need = 2;
    else if (lead === 0xf0) [need, low] = [3, 0x90];
    else if (lead === 0xf4) [need, high] = [3, 0x8f];
    else if (lead >= 0xf1 && lead <= 0xf3) need = 3;
    else return i;
    for (let j = 1; j <= need; j++) {
      if (i + j >= bytes.length) return bytes.length;
      const next = bytes[i + j]!;
      if (next < low || next > high) return i + j;
      low = 0x80;
      high = 0xbf;
    }
    i += need + 1;
  }
  return null;
}

/** One frame per byte (§5.4), the first a text frame, the last FIN. */
function perByte(payload: Uint8Array, finalFin = true): FrameDef[] {
  return Array.from(payload, (byte, i) => (i === 0 ? text(new Uint8Array([byte]), false) : cont(new Uint8Array([byte]), false))).map(
    (frame, i, all) => (i === all.length - 1 ? { ...frame, fin: finalFin } : frame),
  );
}

const TAIL = utf8('-tail');

function scenarios(): Scenario[] {
  const out: Scenario[] = [];

  // 6.1: empty text in one frame and in empty fragments.
  out.push({ id: '6.1.1', title: '§5.6 empty text frame echoes as an empty message', steps: [{ send: [text('')] }], replies: [textReply('')], end: 'fence' });
  out.push({
    id: '6.1.2',
    title: '§5.4 text message of three empty fragments echoes as an empty message',
    steps: [{ send: [text('', false), cont('', false), cont('')] }],
    replies: [textReply('')],
    end: 'fence',
  });
  out.push({
    id: '6.1.3',
    title: '§5.4 text message of empty, "middle", empty fragments echoes "middle"',
    steps: [{ send: [text('', false), cont('middle', false), cont('')], delivery: 'frames' }],
    replies: [textReply('middle')],
    end: 'fence',
  });

  for (const [id, what, digits] of VALID) {
    const payload = hex(digits);
    const base = `§8.1 valid UTF-8 ${what}`;
    const replies = [textReply(payload)];
    out.push({ id, title: `${base} in one frame echoes unchanged`, steps: [{ send: [text(payload)] }], replies, end: 'fence' });
    out.push({ id, title: `${base} in one frame sent in single bytes echoes unchanged`, steps: [{ send: [text(payload)], delivery: { chop: 1 } }], replies, end: 'fence' });
    if (payload.length > 1) {
      out.push({ id, title: `${base} in one frame per byte echoes unchanged`, steps: [{ send: perByte(payload) }], replies, end: 'fence' });
      out.push({
        id,
        title: `${base} in one frame per byte, written frame by frame, echoes unchanged`,
        steps: [{ send: perByte(payload), delivery: 'frames' }],
        replies,
        end: 'fence',
      });
    }
    // The sequence between two ASCII fragments, cut on both sides of it.
    out.push({
      id,
      title: `${base} as the middle fragment of a message echoes unchanged`,
      steps: [{ send: [text('<', false), cont(payload, false), cont('>')] }],
      replies: [textReply(new Uint8Array([0x3c, ...payload, 0x3e]))],
      end: 'fence',
    });
  }

  for (const [id, what, digits] of INVALID) {
    const payload = hex(digits);
    const bad = firstInvalidIndex(payload);
    const base = `§8.1 invalid UTF-8 ${what}`;
    const fail = { fail: 1007 } as const;
    out.push({ id, title: `${base} in one frame fails with 1007`, steps: [{ send: [text(payload)] }], replies: [], end: fail });
    out.push({ id, title: `${base} in one frame per byte fails with 1007`, steps: [{ send: perByte(payload) }], replies: [], end: fail });
    if (bad !== null && bad < payload.length) {
      // Fail-fast: the message continues past the bad byte, and that rest is withheld until the close comes.
      const message = [...perByte(payload, false), cont(TAIL)];
      out.push({
        id,
        title: `${base} in one frame per byte fails with 1007 fail-fast, at the frame of byte ${bad}`,
        steps: [{ send: message, delivery: 'frames', closeAfterPieces: bad + 1 }],
        replies: [],
        end: fail,
      });
      const frame = text(new Uint8Array([...payload, ...TAIL]));
      out.push({
        id,
        title: `${base} in one frame cut after byte ${bad} fails with 1007 before the frame is complete`,
        steps: [{ send: [frame], delivery: { cuts: (header) => [header + bad + 1] }, closeAfterPieces: 1 }],
        replies: [],
        end: fail,
      });
    } else {
      // Cut short at the end: only the last frame can tell; an empty final fragment ends it.
      out.push({
        id,
        title: `${base} followed by an empty final fragment fails with 1007`,
        steps: [{ send: [text(payload, false), cont('')], delivery: 'frames' }],
        replies: [],
        end: fail,
      });
    }
  }

  // Autobahn 6.3.2 and 6.4.x, as the suite sends them.
  const kosme = 'cebae1bdb9cf83cebcceb5';
  out.push({
    id: '6.3.2',
    title: '§8.1 "κόσμε" + ED A0 80 + "edited" in one frame per byte, written frame by frame, fails with 1007',
    steps: [{ send: perByte(hex(`${kosme}eda080656469746564`)), delivery: 'frames' }],
    replies: [],
    end: { fail: 1007 },
  });
  out.push({
    id: '6.4.1',
    title: '§8.1 fail-fast: fragment F4 90 80 80 after "κόσμε" closes with 1007 before the final fragment is sent',
    steps: [{ send: [text(hex(kosme), false), cont(hex('f4908080'), false), cont(hex('656469746564'))], delivery: 'frames', closeAfterPieces: 2 }],
    replies: [],
    end: { fail: 1007 },
  });
  out.push({
    id: '6.4.2',
    title: '§8.1 fail-fast: fragment 90 after "κόσμε" F4 closes with 1007 before the final fragment is sent',
    steps: [{ send: [text(hex(`${kosme}f4`), false), cont(hex('90'), false), cont(hex('8080656469746564'))], delivery: 'frames', closeAfterPieces: 2 }],
    replies: [],
    end: { fail: 1007 },
  });
  const whole = hex(`${kosme}f4908080656469746564`);
  out.push({
    id: '6.4.3',
    title: '§8.1 fail-fast: one frame cut as "κόσμε" | F4 90 80 80 | rest closes with 1007 before the frame is complete',
    steps: [{ send: [text(whole)], delivery: { cuts: (header) => [header + 11, header + 15] }, delayMs: 1, closeAfterPieces: 2 }],
    replies: [],
    end: { fail: 1007 },
  });
  out.push({
    id: '6.4.4',
    title: '§8.1 fail-fast: one frame cut as "κόσμε" F4 | 90 | rest closes with 1007 before the frame is complete',
    steps: [{ send: [text(whole)], delivery: { cuts: (header) => [header + 12, header + 13] }, delayMs: 1, closeAfterPieces: 2 }],
    replies: [],
    end: { fail: 1007 },
  });
  out.push({
    id: '6.4.x',
    title: '§8.1 fail-fast: a 64 KiB frame with an invalid byte after 10 bytes closes with 1007 before the rest of the frame is sent',
    steps: [
      {
        send: [text(new Uint8Array([...utf8('0123456789'), 0xff, ...new Uint8Array(65536).fill(0x41)]))],
        delivery: { cuts: (header) => [header + 11] },
        closeAfterPieces: 1,
      },
    ],
    replies: [],
    end: { fail: 1007 },
  });
  out.push({
    id: '6.4.x',
    title: '§8.1 fail-fast: a valid message, then an invalid fragment of the next: the echo, then 1007 before the final fragment',
    steps: [
      { send: [text(hex(kosme))] },
      { awaitReplies: 1 },
      { send: [text('abc', false), cont(hex('c0'), false), cont('def')], delivery: 'frames', closeAfterPieces: 2 },
    ],
    replies: [textReply(hex(kosme))],
    end: { fail: 1007 },
  });
  // Fail-fast inside large frames that span many reads: a valid first fragment ending inside
  // a code point, then a continuation whose first byte cannot continue it.
  const big = filled(110_000, hex('cebae1bdb9cf83cebcceb5')); // "κόσμε" 10 000 times: 2- and 3-byte characters
  const cutInside = big.length - 1; // the last character is cut after its first byte
  out.push({
    id: '6.4.x',
    title: '§8.1 fail-fast: 110 KB fragment ending inside a character, then a continuation starting with ASCII: 1007 before that frame is complete',
    steps: [
      {
        send: [text(big.subarray(0, cutInside), false), cont(new Uint8Array([0x41, ...new Uint8Array(70_000).fill(0x42)]))],
        delivery: { cuts: (header, payload) => (payload > 100_000 ? [4096, 65536] : [header + 1]) },
        closeAfterPieces: 3,
      },
    ],
    replies: [],
    end: { fail: 1007 },
  });
  out.push({
    id: '6.4.x',
    title: '§8.1 fail-fast: 110 KB valid fragment, then a 70 KB continuation with ED A0 80 at 30 000: 1007 before that frame is complete',
    steps: [
      {
        send: [text(big, false), cont(new Uint8Array([...new Uint8Array(30_000).fill(0x43), 0xed, 0xa0, 0x80, ...new Uint8Array(40_000).fill(0x44)]))],
        delivery: { cuts: (header, payload) => (payload > 100_000 ? [50_000] : [header + 20_000, header + 30_002]) },
        closeAfterPieces: 3,
      },
    ],
    replies: [],
    end: { fail: 1007 },
  });
  out.push({
    id: '6.x',
    title: '§8.1 valid 110 KB text fragments cut inside characters at fragment and read boundaries echo unchanged',
    steps: [
      {
        send: [text(big.subarray(0, 50_001), false), cont(big.subarray(50_001, 99_998), false), cont(big.subarray(99_998))],
        delivery: { chop: 8191 },
      },
    ],
    replies: [textReply(big)],
    end: 'fence',
  });
  return out;
}

test('the reference UTF-8 check agrees with a fatal TextDecoder on every sequence', () => {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  for (const [, what, digits] of [...VALID, ...INVALID]) {
    const bytes = hex(digits);
    let valid = true;
    try {
      decoder.decode(bytes);
    } catch {
      valid = false;
    }
    assert.equal(firstInvalidIndex(bytes) === null, valid, what);
  }
  for (const [, what, digits] of VALID) assert.equal(firstInvalidIndex(hex(digits)), null, `${what} is listed as valid`);
  for (const [, what, digits] of INVALID) assert.notEqual(firstInvalidIndex(hex(digits)), null, `${what} is listed as invalid`);
});

family('Autobahn 6 UTF-8 handling', scenarios());
