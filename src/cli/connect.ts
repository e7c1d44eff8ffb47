/**
 * `wspeer connect`: a client to try a server by hand. Each line of its input goes out as a
 * text message; each message that comes in is printed, one a line (binary as its length and
 * its bytes in hex); the handshake and the close are reported apart from the messages.
 * @module
 */
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { connect, type ConnectOptions } from '../client/connect.ts';
import { CloseCode } from '../frame/close-code.ts';
import type { Message } from '../peer/message.ts';
import type { Peer } from '../peer/peer.ts';
import { ArgumentError, flagOption, integerOption, stringOption, type ParsedArgs } from './args.ts';
import { DEFAULT_PORT } from './serve.ts';

/** The options `connect` takes. */
export const CONNECT_OPTIONS = ['url', 'header', 'protocol', 'origin', 'deflate', 'ca', 'allow-self-signed', 'ping-frequency'];

/** Where to connect, and how. */
export interface ClientSettings {
  /** The server's `ws://` or `wss://` URL. */
  url: string;
  /** Subprotocols, origin, compression, pings and TLS trust, as `connect` takes them. */
  options: ConnectOptions;
}

/** The settings `connect`'s command line asks for; by default the echo server of `serve`. */
export function connectSettings({ options, repeated }: ParsedArgs): ClientSettings {
  const url = stringOption(options, 'url', `ws://127.0.0.1:${DEFAULT_PORT}/`);
  if (!/^wss?:\/\//i.test(url)) throw new ArgumentError(`--url must be a ws:// or wss:// URL, got ${url}`);
  const protocols = stringOption(options, 'protocol', '');
  const origin = stringOption(options, 'origin', '');
  const ca = stringOption(options, 'ca', '');
  const allowSelfSigned = flagOption(options, 'allow-self-signed');
  return {
    url,
    options: {
      // "chat, superchat": offered in that order, most preferred first (RFC 6455 §4.1).
      ...(protocols === '' ? {} : { protocols: protocols.split(',').map((each) => each.trim()) }),
      ...(origin === '' ? {} : { origin }),
      ...headersOf(repeated.get('header') ?? []),
      deflate: flagOption(options, 'deflate'),
      pingFrequency: integerOption(options, 'ping-frequency', 0),
      ...(ca === '' && !allowSelfSigned ? {} : { tls: { ...(ca === '' ? {} : { ca }), allowSelfSigned } }),
    },
  };
}

/**
 * `--header 'Name: value'`, as often as wanted: request headers, a name given twice sending
 * both values. The library refuses a name or value that is not valid in a request head, and
 * the fields the handshake itself sets.
 */
function headersOf(values: ReadonlyArray<string | true>): { headers?: Record<string, string[]> } {
  if (values.length === 0) return {};
  const headers: Record<string, string[]> = {};
  // Field names are case-insensitive (RFC 9110 §5.1): the first spelling of a name is kept.
  const spellings = new Map<string, string>();
  for (const value of values) {
    const colon = value === true ? -1 : value.indexOf(':');
    if (value === true || colon <= 0) throw new ArgumentError(`--header needs "Name: value", got ${value === true ? 'nothing' : JSON.stringify(value)}`);
    const given = value.slice(0, colon).trim();
    const name = spellings.get(given.toLowerCase()) ?? given;
    spellings.set(given.toLowerCase(), name);
    (headers[name] ??= []).push(value.slice(colon + 1).trim());
  }
  return { headers };
}

/** Bytes of a binary message shown in hex; the rest is counted, not shown. */
const HEX_SHOWN = 64;

/** One line for a message: text as it is, binary as `[binary, N bytes] 68 69 …`. */
export function formatMessage(message: Message): string {
  if (typeof message.data === 'string') return message.data;
  const bytes = message.data;
  const hex = Array.from(bytes.subarray(0, HEX_SHOWN), (byte) => byte.toString(16).padStart(2, '0')).join(' ');
  return `[binary, ${bytes.length} bytes]${bytes.length === 0 ? '' : ' '}${hex}${bytes.length > HEX_SHOWN ? ' …' : ''}`;
}

/** Where the command reads lines, prints messages, and reports. */
export interface ClientStreams {
  /** Lines to send, one text message each (stdin). */
  input: Readable;
  /** Where each message is printed (stdout). */
  output: Writable;
  /** Where the handshake and the close are reported (stderr). */
  report: Writable;
}

/**
 * Connect, then send each input line and print each message until either side closes: the
 * end of the input closes with 1000 (messages that arrive before the server's answer are
 * still printed), as does `stop()` (the command's SIGINT). Resolves with the exit status:
 * 0 when the closing handshake completed, whatever its code, 1 when it did not.
 */
export async function runClient(settings: ClientSettings, streams: ClientStreams, started?: (stop: () => void) => void): Promise<number> {
  const peer = await connect(settings.url, {}, settings.options);
  const stop = (): void => void peer.shutdown(1000).catch(() => peer.close());
  // Before the line that tells a user (or a script) that it may stop us.
  started?.(stop);
  const { protocol, extensions } = peer.handshake;
  streams.report.write(`connected to ${settings.url}${protocol === '' ? '' : `, protocol ${protocol}`}${extensions === '' ? '' : `, extensions ${extensions}`}\n`);
  const lines = createInterface({ input: streams.input, crlfDelay: Infinity });
  const sending = sendLines(peer, lines).then(stop);
  for await (const message of peer) streams.output.write(`${formatMessage(message)}\n`);
  lines.close();
  await sending;
  // 1006: the connection ended without a closing handshake (§7.1.5).
  const clean = peer.closeCode !== CloseCode.Abnormal && peer.error === null;
  const reason = peer.closeReason === '' ? '' : ` ${JSON.stringify(peer.closeReason)}`;
  streams.report.write(`closed: ${peer.closeCode}${reason}${peer.error === null ? '' : ` (${peer.error.message})`}\n`);
  return clean ? 0 : 1;
}

/** Send each line as a text message, waiting while the peer's send buffer is full; stop once it closes. */
async function sendLines(peer: Peer, lines: AsyncIterable<string>): Promise<void> {
  try {
    for await (const line of lines) {
      if (peer.state !== 'OPEN') return;
      await peer.write(line);
    }
  } catch {
    // The peer closed under a write: the message loop reports how.
  }
}
