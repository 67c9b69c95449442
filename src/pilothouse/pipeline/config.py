"""A validated ``pilothouse.yaml``: the pipeline, its stages, and how to load one.

Loading runs in three passes, each reporting every problem it finds before
giving up, always with the line and column of the culprit:

1. :mod:`~pilothouse.pipeline.documents` reads the YAML (syntax, size, aliases,
   duplicate keys);
2. :mod:`~pilothouse.pipeline.schema` checks each field on its own (unknown
   keys, types, trigger syntax, durations, paths);
3. this module checks what only the whole file can tell: ``on_timeout`` names
   another agent, no two agents write the same file, and ``file_change``
   triggers do not loop. A trigger on a file nobody writes is only a *warning*
   — something outside the pipeline may write it.

The result is frozen dataclasses that the engine reads without revalidating.
:func:`check_pipeline` returns problems and warnings for the offline
``pilothouse pipeline validate``; :func:`load_pipeline` raises instead.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from pydantic import ValidationError

from pilothouse.pipeline import documents, paths, problems, schema
from pilothouse.pipeline.durations import format_duration, parse_duration
from pilothouse.pipeline.errors import InvalidDuration, InvalidPipeline, PipelineError, Problem
from pilothouse.pipeline.triggers import (
    FileChangeTrigger,
    GithubPullRequestTrigger,
    GithubPushTrigger,
    GitPollTrigger,
    ManualTrigger,
    ScheduleTrigger,
    Trigger,
    TriggerKind,
)
from pilothouse.pipeline.uses import BuiltinUses, CommandUses, HttpUses, Uses

__all__ = [
    "BuiltinUses",
    "CommandUses",
    "FileChangeTrigger",
    "GitPollTrigger",
    "GithubPullRequestTrigger",
    "GithubPushTrigger",
    "HttpUses",
    "InvalidDuration",
    "InvalidPipeline",
    "ManualTrigger",
    "Pipeline",
    "PipelineError",
    "Problem",
    "Report",
    "ScheduleTrigger",
    "Stage",
    "Trigger",
    "TriggerKind",
    "Uses",
    "check_pipeline",
    "format_duration",
    "load_pipeline",
    "parse_duration",
]

SOURCE = "pilothouse.yaml"


@dataclass(frozen=True)
class Stage:
    """One agent of the pipeline and everything that governs its runs.

    ``timeout_seconds`` is ``None`` for no timeout; ``on_timeout`` names the
    stage to start when it expires. ``when`` holds globs of changed repository
    files; empty means the stage always runs.
    """

    name: str
    triggers: tuple[Trigger, ...]
    uses: Uses
    writes: str | None = None
    reads: tuple[str, ...] = ()
    requires_lock: str | None = None
    model: str | None = None
    timeout_seconds: float | None = None
    on_timeout: str | None = None
    retries: int = 0
    approval_required: bool = False
    env: dict[str, str] = field(default_factory=dict)
    when: tuple[str, ...] = ()

    @property
    def lock_tree(self) -> str | None:
        """The directory the stage tree-locks: ``/status/deploy.lock`` → ``/status/``."""
        return paths.parent_tree(self.requires_lock) if self.requires_lock else None

    def matches_paths(self, changed: Sequence[str]) -> bool:
        """Whether a run is due for these changed repository files (always without ``when``)."""
        if not self.when:
            return True
        return any(paths.changed_file_matches(path, self.when) for path in changed)


@dataclass(frozen=True)
class Pipeline:
    """A validated pipeline; ``agents`` keeps the order of the file."""

    name: str
    workspace: str
    concurrency: int
    agents: dict[str, Stage]

    def downstream_of(self, path: str, *, status: str | None = None) -> list[Stage]:
        """Stages with a ``file_change`` trigger on ``path``, firing on ``status`` if given."""
        return [
            stage
            for stage, trigger in self.stages_for("file_change")
            if isinstance(trigger, FileChangeTrigger)
            and trigger.path == path
            and (status is None or trigger.fires_on(status))
        ]

    def stages_for(self, kind: TriggerKind) -> list[tuple[Stage, Trigger]]:
        """Every (stage, trigger) pair whose trigger is of ``kind``, in file order."""
        return [
            (stage, trigger)
            for stage in self.agents.values()
            for trigger in stage.triggers
            if trigger.kind == kind
        ]


@dataclass(frozen=True)
class Report:
    """The outcome of :func:`check_pipeline`: a pipeline only when there are no problems."""

    pipeline: Pipeline | None
    problems: tuple[Problem, ...] = ()
    warnings: tuple[Problem, ...] = ()
    source: str = SOURCE

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        """``{ok, problems, warnings}`` with line and column, as every interface answers."""
        return {
            "ok": self.ok,
            "problems": [asdict(p) for p in self.problems],
            "warnings": [asdict(p) for p in self.warnings],
        }

    def lines(self) -> list[str]:
        """Problems, then warnings, as ``source:line:column: path: message`` lines."""
        return [p.format(self.source) for p in self.problems] + [
            "warning: " + w.format(self.source) for w in self.warnings
        ]


def load_pipeline(text: str, *, source: str = SOURCE) -> Pipeline:
    """The pipeline in ``text``; raises :class:`InvalidPipeline` listing every problem."""
    report = check_pipeline(text, source=source)
    if report.pipeline is None:
        raise InvalidPipeline(report.problems, source=source)
    return report.pipeline


def check_pipeline(text: str, *, source: str = SOURCE) -> Report:
    """Validate ``text`` without raising; for ``pilothouse pipeline validate``."""
    document, found = documents.read(text)
    if document is None:
        return Report(None, tuple(sorted(found)), (), source)
    try:
        spec = schema.DocumentSpec.model_validate(document.data)
    except ValidationError as e:
        found = problems.from_validation(e, document, known_keys=schema.KNOWN_KEYS)
        return Report(None, tuple(found), (), source)
    pipeline = _build(spec.pipeline)
    errors = sorted(set(_cross_reference_errors(pipeline, document)))
    warnings = sorted(set(_cross_reference_warnings(pipeline, document)))
    return Report(None if errors else pipeline, tuple(errors), tuple(warnings), source)


def _build(spec: schema.PipelineSpec) -> Pipeline:
    stages = {
        name: Stage(
            name=name,
            triggers=tuple(agent.trigger),
            uses=agent.uses or BuiltinUses(name=name),
            writes=agent.writes,
            reads=tuple(agent.reads),
            requires_lock=agent.requires_lock,
            model=agent.model,
            timeout_seconds=agent.timeout,
            on_timeout=agent.on_timeout,
            retries=agent.retries,
            approval_required=agent.approval == "required",
            env=dict(agent.env),
            when=tuple(agent.when),
        )
        for name, agent in spec.agents.items()
    }
    return Pipeline(
        name=spec.name or spec.workspace,
        workspace=spec.workspace,
        concurrency=spec.concurrency,
        agents=stages,
    )


def _at(document: documents.Document, loc: tuple[str | int, ...], message: str) -> Problem:
    where = document.locate(loc)
    return Problem(where.line, where.column, where.path, message)


def _agent_loc(name: str, *rest: str | int) -> tuple[str | int, ...]:
    return ("pipeline", "agents", name, *rest)


def _trigger_loc(stage: Stage, index: int) -> tuple[str | int, ...]:
    return _agent_loc(stage.name, "trigger", index)


def _cross_reference_errors(pipeline: Pipeline, document: documents.Document) -> Iterator[Problem]:
    writers: dict[str, str] = {}
    for stage in pipeline.agents.values():
        if stage.on_timeout is not None:
            loc = _agent_loc(stage.name, "on_timeout")
            if stage.on_timeout == stage.name:
                yield _at(document, loc, "on_timeout must name another agent, not the agent itself")
            elif stage.on_timeout not in pipeline.agents:
                known = ", ".join(sorted(pipeline.agents))
                message = f"on_timeout names unknown agent {stage.on_timeout!r} (agents: {known})"
                yield _at(document, loc, message)
        if stage.writes is not None:
            if stage.writes in writers:
                message = f"{stage.writes!r} is already written by agent {writers[stage.writes]!r}"
                yield _at(document, _agent_loc(stage.name, "writes"), message)
            else:
                writers[stage.writes] = stage.name
    yield from _cycles(pipeline, document, writers)


def _cycles(
    pipeline: Pipeline, document: documents.Document, writers: dict[str, str]
) -> Iterator[Problem]:
    """One problem per loop of ``file_change`` triggers, at the trigger closing it."""
    # An edge runs from the stage writing a file to each stage triggered by it.
    edges: dict[str, list[tuple[str, int]]] = {name: [] for name in pipeline.agents}
    for stage in pipeline.agents.values():
        for index, trigger in enumerate(stage.triggers):
            if isinstance(trigger, FileChangeTrigger) and trigger.path in writers:
                edges[writers[trigger.path]].append((stage.name, index))
    on_trail, finished = 1, 2
    state: dict[str, int] = {}
    for start in pipeline.agents:
        if start in state:
            continue
        # Iterative depth-first search: a chain of thousands of stages must not
        # exhaust the interpreter stack. ``trail`` is the path from ``start``.
        trail, state[start] = [start], on_trail
        pending = [iter(edges[start])]
        while pending:
            step = next(pending[-1], None)
            if step is None:
                pending.pop()
                state[trail.pop()] = finished
                continue
            target, index = step
            if state.get(target) == on_trail:
                loop = [*trail[trail.index(target) :], target]
                message = "file_change triggers form a cycle: " + " -> ".join(loop)
                yield _at(document, _trigger_loc(pipeline.agents[target], index), message)
            elif target not in state:
                trail.append(target)
                state[target] = on_trail
                pending.append(iter(edges[target]))


def _cross_reference_warnings(
    pipeline: Pipeline, document: documents.Document
) -> Iterator[Problem]:
    written = {stage.writes for stage in pipeline.agents.values() if stage.writes}
    for stage in pipeline.agents.values():
        for index, trigger in enumerate(stage.triggers):
            if isinstance(trigger, FileChangeTrigger) and trigger.path not in written:
                message = f"no agent writes {trigger.path!r}; only an outside writer can fire this"
                yield _at(document, _trigger_loc(stage, index), message)
        if stage.on_timeout is not None and stage.timeout_seconds is None:
            message = "on_timeout has no effect without a timeout"
            yield _at(document, _agent_loc(stage.name, "on_timeout"), message)
