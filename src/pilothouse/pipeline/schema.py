"""The wire shape of ``pilothouse.yaml``, as pydantic models.

These models exist only at the boundary: they check one file and are then
turned into the frozen dataclasses of :mod:`pilothouse.pipeline.config`. Field
validators already convert leaves into internal values (a trigger string into a
trigger dataclass, ``10m`` into 600.0), so the conversion is a copy. Checks
that need the whole file — does ``on_timeout`` name an agent, do triggers loop —
live in :mod:`pilothouse.pipeline.config`, where every agent is known.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field, PlainValidator

from pilothouse.pipeline import fields, triggers, uses


class WhenSpec(fields.WireModel):
    paths: Annotated[list[fields.Glob], Field(min_length=1)]


def _when(value: Any) -> Any:
    if isinstance(value, dict):
        return WhenSpec.model_validate(value).paths
    return fields.one_or_many("a path glob")(value)


TriggerField = Annotated[triggers.Trigger, PlainValidator(triggers.parse_trigger)]
UsesField = Annotated[uses.Uses, PlainValidator(uses.parse_uses)]


class AgentSpec(fields.WireModel):
    trigger: Annotated[
        list[TriggerField],
        BeforeValidator(fields.one_or_many("a trigger such as 'manual'")),
        Field(min_length=1),
    ]
    uses: UsesField | None = None
    writes: fields.FilePath | None = None
    reads: Annotated[
        list[fields.AnyPath], BeforeValidator(fields.one_or_many("a workspace path"))
    ] = Field(default_factory=list)
    requires_lock: fields.AnyPath | None = None
    model: fields.NonEmpty | None = None
    timeout: fields.PositiveDuration | None = None
    on_timeout: fields.AgentName | None = None
    retries: Annotated[int, Field(ge=0, le=10)] = 0
    approval: Literal["required", "none"] = "none"
    env: dict[fields.EnvKey, str] = Field(default_factory=dict)
    when: Annotated[list[fields.Glob], BeforeValidator(_when)] = Field(default_factory=list)


class PipelineSpec(fields.WireModel):
    name: fields.WorkspaceName | None = None
    workspace: fields.WorkspaceName
    concurrency: Annotated[int, Field(ge=1)] = 1
    agents: Annotated[dict[fields.AgentName, AgentSpec], Field(min_length=1)]


class DocumentSpec(fields.WireModel):
    pipeline: PipelineSpec


def _keys(*models: type[BaseModel]) -> frozenset[str]:
    return frozenset(name for model in models for name in model.model_fields)


KNOWN_KEYS = _keys(
    DocumentSpec,
    PipelineSpec,
    AgentSpec,
    WhenSpec,
    uses.CommandSpec,
    uses.HttpSpec,
    triggers.GithubPushOptions,
    triggers.GithubPullRequestOptions,
    triggers.GitPollOptions,
    triggers.ScheduleOptions,
    triggers.FileChangeOptions,
)
"""Every key the format knows, for "did you mean" hints on typos."""
