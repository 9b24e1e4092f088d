"""The yardstick: a bare loopback WebSocket echo server (the `websockets` library, compression
off, uvloop as the server uses) in its own process, and the round trip of one small frame."""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from typing import Any

import uvloop
import websockets
from websockets.asyncio.server import ServerConnection, serve

from bench.servers import free_port
from bench.stats import summary_ms

FRAME = '{"type":"ping","data":{}}'


async def _echo(connection: ServerConnection) -> None:
    async for message in connection:
        await connection.send(message)


async def _serve(port: int) -> None:
    async with serve(_echo, "127.0.0.1", port, compression=None, ping_interval=None):
        await asyncio.get_running_loop().create_future()


async def measure(rounds: int) -> dict[str, Any]:
    """Starts the echo server process and times `rounds` sequential round trips."""
    port = free_port()
    command = [sys.executable, "-m", "bench.echo", "--port", str(port)]
    process = subprocess.Popen(command)  # noqa: ASYNC220 - started once, before measuring
    try:
        ws = None
        deadline = time.monotonic() + 15
        while ws is None:
            try:
                ws = await websockets.connect(
                    f"ws://127.0.0.1:{port}", compression=None, ping_interval=None
                )
            except OSError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.05)
        samples = []
        for i in range(rounds + 50):
            started = time.perf_counter()
            await ws.send(FRAME)
            await ws.recv()
            if i >= 50:  # warm-up
                samples.append(time.perf_counter() - started)
        await ws.close()
        return summary_ms(samples)
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    uvloop.run(_serve(parser.parse_args().port))


if __name__ == "__main__":
    main()
