"""Durations as people write them in YAML: ``30s``, ``5m``, ``1h30m``, ``1.5h``.

The grammar is Go's ``time.ParseDuration`` made stricter: units go from largest
to smallest and appear at most once, and a bare number is refused, because
``timeout: 10`` could mean seconds or minutes and guessing wrong is worse than
asking. Arithmetic runs on exact fractions so ``1h30m`` is exactly ``5400.0`` and
:func:`format_duration` round-trips every whole number of milliseconds.
"""

from __future__ import annotations

import re
from fractions import Fraction

from pilothouse.pipeline.errors import InvalidDuration

UNITS: dict[str, int] = {"d": 86_400_000, "h": 3_600_000, "m": 60_000, "s": 1_000, "ms": 1}
"""Milliseconds per unit, largest first."""

MAX_SECONDS = 366 * 86_400
"""The longest duration accepted (366 days); anything longer is a typo."""

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|d|h|m|s)")
_ORDER = list(UNITS)


def parse_duration(text: str) -> float:
    """Seconds in ``text`` (``"1h30m"`` → ``5400.0``); raises :class:`InvalidDuration`."""
    if not isinstance(text, str):
        raise InvalidDuration(f"a duration is a string such as '30s' or '5m', not {text!r}")
    shown = text if len(text) <= 40 else text[:37] + "..."
    stripped = text.strip()
    if not stripped:
        raise InvalidDuration("empty duration; write e.g. '30s', '5m' or '1h30m'")
    if re.fullmatch(r"\d+(?:\.\d+)?", stripped):
        raise InvalidDuration(
            f"duration {shown!r} has no unit; write e.g. '{stripped}s' or '{stripped}m'"
        )
    total = Fraction(0)
    position = 0
    last_rank = -1
    for match in _PART.finditer(stripped):
        if match.start() != position:
            break
        number, unit = match.groups()
        rank = _ORDER.index(unit)
        if rank <= last_rank:
            raise InvalidDuration(
                f"duration {shown!r}: units must go from largest to smallest, each once"
            )
        last_rank = rank
        total += Fraction(number) * UNITS[unit] / 1000
        position = match.end()
    if position != len(stripped):
        raise InvalidDuration(
            f"invalid duration {shown!r}; write e.g. '30s', '5m', '1h30m' (units: d, h, m, s, ms)"
        )
    if total > MAX_SECONDS:
        raise InvalidDuration(f"duration {shown!r} is longer than 366 days")
    return float(total)


def format_duration(seconds: float) -> str:
    """The canonical text of ``seconds``, rounded to the millisecond: ``5400`` → ``1h30m``."""
    if seconds < 0:
        raise InvalidDuration(f"a duration cannot be negative: {seconds!r}")
    remaining = round(Fraction(seconds) * 1000)
    if remaining == 0:
        return "0s"
    parts: list[str] = []
    for unit, millis in UNITS.items():
        count, remaining = divmod(remaining, millis)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
