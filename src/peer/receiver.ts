/**
 * The receiving side of a peer: it is the connection's handler, turns each data event into
 * a {@link ReceivedMessage}, and hands it to the application's `onMessage` callback, to the
 * oldest waiting `read`, or to the inbox. What it does not decide — the memory budget,
 * pausing the socket, the close answer, a failed callback — it tells its host, the peer.
 * @module
 */
import type { ConnectionHandler } from '../connection/handler.ts';
import { Opcode } from '../frame/opcode.ts';
import { callApplication, type CallbackOwner } from './callbacks.ts';
import { contextOf, keepContext, kReportsHandled, messageTraced, publishHandled, traceMessage } from './diagnostics.ts';
import { Inbox } from './inbox.ts';
import { lendingNow, lentPayloadExpired } from './lent-messages.ts';
import { ReceivedMessage, type Message, type Received } from './message.ts';

/** What the receiver tells its peer. */
export interface ReceiverHost extends CallbackOwner {
  /** The peer's options, shared with the other peers made alike. */
  readonly options: ReceiverOptions;
  /** Whether the socket has closed: an inbox made from then on is closed from the start. */
  readonly closed: boolean;
  /** A message was queued unread: the budget shrinks, and reading may have to pause. */
  messageQueued(): void;
  /** A queued message was taken: reading may resume, and a held close answer may go. */
  messageTaken(): void;
  /** The application is done with every message it was handed: a held close answer may go. */
  handlingSettled(): void;
  /** The peer's close frame came; `unread`: messages wait in the inbox. */
  closeReceived(unread: boolean): void;
  /** A ping came, its pong queued or owed by the connection (its payload lent for the call). */
  pingReceived(payload: Uint8Array): void;
  /** A pong came (its payload lent for the call). */
  pongReceived(payload: Uint8Array): void;
}

/** An `onMessage` callback: each message, and the peer it came to. */
export type MessageCallback<Host> = (message: Message, peer: Host) => void;

/** The peer's options the receiver reads. */
export interface ReceiverOptions {
  /** Each data frame is delivered as it comes (the peer's `fragments` option). */
  readonly fragments: boolean;
  /** Message payloads are lent for the callback's call (the peer's `lentMessages` option). */
  readonly lentMessages: boolean;
}

/** See the module comment; the connection's {@link ConnectionHandler} (its constructor checks the fit). */
export class Receiver<Host extends ReceiverHost = ReceiverHost> {
  // Made when first needed (a message queued, a read waiting): a peer whose messages all go
  // to its callback never makes one (72 bytes less per idle connection).
  private madeInbox: Inbox | null = null;
  /** The application's `onMessage` callback, or null when messages go to `read`. */
  callback: MessageCallback<Host> | null = null;
  private inMessage = false;
  /**
   * `onMessage` promises pending, plus one while a `for await` body runs on the message it
   * was given: replies the application is still to send to what it received (§5.5.1 lets
   * our close answer wait for them).
   */
  private handling = 0;
  private loopBody = false;
  private fragmentDecoder: InstanceType<typeof TextDecoder> | null = null;

  constructor(private readonly host: Host) {}

  /** Messages received and not yet read, and the reads waiting for one. */
  get inbox(): Inbox {
    if (this.madeInbox === null) {
      this.madeInbox = new Inbox();
      if (this.host.closed) this.madeInbox.close();
    }
    return this.madeInbox;
  }

  /** What the queued messages count for (see {@link Inbox.bytes}): 0 with no inbox. */
  get queuedBytes(): number {
    return this.madeInbox === null ? 0 : this.madeInbox.bytes;
  }

  /** Number of messages queued. */
  get queuedCount(): number {
    return this.madeInbox === null ? 0 : this.madeInbox.length;
  }

  /** The socket closed: every waiting read gets null (an inbox made later starts closed). */
  closeInbox(): void {
    this.madeInbox?.close();
  }

  /** The oldest unread message, if any. */
  take(): Received | undefined {
    const inbox = this.madeInbox;
    if (inbox === null) return undefined;
    const message = inbox.shift();
    if (message !== undefined) this.host.messageTaken();
    return message;
  }

  /** Pass messages to `callback` from now on; those already waiting first, one at a time, until it switches itself off. */
  setCallback(callback: MessageCallback<Host> | null): void {
    this.callback = callback;
    let message: Received | undefined;
    while (callback !== null && this.callback === callback && (message = this.take()) !== undefined) {
      const context = contextOf(message);
      if (context === undefined) this.lend(callback, message);
      else context.runInAsyncScope(this.lendTraced, this, callback, message);
    }
  }

