from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from pilothouse.pipeline import triggers
from pilothouse.pipeline.triggers import (
    FileChangeTrigger,
    GithubPullRequestTrigger,
    GithubPushTrigger,
    GitPollTrigger,
    ManualTrigger,
    ScheduleTrigger,
)


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ("manual", ManualTrigger()),
        ({"manual": None}, ManualTrigger()),
        ("github.push", GithubPushTrigger()),
        ({"github.push": {"branches": ["main"]}}, GithubPushTrigger(branches=("main",))),
        (
            {"github.pull_request": {"actions": ["opened", "closed"], "branches": ["main"]}},
            GithubPullRequestTrigger(actions=("opened", "closed"), branches=("main",)),
        ),
        ("git.poll", GitPollTrigger(interval_seconds=60.0)),
        ({"git.poll": {"interval": "2m"}}, GitPollTrigger(interval_seconds=120.0)),
        ("schedule:30s", ScheduleTrigger(interval_seconds=30.0, jitter_seconds=3.0)),
        ("schedule:1h30m", ScheduleTrigger(interval_seconds=5400.0, jitter_seconds=30.0)),
        (
            {"schedule:1h": {"jitter": "0s"}},
            ScheduleTrigger(interval_seconds=3600.0, jitter_seconds=0.0),
        ),
        ("schedule:cron(* * * * *)", ScheduleTrigger(cron="* * * * *", jitter_seconds=6.0)),
        ("schedule:cron( 0  3 * * * )", ScheduleTrigger(cron="0 3 * * *", jitter_seconds=30.0)),
        ("schedule:cron(@hourly)", ScheduleTrigger(cron="@hourly", jitter_seconds=30.0)),
        ("file_change:/status/a.json", FileChangeTrigger(path="/status/a.json")),
        (
            {"file_change:/a.json": {"on_status": ["failed", "timed_out", "failed"]}},
            FileChangeTrigger(path="/a.json", on_status=("failed", "timed_out")),
        ),
    ],
)
def test_trigger_items_become_values_with_defaults(item: object, expected: triggers.Trigger):
    assert triggers.parse_trigger(item) == expected


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("github", "unknown trigger 'github'"),
        ("schedule", "unknown trigger 'schedule'"),
        ("schedule:", "needs an argument after ':'"),
        ("schedule:0s", "at least 1s"),
        ("schedule:cron 5 * * * *", "schedule:cron(<expr>)"),
        ("file_change:/status/", "names a directory"),
        (42, "expected a trigger"),
        ({}, "an empty mapping is not a trigger"),
    ],
)
def test_malformed_trigger_items_are_refused(item: object, message: str):
    with pytest.raises(ValueError) as caught:
        triggers.parse_trigger(item)

    assert message in str(caught.value)


def test_a_jitter_as_long_as_the_interval_is_refused():
    with pytest.raises(ValueError) as caught:
        triggers.parse_trigger({"schedule:1m": {"jitter": "1m"}})

    assert "jitter must be shorter than the interval" in str(caught.value)


def test_a_schedule_has_exactly_one_of_interval_and_cron():
    with pytest.raises(ValueError):
        ScheduleTrigger()
    with pytest.raises(ValueError):
        ScheduleTrigger(interval_seconds=60.0, cron="* * * * *")


def test_interval_schedules_fire_on_multiples_of_the_interval_since_the_epoch():
    every_five_minutes = ScheduleTrigger(interval_seconds=300.0)

    after = datetime(2026, 3, 1, 12, 3, 17, 500, tzinfo=UTC)
    assert every_five_minutes.next_fire(after) == datetime(2026, 3, 1, 12, 5, tzinfo=UTC)


def test_next_fire_is_strictly_after_the_given_instant():
    every_five_minutes = ScheduleTrigger(interval_seconds=300.0)
    on_the_dot = datetime(2026, 3, 1, 12, 5, tzinfo=UTC)

    assert every_five_minutes.next_fire(on_the_dot) == on_the_dot + timedelta(minutes=5)


def test_an_odd_interval_keeps_its_phase():
    ninety_minutes = ScheduleTrigger(interval_seconds=5400.0)
    first = ninety_minutes.next_fire(datetime(2026, 3, 1, tzinfo=UTC))

    second = ninety_minutes.next_fire(first)

    assert second - first == timedelta(minutes=90)
    assert first.timestamp() % 5400 == 0


def test_cron_schedules_fire_on_the_next_matching_minute_in_utc():
    weekdays_at_three = ScheduleTrigger(cron="0 3 * * 1-5")

    saturday = datetime(2026, 3, 7, 10, 0, tzinfo=UTC)
    assert weekdays_at_three.next_fire(saturday) == datetime(2026, 3, 9, 3, 0, tzinfo=UTC)


def test_cron_next_fire_is_strictly_after_and_converted_to_utc():
    every_five_minutes = ScheduleTrigger(cron="*/5 * * * *")
    paris = timezone(timedelta(hours=1))

    after = datetime(2026, 3, 1, 13, 5, tzinfo=paris)  # 12:05 UTC, itself a match
    fire = every_five_minutes.next_fire(after)

    assert fire == datetime(2026, 3, 1, 12, 10, tzinfo=UTC)
    assert fire.tzinfo == UTC


def test_next_fire_refuses_a_naive_datetime():
    with pytest.raises(ValueError, match="timezone-aware"):
        ScheduleTrigger(interval_seconds=60.0).next_fire(datetime(2026, 3, 1))


@pytest.mark.parametrize(
    ("branch", "fires"), [("main", True), ("release/1.2", True), ("feature/x", False)]
)
def test_push_branches_are_globs(branch: str, fires: bool):
    push = GithubPushTrigger(branches=("main", "release/*"))

    assert push.matches(branch) is fires
    assert GithubPushTrigger().matches(branch)


def test_pull_requests_match_action_and_base_branch():
    pull_request = GithubPullRequestTrigger(branches=("main",))

    assert pull_request.matches("opened", "main")
    assert not pull_request.matches("closed", "main")
    assert not pull_request.matches("opened", "develop")


def test_file_change_fires_only_on_its_statuses():
    trigger = FileChangeTrigger(path="/a.json", on_status=("succeeded", "skipped"))

    assert trigger.fires_on("skipped") and not trigger.fires_on("failed")
