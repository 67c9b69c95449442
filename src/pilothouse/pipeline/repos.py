"""Repositories as the engine uses them: one mirror per workspace, pipelines per revision.

``pilothouse.yaml`` is read from the repository *at the triggering revision*, so a
pipeline change is versioned and reviewed like any other change, and a run started
by an old commit keeps the pipeline it was started with. Parsed pipelines are cached
by (workspace, commit) — a commit never changes — and mirrors by workspace; each
mirror serialises its own operations, so one cache serves every worker thread.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

from pilothouse.integrations.git import Mirror
from pilothouse.integrations.git.errors import NotFound as GitNotFound
from pilothouse.pipeline import config
from pilothouse.pipeline.errors import PipelineError
from pilothouse.pipeline.store import Repo

PIPELINE_FILE = "pilothouse.yaml"


class NoPipeline(PipelineError):
    code = "no_pipeline"


def git_token(url: str, token: str | None) -> str | None:
    """The token goes to git only over https; it may be there just for the GitHub API."""
    return token if url.startswith("https://") else None


class RepoCache:
    """Mirrors and parsed pipelines, shared by the threads of one process."""

    def __init__(self, cache_dir: Path, *, max_pipelines: int = 256) -> None:
        self.cache_dir = cache_dir
        self._mirrors: dict[str, tuple[str, Mirror]] = {}
        self._pipelines: OrderedDict[tuple[str, str], config.Pipeline] = OrderedDict()
        self._max = max_pipelines
        self._lock = threading.Lock()

    def mirror(self, repo: Repo) -> Mirror:
        """The workspace's mirror, cloned on first use; re-opened if the URL changed."""
        with self._lock:
            known = self._mirrors.get(repo.workspace_id)
            if known is not None and known[0] == repo.url:
                return known[1]
        path = self.cache_dir / f"{repo.workspace_id}.git"
        if known is not None and path.exists():
            import shutil

            shutil.rmtree(path)  # the remote changed: a fresh mirror, not a mix of two
        opened = Mirror.open(path, repo.url, token=git_token(repo.url, repo.token))
        with self._lock:
            self._mirrors[repo.workspace_id] = (repo.url, opened)
        return opened

    def pipeline_at(self, repo: Repo, revision: str) -> config.Pipeline:
        """The pipeline at ``revision`` (a commit sha); raises ``no_pipeline``."""
        key = (repo.workspace_id, revision)
        with self._lock:
            cached = self._pipelines.get(key)
            if cached is not None:
                self._pipelines.move_to_end(key)
                return cached
        mirror = self.mirror(repo)
        try:
            mirror.resolve(revision)
        except GitNotFound:  # pushed after this process last fetched: fetch once, then decide
            mirror.fetch()
        try:
            text = mirror.read_file(revision, PIPELINE_FILE)
        except GitNotFound:
            raise NoPipeline(
                f"{PIPELINE_FILE} is not in the repository at {revision[:12]}",
                details={"revision": revision},
            ) from None
        parsed = config.load_pipeline(text.decode("utf-8", "replace"), source=PIPELINE_FILE)
        with self._lock:
            self._pipelines[key] = parsed
            while len(self._pipelines) > self._max:
                self._pipelines.popitem(last=False)
        return parsed