  /** Whether the application may still answer a message it was handed (see `handling`). */
  get handlingMessages(): boolean {
    return this.handling > 0;
  }

  /** A `for await` body starts on a message. */
  loopBodyStarted(): void {
    if (this.loopBody) return;
    this.loopBody = true;
    this.handling++;
  }

  /** The `for await` loop asked for its next step, or ended: its body is done. */
  loopBodyEnded(): void {
    if (!this.loopBody) return;
    this.loopBody = false;
    this.handlingEnded();
  }

  private handlingEnded(): void {
    if (--this.handling === 0) this.host.handlingSettled();
  }

  /** @internal A promise an `onMessage` callback returned has settled (`callApplication`'s `settling`). */
  settled(): void {
    this.handlingEnded();
  }

  /**
   * Pass `message` to the callback; with `lentMessages`, it expires when the call returns.
   * `ended`, if given, is told when the application is done with it (see `callApplication`).
   */
  private lend(callback: MessageCallback<Host>, message: Received, ended?: (failed: boolean, error: unknown) => void): void {
    // The receiver is told itself when a returned promise settles: no closure per peer.
    if (callApplication(callback, message, this.host, this, ended)) this.handling++;
    if (this.host.options.lentMessages) lentPayloadExpired(message.expire());
  }

  /**
   * `lend`, publishing `wspeer:handled` once the application is done with the message —
   * unless the callback publishes it itself (the client engine's, which wraps the user's).
   */
  private lendTraced(callback: MessageCallback<Host>, message: Received): void {
    if ((callback as { [kReportsHandled]?: boolean })[kReportsHandled] === true) return this.lend(callback, message);
    const host = this.host;
    this.lend(callback, message, (failed, error) => publishHandled(host, message, failed, error));
  }

  private deliver(message: Received): void {
    if (messageTraced()) return traceMessage(this.host, message, this.deliverInStores, this);
    const callback = this.callback;
    if (callback !== null) return this.lend(callback, message);
    this.queue(message);
  }

  /** `deliver`, traced: run in the stores of `wspeer:message`. */
  private deliverInStores(message: Received): void {
    const callback = this.callback;
    if (callback !== null) return this.lendTraced(callback, message);
    // It keeps the stores' context for the callback it may go to later.
    keepContext(message);
    this.queue(message);
  }

  /** Keep `message` for `read` (or a callback set later). */
  private queue(message: Received): void {
    // The callback switched itself off mid-read: what it leaves for `read` must be owned.
    if (lendingNow()) message.own();
    this.inbox.push(message);
    // Zero: it went straight to a waiting read.
    if (this.inbox.bytes > 0) this.host.messageQueued();
  }

  // ——— ConnectionHandler: called by the connection while it parses ———

  /** @internal Validated text; decoded when the application reads it (in stream for fragments). */
  onTextBytes(bytes: Uint8Array, fin: boolean): void {
    let text: string | null = null;
    if (this.host.options.fragments) {
      // A code point may span two frames: decode in stream, carrying the cut bytes over.
      text = (this.fragmentDecoder ??= new TextDecoder('utf-8', { ignoreBOM: true })).decode(bytes, { stream: !fin });
    }
    this.deliver(ReceivedMessage.of(this.inMessage ? Opcode.Continuation : Opcode.Text, fin, bytes, true, text));
    this.inMessage = !fin;
  }

  /** @internal Binary data, a whole message or a fragment. */
  onBinary(data: Uint8Array, fin: boolean): void {
    this.deliver(ReceivedMessage.of(this.inMessage ? Opcode.Continuation : Opcode.Binary, fin, data, false, null));
    this.inMessage = !fin;
  }

  /** @internal A whole short message lying in the chunk: its Buffer is made only if `data` is read. */
  onMessageAt(opcode: 1 | 2, chunk: DataView, start: number, length: number): void {
    this.deliver(ReceivedMessage.at(opcode, chunk, start, length));
  }

  /** @internal Not called: the receiver takes text as bytes (`onTextBytes`). */
  onText(): void {}
  /** @internal The connection answers pings itself (§5.5.2); the application may want to know. */
  onPing(payload: Uint8Array): void {
    this.host.pingReceived(payload);
  }
  /** @internal Liveness is any byte heard (see the peer's `beat`); the pong may answer a `ping()`. */
  onPong(payload: Uint8Array): void {
    this.host.pongReceived(payload);
  }
  /** @internal Nothing to do: the connection reports its error through `error` and the close. */
  onError(): void {}

  /** @internal The peer's close frame arrived: the peer decides when to answer. */
  onClose(): void {
    this.host.closeReceived(this.queuedCount > 0);
  }
}
