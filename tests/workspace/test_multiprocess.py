"""Eight processes fight for one tree lock on one SQLite file."""

from __future__ import annotations

import multiprocessing as mp
import time
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path
from typing import Any

import pytest

from pilothouse.core.settings import Settings
from pilothouse.workspace.errors import LockHeld
from pilothouse.workspace.service import WorkspaceService

PROCESSES = 8
SECONDS = 3.0


def _fight(
    home: str,
    holders: Synchronized,  # type: ignore[type-arg]
    order: Synchronized,  # type: ignore[type-arg]
    overlaps: Synchronized,  # type: ignore[type-arg]
    results: Any,
) -> None:
    service = WorkspaceService(
        Settings(home=Path(home), intelligence={"embedder": "none"}), migrate=False
    )
    me = service.local_actor()
    grants: list[tuple[int, int]] = []
    deadline = time.monotonic() + SECONDS
    while time.monotonic() < deadline:
        try:
            grant = service.acquire_lock(
                me, "ws", "/status/", scope="tree", ttl_seconds=30, wait_seconds=2
            )
        except LockHeld:
            continue
        with holders.get_lock():
            holders.value += 1
            if holders.value != 1:
                overlaps.value += 1
        with order.get_lock():
            order.value += 1
            grants.append((order.value, grant.fencing_token))
        with holders.get_lock():
            holders.value -= 1
        service.release_lock(me, "ws", grant.lock_id, grant.token)
    service.close()
    results.put(grants)


@pytest.mark.slow
def test_never_two_holders_and_fencing_tokens_rise_in_grant_order(tmp_path: Path):
    home = tmp_path / "home"
    setup = WorkspaceService(Settings(home=home, intelligence={"embedder": "none"}))
    setup.initialize("alice")
    me = setup.local_actor()
    setup.create_workspace(me, "ws")
    ctx = mp.get_context("spawn")
    holders = ctx.Value("i", 0)
    order = ctx.Value("i", 0)
    overlaps = ctx.Value("i", 0)
    results = ctx.Queue()
    workers = [
        ctx.Process(target=_fight, args=(str(home), holders, order, overlaps, results))
        for _ in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    per_process = [results.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
        assert worker.exitcode == 0
    assert overlaps.value == 0
    assert all(per_process), "every process got the lock at least once"
    grants = sorted(g for batch in per_process for g in batch)
    tokens = [token for _, token in grants]
    assert tokens == sorted(tokens) and len(set(tokens)) == len(tokens)
    every = []
    after = 0
    while True:
        page = setup.list_events(me, "ws", types=["lock.*"], after=after, limit=1000)
        if not page:
            break
        every += [e.type for e in page]
        after = page[-1].cursor
    assert every == ["lock.acquired", "lock.released"] * (len(every) // 2)
    assert len(every) // 2 == len(grants)
    setup.close()
