/**
 * Helpers for talking to the `ws` package from the socket-layer tests.
 * @module
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';

import WebSocket, { WebSocketServer, type ClientOptions, type RawData } from 'ws';

import { LOCALHOST, asBuffer, within } from './helpers.ts';

/** A message as `ws` delivers it. */
export interface WsMessage {
  binary: boolean;
  data: Buffer;
}

/** Queues every message a `ws` socket receives, so none is missed between awaits. */
export class WsInbox {
  private readonly queue: WsMessage[] = [];
  private waiter: (() => void) | null = null;

  constructor(socket: WebSocket) {
    socket.on('message', (data: RawData, isBinary: boolean) => {
      this.queue.push({ binary: isBinary, data: asBuffer(data) });
      const wake = this.waiter;
      this.waiter = null;
      wake?.();
    });
  }

  get length(): number {
    return this.queue.length;
  }

  async next(ms = 5000): Promise<WsMessage> {
    if (this.queue.length === 0) {
      await within(new Promise<void>((resolve) => (this.waiter = resolve)), ms, 'ws message');
    }
    return this.queue.shift()!;
  }
}

/** A `ws` client connected to `url`. */
export async function wsClient(url: string, protocols: string[] = [], options: ClientOptions = {}): Promise<{ ws: WebSocket; inbox: WsInbox }> {
  const ws = new WebSocket(url, protocols, options);
  const inbox = new WsInbox(ws);
  await within(once(ws, 'open'), 3000, 'ws client open');
  return { ws, inbox };
}

/** Close a `ws` client (if needed) and wait for its socket to go. */
export async function closeWs(ws: WebSocket): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return;
  const closed = once(ws, 'close');
  if (ws.readyState === WebSocket.OPEN) ws.close(1000);
  else ws.terminate();
  await within(closed, 3000, 'ws client close').catch(() => ws.terminate());
}

/** A `ws` server on a free loopback port; `onConnection` sets up each socket. */
export async function wsServer(onConnection: (ws: WebSocket) => void): Promise<{ wss: WebSocketServer; url: string; close(): Promise<void> }> {
  const wss = new WebSocketServer({ host: LOCALHOST, port: 0 });
  wss.on('connection', onConnection);
  await within(once(wss, 'listening'), 2000, 'ws server listening');
  const port = (wss.address() as AddressInfo).port;
  return {
    wss,
    url: `ws://${LOCALHOST}:${port}/`,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

/** A `ws` echo server (text as text, binary as binary). */
export function wsEchoServer(): ReturnType<typeof wsServer> {
  return wsServer((ws) => {
    ws.on('message', (data: RawData, isBinary: boolean) => ws.send(data, { binary: isBinary }));
  });
}
