#!/usr/bin/python3
"""A server that upgrades to a protocol of its own, "echo", for the upgrade tests.

Listens on 127.0.0.1 port 0 and prints the port it got on a line of its own. A request with
"Connection: Upgrade" and "Upgrade: echo" is answered
    HTTP/1.1 101 Switching Protocols / Connection: Upgrade / Upgrade: echo
and from then on every byte received is sent back, until the client closes. Any other request
is answered 426 Upgrade Required, and the connection closed: what a server that insists on its
protocol says to a request whose upgrade headers were lost on the way. It prints
"server: upgraded" or "server: refused" per request.
"""

import asyncio


async def serve(reader, writer):
    head = await reader.readuntil(b"\r\n\r\n")
    headers = {}
    for field in head.decode("latin-1").split("\r\n")[1:]:
        name, colon, value = field.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip().lower()
    tokens = [t.strip() for t in headers.get("connection", "").split(",")]
    if "upgrade" in tokens and headers.get("upgrade") == "echo":
        print("server: upgraded", flush=True)
        writer.write(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
                     b"Upgrade: echo\r\n\r\n")
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    else:
        print("server: refused", flush=True)
        body = b"upgrade to echo required\n"
        writer.write(b"HTTP/1.1 426 Upgrade Required\r\nUpgrade: echo\r\nConnection: close\r\n"
                     b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        await writer.drain()
    writer.close()


async def main():
    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
