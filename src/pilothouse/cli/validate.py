"""``pilothouse validate PATH``: the validator on a working tree, for laptops and CI.

Exit status: 0 clean (warnings allowed), 1 errors found, 2 could not run.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import pygit2
import typer

from pilothouse import __version__
from pilothouse.agents.validator import formats, loading
from pilothouse.agents.validator.agent import validator_for
from pilothouse.agents.validator.checks.history import HISTORY_DIR, Record
from pilothouse.core.errors import PilothouseError
from pilothouse.core.settings import Settings


class Format(StrEnum):
    TEXT = "text"
    JSON = "json"
    SARIF = "sarif"
    JUNIT = "junit"


class DirectoryHistory:
    """Deployment records exported as JSON files in a directory (no semantic search)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def records(self) -> list[Record]:
        found = []
        for path in sorted(self.root.glob("*.json")):
            record = Record.parse(f"{HISTORY_DIR}{path.name}", path.read_bytes())
            if record is not None:
                found.append(record)
        return found

    def similar(self, text: str, limit: int) -> list[str]:
        return []


def changed_since(root: Path, revision: str) -> set[str]:
    """Files under ``root`` that differ between ``revision`` and the working tree.

    Paths are made relative to ``root``, which may be a directory inside the repository.
    """
    try:
        repo = pygit2.Repository(str(root))
        commit = repo.revparse_single(revision).peel(pygit2.Commit)
    except (pygit2.GitError, KeyError, ValueError) as e:
        raise typer.BadParameter(f"--changed-only {revision}: {e}") from None
    inside = root.resolve().relative_to(Path(repo.workdir).resolve()).as_posix()
    prefix = "" if inside == "." else f"{inside}/"
    paths = set()
    for delta in repo.diff(commit).deltas:
        for changed in (delta.new_file.path, delta.old_file.path):
            if changed.startswith(prefix):
                paths.add(changed[len(prefix) :])
    return paths


def validate(
    path: Annotated[Path, typer.Argument(help="A repository checkout (manifests/, configs/).")],
    changed_only: Annotated[
        str | None,
        typer.Option(
            "--changed-only",
            metavar="REV",
            help="Report only findings about files changed since REV (git).",
        ),
    ] = None,
    output: Annotated[
        Format, typer.Option("--output", "-o", help="text, json, sarif (code scanning), junit.")
    ] = Format.TEXT,
    kubernetes_version: Annotated[
        str | None, typer.Option(help="Schemas of this Kubernetes version (default: newest).")
    ] = None,
    registry: Annotated[
        bool, typer.Option(help="Ask image registries whether each image exists.")
    ] = True,
    history: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            file_okay=False,
            help="A directory of deployment-history JSON records to learn from.",
        ),
    ] = None,
) -> None:
    """Validate Kubernetes manifests: strict schemas, references, policies, images, history.

    Exit 0 when there are no errors, 1 when there are, 2 when validation could not run.
    """
    if not path.is_dir():
        typer.echo(f"error: not a directory: {path}", err=True)
        raise typer.Exit(2)
    changed = changed_since(path, changed_only) if changed_only else None
    settings = Settings().validator
    updates: dict[str, object] = {"check_images": registry and settings.check_images}
    if kubernetes_version:
        updates["kubernetes_version"] = kubernetes_version
    try:
        validator = validator_for(settings.model_copy(update=updates))
        report = validator.validate(
            loading.from_directory(str(path)),
            changed=changed,
            history=DirectoryHistory(history) if history else None,
        )
    except (PilothouseError, OSError) as e:  # could not run: exit 2, not "errors found"
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None
    if output is Format.JSON:
        sys.stdout.write(json.dumps(report.to_dict(), indent=2) + "\n")
    elif output is Format.SARIF:
        sys.stdout.write(formats.sarif(report.findings, validator.rules(), version=__version__))
        sys.stdout.write("\n")
    elif output is Format.JUNIT:
        sys.stdout.write(formats.junit(report.findings, report.files))
    else:
        sys.stdout.write(formats.text(report.findings, summary=report.summary()))
    raise typer.Exit(1 if report.counts["error"] else 0)
