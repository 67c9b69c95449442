"""Lock throughput on SQLite: acquire+release pairs per second.

    python bench/locks.py                    # defaults: 5 s per scenario, 4 processes
    python bench/locks.py --seconds 10 --processes 8

Scenarios: one process on one path (no contention); N processes fighting for the
same tree lock ``/status/`` (contention: each waits for the others); N processes on
distinct paths (a shared database, no lock contention). Every pair is two full
transactions, each with its event and its hash-chained audit entry.
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
from pathlib import Path

from pilothouse.core.settings import Settings
from pilothouse.workspace.service import WorkspaceService

GOAL = 1000


def settings(home: str) -> Settings:
    return Settings(home=Path(home), intelligence={"embedder": "none"})


def worker(home: str, path: str, scope: str, seconds: float, out: mp.Queue) -> None:  # type: ignore[type-arg]
    service = WorkspaceService(settings(home), migrate=False)
    me = service.local_actor()
    latencies: list[float] = []
    pairs = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.perf_counter()
        grant = service.acquire_lock(me, "bench", path, scope=scope, ttl_seconds=30, wait_seconds=5)
        latencies.append((time.perf_counter() - started) * 1000)
        service.release_lock(me, "bench", grant.lock_id, grant.token)
        pairs += 1
    service.close()
    out.put((pairs, latencies))


def run(
    home: str, processes: int, seconds: float, shared: bool
) -> tuple[float, list[int], list[float]]:
    ctx = mp.get_context("spawn")
    out: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    procs = [
        ctx.Process(
            target=worker,
            args=(
                home,
                "/status/" if shared else f"/p{i}",
                "tree" if shared else "file",
                seconds,
                out,
            ),
        )
        for i in range(processes)
    ]
    for p in procs:
        p.start()
    results = [out.get(timeout=seconds + 120) for _ in procs]
    for p in procs:
        p.join()
    counts = [r[0] for r in results]
    latencies = [x for r in results for x in r[1]]
    return sum(counts) / max(seconds, 1e-9), counts, latencies


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--processes", type=int, default=4)
    args = parser.parse_args()
    print(
        f"python {platform.python_version()} · sqlite {sqlite3.sqlite_version} · "
        f"{os.cpu_count()} cpus · {args.seconds:g} s per scenario"
    )
    with tempfile.TemporaryDirectory() as home:
        service = WorkspaceService(settings(home))
        service.initialize("bench")
        service.create_workspace(service.local_actor(), "bench")
        me = service.local_actor()
        pairs, latencies = 0, []
        deadline = time.monotonic() + args.seconds
        while time.monotonic() < deadline:
            started = time.perf_counter()
            grant = service.acquire_lock(me, "bench", "/solo")
            latencies.append((time.perf_counter() - started) * 1000)
            service.release_lock(me, "bench", grant.lock_id, grant.token)
            pairs += 1
        service.close()
        rows = [("1 process, one path", pairs / args.seconds, [pairs], latencies)]
        rate, counts, lat = run(home, args.processes, args.seconds, shared=True)
        rows.append((f"{args.processes} processes, one tree lock", rate, counts, lat))
        rate, counts, lat = run(home, args.processes, args.seconds, shared=False)
        rows.append((f"{args.processes} processes, own paths", rate, counts, lat))
    print(f"\n{'scenario':34} {'pairs/s':>9} {'acquire p50':>12} {'p95':>8}  per process")
    for name, rate, counts, lat in rows:
        print(
            f"{name:34} {rate:9.0f} {statistics.median(lat):9.2f} ms {p(lat, 0.95):8.2f}  {counts}"
        )
    best = max(r[1] for r in rows)
    print(
        f"\ngoal >= {GOAL} pairs/s on SQLite: {'met' if best >= GOAL else 'NOT met'} "
        f"(best {best:.0f}, contended {rows[1][1]:.0f})"
    )


if __name__ == "__main__":
    main()
