"""Pipelines: what ``pilothouse.yaml`` declares and how it is validated.

A pipeline is a set of stages (agents) in one workspace, each started by
triggers — GitHub events, git polling, schedules, a person, or another stage's
output file changing — and coordinated through workspace files and locks.

Modules, from the outside in:

- :mod:`~pilothouse.pipeline.config` — :class:`Pipeline`, :class:`Stage`,
  ``load_pipeline`` and ``check_pipeline``; the public entry point.
- :mod:`~pilothouse.pipeline.schema` — the pydantic wire models of the file.
- :mod:`~pilothouse.pipeline.triggers` and :mod:`~pilothouse.pipeline.uses` —
  the trigger kinds and agent implementations, as values.
- :mod:`~pilothouse.pipeline.documents` and :mod:`~pilothouse.pipeline.problems`
  — YAML with line numbers, and errors that point at them.
- :mod:`~pilothouse.pipeline.durations`, :mod:`~pilothouse.pipeline.paths`,
  :mod:`~pilothouse.pipeline.fields` — small shared parsers.
- :mod:`~pilothouse.pipeline.errors` — ``PipelineError`` and its codes.
"""
