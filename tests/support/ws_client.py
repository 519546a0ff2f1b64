#!/usr/bin/python3
"""A WebSocket client for the upgrade tests (python3-websockets 10.4: run it with Debian's
/usr/bin/python3), driven by the steps on its command line.

usage: ws_client.py [--ca FILE] URL STEP...

A wss:// URL is verified against the CA certificates in FILE (the test CA of test_certs).

It prints "open" once the handshake is done, then one line per step, each flushed at once so
that a test can follow along:
  recv             receives one message: "recv text <text>" or "recv binary <n> bytes"
  echo-text:TEXT   sends TEXT, receives a message: "echo text TEXT ok" if it is TEXT back
  echo-binary:N    sends N bytes (a fixed pattern) as one binary frame, receives a message:
                   "echo binary N ok" if it is the same bytes back
  every:MS:COUNT   echo-text "tick I" COUNT times, MS milliseconds apart: "ticks COUNT ok"
  wait-file:PATH   prints "waiting for PATH", then goes on once PATH exists (polled; at most
                   30 s): how a test tells the client to go on
  close            the close handshake with code 1000: "closed, code N", N being the code of
                   the other side's close frame
  wait-end         waits (at most 30 s) for the other side to end the connection:
                   "ended, code N" (1006 when it ended without a close handshake)
On any error it prints "error: <exception>: <message>" and exits 1.
"""

import asyncio
import os
import ssl
import sys

import websockets


def line(text):
    print(text, flush=True)


async def echoed(ws, message):
    await ws.send(message)
    return await ws.recv() == message


async def run(url, steps, ca_file):
    context = ssl.create_default_context(cafile=ca_file) if url.startswith("wss:") else None
    async with websockets.connect(url, max_size=None, ping_interval=None, open_timeout=10,
                                  close_timeout=10, ssl=context) as ws:
        line("open")
        for step in steps:
            name, _, arg = step.partition(":")
            if name == "recv":
                message = await ws.recv()
                if isinstance(message, str):
                    line(f"recv text {message}")
                else:
                    line(f"recv binary {len(message)} bytes")
            elif name == "echo-text":
                line(f"echo text {arg} {'ok' if await echoed(ws, arg) else 'mismatch'}")
            elif name == "echo-binary":
                data = bytes(i % 251 for i in range(int(arg)))
                line(f"echo binary {arg} {'ok' if await echoed(ws, data) else 'mismatch'}")
            elif name == "every":
                ms, count = (int(x) for x in arg.split(":"))
                ok = 0
                for i in range(count):
                    if i > 0:
                        await asyncio.sleep(ms / 1000)
                    ok += await echoed(ws, f"tick {i}")
                line(f"ticks {ok} {'ok' if ok == count else 'mismatch'}")
            elif name == "wait-file":
                line(f"waiting for {arg}")
                for _ in range(3000):
                    if os.path.exists(arg):
                        break
                    await asyncio.sleep(0.01)
            elif name == "close":
                await ws.close(1000)
                line(f"closed, code {ws.close_code}")
            elif name == "wait-end":
                await asyncio.wait_for(ws.wait_closed(), 30)
                line(f"ended, code {ws.close_code}")
            else:
                raise ValueError(f"unknown step {step}")


arguments = sys.argv[1:]
ca = None
if arguments[:1] == ["--ca"]:
    ca, arguments = arguments[1], arguments[2:]
try:
    asyncio.run(run(arguments[0], arguments[1:], ca))
except Exception as e:
    line(f"error: {type(e).__name__}: {e}")
    sys.exit(1)
