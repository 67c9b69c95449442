"""Small-file throughput on SQLite: writes/s and reads/s through the façade.

    python bench/files.py                   # 2000 operations of 1 KiB each
    python bench/files.py --count 5000 --size 4096 --processes 4

Every write is a complete new version: blob stored (fsync + rename), version row,
event, hash-chained audit entry and indexing-queue row in one transaction.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pilothouse.core.settings import Settings
from pilothouse.workspace.service import WorkspaceService


def settings(home: str) -> Settings:
    return Settings(home=Path(home), intelligence={"embedder": "none"})


def measure(count: int, op: Callable[[int], object]) -> tuple[float, list[float]]:
    latencies = []
    started = time.perf_counter()
    for i in range(count):
        t = time.perf_counter()
        op(i)
        latencies.append((time.perf_counter() - t) * 1000)
    return count / (time.perf_counter() - started), latencies


def writer(home: str, index: int, count: int, body: bytes, out: mp.Queue) -> None:  # type: ignore[type-arg]
    service = WorkspaceService(settings(home), migrate=False)
    me = service.local_actor()
    measure(count, lambda i: service.write_file(me, "bench", f"/p{index}/{i}", body))
    service.close()
    out.put(count)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--processes", type=int, default=4)
    args = parser.parse_args()
    body = os.urandom(args.size)
    print(
        f"python {platform.python_version()} · sqlite {sqlite3.sqlite_version} · "
        f"{os.cpu_count()} cpus · {args.count} ops of {args.size} bytes"
    )
    rows = []
    with tempfile.TemporaryDirectory() as home:
        service = WorkspaceService(settings(home))
        service.initialize("bench")
        me = service.local_actor()
        service.create_workspace(me, "bench")
        ws = "bench"
        rows.append(
            (
                "write new files",
                *measure(args.count, lambda i: service.write_file(me, ws, f"/files/{i:06d}", body)),
            )
        )
        rows.append(
            (
                "rewrite one file (new versions)",
                *measure(
                    args.count, lambda i: service.write_file(me, ws, "/status/hot.json", body)
                ),
            )
        )
        rows.append(
            (
                "read newest version",
                *measure(
                    args.count, lambda i: service.read_file(me, ws, f"/files/{i % args.count:06d}")
                ),
            )
        )
        rows.append(
            (
                "read an old version",
                *measure(
                    args.count,
                    lambda i: service.read_file(
                        me, ws, "/status/hot.json", version=1 + i % args.count
                    ),
                ),
            )
        )
        rows.append(
            (
                "list a page of 100",
                *measure(200, lambda i: service.list_files(me, ws, "/files/", limit=100)),
            )
        )
        service.close()
        ctx = mp.get_context("spawn")
        out: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
        per = args.count // args.processes
        procs = [
            ctx.Process(target=writer, args=(home, i, per, body, out))
            for i in range(args.processes)
        ]
        started = time.perf_counter()
        for proc in procs:
            proc.start()
        total = sum(out.get(timeout=600) for _ in procs)
        for proc in procs:
            proc.join()
        rows.append(
            (f"write, {args.processes} processes", total / (time.perf_counter() - started), [])
        )
    print(f"\n{'operation':34} {'ops/s':>9} {'p50 ms':>8} {'p95 ms':>8}")
    for name, rate, lat in rows:
        if lat:
            print(f"{name:34} {rate:9.0f} {statistics.median(lat):8.2f} {p95(lat):8.2f}")
        else:
            print(f"{name:34} {rate:9.0f}   (includes process start-up)")


if __name__ == "__main__":
    main()
