#!/usr/bin/python3
"""An app server that fails in one way, for the passive observation tests.

    broken_server.py close       accepts each connection and closes it at once
    broken_server.py garbage     reads the request head, answers bytes that are not HTTP, closes
    broken_server.py hang        reads the request head and never answers (the connection stays
                                 open until the peer closes it)
    broken_server.py resets N    resets (RST) the first N connections once their request head
                                 has arrived, then answers every request 200 "flaky\\n" with
                                 Connection: close: a healthy server with a blip

Listens on 127.0.0.1 port 0 and prints the port it got on a line of its own.
"""

import asyncio
import socket
import struct
import sys

MODE = sys.argv[1]
resets_left = int(sys.argv[2]) if MODE == "resets" else 0


def reset(writer):
    # SO_LINGER {on, 0}: close() sends an RST instead of a FIN.
    writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                               struct.pack("ii", 1, 0))
    writer.transport.abort()


async def serve(reader, writer):
    global resets_left
    if MODE == "close":
        writer.close()
        return
    try:
        await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()
        return
    if MODE == "garbage":
        writer.write(b"this is not HTTP at all\r\n\r\n")
    elif MODE == "hang":
        await reader.read()  # until the peer closes
    elif resets_left > 0:
        resets_left -= 1
        reset(writer)
        return
    else:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\nflaky\n")
    try:
        await writer.drain()
    except ConnectionError:
        pass
    writer.close()


async def main():
    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
