# ruff: noqa: E402 - the sys.path fix below must run before the imports
"""MCP latency: file read/write over our /mcp vs the reference filesystem server.

    python bench/mcp.py                 # 200 writes and 200 reads of 1 KiB files each
    python bench/mcp.py --size 65536 --rounds 500

Pilothouse runs as ``pilothouse serve`` would (the full ASGI app on uvicorn, on
loopback, bearer-authenticated, every call authorised, versioned, evented and
audited) and is called over Streamable HTTP. The peer is the reference
``@modelcontextprotocol/server-filesystem`` (npm, installed by ``make node-tools``)
over stdio, writing plain files. Both are driven by the official ``mcp`` Python
SDK client, one call at a time, so the figures are per-call latency. The ratio is
Pilothouse / reference: above 1 means we are slower.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named like the SDK package; keep its folder off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import platform
import shutil
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx2
import uvicorn
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from pilothouse.api.app import create_app
from pilothouse.core.settings import Settings
from pilothouse.workspace.service import WorkspaceService

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "tools/node/node_modules/@modelcontextprotocol/server-filesystem/dist/index.js"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def timed(rounds: int, call: Callable[[int], Awaitable[Any]]) -> list[float]:
    await call(0)  # warm-up
    out = []
    for i in range(rounds):
        started = time.perf_counter()
        result = await call(i)
        out.append((time.perf_counter() - started) * 1000)
        if getattr(result, "is_error", False):
            raise RuntimeError(f"call failed: {result.content}")
    return out


async def bench_pilothouse(home: Path, rounds: int, body: str) -> dict[str, list[float]]:
    service = WorkspaceService(Settings(home=home, intelligence={"embedder": "none"}))
    _, key = service.initialize("bench")
    service.create_workspace(service.local_actor(), "bench", intelligence=False)
    sock = socket.socket()
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    server = uvicorn.Server(uvicorn.Config(create_app(service), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/mcp"
    try:
        headers = {"Authorization": f"Bearer {key.key}"}
        http = httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30))
        async with http, Client(streamable_http_client(url, http_client=http)) as client:

            async def write(i: int) -> Any:
                return await client.call_tool(
                    "file",
                    {
                        "action": "write",
                        "workspace": "bench",
                        "path": f"/f{i % 50}.txt",
                        "content": body,
                    },
                )

            async def read(i: int) -> Any:
                return await client.call_tool(
                    "file", {"action": "read", "workspace": "bench", "path": f"/f{i % 50}.txt"}
                )

            for i in range(50):
                await write(i)
            return {"write": await timed(rounds, write), "read": await timed(rounds, read)}
    finally:
        server.should_exit = True
        thread.join(10)
        service.close()


async def bench_reference(root: Path, rounds: int, body: str) -> dict[str, list[float]]:
    node = shutil.which("node") or "node"
    params = StdioServerParameters(command=node, args=[str(REFERENCE), str(root)])
    async with Client(stdio_client(params)) as client:

        async def write(i: int) -> Any:
            return await client.call_tool(
                "write_file", {"path": str(root / f"f{i % 50}.txt"), "content": body}
            )

        async def read(i: int) -> Any:
            return await client.call_tool("read_text_file", {"path": str(root / f"f{i % 50}.txt")})

        for i in range(50):
            await write(i)
        return {"write": await timed(rounds, write), "read": await timed(rounds, read)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--size", type=int, default=1024, help="bytes of text per file")
    args = parser.parse_args()
    body = ("pilothouse " * (args.size // 11 + 1))[: args.size]
    print(f"python {platform.python_version()} · {args.rounds} calls · {args.size}-byte files")
    with tempfile.TemporaryDirectory() as tmp:
        ours = anyio.run(bench_pilothouse, Path(tmp) / "home", args.rounds, body)
        if not REFERENCE.exists():
            print("reference server not installed (make node-tools): ours only")
            theirs = None
        else:
            (Path(tmp) / "fs").mkdir()
            theirs = anyio.run(bench_reference, (Path(tmp) / "fs").resolve(), args.rounds, body)
    print(
        f"\n{'operation':10} {'pilothouse /mcp p50':>20} {'p95':>8}   "
        f"{'filesystem stdio p50':>21} {'p95':>8}   {'ratio p50':>9}"
    )
    for op in ("write", "read"):
        p50, p95 = statistics.median(ours[op]), percentile(ours[op], 0.95)
        if theirs:
            r50, r95 = statistics.median(theirs[op]), percentile(theirs[op], 0.95)
            print(
                f"{op:10} {p50:17.2f} ms {p95:8.2f}   {r50:18.2f} ms {r95:8.2f}   {p50 / r50:9.2f}"
            )
        else:
            print(f"{op:10} {p50:17.2f} ms {p95:8.2f}")


if __name__ == "__main__":
    main()
