from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pilothouse.pipeline.durations import MAX_SECONDS, format_duration, parse_duration
from pilothouse.pipeline.errors import InvalidDuration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30.0),
        ("5m", 300.0),
        ("1h", 3600.0),
        ("1h30m", 5400.0),
        ("1d2h3m4s5ms", 93784.005),
        ("250ms", 0.25),
        ("1.5h", 5400.0),
        ("0s", 0.0),
        (" 10m ", 600.0),
    ],
)
def test_durations_are_read_in_seconds(text: str, seconds: float):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty duration"),
        ("10", "has no unit"),
        ("1.5", "has no unit"),
        ("-5m", "invalid duration"),
        ("5 m", "invalid duration"),
        ("1h 30m", "invalid duration"),
        ("5x", "invalid duration"),
        ("5M", "invalid duration"),
        ("m", "invalid duration"),
        ("30m1h", "largest to smallest"),
        ("1m1m", "largest to smallest"),
        ("400d", "longer than 366 days"),
    ],
)
def test_malformed_durations_are_refused_with_a_reason(text: str, message: str):
    with pytest.raises(InvalidDuration) as caught:
        parse_duration(text)

    assert message in caught.value.message
    assert caught.value.code == "invalid_duration"


def test_a_duration_must_be_text():
    with pytest.raises(InvalidDuration):
        parse_duration(10)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (5400, "1h30m"), (0.25, "250ms"), (86_400 + 1.5, "1d1s500ms")],
)
def test_durations_are_formatted_largest_unit_first(seconds: float, text: str):
    assert format_duration(seconds) == text


@given(st.integers(min_value=0, max_value=MAX_SECONDS * 1000))
def test_formatting_then_parsing_returns_every_whole_millisecond(millis: int):
    assert parse_duration(format_duration(millis / 1000)) == millis / 1000


@given(
    st.lists(st.integers(min_value=0, max_value=99), min_size=5, max_size=5).filter(any),
)
def test_parsing_then_formatting_is_canonical(counts: list[int]):
    days, hours, minutes, seconds, millis = counts
    text = "".join(
        f"{count}{unit}"
        for count, unit in zip(counts, ["d", "h", "m", "s", "ms"], strict=True)
        if count
    )
    expected = days * 86_400 + hours * 3_600 + minutes * 60 + seconds + millis / 1000

    assert parse_duration(text) == pytest.approx(expected, abs=1e-9)
    assert parse_duration(format_duration(parse_duration(text))) == parse_duration(text)
