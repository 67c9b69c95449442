"""Time as a seam.

Leases, expiries and claim tokens all depend on "now". Code asks a :class:`Clock`
instead of calling :func:`datetime.now` so tests can move time forward without
sleeping. Every timestamp is timezone-aware UTC with microsecond precision, which
is also what both SQLite and PostgreSQL round-trip exactly.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class SystemClock:
    """The wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that moves only when told to; for tests and simulations."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 1, tzinfo=UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += timedelta(seconds=seconds)


def isoformat(moment: datetime) -> str:
    """A canonical ISO-8601 string (UTC, microseconds, ``Z``) used in hashes and JSON."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
