"""Pausing Python's cyclic garbage collector around bursts of allocation.

Loading ten thousand manifests allocates millions of dicts, lists and strings that
all stay alive until the run ends. The collector is triggered by allocation counts,
so it runs thousands of times during such a burst and, each time the young
generations are promoted, walks the whole growing heap again: measured, more than
half of a validation run. None of that data is cyclic (it is freed by reference
counting when the run's objects go), so the collector has nothing to find.

:func:`paused` disables the collector for the duration of a block, re-entrantly and
across threads: it is re-enabled when the last block still running leaves, and only
if it was enabled when the first one entered. Cyclic garbage made meanwhile is
collected at the next collection after that, as usual.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class _Pauses:
    """How many blocks are inside :func:`paused`, and whether the collector ran before."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.depth = 0
        self.was_enabled = False


_pauses = _Pauses()


@contextmanager
def paused() -> Iterator[None]:
    with _pauses.lock:
        if _pauses.depth == 0:
            _pauses.was_enabled = gc.isenabled()
            gc.disable()
        _pauses.depth += 1
    try:
        yield
    finally:
        with _pauses.lock:
            _pauses.depth -= 1
            if _pauses.depth == 0 and _pauses.was_enabled:
                gc.enable()
