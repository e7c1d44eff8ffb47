"""Peers made with three more Python implementations, each written independently of the
others and of this project, for the interop tests: aiohttp (its own frame reader and
writer), Tornado (likewise) and wsproto (sans-I/O, driven here over asyncio streams).

    python_others.py LIB client URL [--deflate]   runs the exercise, prints one JSON report
    python_others.py LIB server [--deflate]
        prints the port, serves until stdin closes, prints one JSON line per connection closed

LIB is aiohttp, tornado or wsproto. Of the three only wsproto lets its user send fragments
and see pongs, so only its exercise does both.
"""
import argparse
import asyncio
import json
import socket
import sys
from urllib.parse import urlsplit

from python_exercise import MAX_SIZE, echo_every_message


def report_line(report):
    print(json.dumps(report), flush=True)


async def until_stdin_closes():
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


def listening_socket():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    sock.setblocking(False)
    print(sock.getsockname()[1], flush=True)
    return sock


# ——— aiohttp ———


async def aiohttp_client(url, deflate):
    import aiohttp

    report = {"echoes": []}
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(url, protocols=("chat", "superchat"), compress=15 if deflate else 0, max_msg_size=MAX_SIZE) as ws:
            report["extensions"] = ws._response.headers.get("Sec-WebSocket-Extensions", "")
            report["protocol"] = ws.protocol or ""

            async def echo(sent):
                text = isinstance(sent, str)
                await (ws.send_str(sent) if text else ws.send_bytes(sent))
                message = await ws.receive()
                return message.type == (aiohttp.WSMsgType.TEXT if text else aiohttp.WSMsgType.BINARY) and message.data == sent

            await echo_every_message(report, echo)
            await ws.send_str("close please")
            message = await asyncio.wait_for(ws.receive(), 5)
            report["closeCode"] = ws.close_code
            report["closeReason"] = message.extra if message.type == aiohttp.WSMsgType.CLOSE else ""
    report_line(report)


