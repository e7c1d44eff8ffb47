"""What the Python peers of the interop tests share: the messages their exercises send
(every length class of text and binary) and the size limit they accept."""

MAX_SIZE = 16 * 1024 * 1024
TEXTS = ["", "héllo wörld ✓ 🚀 日本語", "x" * 125, "y" * 126, "z" * 65536, '{"price": 101.25} ' * 50000]
SIZES = [0, 1, 125, 126, 65535, 65536, 4 * 1024 * 1024]


def pattern(size):
    """Binary message bytes that show a lost, moved or changed byte."""
    return bytes((i * 31 + 7) & 0xFF for i in range(size)) if size < 70000 else bytes(range(256)) * (size // 256)


async def echo_every_message(report, echo):
    """Send every text, then every binary message of the exercise through `echo(message)`,
    which sends it and answers whether the echo came back the same; each outcome goes into
    report["echoes"]."""
    for text in TEXTS:
        report["echoes"].append({"kind": "text", "length": len(text), "same": await echo(text)})
    for size in SIZES:
        data = pattern(size)
        report["echoes"].append({"kind": "binary", "length": size, "same": await echo(data)})
