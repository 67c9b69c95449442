"""``builtin:validator``: the validator as a pipeline stage.

It reads the repository at the triggering revision, validates everything and
reports the findings of the changed files (all of them on a manual or scheduled
run), with the workspace's deployment history as memory. The verdict — ``failed``
when any error remains — becomes ``/status/validated.json`` through the runner,
with the counts per severity; on GitHub it becomes the commit status
``pilothouse/validate`` and one pull-request comment with a table.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import lru_cache

from pilothouse.agents.validator.checks.history import HISTORY_DIR, Record
from pilothouse.agents.validator.loading import Source
from pilothouse.agents.validator.model import Finding, Verdict
from pilothouse.agents.validator.validating import Report, Validator
from pilothouse.core.errors import PilothouseError
from pilothouse.core.settings import ValidatorSettings
from pilothouse.integrations.registry import Credential, RegistryClient
from pilothouse.pipeline.executing import AgentContext, Outcome
from pilothouse.workspace.protocol import Workspace

MAX_COMMENT_ROWS = 50
ICON = {"error": "🛑", "warning": "⚠️", "info": "ℹ️"}  # noqa: RUF001


class WorkspaceHistory:
    """Deployment records from the workspace, and search by meaning over them."""

    def __init__(
        self, workspace: Workspace, name: str, search: Callable[[str, int, str], list[str]]
    ) -> None:
        self.workspace = workspace
        self.name = name
        self.search = search

    def records(self) -> list[Record]:
        found: list[Record] = []
        cursor: str | None = None
        ws, name = self.workspace, self.name
        while True:
            try:
                page = ws.list_files(name, HISTORY_DIR, recursive=True, limit=1000, cursor=cursor)
            except PilothouseError:
                return found
            for entry in page.entries:
                if not entry.path.endswith(".json"):
                    continue
                try:
                    record = Record.parse(entry.path, ws.read_file(name, entry.path).content)
                except PilothouseError:
                    continue  # deleted or unreadable since the listing: not history any more
                if record is not None:
                    found.append(record)
            cursor = page.next_cursor
            if not cursor:
                return found

    def similar(self, text: str, limit: int) -> list[str]:
        try:
            return self.search(text, limit, HISTORY_DIR)
        except PilothouseError:
            return []


def markdown(report: Report, revision: str | None) -> str:
    """The pull-request comment: counts, then a table of the findings."""
    n = report.counts
    verdict = "❌ blocked" if report.status == "failed" else "✅ passed"
    lines = [
        f"### pilothouse / validate: {verdict}",
        "",
        f"{report.resources} resources · **{n['error']} errors** · {n['warning']} warnings · "
        f"{n['info']} info · revision `{(revision or '')[:12]}`",
    ]
    if report.findings:
        lines += ["", "| | where | rule | finding |", "| --- | --- | --- | --- |"]
        for f in report.findings[:MAX_COMMENT_ROWS]:
            where = f"`{f.file}:{f.line}`" if f.line else f"`{f.file}`"
            message = _cell(f.message)
            hint = f"<br>*{_cell(f.hint)}*" if f.hint else ""
            lines.append(f"| {ICON[f.severity]} | {where} | `{f.rule_id}` | {message}{hint} |")
        if len(report.findings) > MAX_COMMENT_ROWS:
            lines.append(f"\n…and {len(report.findings) - MAX_COMMENT_ROWS} more in the run log.")
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


class ValidatorAgent:
    """Registered as ``builtin:validator`` (entry point ``pilothouse.agents``)."""

    def run(self, ctx: AgentContext) -> Outcome:
        validator = validator_for(ctx.settings.validator)
        files = ctx.repo_files()
        source = Source(files, ctx.read_repo_file)
        trigger = str(ctx.trigger.get("kind", ""))
        changed = set(ctx.changed_files) if trigger.startswith(("github.", "git.")) else None
        report = validator.validate(
            source,
            changed=changed,
            history=WorkspaceHistory(ctx.workspace, ctx.workspace_name, ctx.search),
            artifact_exists=lambda path: _exists(ctx, path),
        )
        findings: list[Finding] = list(report.findings)
        verdict = None
        if ctx.model and ctx.model != "none":
            verdict = _review(ctx, report, source)
            findings += verdict.extra_findings
        report.findings = findings
        blocked = verdict is not None and verdict.decision == "block"
        status = "failed" if blocked else report.status
        return Outcome(
            status,
            report.summary(),
            [f.to_dict() for f in findings],
            extra={
                "counts": report.counts,
                "resources": report.resources,
                **({"review": verdict.to_dict()} if verdict is not None else {}),
            },
            stdout=json.dumps(report.to_dict(), indent=1).encode(),
            comment=markdown(report, ctx.revision),
            status_context="pilothouse/validate",
        )


def _review(ctx: AgentContext, report: Report, source: Source) -> Verdict:
    try:
        from pilothouse.agents.validator import review  # the optional `llm` extra
    except ImportError as e:
        why = f"LLM review unavailable: install pilothouse[llm] ({e.name} is missing)"
        return Verdict("flag", [why], model=str(ctx.model))
    return review.review(ctx, report, source, model=str(ctx.model))


def validator_for(settings: ValidatorSettings) -> Validator:
    """The validator for these settings, built once per process and kept.

    Compiled schemas and the registry client's token and answer caches are what make
    the second run fast, so a pipeline reuses one validator for as long as it lives.
    """
    return _validator(settings.model_dump_json())


@lru_cache(maxsize=4)
def _validator(key: str) -> Validator:
    settings = ValidatorSettings.model_validate_json(key)
    registry = None
    if settings.check_images:
        registry = RegistryClient(
            credentials={
                host: Credential(login.username, login.password)
                for host, login in settings.registry_credentials.items()
            },
            timeout=settings.registry_timeout_seconds,
            insecure_registries=settings.insecure_registries,
        )
    try:
        return Validator(kubernetes_version=settings.kubernetes_version, registry=registry)
    except ValueError as e:  # an unknown Kubernetes version
        if registry is not None:
            registry.close()
        raise PilothouseError(str(e), code="invalid_settings") from None


def _exists(ctx: AgentContext, path: str) -> bool:
    try:
        ctx.workspace.stat_file(ctx.workspace_name, path)
        return True
    except PilothouseError:
        return False