async def aiohttp_server(deflate):
    from aiohttp import web, WSMsgType

    async def handler(request):
        ws = web.WebSocketResponse(protocols=("superchat",), compress=deflate, max_msg_size=MAX_SIZE)
        await ws.prepare(request)
        reason = ""
        while True:
            message = await ws.receive()
            if message.type == WSMsgType.TEXT and message.data == "close please":
                await ws.close(code=4002, message=b"bye")
                reason = "bye"
                break
            if message.type == WSMsgType.TEXT:
                await ws.send_str(message.data)
            elif message.type == WSMsgType.BINARY:
                await ws.send_bytes(message.data)
            else:
                if message.type == WSMsgType.CLOSE:
                    reason = message.extra or ""
                break
        report_line({"closeCode": ws.close_code, "closeReason": reason})
        return ws

    app = web.Application()
    app.router.add_get("/", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.SockSite(runner, listening_socket()).start()
    await until_stdin_closes()
    await runner.cleanup()


# ——— Tornado ———


async def tornado_client(url, deflate):
    from tornado.websocket import websocket_connect

    report = {"echoes": []}
    ws = await websocket_connect(url, subprotocols=["chat", "superchat"], compression_options={} if deflate else None, max_message_size=MAX_SIZE)
    report["extensions"] = ws.headers.get("Sec-WebSocket-Extensions", "")
    report["protocol"] = ws.selected_subprotocol or ""

    async def echo(sent):
        await ws.write_message(sent, binary=not isinstance(sent, str))
        return await ws.read_message() == sent

    await echo_every_message(report, echo)
    await ws.write_message("close please")
    # None: the server closed, and Tornado answered.
    assert await asyncio.wait_for(ws.read_message(), 5) is None
    report["closeCode"] = ws.close_code
    report["closeReason"] = ws.close_reason or ""
    report_line(report)


async def tornado_server(deflate):
    import tornado.httpserver
    import tornado.web
    import tornado.websocket

    class Echo(tornado.websocket.WebSocketHandler):
        def select_subprotocol(self, subprotocols):
            return "superchat" if "superchat" in subprotocols else None

        def get_compression_options(self):
            return {} if deflate else None

        def on_message(self, message):
            if message == "close please":
                self.close(4002, "bye")
                return
            self.write_message(message, binary=isinstance(message, bytes))

        def on_close(self):
            report_line({"closeCode": self.close_code, "closeReason": self.close_reason or ""})

    app = tornado.web.Application([(r"/", Echo)], websocket_max_message_size=MAX_SIZE)
    server = tornado.httpserver.HTTPServer(app, max_body_size=MAX_SIZE)
    server.add_sockets([listening_socket()])
    await until_stdin_closes()
    server.stop()


# ——— wsproto, over asyncio streams ———


class WsprotoPeer:
    """One wsproto connection over a stream: whole messages out of its events, pings answered."""

    def __init__(self, connection, reader, writer):
        self.connection = connection
        self.reader = reader
        self.writer = writer
        self.events = []
        self.parts = []

    def send(self, event):
        self.writer.write(self.connection.send(event))

    async def event(self):
        while not self.events:
            data = await self.reader.read(65536)
            self.connection.receive_data(data or None)
            self.events.extend(self.connection.events())
            if not data and not self.events:
                raise ConnectionError("the connection ended")
        return self.events.pop(0)

    async def next(self):
        """The next whole message (str or bytes), or the CloseConnection event; answers pings, and returns pongs."""
        from wsproto.events import CloseConnection, Message, Ping, Pong

        while True:
            event = await self.event()
            if isinstance(event, Ping):
                self.send(event.response())
            elif isinstance(event, (Pong, CloseConnection)):
                return event
            elif isinstance(event, Message):
                self.parts.append(event.data)
                if event.message_finished:
                    whole = ("" if isinstance(event.data, str) else b"").join(self.parts)
                    self.parts = []
                    return whole

    async def close_answered(self, event):
        self.send(event.response())
        await self.writer.drain()
        self.writer.close()


async def wsproto_client(url, deflate):
    from wsproto import ConnectionType, WSConnection
    from wsproto.events import AcceptConnection, BytesMessage, CloseConnection, Ping, Pong, Request, TextMessage
    from wsproto.extensions import PerMessageDeflate

    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    peer = WsprotoPeer(WSConnection(ConnectionType.CLIENT), reader, writer)
    peer.send(Request(host=parts.netloc, target=parts.path or "/", subprotocols=["chat", "superchat"], extensions=[PerMessageDeflate()] if deflate else []))
    accepted = await peer.event()
    assert isinstance(accepted, AcceptConnection), accepted
    report = {"echoes": [], "protocol": accepted.subprotocol or ""}
    report["extensions"] = "; ".join(extension.name for extension in accepted.extensions)

    async def echo(sent):
        peer.send(TextMessage(data=sent) if isinstance(sent, str) else BytesMessage(data=sent))
        return await peer.next() == sent

    await echo_every_message(report, echo)
    # RFC 6455 §5.4: one message in three frames.
    for piece, last in (("frag", False), ("men", False), ("ted", True)):
        peer.send(TextMessage(data=piece, message_finished=last))
    report["echoes"].append({"kind": "fragmented", "length": 10, "same": await peer.next() == "fragmented"})
    # §5.5.3: the pong carries the ping's payload.
    peer.send(Ping(payload=b"are you there"))
    pong = await peer.next()
    report["pong"] = isinstance(pong, Pong) and pong.payload == b"are you there"
    peer.send(TextMessage(data="close please"))
    closing = await peer.next()
    assert isinstance(closing, CloseConnection), closing
    report["closeCode"] = closing.code
    report["closeReason"] = closing.reason or ""
    await peer.close_answered(closing)
    report_line(report)


async def wsproto_server(deflate):
    from wsproto import ConnectionType, WSConnection
    from wsproto.events import AcceptConnection, BytesMessage, CloseConnection, Pong, Request, TextMessage
    from wsproto.extensions import PerMessageDeflate

    async def serve(reader, writer):
        peer = WsprotoPeer(WSConnection(ConnectionType.SERVER), reader, writer)
        request = await peer.event()
        assert isinstance(request, Request), request
        protocol = "superchat" if "superchat" in request.subprotocols else None
        peer.send(AcceptConnection(subprotocol=protocol, extensions=[PerMessageDeflate()] if deflate else []))
        while True:
            message = await peer.next()
            if isinstance(message, Pong):
                continue
            if isinstance(message, CloseConnection):
                report_line({"closeCode": message.code, "closeReason": message.reason or ""})
                await peer.close_answered(message)
                return
            if message == "close please":
                peer.send(CloseConnection(code=4002, reason="bye"))
                answer = await peer.next()
                report_line({"closeCode": getattr(answer, "code", 1006), "closeReason": "bye"})
                writer.close()
                return
            if message == "fragments please":
                for piece, last in (("frag", False), ("men", False), ("ted", True)):
                    peer.send(TextMessage(data=piece, message_finished=last))
                continue
            peer.send(TextMessage(data=message) if isinstance(message, str) else BytesMessage(data=message))

    server = await asyncio.start_server(serve, sock=listening_socket())
    async with server:
        await until_stdin_closes()


PEERS = {
    "aiohttp": (aiohttp_client, aiohttp_server),
    "tornado": (tornado_client, tornado_server),
    "wsproto": (wsproto_client, wsproto_server),
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("library", choices=sorted(PEERS))
    parser.add_argument("role", choices=["client", "server"])
    parser.add_argument("url", nargs="?")
    parser.add_argument("--deflate", action="store_true")
    args = parser.parse_args()
    client, server = PEERS[args.library]
    asyncio.run(client(args.url, args.deflate) if args.role == "client" else server(args.deflate))


main()
