"""The optional LLM review: a second opinion on top of the rules, never instead of them.

With ``model:`` set on the validator in ``pilothouse.yaml`` (any pydantic-ai model
name: ``openai:gpt-4o-mini``, ``anthropic:claude-…``, ``google-gla:gemini-…``, or an
OpenAI-compatible local server such as Ollama through ``openai:`` and
``OPENAI_BASE_URL``), the model gets the team's prompt (``agents/validator.md`` in
the repository, or a default), the rules' findings and the changed manifests, plus
two tools — read a workspace file, search the workspace by meaning — and must answer
with a typed :class:`Verdict` (``approve``/``flag``/``block``, reasons, extra
findings). pydantic-ai validates the answer against the type and retries a malformed
one, so a chatty model cannot break the pipeline.

Nothing secret leaves: ``Secret`` manifests' ``data``/``stringData`` values and env
values whose names look secret are replaced by ``<redacted>`` before the prompt is
built. With ``model: none`` (the default) this module is never called.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Literal

from pydantic import BaseModel, Field
from pydantic_ai import Agent
from pydantic_ai.models import Model

from pilothouse.agents.validator import loading
from pilothouse.agents.validator.checks.workload import SECRET_NAME, URL_PASSWORD
from pilothouse.agents.validator.model import CATEGORIES, Finding, Verdict
from pilothouse.agents.validator.validating import Report
from pilothouse.core.errors import PilothouseError
from pilothouse.pipeline.executing import AgentContext

PROMPT_FILE = "agents/validator.md"
DEFAULT_PROMPT = (
    "You review Kubernetes manifest changes before they are deployed. You get the "
    "findings of deterministic rules and the changed manifests. Decide: approve (safe), "
    "flag (needs a human look) or block (will break production). Give short reasons. "
    "Add extra findings only for concrete problems the rules missed, with file and line."
)
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
MAX_CHANGED_BYTES = 60_000
REDACTED = "<redacted>"


class ExtraFinding(BaseModel):
    category: Literal[CATEGORIES]  # type: ignore[valid-type]
    severity: Literal["error", "warning", "info"]
    file: str
    line: int | None = None
    message: str = Field(max_length=500)
    hint: str = Field(default="", max_length=500)


class Answer(BaseModel):
    decision: Literal["approve", "flag", "block"]
    reasons: list[str] = Field(default_factory=list, max_length=20)
    extra_findings: list[ExtraFinding] = Field(default_factory=list, max_length=50)


def redact(value: Any) -> Any:
    """A manifest with nothing secret left: Secret data, secret-looking env values (the
    same names the ``security.secret-in-env`` rule knows), passwords in URLs, and the
    last-applied-configuration annotation (which repeats everything)."""
    if isinstance(value, dict):
        is_secret = value.get("kind") == "Secret"
        name = value.get("name")
        out: dict[str, Any] = {}
        for key, child in value.items():
            if is_secret and key in {"data", "stringData"} and isinstance(child, dict):
                out[key] = {k: REDACTED for k in child}
            elif key == LAST_APPLIED or (
                key == "value" and isinstance(name, str) and SECRET_NAME.search(name.upper())
            ):
                out[key] = REDACTED
            else:
                out[key] = redact(child)
        return out
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, str) and (url := URL_PASSWORD.match(value)):
        return value[: url.start(1)] + REDACTED + value[url.end(1) :]
    return value


def _secret_name(name: Any) -> bool:
    return isinstance(name, str) and SECRET_NAME.search(name.upper()) is not None


def _changed_manifests(source: loading.Source, changed: list[str]) -> str:
    parts: list[str] = []
    size = 0
    for path in changed:
        if not path.endswith(loading.MANIFEST_SUFFIXES) or path not in source.files:
            continue
        manifests, _ = loading.parse_documents(source.read(path).decode("utf-8", "replace"), path)
        text = json.dumps([redact(m.body) for m in manifests], indent=1)
        size += len(text)
        if size > MAX_CHANGED_BYTES:
            parts.append(f"# {path}: (omitted, over the size budget)")
            continue
        parts.append(f"# {path}\n{text}")
    return "\n\n".join(parts) or "(no manifest files changed)"


def review(
    ctx: AgentContext, report: Report, source: loading.Source, *, model: str | Model
) -> Verdict:
    """Ask the model; a provider error is a ``flag`` verdict saying so, never a crash."""
    try:
        prompt = source.read(PROMPT_FILE).decode("utf-8", "replace")
    except (PilothouseError, OSError, KeyError):
        prompt = DEFAULT_PROMPT
    agent: Agent[None, Answer] = Agent(model, output_type=Answer, instructions=prompt, retries=2)

    @agent.tool_plain
    def read_workspace_file(path: str) -> str:
        """Read a file of the workspace (status files, history, reports)."""
        try:
            data = ctx.workspace.read_file(ctx.workspace_name, path).content
        except PilothouseError as e:
            return f"error: {e.code}: {e.message}"
        return data[:20_000].decode("utf-8", "replace")

    @agent.tool_plain
    def search_workspace(query: str) -> list[str]:
        """Search the workspace by meaning; returns matching file paths."""
        return ctx.search(query, 5, "/")

    findings = [f.to_dict() for f in report.findings[:200]]
    message = (
        f"Revision {ctx.revision}. Rules found {report.summary()}.\n\n"
        f"Findings (JSON):\n{json.dumps(findings, indent=1)}\n\n"
        f"Changed manifests (secrets redacted):\n{_changed_manifests(source, ctx.changed_files)}"
    )
    name = model if isinstance(model, str) else model.model_name
    try:
        # a fresh event loop, closed afterwards (run_sync would leave one behind on errors),
        # and the stage's own deadline: a hung provider must not outlive the stage
        limit = max(1.0, ctx.remaining - 5)
        answer = asyncio.run(asyncio.wait_for(agent.run(message), limit)).output
    except Exception as e:  # noqa: BLE001 - any provider failure becomes a flag, not a crash
        return Verdict(
            "flag", [f"LLM review unavailable: {type(e).__name__}"], model=name, error=str(e)
        )
    extra = [
        Finding(
            category=x.category,
            rule_id="llm-review",
            severity=x.severity,
            message=x.message,
            file=x.file,
            line=x.line,
            hint=x.hint,
        )
        for x in answer.extra_findings
    ]
    return Verdict(answer.decision, answer.reasons, extra, model=name)
