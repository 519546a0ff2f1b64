#!/usr/bin/python3
"""A WebSocket echo server for the upgrade tests (python3-websockets 10.4: run it with Debian's
/usr/bin/python3).

Listens on 127.0.0.1 port 0 and prints the port it got on a line of its own. To every client
it first sends the text message "hello" (a frame of its own, server to client), then echoes
each message as it came: text as text, binary as binary, of any size. When a connection ends
it prints "server: closed, code N", N being the close code the client sent (1006 when the
connection ended without a close handshake). No keepalive pings: the tests see only their
own traffic.
"""

import asyncio

import websockets


async def echo(ws, path):
    await ws.send("hello")
    try:
        async for message in ws:
            await ws.send(message)
    except websockets.ConnectionClosed:
        pass
    print(f"server: closed, code {ws.close_code}", flush=True)


async def main():
    async with websockets.serve(echo, "127.0.0.1", 0, max_size=None, ping_interval=None) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()


asyncio.run(main())
