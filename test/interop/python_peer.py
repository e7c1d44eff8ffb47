"""A peer made with Python's `websockets` (the asyncio implementation Debian packages), for
the interop tests: run as a client against a URL, or as an echo server.

    python_peer.py client URL [--deflate] [--ca FILE]   runs the exercise, prints one JSON report
    python_peer.py server [--deflate] [--cert FILE --key FILE]
        prints the port, serves until stdin closes, prints one JSON line per connection closed
"""
import argparse
import asyncio
import json
import ssl
import sys

import websockets

from python_exercise import MAX_SIZE, echo_every_message


async def run_client(url, compression, tls):
    report = {"echoes": []}
    async with websockets.connect(url, compression=compression, max_size=MAX_SIZE, subprotocols=["chat", "superchat"], ssl=tls) as ws:
        report["extensions"] = ws.response_headers.get("Sec-WebSocket-Extensions", "")
        report["protocol"] = ws.subprotocol or ""

        async def echo(sent):
            await ws.send(sent)
            return await ws.recv() == sent

        await echo_every_message(report, echo)
        # RFC 6455 §5.4: an iterable is sent as one message in fragments.
        await ws.send(["frag", "men", "ted"])
        report["echoes"].append({"kind": "fragmented", "length": 10, "same": await ws.recv() == "fragmented"})
        # §5.5.3: the pong carries the ping's payload; websockets matches it to the ping.
        pong = await ws.ping(b"are you there")
        await asyncio.wait_for(pong, 5)
        report["pong"] = True
        await ws.send("close please")
        try:
            await asyncio.wait_for(ws.recv(), 5)
        except websockets.ConnectionClosed:
            pass
        await ws.wait_closed()
        report["closeCode"] = ws.close_code
        report["closeReason"] = ws.close_reason
    print(json.dumps(report), flush=True)


async def echo(ws, path=None):
    try:
        async for message in ws:
            if message == "close please":
                await ws.close(4002, "bye")
                break
            if message == "fragments please":
                await ws.send(["frag", "men", "ted"])
                continue
            await ws.send(message)
    except websockets.ConnectionClosed:
        pass
    await ws.wait_closed()
    print(json.dumps({"closeCode": ws.close_code, "closeReason": ws.close_reason}), flush=True)


async def run_server(compression, tls):
    async with websockets.serve(echo, "127.0.0.1", 0, compression=compression, max_size=MAX_SIZE, subprotocols=["superchat"], ssl=tls) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        # Serve until the test closes our stdin.
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("role", choices=["client", "server"])
    parser.add_argument("url", nargs="?")
    parser.add_argument("--deflate", action="store_true")
    parser.add_argument("--ca")
    parser.add_argument("--cert")
    parser.add_argument("--key")
    args = parser.parse_args()
    compression = "deflate" if args.deflate else None
    if args.role == "client":
        tls = ssl.create_default_context(cafile=args.ca) if args.ca else None
        asyncio.run(run_client(args.url, compression, tls))
    else:
        tls = None
        if args.cert:
            tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            tls.load_cert_chain(args.cert, args.key)
        asyncio.run(run_server(compression, tls))


main()
