"""What starts a stage: the trigger kinds, their options, and when schedules fire.

In ``pilothouse.yaml`` a trigger is a string (``github.push``, ``schedule:5m``,
``file_change:/status/validated.json``) or a one-key mapping from that string to
its options (``{github.push: {branches: [main]}}``). The argument after the
colon is part of the trigger's identity, the options only tune it, which is why
they sit in different places. Each kind becomes one frozen dataclass with its
options parsed and defaults filled in, so the engine never re-reads text.

Schedules are either an interval (``schedule:1h30m``), aligned to the Unix epoch
so that a five-minute schedule fires at :00, :05… whichever replica computes it,
or a five-field cron expression evaluated in UTC. :meth:`ScheduleTrigger.next_fire`
ignores jitter; the scheduler adds a random delay up to ``jitter_seconds`` so
many pipelines on one schedule do not fire in the same instant.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, ClassVar, Literal

from croniter import CroniterBadDateError, croniter
from pydantic import AfterValidator, Field, ValidationError

from pilothouse.pipeline import durations, fields, paths
from pilothouse.pipeline.errors import InvalidDuration

TriggerKind = Literal[
    "github.push", "github.pull_request", "git.poll", "manual", "schedule", "file_change"
]
Status = Literal["succeeded", "failed", "timed_out", "skipped"]
PullRequestAction = Literal[
    "assigned", "unassigned", "labeled", "unlabeled", "opened", "edited", "closed",
    "reopened", "synchronize", "converted_to_draft", "ready_for_review", "locked",
    "unlocked", "review_requested", "review_request_removed", "auto_merge_enabled",
    "auto_merge_disabled", "milestoned", "demilestoned", "enqueued", "dequeued",
]  # fmt: skip

DEFAULT_PULL_REQUEST_ACTIONS: tuple[PullRequestAction, ...] = ("opened", "synchronize", "reopened")
DEFAULT_ON_STATUS: tuple[Status, ...] = ("succeeded",)
DEFAULT_POLL_SECONDS = 60.0
MIN_INTERVAL_SECONDS = 1.0
MAX_DEFAULT_JITTER_SECONDS = 30.0
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Cron jitter defaults to a tenth of the gap between the first two fires after this instant.
_CRON_REFERENCE = datetime(2026, 1, 5, tzinfo=UTC)

_SPELLINGS = (
    "github.push", "github.pull_request", "git.poll", "manual",
    "schedule:<interval>", "schedule:cron(<expr>)", "file_change:<path>",
)  # fmt: skip


@dataclass(frozen=True)
class GithubPushTrigger:
    """A push to GitHub; ``branches`` are globs, empty meaning every branch."""

    kind: ClassVar[TriggerKind] = "github.push"
    branches: tuple[str, ...] = ()

    def matches(self, branch: str) -> bool:
        return not self.branches or paths.matches_any(branch, self.branches)


@dataclass(frozen=True)
class GithubPullRequestTrigger:
    """A pull request event; ``branches`` are globs of the *base* branch."""

    kind: ClassVar[TriggerKind] = "github.pull_request"
    actions: tuple[PullRequestAction, ...] = DEFAULT_PULL_REQUEST_ACTIONS
    branches: tuple[str, ...] = ()

    def matches(self, action: str, base_branch: str) -> bool:
        if action not in self.actions:
            return False
        return not self.branches or paths.matches_any(base_branch, self.branches)


@dataclass(frozen=True)
class GitPollTrigger:
    """Polling a git remote every ``interval_seconds`` for new commits."""

    kind: ClassVar[TriggerKind] = "git.poll"
    interval_seconds: float = DEFAULT_POLL_SECONDS
    branches: tuple[str, ...] = ()

    def matches(self, branch: str) -> bool:
        return not self.branches or paths.matches_any(branch, self.branches)


@dataclass(frozen=True)
class ManualTrigger:
    """Started by a person or an API call, never by itself."""

    kind: ClassVar[TriggerKind] = "manual"


@dataclass(frozen=True)
class ScheduleTrigger:
    """Every ``interval_seconds`` (epoch-aligned) or on a UTC ``cron`` expression."""

    kind: ClassVar[TriggerKind] = "schedule"
    interval_seconds: float | None = None
    cron: str | None = None
    jitter_seconds: float = 0.0

    def __post_init__(self) -> None:
        if (self.interval_seconds is None) == (self.cron is None):
            raise ValueError("a schedule has exactly one of interval_seconds and cron")

    def next_fire(self, after: datetime) -> datetime:
        """The first fire time strictly after ``after`` (aware), in UTC, without jitter."""
        start = self._utc(after)
        if self.cron is not None:
            fire: datetime = croniter(self.cron, start).get_next(datetime)
            return fire.astimezone(UTC)
        step, elapsed = self._steps(start)
        return _EPOCH + timedelta(microseconds=(elapsed // step + 1) * step)

    def last_fire(self, at: datetime) -> datetime:
        """The latest fire time at or before ``at`` (aware), in UTC, without jitter."""
        start = self._utc(at)
        if self.cron is not None:
            fire: datetime = croniter(self.cron, start + timedelta(seconds=1)).get_prev(datetime)
            return fire.astimezone(UTC)
        step, elapsed = self._steps(start)
        return _EPOCH + timedelta(microseconds=elapsed // step * step)

    @staticmethod
    def _utc(moment: datetime) -> datetime:
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError("a schedule needs a timezone-aware datetime")
        return moment.astimezone(UTC)

    def _steps(self, start: datetime) -> tuple[int, int]:
        """The interval and the time since the epoch, in whole microseconds."""
        assert self.interval_seconds is not None
        return round(self.interval_seconds * 1_000_000), (start - _EPOCH) // timedelta(
            microseconds=1
        )


@dataclass(frozen=True)
class FileChangeTrigger:
    """Another stage finished writing ``path`` with one of ``on_status``."""

    kind: ClassVar[TriggerKind] = "file_change"
    path: str
    on_status: tuple[Status, ...] = DEFAULT_ON_STATUS

    def fires_on(self, status: str) -> bool:
        return status in self.on_status


Trigger = (
    GithubPushTrigger
    | GithubPullRequestTrigger
    | GitPollTrigger
    | ManualTrigger
    | ScheduleTrigger
    | FileChangeTrigger
)

Branches = Annotated[list[fields.Glob], Field(min_length=1)] | None


class GithubPushOptions(fields.WireModel):
    branches: Branches = None


class GithubPullRequestOptions(fields.WireModel):
    actions: Annotated[list[PullRequestAction], Field(min_length=1)] = Field(
        default_factory=lambda: list(DEFAULT_PULL_REQUEST_ACTIONS)
    )
    branches: Branches = None


def _at_least_a_second(seconds: float) -> float:
    if seconds < MIN_INTERVAL_SECONDS:
        raise ValueError("the interval must be at least 1s")
    return seconds


class GitPollOptions(fields.WireModel):
    interval: Annotated[fields.Duration, AfterValidator(_at_least_a_second)] = DEFAULT_POLL_SECONDS
    branches: Branches = None


class ManualOptions(fields.WireModel):
    pass


class ScheduleOptions(fields.WireModel):
    jitter: fields.Duration | None = None


class FileChangeOptions(fields.WireModel):
    on_status: Annotated[list[Status], Field(min_length=1)] = Field(
        default_factory=lambda: list(DEFAULT_ON_STATUS)
    )


_OPTIONS: dict[str, type[fields.WireModel]] = {
    "github.push": GithubPushOptions,
    "github.pull_request": GithubPullRequestOptions,
    "git.poll": GitPollOptions,
    "manual": ManualOptions,
    "schedule": ScheduleOptions,
    "file_change": FileChangeOptions,
}


def parse_trigger(value: Any) -> Trigger:
    """One trigger item of ``pilothouse.yaml``; a pydantic plain validator.

    Raises ``ValueError`` for the item as a whole and ``ValidationError`` located
    below it for one bad option.
    """
    if isinstance(value, str):
        return _build(value, None)
    if isinstance(value, dict):
        if not value:
            raise ValueError("an empty mapping is not a trigger; write e.g. 'manual'")
        if len(value) != 1:
            keys = ", ".join(repr(key) for key in value)
            raise ValueError(
                f"a trigger with options is a one-key mapping, got keys {keys}; "
                "indent the options under the trigger"
            )
        ((key, options),) = value.items()
        if not isinstance(key, str):
            raise ValueError(f"a trigger is named by a string, not {key!r}")
        return _build(key, options)
    raise ValueError(
        f"expected a trigger such as 'manual' or a one-key mapping of a trigger to its "
        f"options, got {value!r}"
    )


def _build(key: str, options: Any) -> Trigger:
    kind, argument = _split(key)
    if options is None:
        options = {}
    if not isinstance(options, dict):
        raise fields.fail((key,), f"the options of {kind!r} must be a mapping", options)
    try:
        parsed = _OPTIONS[kind].model_validate(options)
    except ValidationError as e:
        raise fields.nest(e, (key,)) from None
    match parsed:
        case GithubPushOptions(branches=branches):
            return GithubPushTrigger(branches=tuple(branches or ()))
        case GithubPullRequestOptions(actions=actions, branches=branches):
            return GithubPullRequestTrigger(
                actions=tuple(dict.fromkeys(actions)), branches=tuple(branches or ())
            )
        case GitPollOptions(interval=interval, branches=branches):
            return GitPollTrigger(interval_seconds=interval, branches=tuple(branches or ()))
        case ScheduleOptions(jitter=jitter):
            return _schedule(key, argument, jitter)
        case FileChangeOptions(on_status=on_status):
            path = paths.workspace_path(argument)
            return FileChangeTrigger(path=path, on_status=tuple(dict.fromkeys(on_status)))
        case _:
            return ManualTrigger()


def _split(key: str) -> tuple[str, str]:
    head, colon, argument = key.partition(":")
    if key in ("github.push", "github.pull_request", "git.poll", "manual"):
        return key, ""
    if colon and head in ("schedule", "file_change"):
        if not argument.strip():
            raise ValueError(f"trigger {key!r} needs an argument after ':'")
        return head, argument.strip()
    guess = difflib.get_close_matches(head, [s.split(":")[0] for s in _SPELLINGS], n=1)
    if guess:
        raise ValueError(f"unknown trigger {key!r} (did you mean {guess[0] + colon!r}?)")
    raise ValueError(f"unknown trigger {key!r}; expected one of {', '.join(_SPELLINGS)}")


def _schedule(key: str, argument: str, jitter: float | None) -> ScheduleTrigger:
    cron_match = re.fullmatch(r"cron\((.*)\)", argument)
    if cron_match:
        expression = " ".join(cron_match.group(1).split())
        interval = _cron_gap(expression)
        cron: str | None = expression
        every: float | None = None
    elif argument.startswith("cron"):
        raise ValueError(f"write a cron schedule as 'schedule:cron(<expr>)', got {key!r}")
    else:
        try:
            interval = durations.parse_duration(argument)
        except InvalidDuration as e:
            raise ValueError(f"bad schedule interval: {e.message}") from None
        _at_least_a_second(interval)
        cron, every = None, interval
    if jitter is None:
        jitter = min(interval / 10, MAX_DEFAULT_JITTER_SECONDS)
    elif every is not None and jitter >= every:
        raise fields.fail((key, "jitter"), "the jitter must be shorter than the interval", jitter)
    return ScheduleTrigger(interval_seconds=every, cron=cron, jitter_seconds=jitter)


def _cron_gap(expression: str) -> float:
    """Seconds between the first two fires after a reference; refuses bad or dead cron."""
    if not expression.startswith("@") and len(expression.split()) != 5:
        raise ValueError(
            f"cron expression {expression!r} must have 5 fields "
            "(minute hour day-of-month month day-of-week)"
        )
    if not croniter.is_valid(expression):
        raise ValueError(f"invalid cron expression {expression!r}")
    try:
        schedule = croniter(expression, _CRON_REFERENCE)
        first: datetime = schedule.get_next(datetime)
        second: datetime = schedule.get_next(datetime)
    except CroniterBadDateError:
        raise ValueError(f"cron expression {expression!r} never fires") from None
    return (second - first).total_seconds()
