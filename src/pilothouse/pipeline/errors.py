"""Errors of the pipeline layer, and the located problem they report.

A broken ``pilothouse.yaml`` is a user's mistake, not a crash, so validation
collects every :class:`Problem` it can find — each with the line and column of
the offending YAML node and a dotted path into the document — and raises them
together in one :class:`InvalidPipeline`. Interfaces translate the ``code``; the
problems travel in ``details`` so REST, MCP and the CLI can show them one per line.

    PilothouseError                 (pilothouse.core.errors)
    └── PipelineError               pipeline_error
        ├── InvalidPipeline         invalid_pipeline   pilothouse.yaml does not parse or validate
        ├── InvalidDuration         invalid_duration   a duration such as '1h30m' is malformed
        ├── NoPipeline              no_pipeline        no pilothouse.yaml at that revision
        ├── NoRepository            no_repository      the workspace has no repository
        └── UnknownStage            not_found          no agent of that name
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

from pilothouse.core.errors import PilothouseError


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong (or suspicious) in a pipeline file.

    ``line`` and ``column`` are 1-based; ``path`` is where in the document the
    problem sits (``pipeline.agents.tester.trigger``), empty for problems of the
    file as a whole (size, YAML syntax).
    """

    line: int
    column: int
    path: str
    message: str

    def format(self, source: str = "pilothouse.yaml") -> str:
        """``pilothouse.yaml:7:16: pipeline.agents.tester.trigger: unknown trigger …``."""
        where = f"{source}:{self.line}:{self.column}: "
        return where + (f"{self.path}: {self.message}" if self.path else self.message)


class PipelineError(PilothouseError):
    code = "pipeline_error"


class InvalidPipeline(PipelineError):
    """The pipeline file does not parse or does not validate; see :attr:`problems`."""

    code = "invalid_pipeline"

    def __init__(self, problems: Iterable[Problem], *, source: str = "pilothouse.yaml") -> None:
        self.problems: tuple[Problem, ...] = tuple(sorted(problems))
        self.source = source
        super().__init__(
            "\n".join(problem.format(source) for problem in self.problems),
            details={"source": source, "problems": [asdict(p) for p in self.problems]},
        )


class InvalidDuration(PipelineError):
    code = "invalid_duration"


class NoPipeline(PipelineError):
    """The repository has no ``pilothouse.yaml`` at that revision."""

    code = "no_pipeline"


class NoRepository(PipelineError):
    """The workspace has no registered repository (any more)."""

    code = "no_repository"


class UnknownStage(PipelineError):
    """The pipeline declares no agent of that name."""

    code = "not_found"


CODES: tuple[str, ...] = (
    InvalidPipeline.code,
    InvalidDuration.code,
    NoPipeline.code,
    NoRepository.code,
)
"""Every stable code of this domain; interfaces map each to a status."""
